"""Vectorised algebra on stacks of small matrices (pure numpy), shared by every LMM kernel.

Mixed-model fits of one grouping factor need, for every replicate, trial point and group, the
determinant, inverse, Cholesky factor or product of a ``q x q`` matrix with ``q`` of 1-6.
LAPACK-per-matrix calls (``numpy.linalg.inv`` on a stack) cost about a microsecond each; the closed
forms below run as a handful of whole-array operations.  Larger matrices fall back to
``numpy.linalg``.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "chol_logdet",
    "chol_solve",
    "cholesky",
    "det_inv",
    "det_inv_lead",
    "dot",
    "lower_from_theta",
    "matmul",
    "psd_cholesky",
    "q_from_m",
    "solve_lower",
    "solve_upper",
    "theta_from_lower",
    "tri_index",
]


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


def det_inv_lead(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`det_inv` for matrices stored with their axes first, shape (k, k, ...).

    Elementwise closed forms on contiguous blocks; the fastest layout for large stacks.
    """
    k = a.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        if k == 1:
            return a[0, 0], 1.0 / a
        if k == 2:
            d = a[0, 0] * a[1, 1] - a[0, 1] * a[1, 0]
            inv = np.empty_like(a)
            inv[0, 0], inv[1, 1] = a[1, 1] / d, a[0, 0] / d
            inv[0, 1], inv[1, 0] = -a[0, 1] / d, -a[1, 0] / d
            return d, inv
    d, inv = det_inv(np.moveaxis(a, (0, 1), (-2, -1)))
    return d, np.moveaxis(inv, (-2, -1), (0, 1))


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


def theta_from_lower(lam: np.ndarray) -> np.ndarray:
    """lme4's ``theta`` from a lower-triangular ``Lambda`` of shape (..., q, q)."""
    rows, cols = tri_index(lam.shape[-1])
    return lam[..., rows, cols]


def psd_cholesky(a: np.ndarray, *, rtol: float = 1e-7) -> np.ndarray:
    """Lower Cholesky factors of positive semi-definite matrices, exact zeros on rank loss.

    Parameters
    ----------
    a : ndarray, shape (..., q, q)
    rtol : float
        A pivot below ``rtol`` times the largest diagonal root counts as zero; its column is
        then zero (the factor of a singular covariance, as lme4 represents boundary fits).

    Returns
    -------
    ndarray, shape (..., q, q)
    """
    q = a.shape[-1]
    L = np.zeros_like(a)
    scale = np.sqrt(np.abs(np.diagonal(a, axis1=-2, axis2=-1)).max(axis=-1))
    for j in range(q):
        d = a[..., j, j] - (L[..., j, :j] ** 2).sum(-1)
        root = np.sqrt(np.maximum(d, 0.0))
        keep = root > rtol * scale
        L[..., j, j] = np.where(keep, root, 0.0)
        for i in range(j + 1, q):
            num = a[..., i, j] - (L[..., i, :j] * L[..., j, :j]).sum(-1)
            L[..., i, j] = np.where(keep, num / np.where(keep, root, 1.0), 0.0)
    return L


def q_from_m(m: int) -> int:
    """The ``q`` of a ``theta`` of length ``m = q (q + 1) / 2``."""
    q = round((np.sqrt(8 * m + 1) - 1) / 2)
    if q * (q + 1) // 2 != m:
        raise ValueError(f"theta of length {m} is not a lower triangle")
    return q


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for tiny matrices (..., n, k) and (..., k, m), broadcasting leading axes.

    One elementwise product-sum per entry: a few ns per 2 x 2 product where ``np.matmul`` on a
    stack costs ~0.4 us, and bit-identical to the sum over ``k`` in order.
    """
    n, k, m = A.shape[-2], A.shape[-1], B.shape[-1]
    out = np.empty((*np.broadcast_shapes(A.shape[:-2], B.shape[:-2]), n, m))
    for i in range(n):
        for j in range(m):
            acc = A[..., i, 0] * B[..., 0, j]
            for c in range(1, k):
                acc = acc + A[..., i, c] * B[..., c, j]
            out[..., i, j] = acc
    return out


def dot(a: list, b: list):
    """Sum of products of two lists of equally shaped arrays (0 for empty lists)."""
    if not a:
        return 0.0
    out = a[0] * b[0]
    for x, y in zip(a[1:], b[1:], strict=True):
        out = out + x * y
    return out


def cholesky(A: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of symmetric positive definite matrices ``A`` (..., n, n).

    Non-positive pivots (matrices that are not numerically positive definite) give NaN.
    """
    n = A.shape[-1]
    L = [[None] * n for _ in range(n)]
    for j in range(n):
        s = A[..., j, j] - dot(L[j][:j], L[j][:j])
        with np.errstate(invalid="ignore"):
            d = np.sqrt(np.where(s > 0, s, np.nan))
        L[j][j] = d
        for i in range(j + 1, n):
            L[i][j] = (A[..., i, j] - dot(L[i][:j], L[j][:j])) / d
    zero = np.zeros(A.shape[:-2])
    return np.stack([np.stack([L[i][j] if j <= i else zero for j in range(n)], axis=-1)
                     for i in range(n)], axis=-2)


def solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L X = B`` for lower-triangular ``L`` (..., n, n) and ``B`` (..., n, m)."""
    n = L.shape[-1]
    X: list = []
    for i in range(n):
        acc = B[..., i, :] - dot([L[..., i, k, None] for k in range(i)], X)
        X.append(acc / L[..., i, i, None])
    return np.stack(X, axis=-2)


def solve_upper(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L' X = B`` for lower-triangular ``L`` (..., n, n) and ``B`` (..., n, m)."""
    n = L.shape[-1]
    X: list = [None] * n
    for i in range(n - 1, -1, -1):
        ks = range(i + 1, n)
        acc = B[..., i, :] - dot([L[..., k, i, None] for k in ks], [X[k] for k in ks])
        X[i] = acc / L[..., i, i, None]
    return np.stack(X, axis=-2)


def chol_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``A X = B`` given the lower Cholesky factor ``L`` of ``A``."""
    return solve_upper(L, solve_lower(L, B))


def chol_logdet(L: np.ndarray) -> np.ndarray:
    """``log |A|`` from the lower Cholesky factor ``L`` of ``A``."""
    return 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)
