"""Profiled REML/ML fits of many one-factor LMM data sets at once (pure numpy).

:func:`fit_batch` minimises the profiled deviance over lme4's ``theta`` for every data set in a
:class:`~replic.kernel.stats.GroupStats` (vectorised Newton, :mod:`replic.lmm.optimize`), then
computes the fixed effects, their covariance and Satterthwaite df, ``sigma``, the criterion and
the ``singular``/``converged`` flags.  Data sets that cannot be fitted carry an error message and
NaN results; they are never dropped.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.kernel.smallmat import (
    lower_from_theta,
    psd_cholesky,
    q_from_m,
    theta_from_lower,
    tri_index,
)
from replic.kernel.stats import GroupStats
from replic.lmm.derivatives import derivatives, polish
from replic.lmm.deviance import components, deviance
from replic.lmm.optimize import canonical_theta, minimize
from replic.lmm.satterthwaite import satterthwaite_df
from replic.lmm.start import moment_start

__all__ = ["SINGULAR_TOL", "BatchFit", "check_stats", "empty_fit", "finish", "fit_batch"]

SINGULAR_TOL = 1e-4  # lme4's isSingular() tolerance on the diagonal of Lambda


@dataclass(frozen=True)
class BatchFit:
    """Fits of ``n`` data sets.

    Attributes
    ----------
    beta : ndarray, shape (n, P)
    cov : ndarray, shape (n, P, P)
        Covariance of ``beta``.
    df : ndarray, shape (n, P)
        Satterthwaite degrees of freedom.
    theta : ndarray, shape (n, m)
        lme4's ``theta`` (lower triangle of ``Lambda``, column by column).
    sigma : ndarray, shape (n,)
    criterion : ndarray, shape (n,)
        REML criterion (or ML deviance).
    converged, singular : ndarray of bool, shape (n,)
    error : ndarray of object, shape (n,)
        ``""`` for fitted data sets, else the reason.
    """

    beta: np.ndarray
    cov: np.ndarray
    df: np.ndarray
    theta: np.ndarray
    sigma: np.ndarray
    criterion: np.ndarray
    converged: np.ndarray
    singular: np.ndarray
    error: np.ndarray

    @property
    def se(self) -> np.ndarray:
        """Standard errors of ``beta``, shape (n, P)."""
        return np.sqrt(np.diagonal(self.cov, axis1=-2, axis2=-1))

    @property
    def Sigma(self) -> np.ndarray:
        """Covariance of the varying terms ``sigma^2 Lambda Lambda'``, shape (n, q, q)."""
        lam = lower_from_theta(self.theta, q_from_m(self.theta.shape[1]))
        return self.sigma[:, None, None] ** 2 * lam @ np.swapaxes(lam, -1, -2)


def check_stats(stats: GroupStats) -> np.ndarray:
    """Reasons why data sets cannot be fitted (``""`` when they can), shape (n,)."""
    p = stats.p
    err = np.full(stats.n, "", dtype=object)
    xtx = stats.XytXy[:, :p, :p]
    scale = np.maximum(np.abs(np.diagonal(xtx, axis1=1, axis2=2)).max(axis=1), 1e-300)
    lam = np.linalg.eigvalsh(xtx / scale[:, None, None])
    err[lam[:, 0] <= 1e-10] = "the fixed-effect design is rank deficient"
    # lme4 refuses these (check.nobs.vs.nRE = "stop"): as many random effects as observations
    err[stats.n_obs <= stats.q * stats.n_groups] = ("fewer observations than random effects "
                                                    "(lme4 refuses such fits)")
    err[stats.n_obs <= p] = "fewer observations than fixed effects + 1"
    err[stats.n_groups < 2] = "fewer than 2 groups with observations"
    return err


