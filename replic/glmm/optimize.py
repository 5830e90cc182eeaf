"""Vectorised Newton minimisation of a GLMM deviance over ``(theta, beta)`` for many data sets.

``glmer`` minimises the Laplace (or adaptive Gauss-Hermite) deviance over ``(theta, beta)`` with
bobyqa; here every data set takes Newton steps at once.  The derivatives come either from an
analytic gradient (the Laplace deviance, :func:`replic.glmm.pirls.laplace`) with the Hessian
from forward differences of the gradient, or from deviance values on a central finite-difference
stencil (:mod:`replic.kernel.fdiff`; the quadrature deviance).  A Hessian that is not positive
definite has its eigenvalues made positive; a step that does not lower the deviance is halved.
The deviance is even in the sign of each column of ``Lambda``, so ``theta`` is optimised without
bounds and the columns are flipped to a non-negative diagonal afterwards: a boundary (singular)
fit is an interior minimum of that even function.

``fun(index, x, u0[, origin])`` evaluates data sets ``index`` at points ``x`` (a, E, d) with modes
started from ``u0`` (a, E or 1, J, Q) -- or, given ``origin = (x_old, u_old)`` (the last point and
its modes), from whichever of ``u0`` and the modes with ``u_old``'s random effects is better per
group (a long step in ``theta`` rescales the modes) -- and returns ``(dev (a, E), grad (a, E, d)
or None, u (a, E, J, Q), du (a, E, d, J, Q) or None)``: with the analytic gradient comes the
derivative of the modes, so the modes at the difference points start from their first-order
prediction and PIRLS needs one step there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from replic.kernel.fdiff import assemble, stencil

__all__ = ["Newton", "central_hessian", "minimize"]

Fun = Callable[[np.ndarray, np.ndarray, np.ndarray | None], tuple[
    np.ndarray, np.ndarray | None, np.ndarray, np.ndarray | None]]

#: Relative steps: forward differences of the analytic gradient, central differences of the
#: gradient (lme4's ``deriv12`` step), and the central stencil of deviance values (larger: the
#: quadrature deviance is not stationary in the modes, so their rounding enters at first order).
REL_GRAD, REL_CENTRAL, REL_VALUE = 1e-6, 1e-4, 1e-3


@dataclass(frozen=True)
class Newton:
    """Result of :func:`minimize` for ``n`` data sets.

    Attributes
    ----------
    x : ndarray, shape (n, d)
        The minimiser (``theta`` not yet canonical).
    value : ndarray, shape (n,)
    grad : ndarray, shape (n, d)
        Gradient at ``x`` (finite differences for the value-only variant).
    hessian : ndarray, shape (n, d, d)
        Hessian at ``x`` by finite differences (of the gradient, or of values).
    u : ndarray, shape (n, J, Q)
        Conditional modes at ``x``.
    converged : ndarray of bool, shape (n,)
        Newton decrement below the tolerance.
    iterations : ndarray of int, shape (n,)
    """

    x: np.ndarray
    value: np.ndarray
    grad: np.ndarray
    hessian: np.ndarray
    u: np.ndarray
    converged: np.ndarray
    iterations: np.ndarray


def _steps(x: np.ndarray, rel: float) -> np.ndarray:
    return rel * np.maximum(np.abs(x), 1.0)


def _center(fun: Fun, idx: np.ndarray, x: np.ndarray, u: np.ndarray | None,
            origin: tuple[np.ndarray, np.ndarray] | None = None):
    f, g, um, du = fun(idx, x[:, None, :], None if u is None else u[:, None],
                       *(() if origin is None else (origin,)))
    return f[:, 0], None if g is None else g[:, 0], um[:, 0], None if du is None else du[:, 0]


def _hessian(fun: Fun, idx: np.ndarray, x: np.ndarray, g: np.ndarray, u: np.ndarray,
             du: np.ndarray, *, central: bool = False) -> np.ndarray:
    """Forward (or central, step ``1e-4``) differences of the analytic gradient, the modes
    started at their first-order prediction."""
    d = x.shape[1]
    h = _steps(x, REL_CENTRAL if central else REL_GRAD)
    signs = (1.0, -1.0) if central else (1.0,)
    pts = np.concatenate([x[:, None, :] + s * np.eye(d)[None] * h[:, None, :] for s in signs], 1)
    start = np.concatenate([u[:, None] + s * h[:, :, None, None] * du for s in signs], 1)
    _, gp, _, _ = fun(idx, pts, start)
    if central:
        H = (gp[:, :d] - gp[:, d:]) / (2 * h[:, :, None])
    else:
        H = (gp - g[:, None, :]) / h[:, :, None]
    return 0.5 * (H + np.swapaxes(H, 1, 2))


def central_hessian(fun: Fun, x: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Hessian at ``x`` (n, d) by central differences of the analytic gradient (step ``1e-4``
    relative, as lme4's ``deriv12``; error of order ``1e-8`` relative), shape (n, d, d)."""
    idx = np.arange(x.shape[0])
    _, g, um, du = _center(fun, idx, x, u)
    return _hessian(fun, idx, x, g, um, du, central=True)


