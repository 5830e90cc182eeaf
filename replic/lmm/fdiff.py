"""Central finite-difference gradients and Hessians, vectorised over many points (pure numpy).

The stencil for a point ``x`` in ``d`` dimensions has ``1 + 2d + 2d(d-1)`` points: ``x``,
``x +- h_i e_i`` and ``x +- h_i e_i +- h_j e_j`` for ``i < j``.  Callers evaluate their function
at all of them in one vectorised call and assemble the derivatives with :func:`assemble`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["assemble", "stencil", "steps"]


def steps(x: np.ndarray, *, rel: float = 1e-4, floor: float = 1.0) -> np.ndarray:
    """Step sizes ``rel * max(|x|, floor)``, shape like ``x``."""
    return rel * np.maximum(np.abs(x), floor)


def _offsets(d: int) -> np.ndarray:
    rows = [np.zeros(d)]
    for i in range(d):
        for s in (1.0, -1.0):
            e = np.zeros(d)
            e[i] = s
            rows.append(e)
    for i in range(d):
        for j in range(i + 1, d):
            for si, sj in ((1, 1), (1, -1), (-1, 1), (-1, -1)):
                e = np.zeros(d)
                e[i], e[j] = si, sj
                rows.append(e)
    return np.array(rows)


def stencil(x: np.ndarray, h: np.ndarray) -> np.ndarray:
    """Stencil points around each ``x``.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    h : ndarray, shape (n, d)
        Step sizes.

    Returns
    -------
    ndarray, shape (n, 1 + 2d + 2d(d-1), d)
    """
    off = _offsets(x.shape[1])
    return x[:, None, :] + off[None] * h[:, None, :]


def assemble(f: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and Hessian from function values on :func:`stencil` points.

    Parameters
    ----------
    f : ndarray, shape (n, E, ...)
        Values at the stencil points (trailing axes, e.g. matrix entries, are carried along).
    h : ndarray, shape (n, d)

    Returns
    -------
    grad : ndarray, shape (n, d, ...)
    hess : ndarray, shape (n, d, d, ...)
    """
    n, d = h.shape
    extra = f.shape[2:]
    hh = h.reshape(n, d, *([1] * len(extra)))
    f0 = f[:, 0]
    fp, fm = f[:, 1:1 + 2 * d:2], f[:, 2:2 + 2 * d:2]
    grad = (fp - fm) / (2 * hh)
    hess = np.empty((n, d, d, *extra))
    for i in range(d):
        hess[:, i, i] = (fp[:, i] - 2 * f0 + fm[:, i]) / hh[:, i] ** 2
    k = 1 + 2 * d
    for i in range(d):
        for j in range(i + 1, d):
            pp, pm, mp, mm = (f[:, k + a] for a in range(4))
            v = (pp - pm - mp + mm) / (4 * hh[:, i] * hh[:, j])
            hess[:, i, j] = hess[:, j, i] = v
            k += 4
    return grad, hess
