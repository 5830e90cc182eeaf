"""The REML likelihood for data sets with many design patterns (missing data), by one contraction.

:func:`replic.bayes_fast.reml.reml_conditional` works pattern by pattern with tiny-matrix
kernels; with one pattern per group (replicates with missing observations) that is ``G``
times the work of a complete data set.  Here every group enters only through
``T_g = Lambda (I + Lambda' Z_g'Z_g Lambda)^-1 Lambda'`` (Q x Q) and ``log |I + Lambda' Z_g'Z_g
Lambda|``:

- ``sigma^2 X'V^-1 X = sum_g c_g X_g'X_g - sum_g c_g X_g'Z_g T_g Z_g'X_g``,
- ``sigma^2 X'V^-1 y = X'y - sum_g X_g'Z_g T_g (Z'y)_g``,
- ``sigma^2 y'V^-1 y = y'y - sum_g tr(T_g S_g)``,

each linear in the entries of ``T_g``, so the sums over groups for all draws are a single
matrix product ``(n, M, G Q^2) @ (n, G Q^2, P^2 + P + 1)`` (BLAS) instead of per-group tiny
products.  Same results as ``reml_conditional`` to rounding.
"""

from __future__ import annotations

import numpy as np

from replic.bayes_fast.linalg import chol_solve, cholesky, matmul, solve_lower
from replic.bayes_fast.reml import Conditional
from replic.bayes_fast.stats import GroupStats
from replic.bayes_fast.transform import Theta

__all__ = ["pattern_products", "reml_conditional_patterns"]


def pattern_products(stats: GroupStats) -> np.ndarray:
    """The constants ``K`` (n, G Q^2, P^2 + P + 1) that the entries of ``T_g`` multiply."""
    count = np.broadcast_to(stats.count, (stats.n, stats.count.shape[-1]))
    ZtX = np.broadcast_to(stats.ZtX, (stats.n, *stats.ZtX.shape[1:]))       # (n, G, Q, P)
    n, G, Q, P = ZtX.shape
    k_xx = count[..., None, None, None, None] * ZtX[:, :, :, None, :, None] \
        * ZtX[:, :, None, :, None, :]                                           # (n,G,Q,Q,P,P)
    k_xy = ZtX[:, :, :, None, :] * stats.zy[:, :, None, :, None]               # (n,G,Q,Q,P)
    k_yy = np.swapaxes(stats.Szz, -1, -2)                                      # (n,G,Q,Q)
    return np.concatenate([k_xx.reshape(n, G, Q, Q, P * P), k_xy, k_yy[..., None]],
                          axis=-1).reshape(n, G * Q * Q, P * P + P + 1)


