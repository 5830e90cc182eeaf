"""Central finite-difference gradients and Hessians, vectorised over many points (pure numpy).

The central stencil for a point ``x`` in ``d`` dimensions has ``1 + 2d + 2d(d-1)`` points: ``x``,
``x +- h_i e_i`` and ``x +- h_i e_i +- h_j e_j`` for ``i < j``; the ``forward`` one replaces the
four mixed points of each pair by ``x + h_i e_i + h_j e_j`` (``1 + 2d + d(d-1)/2`` points, mixed
second derivatives to first order only: enough for Newton steps, the gradient stays central).
Callers evaluate their function at all points in one vectorised call and assemble the
derivatives with :func:`assemble`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["assemble", "stencil", "steps"]


def steps(x: np.ndarray, *, rel: float = 1e-4, floor: float = 1.0) -> np.ndarray:
    """Step sizes ``rel * max(|x|, floor)``, shape like ``x``."""
    return rel * np.maximum(np.abs(x), floor)


def _offsets(d: int, mixed: str = "central") -> np.ndarray:
    rows = [np.zeros(d)]
    for i in range(d):
        for s in (1.0, -1.0):
            e = np.zeros(d)
            e[i] = s
            rows.append(e)
    signs = ((1, 1), (1, -1), (-1, 1), (-1, -1)) if mixed == "central" else ((1, 1),)
    for i in range(d):
        for j in range(i + 1, d):
            for si, sj in signs:
                e = np.zeros(d)
                e[i], e[j] = si, sj
                rows.append(e)
    return np.array(rows)


def stencil(x: np.ndarray, h: np.ndarray, *, mixed: str = "central") -> np.ndarray:
    """Stencil points around each ``x``.

    Parameters
    ----------
    x : ndarray, shape (n, d)
    h : ndarray, shape (n, d)
        Step sizes.
    mixed : {"central", "forward"}
        Differences for the mixed second derivatives.

    Returns
    -------
    ndarray, shape (n, E, d)
        ``E = 1 + 2d + 2d(d-1)`` (central) or ``1 + 2d + d(d-1)/2`` (forward).
    """
    off = _offsets(x.shape[1], mixed)
    return x[:, None, :] + off[None] * h[:, None, :]


def assemble(f: np.ndarray, h: np.ndarray, *, mixed: str = "central") -> tuple[
        np.ndarray, np.ndarray]:
    """Gradient and Hessian from function values on :func:`stencil` points.

    Parameters
    ----------
    f : ndarray, shape (n, E, ...)
        Values at the stencil points (trailing axes, e.g. matrix entries, are carried along).
    h : ndarray, shape (n, d)
    mixed : {"central", "forward"}
        As for :func:`stencil`.

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
            if mixed == "central":
                pp, pm, mp, mm = (f[:, k + a] for a in range(4))
                v = (pp - pm - mp + mm) / (4 * hh[:, i] * hh[:, j])
                k += 4
            else:
                v = (f[:, k] - fp[:, i] - fp[:, j] + f0) / (hh[:, i] * hh[:, j])
                k += 1
            hess[:, i, j] = hess[:, j, i] = v
    return grad, hess
