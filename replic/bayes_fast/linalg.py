"""Batched linear algebra for tiny matrices (Q, P <= ~6), vectorised over leading axes.

numpy's ``linalg`` routines pay a per-matrix overhead that dominates for 2x2 and 3x3 matrices;
these loop over the (tiny) matrix dimension in Python and over the batch in numpy, so a batch
of millions of 2x2 Cholesky factorisations costs a few elementwise array operations.
"""

from __future__ import annotations

import numpy as np

__all__ = ["chol_logdet", "chol_solve", "cholesky", "matmul", "solve_lower", "solve_upper"]


def matmul(A: np.ndarray, B: np.ndarray) -> np.ndarray:
    """``A @ B`` for tiny matrices, broadcasting leading axes (a sum over the inner axis)."""
    out = A[..., :, 0, None] * B[..., None, 0, :]
    for k in range(1, A.shape[-1]):
        out = out + A[..., :, k, None] * B[..., None, k, :]
    return out


def _dot(a: list, b: list):
    """Sum of products of two lists of equally shaped arrays (0 for empty lists)."""
    out = 0.0
    for x, y in zip(a, b, strict=True):
        out = out + x * y
    return out


def cholesky(A: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of symmetric positive definite matrices ``A`` (..., n, n).

    Non-positive pivots (matrices that are not numerically positive definite) give NaN.
    """
    n = A.shape[-1]
    L = [[None] * n for _ in range(n)]
    for j in range(n):
        s = A[..., j, j] - _dot(L[j][:j], L[j][:j])
        with np.errstate(invalid="ignore"):
            d = np.sqrt(np.where(s > 0, s, np.nan))
        L[j][j] = d
        for i in range(j + 1, n):
            L[i][j] = (A[..., i, j] - _dot(L[i][:j], L[j][:j])) / d
    zero = np.zeros(A.shape[:-2])
    return np.stack([np.stack([L[i][j] if j <= i else zero for j in range(n)], axis=-1)
                     for i in range(n)], axis=-2)


def solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L X = B`` for lower-triangular ``L`` (..., n, n) and ``B`` (..., n, m)."""
    n = L.shape[-1]
    X: list = []
    for i in range(n):
        acc = B[..., i, :] - _dot([L[..., i, k, None] for k in range(i)], X)
        X.append(acc / L[..., i, i, None])
    return np.stack(X, axis=-2)


def solve_upper(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L' X = B`` for lower-triangular ``L`` (..., n, n) and ``B`` (..., n, m)."""
    n = L.shape[-1]
    X: list = [None] * n
    for i in range(n - 1, -1, -1):
        ks = range(i + 1, n)
        acc = B[..., i, :] - _dot([L[..., k, i, None] for k in ks], [X[k] for k in ks])
        X[i] = acc / L[..., i, i, None]
    return np.stack(X, axis=-2)


def chol_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``A X = B`` given the lower Cholesky factor ``L`` of ``A``."""
    return solve_upper(L, solve_lower(L, B))


def chol_logdet(L: np.ndarray) -> np.ndarray:
    """``log |A|`` from the lower Cholesky factor ``L`` of ``A``."""
    return 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)
