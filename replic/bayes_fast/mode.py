"""Posterior modes and curvatures of many smooth log densities at once (damped Newton).

The log density ``f(eta) -> (n, B)`` is evaluated on a finite-difference stencil around each of
the ``n`` current points in a single vectorised call per iteration, giving the gradient and the
Hessian; the Newton direction uses the absolute eigenvalues of the Hessian (floored) so that it
is an ascent direction even where ``f`` is not concave, and a batched backtracking line search
picks the best of a few step lengths.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from replic.kernel.fdiff import assemble, stencil

__all__ = ["Mode", "derivatives", "find_mode"]

_STEPS = np.array([1.0, 0.5, 0.25, 0.1, 0.03, 0.0])


@dataclass(frozen=True, eq=False)
class Mode:
    """Modes ``eta`` (n, d), negative Hessians ``precision`` (n, d, d), log density ``value`` (n,),
    ``converged`` (n,) and the number of Newton ``iterations`` used."""

    eta: np.ndarray
    precision: np.ndarray
    value: np.ndarray
    converged: np.ndarray
    iterations: int


def derivatives(f: Callable[[np.ndarray], np.ndarray], eta: np.ndarray, *,
                h: float = 1e-3, mixed: str = "forward",
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, gradient and Hessian of ``f`` at ``eta`` (n, d) by finite differences (the
    stencil of :mod:`replic.kernel.fdiff`, shared with the REML optimiser): central for the
    gradient and the diagonal, ``mixed`` for the mixed second derivatives (forward: first
    order, ``1 + 2d + d(d-1)/2`` points instead of ``1 + 2d + 2d(d-1)``)."""
    hh = np.full(eta.shape, float(h))
    v = f(stencil(eta, hh, mixed=mixed))
    grad, H = assemble(v, hh, mixed=mixed)
    return v[:, 0], grad, H


def find_mode(f: Callable[[np.ndarray], np.ndarray], start: np.ndarray, *, max_iter: int = 40,
              tol: float = 1e-10, max_step: float = 2.0) -> Mode:
    """Maximise the log densities ``f`` from ``start`` (n, d).

    Parameters
    ----------
    f : callable
        ``f(eta, rows)``: ``eta`` of shape (m, B, d) holds ``B`` points for each of the ``m``
        problems ``rows`` (indices into the ``n`` problems); returns (m, B) log densities.
    start : ndarray, shape (n, d)
    max_iter : int
    tol : float
        Convergence when the predicted increase ``g' step`` falls below ``tol``.
    max_step : float
        Largest Newton step length (unconstrained scale).
    """
    eta = np.array(start, dtype=float)
    n, d = eta.shape
    value = np.full(n, -np.inf)
    precision = np.zeros((n, d, d))
    converged = np.zeros(n, dtype=bool)
    it = 0
    for it in range(1, max_iter + 1):  # noqa: B007
        act = np.flatnonzero(~converged)
        if act.size == 0:
            break
        fa = _subset(f, act)
        f0, g, H = derivatives(fa, eta[act])
        lam, V = np.linalg.eigh(-np.nan_to_num(H))
        lam = np.maximum(np.abs(lam), 1e-3)
        step = np.einsum("nij,nj,nkj,nk->ni", V, 1 / lam, V, g)
        norm = np.linalg.norm(step, axis=1, keepdims=True)
        step *= np.minimum(1.0, max_step / np.maximum(norm, 1e-300))
        precision[act] = -H
        value[act] = f0
        gain = np.einsum("ni,ni->n", g, step)
        done = np.isfinite(f0) & (np.abs(gain) < tol)
        cand = eta[act][:, None, :] + _STEPS[None, :, None] * step[:, None, :]
        fc = np.nan_to_num(fa(cand), nan=-np.inf)
        best = np.argmax(fc, axis=1)
        eta[act] = np.where(done[:, None], eta[act], cand[np.arange(act.size), best])
        converged[act] = done | (best == _STEPS.size - 1) & np.isfinite(f0)
    act = np.flatnonzero(~converged)
    if act.size:
        f0, _, H = derivatives(_subset(f, act), eta[act])
        value[act], precision[act] = f0, -H
    return Mode(eta=eta, precision=precision, value=value, converged=converged, iterations=it)


def _subset(f: Callable, rows: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    def g(eta: np.ndarray) -> np.ndarray:
        return f(eta, rows)
    return g
