"""Convergence diagnostics of a Stan fit (arviz): R-hat, bulk ESS, divergences.

Computed on the model's parameters (fixed effects, sds, correlations, sigma), with arviz's
rank-normalised split R-hat and bulk ESS (Vehtari et al. 2021); a single chain's R-hat is that
of its two halves (as Stan splits every chain).  A fit is "converged" when
max R-hat < ``rhat_max``, min bulk ESS >= ``ess_min`` and it has no divergent transitions.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

__all__ = ["PARAMETER_PREFIXES", "by_chain", "convergence"]

PARAMETER_PREFIXES = ("b_", "sd_", "cor_", "sigma")


def by_chain(x: np.ndarray, chain: np.ndarray) -> np.ndarray:
    """Reshape draws ``x`` (S,) into (chains, draws) by their chain ids (equal-length chains)."""
    ids = np.unique(chain)
    return np.stack([x[chain == c] for c in ids])


def _halves(arr: np.ndarray) -> np.ndarray:
    """One chain (1, S, p) as two chains: its first and second halves (a middle draw of an odd
    S is left out)."""
    h = arr.shape[1] // 2
    return np.stack([arr[0, :h], arr[0, arr.shape[1] - h:]])


def convergence(table: pd.DataFrame, divergent: np.ndarray | None = None, *,
                rhat_max: float = 1.01, ess_min: float = 400.0) -> dict[str, float | int | bool]:
    """Max R-hat, min bulk ESS, divergences and the converged flag of a brms-named draws table.

    Parameters
    ----------
    table : DataFrame
        brms-named draws with a ``.chain`` column (:func:`replic.io_cmdstan.brms_draws`).
    divergent : ndarray, optional
        Divergent-transition indicator per draw.
    rhat_max, ess_min : float
        Convergence thresholds.

    Returns
    -------
    dict
        ``rhat`` (max), ``ess_bulk`` (min), ``divergences`` (count), ``converged`` (bool).
    """
    with warnings.catch_warnings():  # arviz 0.23 announces its refactor on import
        warnings.filterwarnings("ignore", category=FutureWarning)
        import arviz as az

    chain = table[".chain"].to_numpy()
    cols = [c for c in table.columns if c.startswith(PARAMETER_PREFIXES)]
    arr = np.stack([by_chain(table[c].to_numpy(dtype=float), chain) for c in cols], axis=-1)
    ds = az.convert_to_dataset({"p": arr})
    halves = arr if arr.shape[0] > 1 else _halves(arr)
    rhat = az.rhat(az.convert_to_dataset({"p": halves}), method="rank")["p"].to_numpy() \
        .reshape(-1) if halves.shape[1] >= 4 else np.full(len(cols), np.nan)
    ess = az.ess(ds, method="bulk")["p"].to_numpy().reshape(-1)
    max_rhat = float(np.nanmax(rhat)) if np.isfinite(rhat).any() else float("nan")
    min_ess = float(np.nanmin(ess)) if np.isfinite(ess).any() else float("nan")
    n_div = int(np.sum(divergent)) if divergent is not None else 0
    ok = bool(max_rhat < rhat_max and min_ess >= ess_min and n_div == 0)
    return {"rhat": max_rhat, "ess_bulk": min_ess, "divergences": n_div, "converged": ok}
