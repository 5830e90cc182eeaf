"""Vectorised minimisation of the profiled deviance over ``theta``, for many data sets at once.

Each iteration evaluates the deviance on a finite-difference stencil around the current point of
every unconverged data set (one vectorised call), takes a Newton step with the Hessian's
eigenvalues made positive, and a vectorised line search picks the best of a ladder of Newton
step lengths and a few steepest-descent steps (which rescue curved valleys near the boundary).
The deviance depends on ``Lambda Lambda'`` only, so it is even in the sign of each column of
``Lambda``: optimising ``theta`` without bounds and then flipping columns to non-negative
diagonals reaches boundary (singular) fits exactly, where bobyqa in lme4 stops at a bound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from replic.kernel.fdiff import assemble, stencil, steps
from replic.kernel.smallmat import q_from_m, tri_index

__all__ = ["Optimum", "canonical_theta", "minimize"]

_FIRST = np.array([1.0, 0.5])
_ALPHAS = np.array([0.25, 0.1, 0.03, 0.01, 1e-3, 1e-4])
_BETAS = np.array([1.0, 0.3, 0.1, 0.01])


@dataclass(frozen=True)
class Optimum:
    """Result of :func:`minimize` for ``n`` data sets.

    Attributes
    ----------
    theta : ndarray, shape (n, m)
    value : ndarray, shape (n,)
    converged : ndarray of bool, shape (n,)
    iterations : ndarray of int, shape (n,)
    """

    theta: np.ndarray
    value: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


def minimize(fun: Callable[[np.ndarray, np.ndarray], np.ndarray], theta0: np.ndarray, *,
             max_iter: int = 60, tol: float = 1e-9) -> Optimum:
    """Minimise ``fun`` from ``theta0`` for every data set.

    Parameters
    ----------
    fun : callable
        ``fun(index, theta)`` with ``index`` (a) the data sets and ``theta`` shape (a, E, m)
        returns values of shape (a, E) (``inf`` where undefined).
    theta0 : ndarray, shape (n, m)
    max_iter : int
    tol : float
        Converged when the Newton decrement ``g' H^-1 g`` (twice the predicted decrease of the
        deviance) is below ``tol``.

    Returns
    -------
    Optimum
    """
    x = np.array(theta0, dtype=float)
    n, m = x.shape
    fx = np.full(n, np.inf)
    done = np.zeros(n, dtype=bool)
    iters = np.zeros(n, dtype=int)
    active = np.arange(n)
    for _ in range(max_iter):
        if active.size == 0:
            break
        xa = x[active]
        h = steps(xa, floor=0.1)
        f = fun(active, stencil(xa, h, mixed="forward"))
        g, H = assemble(f, h, mixed="forward")
        fx[active] = f[:, 0]
        lam, V = np.linalg.eigh(np.where(np.isfinite(H), H, 0.0))
        big = np.abs(lam).max(axis=1, keepdims=True)
        descent = -g / np.maximum(big, 1e-10)
        lam = np.maximum(np.abs(lam), np.maximum(1e-8 * big, 1e-10))
        step = -np.einsum("nij,nj,nkj,nk->ni", V, 1.0 / lam, V, g)
        step = np.where(np.isfinite(step), step, 0.0)
        decrement = -(g * step).sum(axis=1)
        small = np.abs(decrement) < np.maximum(tol, 1e-12 * np.abs(fx[active]))
        done[active[small]] = True
        keep = ~small
        active, xa, step, fa = active[keep], xa[keep], step[keep], fx[active[keep]]
        descent = descent[keep]
        if active.size == 0:
            break
        scale = np.maximum(1.0, np.abs(xa).max(axis=1)) * 2.0
        norm = np.abs(step).max(axis=1)
        step *= np.minimum(1.0, scale / np.maximum(norm, 1e-300))[:, None]
        # full Newton and half steps first; the rest get a ladder of shorter Newton steps and
        # a few safeguarded steepest-descent steps (curved valleys near the boundary)
        trial = xa[:, None, :] + _FIRST[None, :, None] * step[:, None, :]
        ft = _finite(fun(active, trial))
        retry = np.flatnonzero(ft.min(axis=1) >= fa)
        if retry.size:
            more = np.concatenate([
                xa[retry, None, :] + _ALPHAS[None, :, None] * step[retry, None, :],
                xa[retry, None, :] + _BETAS[None, :, None] * descent[retry, None, :]], axis=1)
            fm = _finite(fun(active[retry], more))
            better = fm.min(axis=1) < ft[retry].min(axis=1)
            sel = retry[better]
            ft[sel, 0] = fm[better].min(axis=1)
            trial[sel, 0] = more[better, fm[better].argmin(axis=1)]
        best = np.argmin(ft, axis=1)
        fbest = ft[np.arange(active.size), best]
        improved = fbest < fa
        x[active] = np.where(improved[:, None], trial[np.arange(active.size), best], xa)
        fx[active] = np.minimum(fbest, fa)
        iters[active] += 1
        # no decrease along a descent direction: at the optimum up to rounding, or stuck
        flat = ~improved
        done[active[flat]] = np.abs(decrement[keep][flat]) < 1e-6
        active = active[improved]
    return Optimum(theta=canonical_theta(x, q_from_m(m)), value=fx, converged=done,
                   iterations=iters)


def _finite(f: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(f), f, np.inf)


def canonical_theta(theta: np.ndarray, q: int) -> np.ndarray:
    """Flip columns of ``Lambda`` so that its diagonal is non-negative (same ``Lambda Lambda'``)."""
    rows, cols = tri_index(q)
    diag = theta[:, rows == cols]                         # (n, q), column order
    sign = np.where(diag < 0, -1.0, 1.0)
    return theta * sign[:, cols]
