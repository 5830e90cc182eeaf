"""The REML likelihood of theta and the exact conditional posterior of beta, batched.

With ``Lambda = diag(sd) L / sigma`` (so ``Sigma = sigma^2 Lambda Lambda'``) and, per group,
``C_j = chol(I + Lambda' Z_j'Z_j Lambda)``, the Woodbury identities give

- ``log |V_j| = T_j log sigma^2 + 2 sum log diag C_j``;
- ``sigma^2 X'V^-1 X = sum_j X_j'X_j - W_j'W_j`` with ``W_j = C_j^-1 Lambda' Z_j'X_j``;
- ``sigma^2 X'V^-1 y`` and ``sigma^2 y'V^-1 y`` alike,

all stable when ``Sigma`` is singular.  With a flat prior on ``beta``,
``p(y | theta) = integral N(y; X beta, V) d beta`` is the REML likelihood
``-1/2 [log|V| + log|X'V^-1 X| + (y - X beta_hat)' V^-1 (y - X beta_hat)]`` (+ const), and
``beta | theta, y ~ N(beta_hat, (X'V^-1 X)^-1)`` exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.bayes_fast.stats import GroupStats
from replic.bayes_fast.transform import Theta
from replic.kernel.smallmat import (
    chol_logdet,
    chol_solve,
    cholesky,
    matmul,
    solve_lower,
    solve_upper,
)

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
        ``n`` data sets.
    theta : Theta
        Batch of shape (n, M): ``M`` values of theta for each data set.

    Returns
    -------
    Conditional
    """
    lam = _lambda(theta)[:, :, None]                       # (n, M, 1, Q, Q)
    lamT = np.swapaxes(lam, -1, -2)
    Q = lam.shape[-1]
    ZtZ, ZtX, XtX = stats.ZtZ[:, None], stats.ZtX[:, None], stats.XtX[:, None]
    C = cholesky(np.eye(Q) + matmul(matmul(lamT, ZtZ), lam))  # (n, M, G, Q, Q)
    Gm = solve_lower(C, lamT)                               # C^-1 Lambda'
    W = matmul(Gm, ZtX)                                     # (n, M, G, Q, P)
    Gz = matmul(Gm, stats.zy[:, None, :, :, None])[..., 0]  # (n, M, G, Q)
    count = stats.count[:, None]                            # (n|1, 1, G)
    s2 = theta.sigma ** 2
    WtW = matmul(np.swapaxes(W, -1, -2), W)
    if np.all(stats.count == 1):                             # Szz = zy zy': tr(G Szz G') = |G zy|^2
        GSG = np.sum(Gz * Gz, axis=-1)
    else:
        GSG = np.sum(matmul(Gm, stats.Szz[:, None]) * Gm, axis=(-2, -1))
    if count.shape[-1] == 1:                                 # one pattern: no sums over groups
        logdetV = stats.nobs[:, None] * np.log(s2) + count[..., 0] * chol_logdet(C[:, :, 0])
        F = count[..., 0, None, None] * (XtX[:, :, 0] - WtW[:, :, 0])
        GSG = GSG[:, :, 0]
    else:
        logdetV = stats.nobs[:, None] * np.log(s2) + np.sum(count * chol_logdet(C), axis=-1)
        F = np.sum(count[..., None, None] * (XtX - WtW), axis=2)
        GSG = np.sum(GSG, axis=-1)
    Fy = stats.Xty[:, None] - np.sum(W * Gz[..., None], axis=(2, 3))
    yVy = stats.yty[:, None] - GSG
    CF = cholesky(F)
    beta_hat = chol_solve(CF, Fy[..., None])[..., 0]
    P = F.shape[-1]
    quad = (yVy - np.einsum("nmp,nmp->nm", Fy, beta_hat)) / s2
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
        Statistics from :func:`~replic.bayes_fast.stats.stats_from_long` (``count`` all 1).
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
