"""Vectorised algebra on stacks of small matrices (pure numpy).

Mixed-model fits of one grouping factor need, for every replicate, trial point and group, the
determinant and inverse of a ``q x q`` matrix with ``q`` of 1-3.  LAPACK-per-matrix calls
(``numpy.linalg.inv`` on a stack) cost about a microsecond each; the closed forms below run as a
handful of whole-array operations.  Larger matrices fall back to ``numpy.linalg``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["det_inv", "mm", "mtm", "tri_index", "lower_from_theta"]


def mm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched product ``a @ b`` of small matrices, broadcasting leading axes."""
    return (a[..., :, :, None] * b[..., None, :, :]).sum(axis=-2)


def mtm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Batched product ``a.T @ b`` of small matrices, broadcasting leading axes."""
    return (a[..., :, :, None] * b[..., :, None, :]).sum(axis=-3)


def det_inv(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Determinants and inverses of a stack of square matrices.

    Parameters
    ----------
    a : ndarray, shape (..., k, k)

    Returns
    -------
    det : ndarray, shape (...)
    inv : ndarray, shape (..., k, k)
        ``nan`` where the determinant is zero.
    """
    k = a.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if k == 1:
            d = a[..., 0, 0]
            return d, (1.0 / d)[..., None, None]
        if k == 2:
            p, q, r, s = a[..., 0, 0], a[..., 0, 1], a[..., 1, 0], a[..., 1, 1]
            d = p * s - q * r
            adj = np.stack([np.stack([s, -q], -1), np.stack([-r, p], -1)], -2)
            return d, adj / d[..., None, None]
        if k == 3:
            c = np.empty_like(a)
            for i in range(3):
                for j in range(3):
                    i1, i2 = (i + 1) % 3, (i + 2) % 3
                    j1, j2 = (j + 1) % 3, (j + 2) % 3
                    c[..., j, i] = (a[..., i1, j1] * a[..., i2, j2]
                                    - a[..., i1, j2] * a[..., i2, j1])
            d = (a[..., 0, :] * c[..., :, 0]).sum(-1)
            return d, c / d[..., None, None]
        d = np.linalg.det(a)
        ok = d != 0
        safe = np.where(ok[..., None, None], a, np.eye(k))
        return d, np.where(ok[..., None, None], np.linalg.inv(safe), np.nan)


def tri_index(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column indices of the lower triangle of a ``q x q`` matrix, column by column.

    This is lme4's order of ``theta``: for ``q = 2``, ``(0,0), (1,0), (1,1)``.
    """
    cols, rows = np.triu_indices(q)
    return rows, cols


def lower_from_theta(theta: np.ndarray, q: int) -> np.ndarray:
    """The relative covariance factor ``Lambda`` (lower triangular) from lme4's ``theta``.

    Parameters
    ----------
    theta : ndarray, shape (..., q (q + 1) / 2)
    q : int

    Returns
    -------
    ndarray, shape (..., q, q)
    """
    rows, cols = tri_index(q)
    lam = np.zeros((*theta.shape[:-1], q, q))
    lam[..., rows, cols] = theta
    return lam
