"""Summaries of replicate tables: probabilities with Monte Carlo error, k needed, Type S/M.

Every probability ``p`` estimated from ``R`` replicates carries its Monte Carlo standard error
``sqrt(p (1 - p) / R)`` and a 95% Wilson score interval.

One implementation whether the rows are in memory or not: rows are reduced to a :class:`Tally`
per design — per criterion the number of successes and of judged replicates, the failures, and
the Type S/M sufficient statistics — and tallies of disjoint parts (the runner's chunks, a
file's record batches) are combined in study order, never completion order, so the summaries
are bit-identical whatever the backend.  :func:`criteria_summary` and :func:`type_sm` are the
summaries of the whole table's tallies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from replic.criteria import CRITERIA

__all__ = ["DESIGN_COLUMNS", "DIAGNOSTIC_FLAGS", "K_NEEDED_COLUMNS", "SUMMARY_COLUMNS",
           "TALLY_COLUMNS", "TYPE_SM_COLUMNS", "Tally", "combine", "criteria_summary",
           "k_needed", "summary_from_tallies", "tallies", "tally", "type_s_bound", "type_sm",
           "type_sm_from_tallies", "unconverged", "wilson"]

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
#: The columns a tally reads from replicate rows (with the built-in criteria).
TALLY_COLUMNS = [*DESIGN_COLUMNS, "error", "estimate", "true_effect", "lower", "upper",
                 *CRITERIA, *DIAGNOSTIC_FLAGS]
#: The columns of :func:`type_sm`.
TYPE_SM_COLUMNS = [*DESIGN_COLUMNS, "n", "n_significant", "power", "type_s", "type_s_mcse",
                   "type_m", "type_m_mcse"]


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
    return summary_from_tallies(tallies(replicates, criteria=criteria))


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
    return type_sm_from_tallies(tallies(replicates))


@dataclass(frozen=True)
class Tally:
    """Sufficient statistics of some replicates of one design.

    Attributes
    ----------
    keys : tuple
        The design columns' values (:data:`DESIGN_COLUMNS`).
    criteria : tuple of str
        The criterion columns counted.
    successes, judged : ndarray of int, shape (len(criteria),)
        Per criterion: replicates meeting it, and replicates with a finite verdict.
    failed, ok : int
        Replicates whose analysis failed / succeeded.
    unconverged : int
        Successful replicates that did not converge or were flagged (:func:`unconverged`).
    significant, wrong_sign : int
        Successful replicates whose 95% interval excludes 0, and those among them whose
        estimate's sign differs from the true effect's.
    ratio_n, ratio_mean, ratio_m2 : float
        Count, mean and sum of squared deviations of ``|estimate| / |true effect|`` over the
        significant replicates (combined with Chan et al.'s pairwise update).
    """

    keys: tuple
    criteria: tuple[str, ...]
    successes: np.ndarray
    judged: np.ndarray
    failed: int
    ok: int
    unconverged: int
    significant: int
    wrong_sign: int
    ratio_n: int
    ratio_mean: float
    ratio_m2: float


def tally(rows: pd.DataFrame, *, criteria: Sequence[str] | None = None) -> Tally:
    """The tally of replicate rows of one design (e.g. one chunk).

    ``criteria``: the criterion columns to count (default :data:`replic.criteria.CRITERIA`).
    Rows without ``estimate``/``lower``/``upper``/``true_effect`` columns count no significant
    replicate (Type S/M undefined).
    """
    rows = _families(rows)
    names = tuple(CRITERIA if criteria is None else criteria)
    first = rows.iloc[0]
    keys = tuple(first[c] for c in DESIGN_COLUMNS)
    ok = rows["error"].astype(str).to_numpy() == ""
    judged, successes = [], []
    for c in names:
        x = rows[c].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        judged.append(x.size)
        successes.append(int(x.sum()))
    sig = ok.copy()
    if {"lower", "upper", "estimate", "true_effect"} <= set(rows.columns):
        lower, upper = rows["lower"].to_numpy(dtype=float), rows["upper"].to_numpy(dtype=float)
        sig &= (lower > 0) | (upper < 0)
        est = rows["estimate"].to_numpy(dtype=float)[sig]
        true = rows["true_effect"].to_numpy(dtype=float)[sig]
    else:
        sig[:] = False
        est = true = np.zeros(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.abs(est) / np.abs(true)
    mean = float(ratio.mean()) if ratio.size else 0.0
    return Tally(keys=keys, criteria=names, successes=np.asarray(successes, dtype=np.int64),
                 judged=np.asarray(judged, dtype=np.int64), failed=int((~ok).sum()),
                 ok=int(ok.sum()), unconverged=int(unconverged(rows).sum()),
                 significant=int(sig.sum()),
                 wrong_sign=int((np.sign(est) != np.sign(true)).sum()), ratio_n=int(ratio.size),
                 ratio_mean=mean, ratio_m2=float(((ratio - mean) ** 2).sum()))


def tallies(rows: pd.DataFrame, *, criteria: Sequence[str] | None = None) -> list[Tally]:
    """One :func:`tally` per design of ``rows``, in order of first appearance."""
    return [tally(g, criteria=criteria) for _, g in
            _families(rows).groupby(DESIGN_COLUMNS, sort=False, dropna=False)]


def combine(a: Tally, b: Tally) -> Tally:
    """The tally of the union of two disjoint sets of replicates of the same design."""
    n = a.ratio_n + b.ratio_n
    if n == 0:
        mean, m2 = 0.0, 0.0
    else:
        delta = b.ratio_mean - a.ratio_mean
        mean = a.ratio_mean + delta * b.ratio_n / n
        m2 = a.ratio_m2 + b.ratio_m2 + delta**2 * a.ratio_n * b.ratio_n / n
    return Tally(keys=a.keys, criteria=a.criteria, successes=a.successes + b.successes,
                 judged=a.judged + b.judged, failed=a.failed + b.failed, ok=a.ok + b.ok,
                 unconverged=a.unconverged + b.unconverged,
                 significant=a.significant + b.significant,
                 wrong_sign=a.wrong_sign + b.wrong_sign, ratio_n=n, ratio_mean=mean,
                 ratio_m2=m2)


def _per_design(parts: Iterable[Tally]) -> list[Tally]:
    out: dict[tuple, Tally] = {}
    for t in parts:
        out[t.keys] = combine(out[t.keys], t) if t.keys in out else t
    return list(out.values())


def summary_from_tallies(parts: Iterable[Tally]) -> pd.DataFrame:
    """Probability of each criterion per design (columns :data:`SUMMARY_COLUMNS`).

    ``parts`` must come in study order; tallies of the same design are combined.
    """
    rows = []
    for t in _per_design(parts):
        for c, s, n in zip(t.criteria, t.successes, t.judged, strict=True):
            s, n = float(s), int(n)
            p = s / n if n else np.nan
            lo, hi = wilson(s, n)
            rows.append((*t.keys, c, p, np.sqrt(p * (1 - p) / n) if n else np.nan, float(lo),
                         float(hi), int(s), n, t.failed, t.unconverged))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def type_sm_from_tallies(parts: Iterable[Tally]) -> pd.DataFrame:
    """Type S and Type M rates among significant replicates (columns
    :data:`TYPE_SM_COLUMNS`), see :func:`type_sm`."""
    rows = []
    for t in _per_design(parts):
        n = t.significant
        s = t.wrong_sign / n if n else np.nan
        sd = np.sqrt(t.ratio_m2 / (n - 1)) if n > 1 else np.nan
        rows.append((*t.keys, t.ok, n, n / max(t.ok, 1), s,
                     np.sqrt(s * (1 - s) / n) if n else np.nan,
                     t.ratio_mean if n else np.nan, sd / np.sqrt(n) if n > 1 else np.nan))
    return pd.DataFrame(rows, columns=TYPE_SM_COLUMNS)
