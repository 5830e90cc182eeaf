"""The ``summary`` analysis: no refit.

Per replicate: the realised effect ``beta + mean of the k new deviations`` (recorded by the
runner for every analysis) and the two-stage estimate of the term: the mean over subjects of
per-subject OLS estimates, with ``SE = sd / sqrt(m)``, a t(m - 1) 95% interval and two-sided p,
where ``m`` is the number of subjects whose OLS estimate exists (``m = k`` when complete).  For
balanced complete designs it equals the REML estimate whenever the REML variance estimate is
interior.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from replic.criteria import t_isf
from replic.simulate import Replicates

__all__ = ["ANALYSIS", "SummaryAnalysis", "per_subject_ols"]


def per_subject_ols(y: np.ndarray, observed: np.ndarray | None, X: np.ndarray,
                    t: int) -> tuple[np.ndarray, np.ndarray]:
    """OLS estimate of coefficient ``t`` for every subject of every replicate.

    Parameters
    ----------
    y : ndarray, shape (n, k, T)
        Responses (NaN where unobserved).
    observed : ndarray of bool, shape (n, k, T), or None
    X : ndarray, shape (T, P)
    t : int

    Returns
    -------
    est : ndarray, shape (n, k)
        NaN where the subject's observed design is rank deficient.
    ok : ndarray of bool, shape (n, k)
    """
    P = X.shape[1]
    if observed is None:
        coef = np.linalg.solve(X.T @ X, X.T @ y.reshape(-1, y.shape[-1]).T)
        return coef[t].reshape(y.shape[:2]), np.ones(y.shape[:2], dtype=bool)
    w = observed.astype(float)
    XtX = np.einsum("nkt,tp,tq->nkpq", w, X, X)
    Xty = np.einsum("nkt,tp->nkp", w * np.nan_to_num(y), X)
    ok = np.linalg.matrix_rank(XtX) == P
    XtX[~ok] = np.eye(P)
    est = np.linalg.solve(XtX, Xty[..., None])[..., t, 0]
    return np.where(ok, est, np.nan), ok


@dataclass(frozen=True)
class SummaryAnalysis:
    """Two-stage (per-subject OLS) summary of each replicate; no model refit."""

    name: str = "summary"
    representation: str = "moments"

    def prepare(self, posterior, frame, options: dict) -> None:
        if options:
            raise TypeError(f"the summary analysis takes no options, got {sorted(options)}")

    def run(self, reps: Replicates, context=None) -> dict[str, np.ndarray]:
        if reps.ols_mean is not None:
            m = np.full(reps.n, reps.design.k, dtype=float)
            mean, var = reps.ols_mean, reps.ols_var
        else:
            est, ok = per_subject_ols(reps.y, reps.observed, reps.frame.X, reps.frame.t)
            m = ok.sum(axis=1).astype(float)
            e = np.where(ok, est, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = e.sum(axis=1) / m
                var = (np.where(ok, est - mean[:, None], 0.0) ** 2).sum(axis=1) / (m - 1)
        bad = m < 2
        df = np.where(bad, np.nan, m - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(var / m)
            q = t_isf(0.025, df)
            p = 2 * special.stdtr(df, -np.abs(mean / se))
        error = np.where(bad, "fewer than 2 subjects with an estimable per-subject slope", "")
        nan_if = lambda a: np.where(bad, np.nan, a)  # noqa: E731
        return {"estimate": nan_if(mean), "se": nan_if(se), "df": df,
                "lower": nan_if(mean - q * se), "upper": nan_if(mean + q * se), "p": nan_if(p),
                "subjects": m, "error": error.astype(object)}


ANALYSIS = SummaryAnalysis()
