"""Batched linear algebra for tiny matrices (Q, P <= ~6), vectorised over leading axes.

numpy's ``linalg`` routines pay a per-matrix overhead that dominates for 2x2 and 3x3 matrices;
these loop over the (tiny) matrix dimension in Python and over the batch in numpy, so a batch
of millions of 2x2 Cholesky factorisations costs a few elementwise array operations.
"""

from __future__ import annotations

import numpy as np

__all__ = ["chol_logdet", "chol_solve", "cholesky", "solve_lower", "solve_upper"]


def cholesky(A: np.ndarray) -> np.ndarray:
    """Lower Cholesky factors of symmetric positive definite matrices ``A`` (..., n, n).

    Non-positive pivots (matrices that are not numerically positive definite) give NaN.
    """
    n = A.shape[-1]
    L = np.zeros(np.broadcast_shapes(A.shape), dtype=float)
    for j in range(n):
        s = A[..., j, j] - np.einsum("...k,...k->...", L[..., j, :j], L[..., j, :j])
        with np.errstate(invalid="ignore"):
            d = np.sqrt(np.where(s > 0, s, np.nan))
        L[..., j, j] = d
        for i in range(j + 1, n):
            L[..., i, j] = (A[..., i, j]
                            - np.einsum("...k,...k->...", L[..., i, :j], L[..., j, :j])) / d
    return L


def solve_lower(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L X = B`` for lower-triangular ``L`` (..., n, n) and ``B`` (..., n, m)."""
    n = L.shape[-1]
    shape = np.broadcast_shapes(L.shape[:-2], B.shape[:-2]) + B.shape[-2:]
    X = np.empty(shape, dtype=float)
    for i in range(n):
        acc = B[..., i, :] - np.einsum("...k,...km->...m", L[..., i, :i], X[..., :i, :])
        X[..., i, :] = acc / L[..., i, i, None]
    return X


def solve_upper(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``L' X = B`` for lower-triangular ``L`` (..., n, n) and ``B`` (..., n, m)."""
    n = L.shape[-1]
    shape = np.broadcast_shapes(L.shape[:-2], B.shape[:-2]) + B.shape[-2:]
    X = np.empty(shape, dtype=float)
    for i in range(n - 1, -1, -1):
        acc = B[..., i, :] - np.einsum("...k,...km->...m", L[..., i + 1:, i], X[..., i + 1:, :])
        X[..., i, :] = acc / L[..., i, i, None]
    return X


def chol_solve(L: np.ndarray, B: np.ndarray) -> np.ndarray:
    """Solve ``A X = B`` given the lower Cholesky factor ``L`` of ``A``."""
    return solve_upper(L, solve_lower(L, B))


def chol_logdet(L: np.ndarray) -> np.ndarray:
    """``log |A|`` from the lower Cholesky factor ``L`` of ``A``."""
    return 2.0 * np.log(np.diagonal(L, axis1=-2, axis2=-1)).sum(axis=-1)
