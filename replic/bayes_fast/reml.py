"""The REML likelihood of theta and the exact conditional posterior of beta, batched.

With ``Lambda = diag(sd) L / sigma`` (so ``Sigma = sigma^2 Lambda Lambda'``), the sums over
groups of :func:`replic.kernel.woodbury.group_sums` (the algebra lme4's deviance uses, shared with
:mod:`replic.lmm`) give ``log |V| = N log sigma^2 + log|L|^2`` and
``sigma^2 [X y]'V^-1 [X y] = [X y]'[X y] - S``, whose blocks are ``F = sigma^2 X'V^-1 X``,
``sigma^2 X'V^-1 y`` and ``sigma^2 y'V^-1 y``; all stable when ``Sigma`` is singular.  With a flat
prior on ``beta``, ``p(y | theta) = integral N(y; X beta, V) d beta`` is the REML likelihood
``-1/2 [log|V| + log|X'V^-1 X| + (y - X beta_hat)' V^-1 (y - X beta_hat)]`` (+ const), and
``beta | theta, y ~ N(beta_hat, (X'V^-1 X)^-1)`` exactly.  Complete replicates share one design
pattern, so a likelihood costs the same for any number of groups; with missing data every group is
its own pattern and the cost is one matrix product over groups per batch of theta values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.bayes_fast.transform import Theta
from replic.kernel.smallmat import (
    chol_logdet,
    chol_solve,
    cholesky,
    solve_lower,
    solve_upper,
)
from replic.kernel.stats import GroupStats
from replic.kernel.woodbury import group_sums

__all__ = ["Conditional", "draw_random_effects", "reml_conditional"]


@dataclass(frozen=True, eq=False)
class Conditional:
    """REML log likelihood and ``beta | theta`` for a batch of theta, shape (n, M) leading.

    Attributes
    ----------
    loglik : ndarray, shape (n, M)
        REML log likelihood (without the constant ``-(N - P)/2 log 2 pi``).
    beta_hat : ndarray, shape (n, M, P)
        Conditional posterior mean of ``beta``.
    chol_f : ndarray, shape (n, M, P, P)
        Cholesky factor of ``F = sigma^2 X'V^-1 X``; ``Cov(beta | theta) = sigma^2 F^-1``.
    sigma : ndarray, shape (n, M)
    """

    loglik: np.ndarray
    beta_hat: np.ndarray
    chol_f: np.ndarray
    sigma: np.ndarray

    def draw_beta(self, z: np.ndarray) -> np.ndarray:
        """``beta`` draws from standard normals ``z`` (n, M, P)."""
        dev = solve_upper(self.chol_f, z[..., None])[..., 0]
        return self.beta_hat + self.sigma[..., None] * dev

    def cov_beta(self) -> np.ndarray:
        """``Cov(beta | theta)``, shape (n, M, P, P)."""
        P = self.chol_f.shape[-1]
        eye = np.broadcast_to(np.eye(P), self.chol_f.shape)
        return self.sigma[..., None, None] ** 2 * chol_solve(self.chol_f, eye)


def _lambda(theta: Theta) -> np.ndarray:
    return theta.sd[..., :, None] * theta.L / theta.sigma[..., None, None]


def reml_conditional(stats: GroupStats, theta: Theta) -> Conditional:
    """REML log likelihood and conditional ``beta`` moments.

    Parameters
    ----------
    stats : GroupStats
        ``n`` data sets; their :attr:`~replic.kernel.stats.GroupStats.outer` and
        :attr:`~replic.kernel.stats.GroupStats.XytXy` are computed once and cached (and carried
        along by :meth:`~replic.kernel.stats.GroupStats.take`).
    theta : Theta
        Batch of shape (n, M): ``M`` values of theta for each data set.

    Returns
    -------
    Conditional
    """
    ld_l2, S = group_sums(_lambda(theta), stats.ZtZ, stats.outer,
                          count=stats.count)
    n, M = ld_l2.shape
    P = stats.p
    C = stats.XytXy[:, None] - S.reshape(n, M, P + 1, P + 1)
    CF = cholesky(C[..., :P, :P])                            # F = sigma^2 X'V^-1 X
    Fy = C[..., :P, P]
    beta_hat = chol_solve(CF, Fy[..., None])[..., 0]
    s2 = theta.sigma ** 2
    quad = (C[..., P, P] - np.einsum("nmp,nmp->nm", Fy, beta_hat)) / s2
    logdetV = stats.nobs[:, None] * np.log(s2) + ld_l2
    logdetXVX = chol_logdet(CF) - P * np.log(s2)
    loglik = -0.5 * (logdetV + logdetXVX + quad)
    return Conditional(loglik=loglik, beta_hat=beta_hat, chol_f=CF, sigma=theta.sigma)


def draw_random_effects(stats: GroupStats, theta: Theta, beta: np.ndarray,
                        z: np.ndarray) -> np.ndarray:
    """Draw ``u_j | theta, beta, y`` exactly, for data with one pattern per group.

    ``u_j ~ N(Lambda M_j^-1 Lambda' Z_j'(y_j - X_j beta), sigma^2 Lambda M_j^-1 Lambda')`` with
    ``M_j = I + Lambda' Z_j'Z_j Lambda``.

    Parameters
    ----------
    stats : GroupStats
        Statistics from :func:`~replic.kernel.stats.stats_from_long` (``count`` all 1).
    theta : Theta
        Batch of shape (n, S).
    beta : ndarray, shape (n, S, P)
    z : ndarray, shape (n, S, J, Q)
        Standard normal draws.

    Returns
    -------
    ndarray, shape (n, S, J, Q)
    """
    lam = _lambda(theta)[:, :, None]
    lamT = np.swapaxes(lam, -1, -2)
    Q = lam.shape[-1]
    C = cholesky(np.eye(Q) + lamT @ stats.ZtZ[:, None] @ lam)
    resid = stats.zy[:, None] - np.einsum("ngqp,nsp->nsgq", stats.ZtX, beta)   # Z_j'(y_j - X_j b)
    a = solve_lower(C, lamT @ resid[..., None])
    mean_part = solve_upper(C, a)[..., 0]
    noise = solve_upper(C, z[..., None])[..., 0] * theta.sigma[:, :, None, None]
    return np.einsum("nsgqr,nsgr->nsgq", lam, mean_part + noise)
