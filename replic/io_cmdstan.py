"""Read the output of replic's Stan program (``replic/stan/lmm.stan``): CmdStan CSV files, and
the flat draws of either backend (:func:`brms_draws`).

A CmdStan CSV file holds one chain: ``#`` comment lines (configuration, adaptation, timing), a
header of flat Stan names (``b.1``, ``sd_1.2``, ``r_1.3.2``) and one row per draw.  The reader
needs no CmdStan installation.  Stan's names carry indices, not the model's terms; replic writes
them next to the CSV files in ``replic-model.json`` (:func:`write_model_names`) and reads them
back, so the draws get brms's names (``b_Days``, ``sd_Subject__Days``, ``r_Subject[308,Days]``).
Without that file, generic names are used (``x1``, ``z1``, group ``g``, levels ``1..J``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from replic.errors import ReplicFitError, ReplicInputError
from replic.family import Family
from replic.posterior import Posterior
from replic.spec.names import b_name, cor_name, r_name, sd_name

__all__ = ["NAMES_FILE", "brms_draws", "posterior_from_cmdstan", "read_cmdstan_csv",
           "write_model_names"]

NAMES_FILE = "replic-model.json"
_CONFIG = re.compile(r"^#\s*(\w+)\s*=\s*(\S+)")
_KEYS = ("fixed", "varying", "group", "levels")


def _config(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            m = _CONFIG.match(line)
            if m and m[1] not in out:
                out[m[1]] = m[2]
    return out


def read_cmdstan_csv(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Read the sampling draws of CmdStan CSV files, one file per chain.

    Parameters
    ----------
    paths : sequence of path
        CmdStan output CSV files (``method = sample``).

    Returns
    -------
    DataFrame
        Stan's flat column names plus ``.chain`` (file order, from 1) and ``.iteration``.

    Raises
    ------
    ReplicInputError
        When a file is missing, not sampler output, or has no draws.
    """
    frames = []
    for chain, p in enumerate(map(Path, paths), start=1):
        if not p.is_file():
            raise ReplicInputError(f"{p}: no such CmdStan CSV file")
        cfg = _config(p)
        if cfg.get("method") != "sample":
            raise ReplicInputError(f"{p}: not CmdStan sampler output (expected a '# method = "
                                   f"sample' header line, found method={cfg.get('method')!r})")
        try:
            df = pd.read_csv(p, comment="#")
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ReplicInputError(f"{p}: not a readable CmdStan CSV ({exc})") from None
        if cfg.get("save_warmup") in ("1", "true"):
            df = df.iloc[int(cfg.get("num_warmup", 0)):]
        if df.empty or "lp__" not in df.columns:
            raise ReplicInputError(f"{p}: no draws (expected a header with lp__ and draw rows)")
        # one concat, not two inserts: pandas 3 reads one block per column and warns
        # (PerformanceWarning) on inserting into a frame of over 100 blocks (50+ groups)
        frames.append(pd.concat([df.reset_index(drop=True), pd.DataFrame(
            {".chain": chain, ".iteration": np.arange(1, len(df) + 1)})], axis=1))
    if not frames:
        raise ReplicInputError("read_cmdstan_csv: no CSV files given")
    cols = [list(f.columns) for f in frames]
    if any(c != cols[0] for c in cols):
        raise ReplicInputError(f"{paths[0]}: the CSV files do not have the same columns; "
                               "expected chains of one fit")
    return pd.concat(frames, ignore_index=True)


def write_model_names(directory: str | Path, names: Mapping) -> Path:
    """Write the model's term names next to CmdStan CSV files (``replic-model.json``).

    ``names`` holds ``fixed``, ``varying``, ``group``, ``levels`` and optionally ``formula``,
    ``response`` and ``family`` (default Gaussian).
    """
    path = Path(directory) / NAMES_FILE
    path.write_text(json.dumps({k: (list(v) if isinstance(v, tuple) else v)
                                for k, v in names.items()}, indent=1))
    return path


def _generic_names(flat: pd.DataFrame) -> dict:
    K = sum(bool(re.fullmatch(r"b\.\d+", c)) for c in flat.columns)
    M = sum(bool(re.fullmatch(r"sd_1\.\d+", c)) for c in flat.columns)
    J = sum(bool(re.fullmatch(r"r_1\.\d+\.1", c)) for c in flat.columns)
    has_icpt = "b_Intercept" in flat.columns and bool((flat["b_Intercept"] != 0).any())
    return {"fixed": ["Intercept"] * has_icpt + [f"x{k}" for k in range(1, K + 1)],
            "varying": [f"z{m}" for m in range(1, M + 1)], "group": "g",
            "levels": [str(j) for j in range(1, J + 1)]}