def _sums_small(lam: np.ndarray, stats: GroupStats, K: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """``sum_g T_g . K_g`` (n, M, R) and ``log|B_g|`` (n, M, G) in closed form for Q <= 2.

    ``B_g = I + Lambda' A_g Lambda`` is 1x1 or 2x2: its entries are linear in those of
    ``A_g = Z_g'Z_g`` (one matmul), its inverse and determinant are a few elementwise
    operations, and ``T_g = Lambda B_g^-1 Lambda'`` is linear in the inverse's entries, so
    the sums over groups are again one matmul with per-draw coefficients applied afterwards.
    """
    Q = lam.shape[-1]
    n, M = lam.shape[:2]
    A = np.broadcast_to(stats.ZtZ, (n, *stats.ZtZ.shape[1:]))                 # (n, G, Q, Q)
    G = A.shape[1]
    R = K.shape[-1]
    Kq = K.reshape(n, G, Q, Q, R)
    if Q == 1:
        l2 = lam[..., 0, 0] ** 2
        b = 1.0 + l2[..., None] * A[None, :, :, 0, 0].swapaxes(0, 1)
        sums = l2[..., None] * np.einsum("nmg,ngr->nmr", 1.0 / b, Kq[:, :, 0, 0])
        return sums, np.log(b)
    l11, l21, l22 = lam[..., 0, 0], lam[..., 1, 0], lam[..., 1, 1]
    a11, a12, a22 = A[..., 0, 0], A[..., 0, 1], A[..., 1, 1]                  # (n, G)
    b11 = 1.0 + (l11**2)[..., None] * a11[:, None] + (2 * l11 * l21)[..., None] * a12[:, None] \
        + (l21**2)[..., None] * a22[:, None]
    b12 = (l22 * l11)[..., None] * a12[:, None] + (l22 * l21)[..., None] * a22[:, None]
    b22 = 1.0 + (l22**2)[..., None] * a22[:, None]
    det = b11 * b22 - b12 * b12
    E = np.stack([b22, -b12, b11], axis=2) / det[:, :, None]                   # (n, M, 3, G)
    Ks = np.stack([Kq[:, :, 0, 0], Kq[:, :, 0, 1] + Kq[:, :, 1, 0], Kq[:, :, 1, 1]], axis=2)
    V = np.einsum("nmg,ngr->nmr", E.reshape(n, M * 3, G),
                  Ks.reshape(n, G, 3 * R)).reshape(n, M, 3, 3, R)
    c = [x[..., None] for x in (l11**2, l11 * l21, l11 * l22, l21**2, 2 * l21 * l22, l22**2)]
    sums = (c[0] * V[:, :, 0, 0] + c[1] * V[:, :, 0, 1] + c[2] * V[:, :, 1, 1]
            + c[3] * V[:, :, 0, 2] + c[4] * V[:, :, 1, 2] + c[5] * V[:, :, 2, 2])
    return sums, np.log(det)


def reml_conditional_patterns(stats: GroupStats, theta: Theta,
                              products: np.ndarray | None = None) -> Conditional:
    """:func:`replic.bayes_fast.reml.reml_conditional`, summing over patterns by one contraction.

    Parameters
    ----------
    stats : GroupStats
        ``n`` data sets with ``G`` patterns.
    theta : Theta
        Batch of shape (n, M).
    products : ndarray, optional
        :func:`pattern_products` of ``stats`` (computed when None).
    """
    K = pattern_products(stats) if products is None else products
    lam = (theta.sd[..., :, None] * theta.L / theta.sigma[..., None, None])[:, :, None]
    Q = lam.shape[-1]
    if Q <= 2:
        sums, logdetC = _sums_small(lam[:, :, 0], stats, K)
    else:
        lamT = np.swapaxes(lam, -1, -2)
        C = cholesky(np.eye(Q) + matmul(matmul(lamT, stats.ZtZ[:, None]), lam))  # (n,M,G,Q,Q)
        H = solve_lower(C, lamT)                                              # C^-1 Lambda'
        T = matmul(np.swapaxes(H, -1, -2), H)                                 # (n, M, G, Q, Q)
        sums = np.einsum("nmk,nkr->nmr", T.reshape(*T.shape[:2], -1), K)     # (n, M, R)
        logdetC = 2.0 * np.log(np.diagonal(C, axis1=-2, axis2=-1)).sum(axis=-1)
    n, M, G = logdetC.shape
    P = stats.Xty.shape[-1]
    count = np.broadcast_to(stats.count, (n, G))
    XtX = np.einsum("ng,ngpq->npq", count, np.broadcast_to(stats.XtX, (n, G, P, P)))
    F = XtX[:, None] - sums[..., :P * P].reshape(n, M, P, P)
    Fy = stats.Xty[:, None] - sums[..., P * P:P * P + P]
    yVy = stats.yty[:, None] - sums[..., -1]
    s2 = theta.sigma ** 2
    logdetV = stats.nobs[:, None] * np.log(s2) + np.einsum("ng,nmg->nm", count, logdetC)
    CF = cholesky(F)
    beta_hat = chol_solve(CF, Fy[..., None])[..., 0]
    quad = (yVy - np.einsum("nmp,nmp->nm", Fy, beta_hat)) / s2
    logdetXVX = 2.0 * np.log(np.diagonal(CF, axis1=-2, axis2=-1)).sum(axis=-1) - P * np.log(s2)
    loglik = -0.5 * (logdetV + logdetXVX + quad)
    return Conditional(loglik=loglik, beta_hat=beta_hat, chol_f=CF, sigma=theta.sigma)
