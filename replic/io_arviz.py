"""Posteriors from the Python ecosystem: ArviZ InferenceData, netCDF files of one, cmdstanpy.

An ``InferenceData`` (PyMC, bambi, NumPyro, ``arviz.from_cmdstanpy``; arviz >= 1's
``xarray.DataTree`` too) is flattened to one row per draw and its names mapped to brms's, then
read by :func:`replic.io_brms.posterior_from_brms`, so every source is validated alike.  Three
namings are recognised from the posterior's variables:

- **bambi**: ``Intercept``, ``Days`` (common effects; a categorical term's extra dimension gives
  ``b_<term><level>``), ``1|Subject_sigma`` and ``Days|Subject_sigma`` (``sd_Subject__...``),
  ``1|Subject`` and ``Days|Subject`` over the ``Subject__factor_dim`` coordinate
  (``r_Subject[<level>,...]``), ``sigma`` (or ``<response>_sigma``), and a correlation when the
  model has one as ``1|Subject_Days|Subject_cor`` or ``cor_Subject__Intercept__Days``.  bambi's
  own models have none (its group-specific terms are independent), so it is 0.  Non-centred
  ``*_offset`` variables and the linear predictor (``mu``, ``<response>_mean``) are ignored.
- **replic's Stan program** (``arviz.from_cmdstanpy`` of a fit of ``lmm.stan``): ``b``,
  ``b_Intercept``, ``sd_1``, ``Cor_1``, ``r_1``, ``sigma``; term names come from ``names``
  (as in ``replic-model.json``), else generic ones.
- **brms**: variables named as brms's columns (``b_Days``, ``sd_Subject__Days``,
  ``r_Subject`` over (level, term) coordinates...).

xarray (and h5netcdf for files) are imported only when such a source is read.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.io_brms import posterior_from_brms
from replic.posterior import Posterior

__all__ = ["is_arviz", "is_cmdstanpy", "is_netcdf", "posterior_from_arviz",
           "posterior_from_cmdstanpy", "posterior_from_netcdf"]

_COR = re.compile(r"^(?P<t1>[^|]+)\|(?P<g>[^|]+)_(?P<t2>[^|]+)\|(?P=g)_corr?$")
_HDF5 = b"\x89HDF\r\n\x1a\n"
_INSTALL = "install the arviz extra: pip install 'replic[arviz]'"


def is_arviz(obj: Any) -> bool:
    """Whether ``obj`` is an ArviZ InferenceData, an xarray DataTree or Dataset."""
    return type(obj).__module__.split(".")[0] in ("arviz", "xarray") and (
        hasattr(obj, "posterior") or hasattr(obj, "data_vars") or hasattr(obj, "children"))


def is_cmdstanpy(obj: Any) -> bool:
    """Whether ``obj`` is a cmdstanpy ``CmdStanMCMC`` fit."""
    return type(obj).__name__ == "CmdStanMCMC" and type(obj).__module__.startswith("cmdstanpy")


def is_netcdf(path: Path) -> bool:
    """Whether ``path`` starts like a netCDF-4 (HDF5) or netCDF-3 file."""
    with open(path, "rb") as fh:
        head = fh.read(8)
    return head == _HDF5 or head[:3] == b"CDF"


def posterior_from_cmdstanpy(fit: Any, *, names: Mapping | None = None) -> Posterior:
    """A :class:`~replic.Posterior` from a cmdstanpy ``CmdStanMCMC`` of replic's Stan program.

    The fit's CSV files are read by :func:`replic.io_cmdstan.posterior_from_cmdstan`; term
    names come from ``names``, else ``replic-model.json`` beside the files, else generic ones.
    """
    from replic.io_cmdstan import posterior_from_cmdstan

    files = list(getattr(getattr(fit, "runset", None), "csv_files", None) or [])
    if not files:
        raise ReplicInputError("CmdStanMCMC: the fit has no CSV files to read")
    return posterior_from_cmdstan(files, names=names)


def posterior_from_netcdf(path: str | Path, *, names: Mapping | None = None) -> Posterior:
    """A :class:`~replic.Posterior` from a netCDF file of an InferenceData (``to_netcdf``).

    Reads the ``posterior`` group (and ``sample_stats``, ``observed_data`` when present) with
    xarray; nothing else of the file is loaded.
    """
    xr = _xarray()
    path = Path(path)
    groups = {}
    for g in ("posterior", "sample_stats", "observed_data"):
        try:
            with xr.open_dataset(path, group=g, engine=_engine()) as ds:
                groups[g] = ds.load()
        except OSError as exc:
            if g == "posterior":
                raise ReplicInputError(f"{path}: no 'posterior' group readable in this netCDF "
                                       f"file ({exc}); expected an InferenceData written with "
                                       "to_netcdf") from None
    return _from_groups(groups, names=names, source=str(path))


def posterior_from_arviz(idata: Any, *, names: Mapping | None = None,
                         source: str | None = None) -> Posterior:
    """A :class:`~replic.Posterior` from an InferenceData, a DataTree or a posterior Dataset.

    Parameters
    ----------
    idata : arviz.InferenceData, xarray.DataTree or xarray.Dataset
        Posterior draws with ``chain`` and ``draw`` dimensions, named as bambi, replic's Stan
        program or brms name them (see the module docstring).
    names : mapping, optional
        For replic's Stan program only: ``fixed``, ``varying``, ``group``, ``levels``, and
        ``family`` for a non-Gaussian model.
    source : str, optional
        Name used in messages (default: the inference library named in the attributes).

    Returns
    -------
    Posterior
    """
    groups: dict[str, Any] = {}
    for g in ("posterior", "sample_stats", "observed_data"):
        ds = _group(idata, g)
        if ds is not None:
            groups[g] = ds
    if "posterior" not in groups:
        raise ReplicInputError(f"{type(idata).__name__}: no posterior group; expected an "
                               "InferenceData with posterior draws")
    attrs = groups["posterior"].attrs
    lib = attrs.get("modeling_interface") or attrs.get("inference_library") or ""
    return _from_groups(groups, names=names,
                        source=source or f"InferenceData{f' ({lib})' if lib else ''}")


def _group(idata: Any, name: str) -> Any:
    if hasattr(idata, "children"):  # xarray.DataTree (arviz >= 1)
        return idata[name].to_dataset() if name in idata.children else None
    if hasattr(idata, "data_vars"):  # a Dataset: the posterior itself
        return idata if name == "posterior" else None
    return getattr(idata, name, None) if name in idata.groups() else None


def _from_groups(groups: dict, *, names: Mapping | None, source: str) -> Posterior:
    post = groups["posterior"]
    for dim in ("chain", "draw"):
        if dim not in post.dims:
            raise ReplicInputError(f"{source}: the posterior has no {dim!r} dimension (dims "
                                   f"{', '.join(map(str, post.dims))}); expected draws by "
                                   "chain and draw")
    variables = [str(v) for v in post.data_vars]
    stats = groups.get("sample_stats")
    family = None
    if {"b", "sd_1", "sigma"} <= set(variables) or {"b", "sd_1", "Cor_1"} <= set(variables):
        table = _from_stan(post, stats, names=names, source=source)
        family = (names or {}).get("family")
    elif any("|" in v for v in variables):
        table = _from_bambi(post, groups.get("observed_data"), source=source)
    else:
        table = _flatten(post, [v for v in variables if v != "lp__"])
    p = posterior_from_brms(table, source=source, family=family)
    diag = dict(p.diagnostics)
    if stats is not None and "diverging" in stats:
        diag["divergences"] = int(np.asarray(stats["diverging"]).sum())
    for key in ("inference_library", "modeling_interface"):
        if key in post.attrs:
            diag[key] = f"{post.attrs[key]} {post.attrs.get(key + '_version', '')}".strip()
    response = _response(groups.get("observed_data"))
    return dataclasses.replace(p, diagnostics=diag, response=response or p.response)


def _values(post: Any, var: str) -> np.ndarray:
    """(chain * draw, rest...) array of ``var``, chain-major."""
    da = post[var]
    extra = [d for d in da.dims if d not in ("chain", "draw")]
    a = np.asarray(da.transpose("chain", "draw", *extra).values, dtype=float)
    return a.reshape(a.shape[0] * a.shape[1], *a.shape[2:])


def _bookkeeping(post: Any) -> dict[str, np.ndarray]:
    C, D = post.sizes["chain"], post.sizes["draw"]
    return {".chain": np.repeat(np.arange(1, C + 1), D),
            ".iteration": np.tile(np.arange(1, D + 1), C), ".draw": np.arange(1, C * D + 1)}


def _flatten(post: Any, variables: list[str], *, index_names: bool = False) -> pd.DataFrame:
    """One column per scalar: ``var`` or ``var[c1,c2]`` (coordinates), or ``var.i.j``."""
    out: dict[str, np.ndarray] = {}
    for v in variables:
        a = _values(post, v)
        if a.ndim == 1:
            out[v] = a
            continue
        dims = [d for d in post[v].dims if d not in ("chain", "draw")]
        coords = [[str(c) for c in post[v][d].values] for d in dims]
        for idx in np.ndindex(*a.shape[1:]):
            if index_names:
                name = f"{v}." + ".".join(str(i + 1) for i in idx)
            else:
                name = f"{v}[" + ",".join(coords[k][i] for k, i in enumerate(idx)) + "]"
            out[name] = a[(slice(None), *idx)]
    return pd.DataFrame(out | _bookkeeping(post))


def _from_stan(post: Any, stats: Any, *, names: Mapping | None, source: str) -> pd.DataFrame:
    from replic.io_cmdstan import _generic_names, brms_draws

    flat = _flatten(post, [str(v) for v in post.data_vars], index_names=True)
    lp = stats["lp"] if stats is not None and "lp" in stats else None
    flat["lp__"] = (_values(stats, "lp") if lp is not None else np.zeros(len(flat)))
    names = dict(names) if names is not None else _generic_names(flat)
    missing = [k for k in ("fixed", "varying", "group", "levels") if k not in names]
    if missing:
        raise ReplicInputError(f"names for {source}: missing {', '.join(missing)}")
    try:
        return brms_draws(flat, fixed=tuple(names["fixed"]), varying=tuple(names["varying"]),
                          group=str(names["group"]), levels=tuple(map(str, names["levels"])),
                          family=_family_name(names.get("family")))
    except Exception as exc:  # ReplicFitError: not the output of lmm.stan
        raise ReplicInputError(f"{source}: {exc}") from None


def _family_name(family: Any) -> str:
    from replic.family import Family

    return Family.of(family, where="names: family").name


def _response(observed: Any) -> str | None:
    if observed is None or len(observed.data_vars) != 1:
        return None
    return str(next(iter(observed.data_vars)))


def _term(t: str) -> str:
    return "Intercept" if t == "1" else t


def _from_bambi(post: Any, observed: Any, *, source: str) -> pd.DataFrame:
    """bambi's names to brms's (see the module docstring)."""
    response = _response(observed)
    variables = [str(v) for v in post.data_vars]
    out: dict[str, np.ndarray] = {}
    for v in variables:
        dims = [str(d) for d in post[v].dims if d not in ("chain", "draw")]
        if v.endswith("_offset") or v in ("mu", f"{response}_mean") or \
                any(d.endswith("__obs__") for d in dims):
            continue
        a = _values(post, v)
        if "|" not in v:
            if v == "sigma" or (v == f"{response}_sigma" and "sigma" not in variables):
                out["sigma"] = _scalar(a, v, source)
            elif v.startswith("cor_"):
                out[v] = _scalar(a, v, source)
            elif a.ndim == 1:
                out[f"b_{v}"] = a
            elif a.ndim == 2:  # a categorical term: one column per level
                for i, level in enumerate(post[v][dims[0]].values):
                    out[f"b_{v}{level}"] = a[:, i]
            else:
                raise ReplicInputError(f"{source}: common term {v!r} has dimensions {dims}; "
                                       "expected a scalar or one level dimension")
            continue
        m = _COR.match(v)
        if m:
            out[f"cor_{m['g']}__{_term(m['t1'])}__{_term(m['t2'])}"] = _scalar(a, v, source)
            continue
        term, group = v.split("|", 1)
        if group.endswith("_sigma"):
            out[f"sd_{group.removesuffix('_sigma')}__{_term(term)}"] = _scalar(a, v, source)
            continue
        if a.ndim != 2:
            raise ReplicInputError(f"{source}: group-specific term {v!r} has dimensions {dims}; "
                                   "expected one level dimension (a categorical term varying "
                                   "by group is not supported)")
        for i, level in enumerate(post[v][dims[0]].values):
            out[f"r_{group}[{level},{_term(term)}]"] = a[:, i]
    return pd.DataFrame(out | _bookkeeping(post))


def _scalar(a: np.ndarray, name: str, source: str) -> np.ndarray:
    if a.ndim != 1:
        raise ReplicInputError(f"{source}: variable {name!r} has shape {a.shape[1:]} per draw; "
                               "expected one number per draw")
    return a


def _xarray() -> Any:
    try:
        import xarray
    except ImportError:
        raise ReplicInputError(f"reading InferenceData needs xarray: {_INSTALL}") from None
    return xarray


def _engine() -> str:
    for name in ("h5netcdf", "netCDF4"):
        try:
            __import__(name)
        except ImportError:
            continue
        return name.lower()
    raise ReplicInputError(f"reading a netCDF file needs h5netcdf or netCDF4: {_INSTALL}")
