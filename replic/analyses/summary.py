"""The ``summary`` analysis: no refit.

Per replicate: the realised effect (recorded by the runner for every analysis) and the
two-stage estimate of the term.  Stage one regresses each subject's observations on the model's
within-subject columns (OLS); stage two tests the subjects' coefficients of the term:

- a within-subject term: their mean, ``SE = sd / sqrt(m)``, t(m - 1) interval and two-sided p,
  over the ``m`` subjects whose estimate exists (over the reference group when the term
  interacts with a between-subject factor);
- a two-level between-subject contrast, or its interaction with a within-subject term: the
  difference of the two groups' means, Student's pooled-variance two-sample t (n1 + n0 - 2 df).

For balanced complete designs these equal the REML estimates whenever the REML variance estimate
is interior.  Anything else (continuous subject-level covariates, factors with more levels,
terms that mix within- and between-subject variables otherwise) is refused by :meth:`check`
with a message naming the analyses that can do it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from replic.analyses import check_family
from replic.criteria import t_isf
from replic.errors import ReplicInputError
from replic.simulate import Replicates

__all__ = ["ANALYSIS", "SummaryAnalysis", "TwoStage", "per_subject_ols", "two_stage"]


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
class TwoStage:
    """What the two-stage analysis of one design estimates.

    Attributes
    ----------
    columns : ndarray of int
        The within-subject columns of ``X`` each subject's OLS regression uses.
    t : int
        Position, among ``columns``, of the coefficient taken from each subject.
    group : ndarray of int, shape (k,)
        ``1`` / ``0``: the two groups of a two-sample comparison (group 1 minus group 0);
        ``-1``: subjects left out; all ``1`` for a one-sample test.
    two_sample : bool
    """

    columns: np.ndarray
    t: int
    group: np.ndarray
    two_sample: bool


def two_stage(frame) -> TwoStage:
    """The two-stage plan for ``frame``'s term, or a :class:`ReplicInputError` saying why the
    ``summary`` analysis cannot estimate it.

    Supported: a within-subject term (per-subject coefficient, one-sample t over the subjects,
    or over the reference group when the term interacts with a between-subject factor); a
    two-level between-subject factor's contrast or its interaction with a within-subject term
    (two-sample t of the per-subject coefficients, pooled variance).
    """
    fmap, k = frame.fixed_map, frame.present.shape[0] if frame.present is not None else None
    subjects = frame.subjects
    k = len(subjects) if subjects is not None else k
    if fmap is None:
        if subjects is not None and len(subjects.columns):
            raise ReplicInputError(f"the summary analysis cannot tell which of {frame.term!r}'s "
                                   "columns vary within subjects; use reml, stan or bayes-fast")
        return TwoStage(np.arange(frame.X.shape[1]), frame.t, np.ones(k or 0, int), False)
    within = set(frame.within_vars)
    parts = [set(p) for p in fmap.parts]
    mine = parts[frame.t]
    w_mine = {c for c in mine if c[1] in within}
    b_mine = mine - w_mine
    why = (f"the summary analysis (two-stage, per-subject OLS) cannot estimate {frame.term!r} "
           "for this design")
    cols = [j for j, p in enumerate(parts) if all(c[1] in within for c in p)]
    tw = cols.index(next(j for j, p in enumerate(parts) if p == w_mine)) if any(
        p == w_mine for p in parts) else None
    if tw is None:
        raise ReplicInputError(f"{why}: the model has no within-subject coefficient "
                               f"{' x '.join(sorted(c[1] for c in w_mine)) or 'Intercept'}")
    others = [p - w_mine for p in parts if w_mine <= p and p - w_mine and p != mine
              and all(c[1] not in within for c in p - w_mine)]
    if any(c[0] == "num" for p in others for c in p) or any(c[0] == "num" for c in b_mine):
        raise ReplicInputError(f"{why}: it depends on a continuous subject-level covariate; use "
                               "reml, stan or bayes-fast")
    def indicator(comps) -> np.ndarray:
        out = np.ones(k, dtype=bool)
        for c in comps:
            out &= subjects[c[1]].astype(str).to_numpy() == c[2]
        return out
    if not b_mine:
        ref = np.ones(k, dtype=bool)
        for p in others:
            ref &= ~indicator(p)
        if ref.sum() < 2:
            raise ReplicInputError(f"{why}: fewer than 2 subjects in the reference group")
        return TwoStage(np.asarray(cols), tw, np.where(ref, 1, -1), False)
    if len(b_mine) > 1 or len(others) > 1 or (others and others[0] != b_mine):
        raise ReplicInputError(f"{why}: only a two-level between-subject contrast (or its "
                               "interaction with a within-subject term) is a two-sample test; "
                               "use reml, stan or bayes-fast")
    (c,) = b_mine
    levels = subjects[c[1]].astype(str).to_numpy()
    if len(set(levels)) != 2:
        raise ReplicInputError(f"{why}: {c[1]!r} has {len(set(levels))} levels among the new "
                               "subjects; a two-sample test needs exactly 2")
    g = (levels == c[2]).astype(int)
    if min(g.sum(), k - g.sum()) < 1 or k < 3:
        raise ReplicInputError(f"{why}: each group needs subjects")
    return TwoStage(np.asarray(cols), tw, g, True)


@dataclass(frozen=True)
class SummaryAnalysis:
    """Two-stage (per-subject OLS) summary of each replicate; no model refit."""

    name: str = "summary"
    representation: str = "moments"

    def prepare(self, posterior, frame, options: dict) -> None:
        check_family("summary", getattr(posterior, "family", "gaussian"))
        if options:
            raise ReplicInputError(f"the summary analysis takes no options, got "
                                   f"{', '.join(sorted(map(str, options)))}")

    def check(self, frame, design=None) -> None:
        """Refuse (:class:`ReplicInputError`) a design the two-stage analysis cannot analyse."""
        try:
            two_stage(frame)
        except ReplicInputError as exc:
            label = f"design {design.label}: " if design is not None else ""
            raise ReplicInputError(f"{label}{exc}") from None

    def run(self, reps: Replicates, context=None) -> dict[str, np.ndarray]:
        if reps.ols_mean is not None:
            m = np.full(reps.n, reps.design.k, dtype=float)
            mean, var = reps.ols_mean, reps.ols_var
            df = m - 1
        else:
            plan = two_stage(reps.frame)
            est, ok = per_subject_ols(reps.y, reps.observed, reps.frame.X[:, plan.columns],
                                      plan.t)
            group = plan.group
            if group.size != est.shape[1] and (group == 1).all():
                group = np.ones(est.shape[1], dtype=int)  # a shared frame built for another k
            if plan.two_sample:
                return _two_sample(est, ok, group)
            ok = ok & (group == 1)[None, :]
            m = ok.sum(axis=1).astype(float)
            e = np.where(ok, est, 0.0)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = e.sum(axis=1) / m
                var = (np.where(ok, est - mean[:, None], 0.0) ** 2).sum(axis=1) / (m - 1)
            df = m - 1
        with np.errstate(invalid="ignore", divide="ignore"):
            se = np.sqrt(var / m)
        return _columns(mean, se, df, m, m < 2)


def _two_sample(est: np.ndarray, ok: np.ndarray, group: np.ndarray) -> dict[str, np.ndarray]:
    """Student's two-sample t (pooled variance) of group 1 minus group 0, per replicate."""
    parts = []
    for g in (1, 0):
        sel = ok & (group == g)[None, :]
        n = sel.sum(axis=1).astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            mu = np.where(sel, est, 0.0).sum(axis=1) / n
        ss = (np.where(sel, est - mu[:, None], 0.0) ** 2).sum(axis=1)
        parts.append((n, mu, ss))
    (n1, m1, s1), (n0, m0, s0) = parts
    df = n1 + n0 - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt((s1 + s0) / df * (1 / n1 + 1 / n0))
    return _columns(m1 - m0, se, df, n1 + n0, (n1 < 1) | (n0 < 1) | (df < 1))


def _columns(mean, se, df, m, bad) -> dict[str, np.ndarray]:
    df = np.where(bad, np.nan, df)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = t_isf(0.025, df)
        p = 2 * special.stdtr(df, -np.abs(mean / se))
    error = np.where(bad, "too few subjects with an estimable per-subject coefficient", "")
    nan_if = lambda a: np.where(bad, np.nan, a)  # noqa: E731
    return {"estimate": nan_if(mean), "se": nan_if(se), "df": df,
            "lower": nan_if(mean - q * se), "upper": nan_if(mean + q * se), "p": nan_if(p),
            "subjects": m, "error": error.astype(object)}


ANALYSIS = SummaryAnalysis()