def fit_batch(stats: GroupStats, *, reml: bool = True, theta0: np.ndarray | None = None,
              df: bool = True) -> BatchFit:
    """Fit every data set in ``stats`` by profiled REML (or ML).

    Parameters
    ----------
    stats : GroupStats
        Statistics of the data sets, by design pattern (complete replicates collapse to one
        pattern: the cost of a fit does not grow with the number of groups).
    reml : bool
        REML (default) or maximum likelihood.
    theta0 : ndarray, shape (n, m), optional
        Starting values (default: moment estimates, :func:`replic.lmm.start.moment_start`).
    df : bool
        Compute Satterthwaite df (NaN otherwise).

    Returns
    -------
    BatchFit
    """
    n, q, p = stats.n, stats.q, stats.p
    m = q * (q + 1) // 2
    error = check_stats(stats)
    ok = np.flatnonzero(error == "")
    out = empty_fit(n, p, m, error)
    if ok.size == 0:
        return out
    sub = stats.take(ok).with_outer()
    x0 = moment_start(sub) if theta0 is None else np.asarray(theta0, dtype=float)[ok]
    opt = minimize(lambda idx, th: deviance(sub.take(idx), th, reml=reml), x0)
    theta, converged = opt.theta, opt.converged
    if q > 1 and not converged.all():
        theta, converged = _retry_reversed(sub, theta, converged, opt.value, reml=reml)
    finish(out, ok, sub, theta, converged=converged, reml=reml, df=df)
    return out


def _retry_reversed(stats: GroupStats, theta: np.ndarray, converged: np.ndarray,
                    value: np.ndarray, *, reml: bool) -> tuple[np.ndarray, np.ndarray]:
    """Refit unconverged data sets with the varying terms in reverse order.

    A boundary optimum where the first varying term has no variance (``Lambda_11 = 0``) lies
    in a curved valley of ``theta`` that Newton steps crawl along; in the reversed order the
    same optimum is a regular point.  The result is mapped back to the original order.
    """
    idx = np.flatnonzero(~converged)
    q = stats.q
    rev = np.arange(q)[::-1]
    sub = stats.take(idx)
    flipped = sub.reorder_terms(rev).with_outer()
    opt = minimize(lambda i, th: deviance(flipped.take(i), th, reml=reml),
                   moment_start(flipped))
    lam = lower_from_theta(opt.theta, q)
    rel = (lam @ np.swapaxes(lam, -1, -2))[..., rev, :][..., rev]
    back = theta_from_lower(psd_cholesky(rel))
    better = opt.converged | (opt.value < value[idx] - 1e-9)
    theta, converged = theta.copy(), converged.copy()
    theta[idx[better]] = back[better]
    converged[idx[better]] = opt.converged[better]
    return theta, converged


def finish(out: BatchFit, index: np.ndarray, stats: GroupStats, theta: np.ndarray, *,
           converged: np.ndarray, reml: bool, df: bool = True, exact: bool = False) -> None:
    """Fill ``out`` at ``index`` from the optimum ``theta`` of ``stats`` (in place).

    ``theta`` is first polished by exact Newton steps (:func:`replic.lmm.derivatives.polish`)
    unless it is ``exact`` already (closed-form fits).
    """
    q, p = stats.q, stats.p
    rows, cols = tri_index(q)
    if exact:
        derivs = derivatives(stats, theta) if df else None
    else:
        theta, derivs = polish(stats, theta, reml=reml)
        theta = canonical_theta(theta, q)
    parts = components(stats, theta[:, None])
    crit = deviance(stats, theta[:, None], reml=reml, parts=parts)[:, 0]
    nu = stats.n_obs - (p if reml else 0)
    sigma = np.sqrt(parts.r2[:, 0] / nu)
    if df:
        dfs, cov = satterthwaite_df(stats, theta, sigma, reml=reml, parts=derivs)
    else:
        dfs, cov = np.full((index.size, p), np.nan), sigma[:, None, None] ** 2 * parts.CXX_inv[:, 0]
    out.beta[index] = parts.beta[:, 0]
    out.cov[index] = cov
    out.df[index] = dfs
    out.theta[index] = theta
    out.sigma[index] = sigma
    out.criterion[index] = crit
    out.converged[index] = converged & np.isfinite(crit)
    out.singular[index] = (theta[:, rows == cols] < SINGULAR_TOL).any(axis=1)
    bad = ~np.isfinite(crit) | ~np.isfinite(parts.beta[:, 0]).all(axis=1)
    out.error[index[bad]] = "the deviance is not finite at the optimum"


def empty_fit(n: int, p: int, m: int, error: np.ndarray) -> BatchFit:
    """A :class:`BatchFit` of ``n`` data sets with ``p`` fixed effects and ``m`` theta entries,
    all NaN / False, carrying ``error``; filled in place by the engines."""
    nan = np.nan
    return BatchFit(beta=np.full((n, p), nan), cov=np.full((n, p, p), nan),
                    df=np.full((n, p), nan), theta=np.full((n, m), nan), sigma=np.full(n, nan),
                    criterion=np.full(n, nan), converged=np.zeros(n, dtype=bool),
                    singular=np.zeros(n, dtype=bool), error=error)
