"""Pseudo-inverses of stacks of symmetric matrices over their positive eigenvalues, and the
Newton step they give (numpy only).

A Hessian of the profiled deviance can be singular or indefinite in some directions of
``theta`` (the flat directions of boundary fits): the Newton step then moves only along the
directions of clearly positive curvature, and the covariance of the variance parameters
(lmerTest's ``2 H^-1``) is taken over the same subspace.
"""

from __future__ import annotations

import numpy as np

__all__ = ["newton_step", "pinv_sym"]


def _eig_inverse(H: np.ndarray, *, rtol: float, atol: float) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvectors ``V`` and inverted eigenvalues of ``H`` (0 where at most
    ``max(atol, rtol * max |eigenvalue|)``)."""
    lam, V = np.linalg.eigh(H)
    keep = lam > np.maximum(atol, rtol * np.abs(lam).max(axis=-1, keepdims=True))
    return V, np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)


def pinv_sym(H: np.ndarray, *, rtol: float = 1e-10, atol: float = 0.0) -> np.ndarray:
    """Pseudo-inverse of symmetric ``H`` (..., m, m) over its eigenvalues above
    ``max(atol, rtol * max |eigenvalue|)``; the others (non-positive ones included) count as 0."""
    V, inv = _eig_inverse(H, rtol=rtol, atol=atol)
    return (V * inv[..., None, :]) @ np.swapaxes(V, -1, -2)


def newton_step(g: np.ndarray, H: np.ndarray, *, rtol: float = 1e-10) -> np.ndarray:
    """The step ``-H^+ g`` (n, m) for gradients ``g`` (n, m) and Hessians ``H`` (n, m, m),
    with :func:`pinv_sym`'s pseudo-inverse: no move along flat or downward-curved directions."""
    V, inv = _eig_inverse(H, rtol=rtol, atol=0.0)
    return -np.einsum("nij,nj,nkj,nk->ni", V, inv, V, g)
