"""Summaries from per-chunk partial counts, so that no summary needs every row in memory.

Each finished chunk (all of one design) is reduced to a :class:`Tally` — per criterion the
number of successes and of judged replicates, the failures, and the Type S/M sufficient
statistics — and tallies are combined in study order (never completion order), so the
summaries are bit-identical whatever the backend.  The probabilities, MCSEs and Wilson
intervals equal :func:`replic.summarise.criteria_summary` on the full table; Type M's mean and
MCSE equal :func:`replic.summarise.type_sm` up to floating-point summation order.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from replic.criteria import CRITERIA
from replic.summarise import DESIGN_COLUMNS, DIAGNOSTIC_FLAGS, SUMMARY_COLUMNS, unconverged, wilson

__all__ = [
    "TALLY_COLUMNS",
    "Tally",
    "combine",
    "summary_from_tallies",
    "tally",
    "type_sm_from_tallies",
]

#: The columns a tally reads from a chunk's rows.
TALLY_COLUMNS = [*DESIGN_COLUMNS, "error", "estimate", "true_effect", "lower", "upper",
                 *CRITERIA, *DIAGNOSTIC_FLAGS]


@dataclass(frozen=True)
class Tally:
    """Sufficient statistics of some replicates of one design.

    Attributes
    ----------
    keys : tuple
        The design columns' values (``analysis, design, k, missing, params``).
    successes, judged : ndarray of int, shape (len(CRITERIA),)
        Per criterion: replicates meeting it, and replicates with a finite verdict.
    failed, ok : int
        Replicates whose analysis failed / succeeded.
    unconverged : int
        Successful replicates that did not converge or were flagged
        (:func:`replic.summarise.unconverged`).
    significant, wrong_sign : int
        Successful replicates whose 95% interval excludes 0, and those among them whose
        estimate's sign differs from the true effect's.
    ratio_n, ratio_mean, ratio_m2 : float
        Count, mean and sum of squared deviations of ``|estimate| / |true effect|`` over the
        significant replicates (combined with Chan et al.'s pairwise update).
    """

    keys: tuple
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


def tally(rows: pd.DataFrame) -> Tally:
    """The tally of one chunk's rows (all of one design)."""
    first = rows.iloc[0]
    keys = tuple(first[c] for c in DESIGN_COLUMNS)
    ok = rows["error"].astype(str).to_numpy() == ""
    judged, successes = [], []
    for c in CRITERIA:
        x = rows[c].to_numpy(dtype=float)
        x = x[np.isfinite(x)]
        judged.append(x.size)
        successes.append(int(x.sum()))
    lower, upper = rows["lower"].to_numpy(dtype=float), rows["upper"].to_numpy(dtype=float)
    sig = ok & ((lower > 0) | (upper < 0))
    est = rows["estimate"].to_numpy(dtype=float)[sig]
    true = rows["true_effect"].to_numpy(dtype=float)[sig]
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.abs(est) / np.abs(true)
    mean = float(ratio.mean()) if ratio.size else 0.0
    return Tally(keys=keys, successes=np.asarray(successes, dtype=np.int64),
                 judged=np.asarray(judged, dtype=np.int64), failed=int((~ok).sum()),
                 ok=int(ok.sum()), unconverged=int(unconverged(rows).sum()),
                 significant=int(sig.sum()),
                 wrong_sign=int((np.sign(est) != np.sign(true)).sum()), ratio_n=int(ratio.size),
                 ratio_mean=mean, ratio_m2=float(((ratio - mean) ** 2).sum()))


def combine(a: Tally, b: Tally) -> Tally:
    """The tally of the union of two disjoint sets of replicates of the same design."""
    n = a.ratio_n + b.ratio_n
    if n == 0:
        mean, m2 = 0.0, 0.0
    else:
        delta = b.ratio_mean - a.ratio_mean
        mean = a.ratio_mean + delta * b.ratio_n / n
        m2 = a.ratio_m2 + b.ratio_m2 + delta**2 * a.ratio_n * b.ratio_n / n
    return Tally(keys=a.keys, successes=a.successes + b.successes, judged=a.judged + b.judged,
                 failed=a.failed + b.failed, ok=a.ok + b.ok,
                 unconverged=a.unconverged + b.unconverged,
                 significant=a.significant + b.significant,
                 wrong_sign=a.wrong_sign + b.wrong_sign, ratio_n=n, ratio_mean=mean,
                 ratio_m2=m2)


def _per_design(tallies: Iterable[Tally]) -> list[Tally]:
    out: dict[tuple, Tally] = {}
    for t in tallies:
        out[t.keys] = combine(out[t.keys], t) if t.keys in out else t
    return list(out.values())


def summary_from_tallies(tallies: Iterable[Tally]) -> pd.DataFrame:
    """Probability of each criterion per design (the layout of ``criteria_summary``).

    ``tallies`` must come in study order.
    """
    rows = []
    for t in _per_design(tallies):
        for c, s, n in zip(CRITERIA, t.successes, t.judged, strict=True):
            s, n = float(s), int(n)
            p = s / n if n else np.nan
            lo, hi = wilson(s, n)
            rows.append((*t.keys, c, p, np.sqrt(p * (1 - p) / n) if n else np.nan, float(lo),
                         float(hi), int(s), n, t.failed, t.unconverged))
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def type_sm_from_tallies(tallies: Iterable[Tally]) -> pd.DataFrame:
    """Type S and Type M rates among significant replicates (the layout of ``type_sm``)."""
    rows = []
    for t in _per_design(tallies):
        n = t.significant
        s = t.wrong_sign / n if n else np.nan
        sd = np.sqrt(t.ratio_m2 / (n - 1)) if n > 1 else np.nan
        rows.append((*t.keys, t.ok, n, n / max(t.ok, 1), s,
                     np.sqrt(s * (1 - s) / n) if n else np.nan,
                     t.ratio_mean if n else np.nan, sd / np.sqrt(n) if n > 1 else np.nan))
    return pd.DataFrame(rows, columns=[*DESIGN_COLUMNS, "n", "n_significant", "power", "type_s",
                                       "type_s_mcse", "type_m", "type_m_mcse"])
