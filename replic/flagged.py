"""Replicate fits a study computed but does not trust: one line per analysis, and a warning.

A replicate's fit counts as *unconverged* when it succeeded but did not converge (Stan: R-hat,
bulk ESS or divergent transitions; REML: the optimiser's checks) or was *flagged* (bayes-fast:
Pareto k-hat of the importance weights > 0.7); :func:`replic.summarise.criteria_summary` counts
them per design in ``n_unconverged``.  :func:`replic.run_study` warns with a
:class:`~replic.errors.FlaggedReplicatesWarning` whenever there are any, with the counts per
analysis and design; the CLI prints the same counts as ``Warning:`` lines instead.
"""

from __future__ import annotations

import warnings

import pandas as pd

from replic.errors import FlaggedReplicatesWarning

__all__ = ["flagged_counts", "flagged_lines", "warn_flagged"]

#: Why an analysis's fit counts in ``n_unconverged``.
UNCONVERGED_WHY = {
    "bayes-fast": ("flagged (Pareto k-hat > 0.7: the importance-sampling posterior is "
                   "unreliable; the refit_flagged option refits them with Stan)"),
    "stan": "not converged (R-hat, bulk ESS or divergent transitions)",
    "reml": "not converged (the optimiser's checks)",
    "glmm": ("not converged or flagged (Newton did not converge, or the Hessian-based "
             "covariance was not positive definite, as glmer warns)"),
}


def flagged_counts(summary: pd.DataFrame) -> dict[tuple[str, str], int]:
    """``{(analysis, design label): n_unconverged}`` of the designs with any, in order.

    Parameters
    ----------
    summary : DataFrame
        A study's criteria summary (``analysis``, ``design``, ``criterion``, ``n_unconverged``);
        the count is per design, the same for every criterion.
    """
    if summary.empty:
        return {}
    head = summary.drop_duplicates(["analysis", "design"])
    return {(str(a), str(d)): int(n) for a, d, n in
            zip(head["analysis"], head["design"], head["n_unconverged"], strict=True) if n}


def flagged_lines(head: pd.DataFrame, reps: int) -> list[str]:
    """One warning line per analysis with flagged or unconverged replicate fits.

    Parameters
    ----------
    head : DataFrame
        Summary rows of one criterion (one row per design), with ``analysis`` and
        ``n_unconverged``.
    reps : int
        Replicates per design.
    """
    out = []
    for analysis, g in head.groupby("analysis", sort=False):
        bad = int(g["n_unconverged"].sum())
        if bad:
            why = UNCONVERGED_WHY.get(str(analysis), "not converged or flagged")
            out.append(f"Warning: {analysis}: {bad} of {reps * len(g)} replicate fits {why}; "
                       "exclude_unconverged = true leaves them out of the criteria")
    return out


def warn_flagged(summary: pd.DataFrame, *, reps: int, stacklevel: int = 2) -> None:
    """Warn (:class:`~replic.errors.FlaggedReplicatesWarning`) when any replicate fit of the
    study was flagged or did not converge, with the counts per analysis and design."""
    counts = flagged_counts(summary)
    if not counts:
        return
    parts = []
    for analysis in dict.fromkeys(a for a, _ in counts):
        mine = {d: n for (a, d), n in counts.items() if a == analysis}
        n_designs = int((summary.drop_duplicates(["analysis", "design"])["analysis"]
                         == analysis).sum())
        why = UNCONVERGED_WHY.get(analysis, "not converged or flagged")
        per = "; ".join(f"{d}: {n} of {reps}" for d, n in mine.items())
        parts.append(f"{analysis}: {sum(mine.values())} of {reps * n_designs} replicate fits "
                     f"{why} ({per})")
    message = (" | ".join(parts) + "; exclude_unconverged=True leaves them out of the "
               "criteria (they are counted in the summary's n_unconverged)")
    warnings.warn(FlaggedReplicatesWarning(
        message, {k: (n, int(reps)) for k, n in counts.items()}), stacklevel=stacklevel + 1)
