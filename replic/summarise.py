"""Summaries of replicate tables: probabilities with Monte Carlo error, k needed, Type S/M.

Every probability ``p`` estimated from ``R`` replicates carries its Monte Carlo standard error
``sqrt(p (1 - p) / R)`` and a 95% Wilson score interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from replic.criteria import CRITERIA

__all__ = ["DESIGN_COLUMNS", "DIAGNOSTIC_FLAGS", "K_NEEDED_COLUMNS", "SUMMARY_COLUMNS",
           "criteria_summary", "k_needed", "type_s_bound", "type_sm", "unconverged", "wilson"]

#: Columns identifying a design's rows: ``design`` is its (distinct) label, ``family`` the label
#: without k (one curve over k).
DESIGN_COLUMNS = ["analysis", "design", "family", "k", "missing", "params"]
_Z = stats.norm.isf(0.025)
#: The columns of :func:`criteria_summary`.
SUMMARY_COLUMNS = [*DESIGN_COLUMNS, "criterion", "probability", "mcse", "lower", "upper",
                   "successes", "n", "n_failed", "n_unconverged"]
#: Optional diagnostic columns that mark a successful fit as unconverged: ``converged`` False
#: (reml, stan) or ``flagged`` True (bayes-fast, Pareto k > 0.7).
DIAGNOSTIC_FLAGS = ("converged", "flagged")


def unconverged(rows: pd.DataFrame | dict) -> np.ndarray:
    """Which rows' analysis succeeded but did not converge (or was flagged).

    Parameters
    ----------
    rows : DataFrame or dict of arrays
        Replicate rows (or an analysis's result columns) with ``error`` and, optionally,
        ``converged`` and ``flagged``; a missing value counts as converged and unflagged.

    Returns
    -------
    ndarray of bool
    """
    error = np.asarray(rows["error"], dtype=object)
    bad = np.zeros(error.shape[0], dtype=bool)
    for col, when in zip(DIAGNOSTIC_FLAGS, (False, True), strict=True):
        if col in rows:
            flag = pd.array(np.asarray(rows[col], dtype=object), dtype="boolean")
            bad |= (flag == when).fillna(False).to_numpy(dtype=bool)
    ok = pd.Series(error).astype(str).to_numpy() == ""
    return bad & ok


def _families(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a ``family`` column (``""`` in tables written before designs had one)."""
    return table if "family" in table else table.assign(family="")


def wilson(successes: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """95% Wilson score interval for a binomial proportion."""
    successes, n = np.asarray(successes, float), np.asarray(n, float)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        centre = (p + _Z**2 / (2 * n)) / (1 + _Z**2 / n)
        half = _Z * np.sqrt(p * (1 - p) / n + _Z**2 / (4 * n**2)) / (1 + _Z**2 / n)
    return centre - half, centre + half


def criteria_summary(replicates: pd.DataFrame,
                     criteria: Sequence[str] | None = None) -> pd.DataFrame:
    """Probability of each criterion per design, with MCSE and 95% interval.

    ``criteria`` names the criterion columns to summarise (default: every built-in one,
    :data:`replic.criteria.CRITERIA`; custom criteria are columns of the same kind).

    Failed replicates (non-empty ``error``) are excluded from the denominator and counted in
    ``n_failed``; successful fits that did not converge (``converged`` False or ``flagged``
    True, see :func:`unconverged`) are counted in ``n_unconverged`` (and are in the
    denominator unless the study excluded them, making their criteria NaN).

    Returns
    -------
    DataFrame
        Columns ``analysis, design, family, k, missing, params, criterion, probability, mcse,
        lower, upper, successes, n, n_failed, n_unconverged``: one row per design (its label)
        and criterion.
    """
    rows = []
    for keys, g in _families(replicates).groupby(DESIGN_COLUMNS, sort=False, dropna=False):
        failed = int((g["error"].astype(str) != "").sum())
        unconv = int(unconverged(g).sum())
        for c in (CRITERIA if criteria is None else criteria):
            x = g[c].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            n, s = x.size, float(x.sum())
            p = s / n if n else np.nan
            lo, hi = wilson(s, n)
            rows.append((*keys, c, p, np.sqrt(p * (1 - p) / n) if n else np.nan, float(lo),
                         float(hi), int(s), n, failed, unconv))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


#: The columns of :func:`k_needed`.
K_NEEDED_COLUMNS = ["analysis", "family", "missing", "params", "criterion", "target", "k",
                    "k_confident", "k_max", "k_last", "answer"]


def _stays_from(ks: np.ndarray, ok: np.ndarray) -> float:
    """The smallest k from which every larger k of the grid is ``ok`` (NaN if the last isn't)."""
    if not ok[-1]:
        return np.nan
    bad = np.flatnonzero(~ok)
    return float(ks[bad[-1] + 1] if bad.size else ks[0])


def k_needed(summary: pd.DataFrame, *, target: float = 0.8) -> pd.DataFrame:
    """The smallest k of the grid from which the probability stays at or above ``target``.

    Per criterion and design family (designs equal but for k: same template, allocation,
    missingness and parameters).  A curve need not rise:
    ``k`` is the smallest k such that this k and every larger k of the grid reach the target,
    so a criterion that reaches the target at small k and falls below it later (e.g.
    ``orig_in_rep_ci``) has no ``k``; ``k_last`` is then the largest k up to which every k
    reaches it.  ``answer`` says which case it is in words ("k = 7", "not reached for k <= 30",
    "falls below the target after k = 23").

    Returns
    -------
    DataFrame
        Columns :data:`K_NEEDED_COLUMNS`: ``k`` uses the point estimates, ``k_confident`` the
        95% intervals' lower bounds; ``k_last`` (falling curves) the point estimates.  NaN where
        the case does not apply; ``answer`` is never empty.

    Notes
    -----
    For a single rising curve read off a grid this is the grid's estimate; to find the k with
    a stated confidence at a fraction of the cost use :func:`replic.plan.find_k`.
    """
    fam = ["analysis", "family", "missing", "params", "criterion"]
    rows = []
    for keys, g in _families(summary).groupby(fam, sort=False, dropna=False):
        g = g.sort_values("k")
        ks = g["k"].to_numpy()
        hit = g["probability"].to_numpy(dtype=float) >= target
        sure = g["lower"].to_numpy(dtype=float) >= target
        k, kc = _stays_from(ks, hit), _stays_from(ks, sure)
        last = np.nan
        if np.isfinite(k):
            answer = f"k = {int(k)}"
        elif hit[0]:
            miss = np.flatnonzero(~hit)
            last = float(ks[miss[0] - 1])
            answer = (f"falls below the target after k = {int(last)} (reached for k <= "
                      f"{int(last)}, not for larger k)")
        elif hit.any():
            answer = (f"not stably reached: at or above the target only at k = "
                      f"{', '.join(str(int(v)) for v in ks[hit])}")
        else:
            answer = f"not reached for k <= {int(ks[-1])}"
        rows.append((*keys, target, k, kc, ks.max(), last, answer))
    return pd.DataFrame(rows, columns=K_NEEDED_COLUMNS)


def type_s_bound(type_sm: pd.DataFrame, *, level: float = 0.95) -> pd.DataFrame:
    """Add ``type_s_upper``: the one-sided ``level`` Clopper-Pearson upper bound of Type S.

    With no wrong-sign replicate among ``n`` significant ones the estimate 0 carries an MCSE
    of 0, which says nothing; the bound (``1 - (1 - level)^(1/n)``, about ``3 / n``: the "rule
    of three") does.  NaN when no replicate was significant.
    """
    n = type_sm["n_significant"].to_numpy(dtype=float)
    wrong = np.round(type_sm["type_s"].to_numpy(dtype=float) * n)
    with np.errstate(invalid="ignore"):
        upper = np.where(wrong >= n, 1.0, stats.beta.ppf(level, wrong + 1, n - wrong))
    return type_sm.assign(type_s_upper=np.where(n > 0, upper, np.nan))


def type_sm(replicates: pd.DataFrame) -> pd.DataFrame:
    """Type S and Type M (exaggeration) rates among significant replicates, per design.

    A replicate is significant when its 95% interval excludes 0 (either side).  Type S: the
    share of significant replicates whose estimate has the opposite sign of the replicate's
    true average-subject effect ``beta``; Type M: the mean of ``|estimate| / |beta|`` among
    them (Gelman & Carlin 2014).  Both with Monte Carlo standard errors.
    """
    rows = []
    for keys, g in _families(replicates).groupby(DESIGN_COLUMNS, sort=False, dropna=False):
        ok = g["error"].astype(str) == ""
        sig = ok & ((g["lower"] > 0) | (g["upper"] < 0))
        est, true = g.loc[sig, "estimate"].to_numpy(), g.loc[sig, "true_effect"].to_numpy()
        n = est.size
        wrong = np.sign(est) != np.sign(true)
        with np.errstate(invalid="ignore", divide="ignore"):
            ratio = np.abs(est) / np.abs(true)
        s = wrong.mean() if n else np.nan
        rows.append((*keys, int(ok.sum()), n, n / max(int(ok.sum()), 1), s,
                     np.sqrt(s * (1 - s) / n) if n else np.nan,
                     ratio.mean() if n else np.nan,
                     ratio.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan))
    return pd.DataFrame(rows, columns=[*DESIGN_COLUMNS, "n", "n_significant", "power", "type_s",
                                       "type_s_mcse", "type_m", "type_m_mcse"])
