"""Starting values of ``theta`` from per-group moments (pure numpy).

Per group ``j`` with a full-rank ``A_j = Z_j'Z_j``: the OLS coefficients ``c_j = A_j^-1 Z_j'y_j``
of the varying terms.  Their sample covariance minus the average sampling covariance
``sigma^2 A_j^-1``, relative to the pooled residual variance, estimates ``Lambda Lambda'``; its
eigenvalues are floored at a small positive value before the Cholesky factor is taken.  Exact for
balanced complete data with interior fits, and a few Newton steps from the REML optimum
otherwise.  Data sets where the moments are undefined start from lme4's ``Lambda = I``.

Only sums over groups enter, one term per design pattern ``p`` of
:class:`~replic.kernel.stats.GroupStats`: ``sum_j c_j = A_p^-1 zy_p``,
``sum_j c_j c_j' = A_p^-1 Szz_p A_p^-1`` and ``sum_j c_j' Z_j'y_j = tr(A_p^-1 Szz_p)``.
"""

from __future__ import annotations

import numpy as np

from replic.kernel.smallmat import det_inv, matmul, psd_cholesky, theta_from_lower, tri_index
from replic.kernel.stats import GroupStats

__all__ = ["moment_start"]


def moment_start(stats: GroupStats, *, floor: float = 1e-2) -> np.ndarray:
    """Moment estimates of lme4's ``theta``, shape (n, m).

    Parameters
    ----------
    stats : GroupStats
    floor : float
        Smallest eigenvalue of the relative covariance ``Lambda Lambda'`` at the start.

    Returns
    -------
    ndarray, shape (n, q (q + 1) / 2)
    """
    q = stats.q
    A = stats.ZtZ                                             # (n|1, G, q, q)
    det, Ainv = det_inv(A)
    size = np.prod(np.diagonal(A, axis1=-2, axis2=-1), axis=-1)
    valid = np.isfinite(det) & (det > 1e-8 * np.maximum(size, 1e-300))
    Ainv = np.where(valid[..., None, None], Ainv, 0.0)
    w = valid * stats.count                                   # groups with moments, (n|1, G)
    csum = (Ainv * stats.zy[..., None, :]).sum(-1)            # sum_j c_j over the pattern
    AS = matmul(Ainv, stats.Szz)                              # sum_j c_j b_j' = A^-1 Szz
    CC = matmul(AS, Ainv)                                     # sum_j c_j c_j'
    nv = np.broadcast_to(w, (stats.n, w.shape[-1])).sum(axis=1)
    rss = stats.XytXy[:, -1, -1] - np.trace(AS, axis1=-2, axis2=-1).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        s2 = rss / (stats.n_obs - q * nv)
        cbar = csum.sum(axis=1) / nv[:, None]
        S = (CC.sum(axis=1) - nv[:, None, None] * cbar[:, :, None] * cbar[:, None, :]) / (
            nv - 1)[:, None, None]
        G = (w[..., None, None] * Ainv).sum(axis=1) / nv[:, None, None]
        R = S / s2[:, None, None] - G
    ok = (nv >= 2) & (s2 > 0) & np.isfinite(R).all(axis=(1, 2))
    rows, cols = tri_index(q)
    theta = np.broadcast_to((rows == cols).astype(float), (stats.n, rows.size)).copy()
    if ok.any():
        lam, V = np.linalg.eigh(R[ok])
        lam = np.maximum(lam, floor)
        Rc = np.einsum("nij,nj,nkj->nik", V, lam, V)
        theta[ok] = theta_from_lower(psd_cholesky(Rc))
    return theta
