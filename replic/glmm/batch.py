"""``fit_batch``: glmer's fit of many data sets at once (Laplace or adaptive Gauss-Hermite).

For each data set: a GLM fit of the fixed effects and ``Lambda = I`` as the start (lme4's
``theta`` start), Newton steps on the deviance over ``(theta, beta)``
(:mod:`replic.glmm.optimize`), then, as lme4's ``vcov`` does by default (``use.hessian``), the
covariance of ``beta`` from the Hessian of the deviance in ``(theta, beta)`` by central
differences: ``2 (H^-1)_{beta beta}``.  When that block is not positive definite lme4 falls back to
the covariance given ``theta`` (``RX``): ``(X' W X - X' W Z Lambda M^-1 Lambda' Z' W X)^-1`` at
the modes, and so does this.  A fit is ``singular`` when a diagonal element of ``Lambda`` is
below 1e-4 (lme4's ``isSingular``).  ``logLik`` is lme4's: the Laplace deviance with the family's
constant, or for ``nAGQ > 1`` the quadrature deviance on the deviance-residual scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.glmm.agq import agq_deviance
from replic.glmm.family import constants, terms
from replic.glmm.optimize import central_hessian, minimize
from replic.glmm.pirls import Data, laplace, rowsum, same_b
from replic.kernel.smallmat import lower_from_theta, matmul, tri_index

__all__ = ["GlmmBatch", "fit_batch", "glm_start"]

SINGULAR_TOL = 1e-4


@dataclass(frozen=True, eq=False)
class GlmmBatch:
    """Fits of ``n`` data sets.

    Attributes
    ----------
    beta, se : ndarray, shape (n, P)
    vcov : ndarray, shape (n, P, P)
    theta : ndarray, shape (n, m)
        lme4's ``theta`` (non-negative diagonal).
    Sigma : ndarray, shape (n, Q, Q)
        Covariance of the varying terms, ``Lambda Lambda'``.
    loglik, deviance : ndarray, shape (n,)
        lme4's ``logLik`` and ``-2 logLik``.
    u : ndarray, shape (n, J, Q)
        Spherical conditional modes (``b_j = Lambda u_j``).
    converged, singular, hessian : ndarray of bool, shape (n,)
        Newton converged; boundary fit; SEs from the Hessian (else from ``RX``).
    iterations : ndarray of int, shape (n,)
    error : ndarray of object, shape (n,)
        ``""``, or why the data set has no fit.
    """

    beta: np.ndarray
    se: np.ndarray
    vcov: np.ndarray
    theta: np.ndarray
    Sigma: np.ndarray
    loglik: np.ndarray
    deviance: np.ndarray
    u: np.ndarray
    converged: np.ndarray
    singular: np.ndarray
    hessian: np.ndarray
    iterations: np.ndarray
    error: np.ndarray


def glm_start(data: Data, *, max_iter: int = 30) -> np.ndarray:
    """Fixed effects of the GLM without random effects (IRLS), shape (n, P)."""
    n, p = data.n, data.p
    beta = np.zeros((n, p))
    done = np.zeros(n, dtype=bool)
    X = data.X[..., None]                                       # (P, U, Jx, 1)
    for _ in range(max_iter):
        eta = sum(X[k] * beta[:, k] for k in range(p))
        t = terms(data.family, eta, data.y, data.m)
        info = np.stack([np.stack([rowsum(rowsum(t.w * X[a] * X[b])) for b in range(p)], -1)
                         for a in range(p)], -2) + 1e-10 * np.eye(p)
        score = np.stack([rowsum(rowsum(t.r * X[a])) for a in range(p)], -1)
        step = np.linalg.solve(info, score[..., None])[..., 0]
        step = np.where(np.isfinite(step), step, 0.0)
        step *= np.minimum(1.0, 10.0 / np.maximum(np.abs(step).max(axis=1), 1e-300))[:, None]
        step[done] = 0.0                   # each data set stops on its own (batch-independent)
        beta = beta + step
        done |= np.abs(step).max(axis=1) < 1e-10
        if done.all():
            break
    return beta


def _objective(data: Data, m: int, nagq: int):
    def fun(idx, x, u0, origin=None):
        sub = data.take(idx).points()
        start = None if u0 is None else np.transpose(u0, (3, 2, 0, 1))   # (Q, J, a, E)
        xt = np.moveaxis(x, -1, 0)
        alt = ()
        if origin is not None:       # (x_old (a, d), u_old (a, J, Q)): same b, and u_old
            x_old, u_old = origin
            u_old = np.transpose(u_old, (2, 1, 0))[..., None]
            alt = (same_b(x_old.T[:m, :, None], u_old, xt[:m]),)
        g = du = None
        if nagq > 1:
            dev, md = agq_deviance(sub, xt[:m], xt[m:], nagq, u0=start)
        else:
            dev, g, du, md = laplace(sub, xt[:m], xt[m:], u0=start, u_alt=alt, gradient=True)
            g = np.moveaxis(g, 0, -1)
            du = np.transpose(du, (3, 4, 0, 2, 1))                     # (a, E, d, J, Q)
        return dev, g, np.transpose(md.u, (2, 3, 1, 0)), du
    return fun


def _rx_vcov(data: Data, theta: np.ndarray, beta: np.ndarray, u: np.ndarray) -> np.ndarray:
    """lme4's ``unsc()``: the covariance of ``beta`` given ``theta`` at the modes."""
    q = data.q
    lam = lower_from_theta(theta, q)                            # (n, Q, Q)
    b = np.einsum("nqr,njr->njq", lam, u)
    Xn = np.broadcast_to(np.moveaxis(data.X, 0, -1), (*data.y.shape[:2], data.p))  # (U, J, P)
    Zn = np.broadcast_to(np.moveaxis(data.Z, 0, -1), (*data.y.shape[:2], q))
    eta = np.einsum("ujp,np->ujn", Xn, beta) + np.einsum("ujq,njq->ujn", Zn, b)
    w = terms(data.family, eta, data.y, data.m).w
    XWX = np.einsum("ujp,ujn,ujk->npk", Xn, w, Xn)
    G = np.einsum("ujq,nqr->nujr", Zn, lam)                     # (n, U, J, Q)
    GWX = np.einsum("nujq,ujn,ujp->njqp", G, w, Xn)
    GWG = np.einsum("nujq,ujn,nujr->njqr", G, w, G) + np.eye(q)
    S = XWX - np.einsum("njqp,njqr,njrk->npk", GWX, np.linalg.inv(GWG), GWX)
    return np.linalg.inv(S)


