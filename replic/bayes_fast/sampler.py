"""Importance sampling of ``(theta, beta) | y`` for many data sets at once.

Target: ``p(theta, beta | y) ∝ REML(theta) N(beta; beta_hat, V_theta) p(theta) p_int(c'beta)``
on the unconstrained scale ``eta`` of :mod:`replic.bayes_fast.transform`, where ``p_int`` is
the Student-t prior of the intercept at the predictor means ``c`` (brms's centred intercept)
and every other fixed effect has a flat prior.

Proposal for ``eta``: a deterministic mixture of two split-t distributions (Geweke 1989)
centred at the posterior mode.  The first (a share ``first`` of the draws) takes its axes from
the curvature at the mode and its scale on each side of each axis from how fast the log density
falls along it (variance posteriors are skewed: long tails towards sd = 0); the second takes its
axes and side scales from the PSIS-weighted draws of the first.  ``beta`` is drawn from its
exact conditional normal, so the weight of a draw is
``REML(theta) p(theta) p_int(c'beta) / q(eta)`` and does not depend on the rest of ``beta``.
Weights are Pareto smoothed; ``k-hat > 0.7`` flags an unreliable data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.bayes_fast.batch_priors import BatchPriors
from replic.bayes_fast.mode import Mode, find_mode
from replic.bayes_fast.proposal import Defensive, SplitT
from replic.bayes_fast.psis import psis, weights_ess
from replic.bayes_fast.reml import Conditional, reml_conditional
from replic.bayes_fast.transform import (
    Theta,
    cpc_pairs,
    from_unconstrained,
    log_prior_eta,
    log_student_t,
    n_theta,
)
from replic.kernel.stats import GroupStats

__all__ = ["ImportanceDraws", "importance_sample", "start_values"]


@dataclass(frozen=True, eq=False)
class ImportanceDraws:
    """Weighted draws for ``n`` data sets, ``M`` draws each.

    Attributes
    ----------
    eta : ndarray, shape (n, M, d)
        Unconstrained theta draws (:mod:`replic.bayes_fast.transform`).
    theta : Theta
        The same draws as sds, correlation factors and sigma, shape (n, M).
    log_weights : ndarray, shape (n, M)
        Pareto-smoothed, normalised log importance weights.
    khat : ndarray, shape (n,)
        Pareto k-hat of the raw weights.
    ess : ndarray, shape (n,)
        Effective sample size of the smoothed weights.
    beta : ndarray, shape (n, M, P)
        Fixed-effect draws (exact given theta).
    beta_hat : ndarray, shape (n, M, P)
    cov_beta : ndarray, shape (n, M, P, P)
        Conditional moments of ``beta | theta``.
    c : ndarray, shape (n, P) or None
        Direction of the intercept prior (``c'beta`` is the centred intercept); None if flat.
    mode : Mode
        Posterior modes of ``eta``.
    """

    eta: np.ndarray
    theta: Theta
    log_weights: np.ndarray
    khat: np.ndarray
    ess: np.ndarray
    beta: np.ndarray
    beta_hat: np.ndarray
    cov_beta: np.ndarray
    c: np.ndarray | None
    mode: Mode

    def term_moments(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Mean and variance of ``beta_t`` given each draw's ``theta`` (and ``c'beta``).

        Rao-Blackwellisation: conditionally on ``theta`` and on ``c'beta`` (the only function
        of ``beta`` the weights depend on), ``beta_t`` is exactly normal with these moments.
        """
        mean = self.beta_hat[..., t]
        var = self.cov_beta[..., t, t]
        if self.c is None:
            return mean, var
        Vc = np.einsum("nmpq,nq->nmp", self.cov_beta, self.c)
        cVc = np.einsum("nmp,np->nm", Vc, self.c)
        gamma_dev = np.einsum("nmp,np->nm", self.beta - self.beta_hat, self.c)
        return mean + Vc[..., t] * gamma_dev / cVc, np.maximum(var - Vc[..., t] ** 2 / cVc, 0.0)


def start_values(stats: GroupStats) -> np.ndarray:
    """Crude starting values of ``eta`` (n, d) from a pooled least-squares fit."""
    XtX = np.sum(stats.count[..., None, None] * stats.XtX, axis=1)
    XtX = np.broadcast_to(XtX, (stats.n, *XtX.shape[1:]))
    b = np.linalg.solve(XtX, stats.Xty[..., None])[..., 0]
    P = b.shape[1]
    rss = stats.yty - np.einsum("np,np->n", b, stats.Xty)
    s = np.sqrt(np.maximum(rss, 1e-12) / np.maximum(stats.nobs - P, 1))
    zz = np.diagonal(np.sum(stats.count[..., None, None] * stats.ZtZ, axis=1), axis1=-2, axis2=-1)
    zrms = np.sqrt(zz / stats.nobs[:, None])
    Q = zz.shape[-1]
    eta = np.zeros((stats.n, n_theta(Q)))
    eta[:, :Q] = np.log(0.5 * s[:, None] / np.maximum(zrms, 1e-12))
    eta[:, -1] = np.log(0.7 * s)
    return eta


def importance_sample(stats: GroupStats, priors: BatchPriors, Q: int, noise: dict, *,
                      df: float = 4.0, first: float = 0.25, defensive: float = 0.4,
                      ) -> ImportanceDraws:
    """Importance-sample the posteriors of ``stats.n`` data sets.

    Parameters
    ----------
    stats : GroupStats
    priors : BatchPriors
    Q : int
        Number of varying terms.
    noise : dict
        Standard random numbers per data set: ``z`` (n, M, d) and ``chi2`` (n, M) (chi-square
        with ``df`` degrees of freedom) for the proposal, ``zb`` (n, M, P) for ``beta``.
    df : float
        Degrees of freedom of the multivariate t proposals.
    first : float
        Share of the draws taken from the mode-curvature proposal before adapting.
    defensive : float
        Share of the draws taken from the defensive proposal
        (:class:`~replic.bayes_fast.proposal.Defensive`).

    Returns
    -------
    ImportanceDraws
    """
    _ = stats.with_outer().XytXy          # cached once, carried along by take()

    def log_density(eta: np.ndarray, rows: np.ndarray | slice = slice(None)
                    ) -> tuple[Conditional, Theta, np.ndarray]:
        p = priors.take(rows)
        theta, _ = from_unconstrained(eta, Q)
        with np.errstate(all="ignore"):
            cond = reml_conditional(stats.take(rows), theta)
        lp = cond.loglik + log_prior_eta(eta, Q, sd_prior=p.sd, sigma_prior=p.sigma, lkj=p.lkj)
        # the likelihood loses all precision far out (sd = e^17 sigma); the prior mass there is
        # < 1e-9, so those points get density 0 rather than a meaningless value
        scale = np.asarray(p.sd[2], dtype=float).reshape(-1, *([1] * (eta.ndim - 2)))
        far = (np.any(theta.sd > 1e3 * scale[..., None], axis=-1) | (theta.sigma > 1e3 * scale)
               | (theta.sigma < 1e-6 * scale))
        return cond, theta, np.where(far, -np.inf, np.nan_to_num(lp, nan=-np.inf))

    def logpost(eta: np.ndarray, rows: np.ndarray | slice = slice(None)) -> np.ndarray:
        return log_density(eta, rows)[2]

    mode = find_mode(logpost, start_values(stats))
    z, chi2 = noise["z"], noise["chi2"]
    M = z.shape[1]
    M1 = max(int(first * M), 10)
    M3 = max(int(defensive * M), 1) if defensive > 0 else 0
    q1 = SplitT.from_mode(logpost, mode, df=df)
    eta1 = q1.draw(z[:, :M1], chi2[:, :M1])
    cond1, theta1, lp1 = log_density(eta1)
    lw1, _ = psis(lp1 - q1.logpdf(eta1))
    q2 = SplitT.from_draws(eta1, lw1, mode.eta, df=df)
    pairs = cpc_pairs(Q)
    q3 = Defensive.from_draws(eta1, lw1, mode.eta, cpc=Q + np.arange(len(pairs)),
                              b=np.array([priors.lkj + (Q - 2 - j) / 2 for j, _ in pairs]),
                              df=df)
    eta2 = np.concatenate([q3.draw(z[:, M1:M1 + M3], chi2[:, M1:M1 + M3]),
                           q2.draw(z[:, M1 + M3:], chi2[:, M1 + M3:])], axis=1)
    cond2, theta2, lp2 = log_density(eta2)
    eta = np.concatenate([eta1, eta2], axis=1)
    cond = Conditional(**{f: np.concatenate([getattr(cond1, f), getattr(cond2, f)], axis=1)
                          for f in Conditional.__dataclass_fields__})
    theta = Theta(**{f: np.concatenate([getattr(theta1, f), getattr(theta2, f)], axis=1)
                     for f in Theta.__dataclass_fields__})
    # deterministic-mixture (balance heuristic) proposal density of every draw
    share = np.array([M1, M3, M - M1 - M3]) / M
    parts = [np.log(share[0]) + q1.logpdf(eta), np.log(share[2]) + q2.logpdf(eta)]
    if M3:
        parts.append(np.log(share[1]) + q3.logpdf(eta))
    lq = np.logaddexp.reduce(np.stack(parts), axis=0)
    beta = cond.draw_beta(noise["zb"])
    c = None
    lw = np.concatenate([lp1, lp2], axis=1) - lq
    if priors.intercept is not None:
        c = stats.xbar
        gamma = np.einsum("nmp,np->nm", beta, c)
        idf, iloc, iscale = (a[:, None] for a in priors.intercept)
        lw = lw + log_student_t(gamma, idf, iloc, iscale)
    cov_beta = cond.cov_beta()
    # far-tail proposals can overflow (sd = e^30); they get weight 0 and harmless moments
    bad = (~np.isfinite(lw) | ~np.all(np.isfinite(beta), axis=-1)
           | ~np.all(np.isfinite(cov_beta), axis=(-2, -1)))
    lw = np.where(bad, -np.inf, lw)
    beta = np.where(bad[..., None], 0.0, beta)
    beta_hat = np.where(bad[..., None], 0.0, cond.beta_hat)
    cov_beta = np.where(bad[..., None, None], np.eye(beta.shape[-1]), cov_beta)
    slw, khat = psis(lw)
    return ImportanceDraws(eta=eta, theta=theta, log_weights=slw, khat=khat,
                           ess=weights_ess(slw), beta=beta, beta_hat=beta_hat,
                           cov_beta=cov_beta, c=c, mode=mode)
