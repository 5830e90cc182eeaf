"""replic's Stan program (``lmm.stan``) and the brms names of its draws.

One program fits any number of fixed and varying terms (everything is data), so a study compiles
it once.  :func:`brms_draws` turns the program's flat Stan output (``b.1``, ``sd_1.2``,
``r_1.3.2``, ``Cor_1.1.2`` — the naming shared by PyStan's ``to_frame`` and CmdStan CSV files)
into a table with brms's column names, which :func:`replic.io_brms.posterior_from_brms` reads.
The likelihood uses ``normal_id_glm`` (analytic gradients) as brms does: ~20% less CPU per chain
than the same model written with ``rows_dot_product``.
"""

from __future__ import annotations

import hashlib
from importlib import resources

import numpy as np
import pandas as pd

from replic.errors import ReplicFitError
from replic.spec.names import b_name, cor_name, r_name, sd_name

__all__ = ["SAMPLER_COLUMNS", "brms_draws", "program_code", "program_hash"]

SAMPLER_COLUMNS = ("lp__", "accept_stat__", "stepsize__", "treedepth__", "n_leapfrog__",
                   "divergent__", "energy__")


def program_code() -> str:
    """Source code of ``lmm.stan``."""
    return resources.files("replic.stan").joinpath("lmm.stan").read_text()


def program_hash() -> str:
    """Short SHA-256 of the program source (names compiled executables and caches)."""
    return hashlib.sha256(program_code().encode()).hexdigest()[:12]


def _column(flat: pd.DataFrame, name: str) -> np.ndarray:
    if name not in flat.columns:
        raise ReplicFitError(f"Stan output lacks column {name!r}: not the output of replic's "
                             "program lmm.stan")
    return flat[name].to_numpy(dtype=float)


def brms_draws(flat: pd.DataFrame, *, fixed: tuple[str, ...], varying: tuple[str, ...],
               group: str, levels: tuple[str, ...]) -> pd.DataFrame:
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

    Returns
    -------
    DataFrame
        Columns ``b_<term>``, ``sd_<group>__<term>``, ``cor_<group>__<t1>__<t2>``, ``sigma``,
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
    out["sigma"] = _column(flat, "sigma")
    for q, name in enumerate(varying, start=1):
        for j, level in enumerate(levels, start=1):
            out[r_name(group, level, name)] = _column(flat, f"r_1.{j}.{q}")
    out["lp__"] = _column(flat, "lp__")
    out[".chain"] = flat[".chain"].to_numpy(dtype=int)
    out[".iteration"] = flat[".iteration"].to_numpy(dtype=int)
    out[".draw"] = np.arange(1, len(flat) + 1)
    return pd.DataFrame(out)