def _values(fun: Fun, idx: np.ndarray, x: np.ndarray, u: np.ndarray | None):
    """Value, gradient and Hessian from the central stencil of deviance values."""
    h = _steps(x, REL_VALUE)
    f, _, um, _ = fun(idx, stencil(x, h), None if u is None else u[:, None])
    g, H = assemble(f, h)
    return f[:, 0], g, H, um[:, 0]


def _evaluate(fun: Fun, idx: np.ndarray, x: np.ndarray, u: np.ndarray | None, analytic: bool):
    if not analytic:
        f, g, H, um = _values(fun, idx, x, u)
        return f, g, H, um, None
    f, g, um, du = _center(fun, idx, x, u)
    H = np.full((*g.shape, g.shape[1]), np.nan)
    ok = np.isfinite(f)
    if ok.any():
        H[ok] = _hessian(fun, idx[ok], x[ok], g[ok], um[ok], du[ok])
    return f, g, H, um, du


def minimize(fun: Fun, x0: np.ndarray, u0: np.ndarray | None = None, *, analytic: bool = True,
             max_iter: int = 60, tol: float = 1e-10) -> Newton:
    """Minimise ``fun`` from ``x0`` (n, d) for every data set (module docstring).

    Converged when the Newton decrement ``g' H^-1 g`` (about twice the distance to the minimum
    in deviance units) is below ``tol``; the (tiny) last step is taken, so the Hessian returned
    is at the point returned.
    """
    x = np.array(x0, dtype=float)
    n, d = x.shape
    value, grad, H, u, du = _evaluate(fun, np.arange(n), x, u0, analytic)
    done = np.zeros(n, dtype=bool)
    iters = np.zeros(n, dtype=int)
    active = np.flatnonzero(np.isfinite(value) & np.isfinite(H).all(axis=(1, 2)))
    for _ in range(max_iter):
        if active.size == 0:
            break
        g, Ha = grad[active], H[active]
        lam, V = np.linalg.eigh(Ha)
        big = np.maximum(np.abs(lam).max(axis=1, keepdims=True), 1e-12)
        lam = np.maximum(np.abs(lam), 1e-8 * big)
        step = -np.einsum("nij,nj,nkj,nk->ni", V, 1.0 / lam, V, g)
        step = np.where(np.isfinite(step), step, 0.0)
        dec = -(g * step).sum(axis=1)
        scale = 2.0 * np.maximum(1.0, np.abs(x[active]).max(axis=1))
        step *= np.minimum(1.0, scale / np.maximum(np.abs(step).max(axis=1), 1e-300))[:, None]
        small = dec < tol
        done[active[small]] = True
        alpha = np.ones(active.size)
        pending = np.arange(active.size)
        accepted = np.zeros(active.size, dtype=bool)
        for _halving in range(30):
            if pending.size == 0:
                break
            idx = active[pending]
            xt = x[idx] + alpha[pending, None] * step[pending]
            if analytic:    # modes from their first-order prediction after a short step,
                move = alpha[pending, None] * step[pending]   # else from the old modes or
                short = np.abs(move).max(axis=1) < 0.05          # the old random effects
                ft, gt, ut, dut = (np.empty(idx.size), np.empty((idx.size, d)),
                                   np.empty_like(u[idx]), np.empty_like(du[idx]))
                for part, kw in ((short, None), (~short, True)):
                    if not part.any():
                        continue
                    i = idx[part]
                    if kw is None:
                        start = u[i] + np.einsum("ad,adjq->ajq", move[part], du[i])
                        res = _center(fun, i, xt[part], start)
                    else:
                        res = _center(fun, i, xt[part], u[i], (x[i], u[i]))
                    ft[part], gt[part], ut[part], dut[part] = res
            else:
                ft, gt, Ht, ut = _values(fun, idx, xt, u[idx])
            ok = np.isfinite(ft) & (ft <= value[idx] + 1e-10 * np.abs(value[idx]))
            if analytic and ok.any():
                Ht = np.full((ok.sum(), d, d), np.nan)
                Ht[:] = _hessian(fun, idx[ok], xt[ok], gt[ok], ut[ok], dut[ok])
                okh = np.isfinite(Ht).all(axis=(1, 2))
                sel = idx[ok][okh]
                x[sel], value[sel], grad[sel], u[sel] = xt[ok][okh], ft[ok][okh], gt[ok][okh], \
                    ut[ok][okh]
                H[sel], du[sel] = Ht[okh], dut[ok][okh]
                ok[np.flatnonzero(ok)[~okh]] = False
            elif ok.any():
                sel = idx[ok]
                x[sel], value[sel], grad[sel], H[sel], u[sel] = xt[ok], ft[ok], gt[ok], Ht[ok], \
                    ut[ok]
            accepted[pending[ok]] = True
            pending = pending[~ok]
            alpha[pending] /= 2
        iters[active] += 1
        # a converged point took its last (tiny) step; a point that cannot descend stops
        active = active[accepted & ~small]
    return Newton(x=x, value=value, grad=grad, hessian=H, u=u, converged=done, iterations=iters)