def posterior_from_cmdstan(paths: Sequence[str | Path], *,
                           names: Mapping | None = None) -> Posterior:
    """A :class:`~replic.Posterior` from CmdStan CSV output of replic's Stan program.

    Parameters
    ----------
    paths : sequence of path
        One CSV file per chain.
    names : mapping, optional
        ``fixed``, ``varying``, ``group``, ``levels`` (and optionally ``formula``,
        ``response``); by default read from ``replic-model.json`` beside the first file, else
        generic names.

    Returns
    -------
    Posterior
    """
    from replic.io_brms import posterior_from_brms

    paths = [Path(p) for p in paths]
    flat = read_cmdstan_csv(paths)
    source = str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} chains)"
    if names is None:
        sidecar = paths[0].parent / NAMES_FILE
        if sidecar.is_file():
            try:
                names = json.loads(sidecar.read_text())
            except json.JSONDecodeError as exc:
                raise ReplicInputError(f"{sidecar}: not valid JSON ({exc})") from None
        else:
            names = _generic_names(flat)
    missing = [k for k in _KEYS if k not in names]
    if missing:
        raise ReplicInputError(f"model names for {source}: missing {', '.join(missing)}")
    try:
        family = Family.of(names.get("family"), where=f"model names for {source}: family")
        table = brms_draws(flat, fixed=tuple(names["fixed"]), varying=tuple(names["varying"]),
                           group=str(names["group"]), levels=tuple(map(str, names["levels"])),
                           family=family.name)
    except ReplicFitError as exc:
        raise ReplicInputError(f"{source}: {exc}") from None
    post = posterior_from_brms(table, source=source, family=family)
    return dataclasses.replace(post, formula=names.get("formula"), response=names.get("response"),
                               diagnostics={**post.diagnostics, "divergences": int(
                                   flat["divergent__"].sum()) if "divergent__" in flat else 0})


def _column(flat: pd.DataFrame, name: str) -> np.ndarray:
    if name not in flat.columns:
        raise ReplicFitError(f"Stan output lacks column {name!r}: not the output of replic's "
                             "program lmm.stan")
    return flat[name].to_numpy(dtype=float)


def brms_draws(flat: pd.DataFrame, *, fixed: tuple[str, ...], varying: tuple[str, ...],
               group: str, levels: tuple[str, ...], family: str = "gaussian") -> pd.DataFrame:
    """Rename the program's flat output to brms's columns.

    Parameters
    ----------
    flat : DataFrame
        One row per draw, Stan's flat names, plus ``.chain`` and ``.iteration`` columns.
    fixed, varying : tuple of str
        brms term names, in the order of the data's ``X`` and ``Z`` columns (``Intercept``
        among ``fixed`` maps to the program's ``b_Intercept``; the others to ``b.1..b.K`` in
        order).
    group : str
        Grouping-factor name.
    levels : tuple of str
        Levels of the grouping factor, in the order of the data's ``g`` codes.
    family : str
        The model's family: ``sigma`` (the program's ``sigma.1``, or ``sigma`` in output of
        older versions) is read for ``gaussian`` only.

    Returns
    -------
    DataFrame
        Columns ``b_<term>``, ``sd_<group>__<term>``, ``cor_<group>__<t1>__<t2>``, ``sigma``
        (Gaussian),
        ``r_<group>[<level>,<term>]``, ``lp__``, ``.chain``, ``.iteration``, ``.draw``.
    """
    out: dict[str, np.ndarray] = {}
    k = 0
    for name in fixed:
        if name == "Intercept":
            out["b_Intercept"] = _column(flat, "b_Intercept")
        else:
            k += 1
            out[b_name(name)] = _column(flat, f"b.{k}")
    for q, name in enumerate(varying, start=1):
        out[sd_name(group, name)] = _column(flat, f"sd_1.{q}")
    for j in range(2, len(varying) + 1):
        for i in range(1, j):
            out[cor_name(group, varying[i - 1], varying[j - 1])] = _column(flat, f"Cor_1.{i}.{j}")
    if family == "gaussian":
        if "sigma" not in flat.columns and "sigma.1" not in flat.columns:
            raise ReplicFitError("Stan output has no sigma, so the model is not Gaussian; give "
                                 "its family (replic-model.json's 'family', or names={..., "
                                 "'family': 'bernoulli'})")
        out["sigma"] = _column(flat, "sigma" if "sigma" in flat.columns else "sigma.1")
    for q, name in enumerate(varying, start=1):
        for j, level in enumerate(levels, start=1):
            out[r_name(group, level, name)] = _column(flat, f"r_1.{j}.{q}")
    out["lp__"] = _column(flat, "lp__")
    out[".chain"] = flat[".chain"].to_numpy(dtype=int)
    out[".iteration"] = flat[".iteration"].to_numpy(dtype=int)
    out[".draw"] = np.arange(1, len(flat) + 1)
    return pd.DataFrame(out)