def fit_batch(data: Data, *, nAGQ: int = 1, max_iter: int = 60,
              central: bool = False, tol: float = 1e-8) -> GlmmBatch:
    """Fit every data set of ``data`` (leading axis ``n``) as ``glmer`` would.

    Parameters
    ----------
    data : Data
        Observations of shape (U, J, n).
    nAGQ : int
        1 for the Laplace approximation; more for adaptive Gauss-Hermite quadrature with that
        many nodes (one scalar random effect only).
    max_iter : int
        Newton iterations.
    central : bool
        The Hessian behind the standard errors (Laplace): False, the forward differences of
        the gradient at the optimum from the last Newton iteration (relative error about
        1e-6); True, central differences there (about 1e-8, five more gradients per data set).
    tol : float
        Newton decrement (deviance units) below which a fit has converged; the last step is
        taken after it, so 1e-8 leaves the estimates within about 1e-8 of the optimum.

    Returns
    -------
    GlmmBatch
    """
    n, q, p = data.n, data.q, data.p
    m = q * (q + 1) // 2
    if nAGQ > 1 and q != 1:
        raise ValueError("nAGQ > 1 needs one scalar random effect")
    theta0 = np.zeros((n, m))
    rows, cols = tri_index(q)
    # lme4 starts at Lambda = I; scaling each column by the root mean square of its Z column
    # over the observed rows starts every varying term at a unit contribution to eta, far
    # closer to the optimum for a predictor on a wide scale (Days 0..9)
    obs = data.m > 0
    rms = np.sqrt(np.stack([rowsum(rowsum(np.where(obs, data.Z[a][:, :, None] ** 2, 0.0)))
                            for a in range(q)], 1) / np.maximum(rowsum(rowsum(obs * 1.0)), 1)[
        :, None])
    theta0[:, rows == cols] = np.where(rms > 0, 1.0 / np.where(rms > 0, rms, 1.0), 1.0)
    x0 = np.concatenate([theta0, glm_start(data)], axis=1)
    fun = _objective(data, m, nAGQ)
    res = minimize(fun, x0, analytic=nAGQ == 1, max_iter=max_iter, tol=tol)
    # flipping a column of Lambda flips the sign of that theta column and of that mode: the
    # Hessian in the canonical theta is the one found, with those rows and columns negated
    flip = np.where(res.x[:, :m][:, rows == cols] < 0, -1.0, 1.0)
    theta = res.x[:, :m] * flip[:, cols]
    beta = res.x[:, m:]
    sign = np.concatenate([flip[:, cols], np.ones((n, p))], axis=1)
    H = res.hessian * sign[:, :, None] * sign[:, None, :]
    u = res.u * flip[:, None, :]
    x = np.concatenate([theta, beta], axis=1)
    if nAGQ == 1 and central:
        ok = np.isfinite(res.value)
        if ok.any():
            H[ok] = central_hessian(_objective(data.take(np.flatnonzero(ok)), m, nAGQ), x[ok],
                                    u[ok])
    error = np.full(n, "", dtype=object)
    with np.errstate(invalid="ignore"):
        finite = np.isfinite(H).all(axis=(1, 2)) & np.isfinite(res.value)
        Hs = np.where(finite[:, None, None], H, np.eye(m + p))
        try:
            Hinv = np.linalg.inv(Hs)
        except np.linalg.LinAlgError:
            Hinv = np.stack([np.linalg.pinv(h) for h in Hs])
        V = 2.0 * Hinv[:, m:, m:]
        V = 0.5 * (V + np.swapaxes(V, 1, 2))
        ok_h = finite & np.isfinite(V).all(axis=(1, 2))
        ok_h[ok_h] &= np.linalg.eigvalsh(V[ok_h])[:, 0] > 0
    if not ok_h.all():
        bad = ~ok_h
        V[bad] = _rx_vcov(data.take(np.flatnonzero(bad)), theta[bad], beta[bad], u[bad])
    se = np.sqrt(np.diagonal(V, axis1=1, axis2=2))
    error[~np.isfinite(res.value)] = "the deviance is not finite at the starting values"
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(data.m > 0, data.y / np.where(data.m > 0, data.m, 1.0), np.nan)
    constant = ~(np.nanmax(ratio, axis=(0, 1)) > np.nanmin(ratio, axis=(0, 1)))
    error[constant] = "the response is constant (glmer refuses it: 'Response is constant')"
    error[(error == "") & ~np.isfinite(se).all(axis=1)] = "no finite standard errors"
    const, sat = constants(data.family, data.y, data.m, axis=(0, 1))
    # lme4's deviance: the Laplace one with the family's constant (its aic), the quadrature one
    # on the deviance-residual scale
    deviance = res.value + 2.0 * sat if nAGQ > 1 else res.value - 2.0 * const
    lam = lower_from_theta(theta, q)
    return GlmmBatch(
        beta=beta, se=se, vcov=V, theta=theta, Sigma=matmul(lam, np.swapaxes(lam, 1, 2)),
        loglik=-deviance / 2, deviance=deviance, u=u,
        converged=res.converged & (error == ""),
        singular=(theta[:, rows == cols] < SINGULAR_TOL).any(axis=1), hessian=ok_h,
        iterations=res.iterations, error=error)
