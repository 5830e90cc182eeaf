"""Exact first and second derivatives in ``theta`` of the profiled deviance's pieces (pure numpy).

With the notation of :mod:`replic.lmm.deviance` (``M_j = Lambda' A_j Lambda + I``,
``A_j = Z_j'Z_j``, ``N_j = Lambda M_j^-1 Lambda'``, ``C = [X y]'[X y] - sum_j B_j' N_j B_j``)
and ``E_k = dLambda / dtheta_k`` (a single 1 at lme4's ``k``-th lower-triangle position
``(r_k, c_k)``), let ``P_j = M_j^-1 Lambda'`` and ``K_j = I - N_j A_j``.  Then

    d log|M_j| / dtheta_k      = 2 (P_j A_j)[c_k, r_k]
    d2 log|M_j| / dtheta_k dl  = 2 (dP_jl A_j)[c_k, r_k]
    dP_jl                      = M_j^-1 (E_l' K_j' - Lambda' A_j E_l P_j)
    dN_jk                      = sym(K_j E_k P_j)                      sym(F) = F + F'
    d2N_jkl                    = sym(-dN_jl A_j E_k P_j + K_j E_k dP_jl)

and ``dC = -sum_j B_j' dN_j B_j``.  Groups sharing a design pattern share every matrix here, so
each sum over groups is one term per pattern (:class:`~replic.kernel.stats.GroupStats`): the
``log|M_j|`` terms weighted by the pattern's ``count``, the ``B_j' F B_j`` terms contracted with
the pattern's summed products of the rows of ``B_j``.  For ``log|RX|^2 = log|C_XX|``, the
penalised residual sum of squares ``r2 = w' C w`` with ``w = (-beta, 1)``, and ``C_XX^-1``:

    d log|C_XX| = tr(C_XX^-1 dC_XX)
    d2          = tr(C_XX^-1 d2C_XX) - tr(C_XX^-1 dC_XX,l C_XX^-1 dC_XX,k)
    d r2        = w' dC w,     d2 = w' d2C w - 2 (dC_k w)_X' C_XX^-1 (dC_l w)_X
    d C_XX^-1   = -C_XX^-1 dC_XX C_XX^-1.

Exact to rounding, on the boundary too (where finite differences of an even function of a zero
column of ``Lambda`` lose their accuracy).  They give the Satterthwaite df
(:mod:`replic.lmm.satterthwaite`) and the Newton steps that polish an optimum (:func:`polish`).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from replic.kernel.newton import newton_step
from replic.kernel.smallmat import det_inv, lower_from_theta, matmul, tri_index
from replic.kernel.stats import GroupStats

__all__ = ["Derivatives", "derivatives", "polish", "profiled_derivatives"]


@dataclass(frozen=True)
class Derivatives:
    """Values, gradients (``g_*``, shape (n, m)) and Hessians (``H_*``, shape (n, m, m)) in
    ``theta`` of ``ld_l2 = log|L|^2``, ``ld_rx2 = log|RX|^2`` and ``r2``; ``CXX_inv`` (n, P, P)
    and its gradient ``g_CXX_inv`` (n, m, P, P); ``beta`` (n, P)."""

    ld_l2: np.ndarray
    ld_rx2: np.ndarray
    r2: np.ndarray
    beta: np.ndarray
    CXX_inv: np.ndarray
    g_ld_l2: np.ndarray
    g_ld_rx2: np.ndarray
    g_r2: np.ndarray
    H_ld_l2: np.ndarray
    H_ld_rx2: np.ndarray
    H_r2: np.ndarray
    g_CXX_inv: np.ndarray  # noqa: N815 (the matrix's name in the formulas)


def _take(d: Derivatives, idx: np.ndarray) -> Derivatives:
    return Derivatives(**{f.name: getattr(d, f.name)[idx] for f in fields(Derivatives)})


def _put(d: Derivatives, idx: np.ndarray, part: Derivatives) -> None:
    for f in fields(Derivatives):
        getattr(d, f.name)[idx] = getattr(part, f.name)


def _sym(F: np.ndarray) -> np.ndarray:
    return F + np.swapaxes(F, -1, -2)


def derivatives(stats: GroupStats, theta: np.ndarray) -> Derivatives:
    """Exact derivatives of the profiled deviance's pieces at ``theta`` (n, m).

    Every sum over groups is one per pattern: ``sum_j log|M_j|`` and the traces weighted by the
    pattern's ``count``, and every ``sum_j B_j' F_p B_j`` (``F_p`` symmetric, a function of the
    pattern's ``A_p`` and ``Lambda``) a contraction of ``F_p`` with the pattern's summed
    products :attr:`~replic.kernel.stats.GroupStats.outer`, all of them in one matrix product.
    """
    q, p = stats.q, stats.p
    rows, cols = tri_index(q)
    lam = lower_from_theta(theta, q)[:, None]                         # (n, 1, q, q)
    A = stats.ZtZ                                                     # (n|1, G, q, q)
    count = stats.count                                               # (n|1, G)
    lamT = np.swapaxes(lam, -1, -2)
    M = matmul(matmul(lamT, A), lam) + np.eye(q)
    detM, Minv = det_inv(M)
    P = matmul(Minv, lamT)                                            # (n, G, q, q)
    N = matmul(lam, P)
    K = np.eye(q) - matmul(N, A)
    KT = np.swapaxes(K, -1, -2)
    PA = matmul(P, A)
    LA = matmul(lamT, A)                                              # Lambda' A_p
    n, G, m = P.shape[0], P.shape[1], rows.size
    dN = np.empty((n, G, m, q, q))
    dP = np.empty((n, G, m, q, q))
    for k, (r, c) in enumerate(zip(rows, cols, strict=True)):
        dN[:, :, k] = _sym(K[:, :, :, r, None] * P[:, :, None, c, :])
        inner = -LA[:, :, :, r, None] * P[:, :, None, c, :]          # -Lambda' A E_k P
        inner[:, :, c, :] += KT[:, :, r, :]                           # + E_k' K'
        dP[:, :, k] = matmul(Minv, inner)
    dNA = matmul(dN, A[:, :, None])                                   # (n, G, m, q, q)
    # lower triangles of the symmetric F_p of S (N), dC_k (dN_k) and d2C_kl (d2N_kl, k <= l),
    # written straight into the layout of one matrix product with ``outer``
    t = rows.size
    pairs = [(k, ell) for k in range(m) for ell in range(k, m)]
    F = np.empty((n, 1 + m + len(pairs), t, G))
    for i, (a, b) in enumerate(zip(rows, cols, strict=True)):
        F[:, 0, i] = 0.5 * (N[..., a, b] + N[..., b, a])
        for k, (r, c) in enumerate(zip(rows, cols, strict=True)):      # sym(K E_k P)
            F[:, 1 + k, i] = K[..., a, r] * P[..., c, b] + K[..., b, r] * P[..., c, a]
        for j, (k, ell) in enumerate(pairs):     # sym(K E_k dP_l - dN_l A E_k P)
            r, c = rows[k], cols[k]
            F[:, 1 + m + j, i] = (K[..., a, r] * dP[:, :, ell, c, b]
                                  + K[..., b, r] * dP[:, :, ell, c, a]
                                  - dNA[:, :, ell, a, r] * P[..., c, b]
                                  - dNA[:, :, ell, b, r] * P[..., c, a])
    p1 = p + 1
    outer = np.broadcast_to(stats.outer, (n, *stats.outer.shape[1:]))     # (n, t G, p1^2)
    sums = (F.reshape(n, F.shape[1], t * G) @ outer).reshape(n, F.shape[1], p1, p1)
    C = stats.XytXy - sums[:, 0]                                      # sum_j B_j' F_p B_j
    dC = -sums[:, 1:1 + m]
    d2C = np.empty((n, m, m, p1, p1))
    for j, (k, ell) in enumerate(pairs):
        d2C[:, k, ell] = d2C[:, ell, k] = -sums[:, 1 + m + j]
    w_c = count[..., None]
    g_ld = 2.0 * (w_c * PA[..., cols, rows]).sum(axis=1)              # (n, m)
    H_ld = 2.0 * np.swapaxes((w_c[..., None] * matmul(dP, A[:, :, None])[..., cols, rows])
                             .sum(axis=1), -1, -2)
    detC, CXX_inv = det_inv(C[:, :p, :p])
    beta = np.einsum("nab,nb->na", CXX_inv, C[:, :p, p])
    w = np.concatenate([-beta, np.ones((beta.shape[0], 1))], axis=1)  # (n, p + 1)
    r2 = np.einsum("na,nab,nb->n", w, C, w)
    dCw = np.einsum("nkab,nb->nka", dC, w)                            # (n, m, p + 1)
    g_r2 = np.einsum("na,nka->nk", w, dCw)
    H_r2 = np.einsum("na,nklab,nb->nkl", w, d2C, w) - 2.0 * np.einsum(
        "nka,nab,nlb->nkl", dCw[..., :p], CXX_inv, dCw[..., :p])
    dCXX = dC[..., :p, :p]
    CdC = CXX_inv[:, None] @ dCXX                                     # (n, m, P, P)
    g_rx = np.trace(CdC, axis1=-2, axis2=-1)
    H_rx = np.einsum("nab,nklba->nkl", CXX_inv, d2C[..., :p, :p]) - np.einsum(
        "nlab,nkba->nkl", CdC, CdC)
    with np.errstate(divide="ignore", invalid="ignore"):
        ld_l2, ld_rx2 = (count * np.log(detM)).sum(axis=1), np.log(detC)
    return Derivatives(ld_l2=ld_l2, ld_rx2=ld_rx2, r2=r2, beta=beta, CXX_inv=CXX_inv,
                       g_ld_l2=g_ld, g_ld_rx2=g_rx, g_r2=g_r2, H_ld_l2=H_ld, H_ld_rx2=H_rx,
                       H_r2=H_r2, g_CXX_inv=-CdC @ CXX_inv[:, None])


def profiled_derivatives(stats: GroupStats, theta: np.ndarray, *, reml: bool = True,
                         parts: Derivatives | None = None) -> tuple[
                             np.ndarray, np.ndarray, np.ndarray]:
    """Profiled deviance (REML criterion or ``-2 log L``), its gradient and Hessian in
    ``theta``: shapes (n,), (n, m), (n, m, m)."""
    from replic.lmm.deviance import LOG2PI

    d = derivatives(stats, theta) if parts is None else parts
    nu = stats.n_obs.astype(float) - (stats.p if reml else 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        f = d.ld_l2 + nu * (1.0 + LOG2PI + np.log(d.r2 / nu))
        g = d.g_ld_l2 + (nu / d.r2)[:, None] * d.g_r2
        H = d.H_ld_l2 + (nu / d.r2)[:, None, None] * (
            d.H_r2 - d.g_r2[:, :, None] * d.g_r2[:, None, :] / d.r2[:, None, None])
    if reml:
        f, g, H = f + d.ld_rx2, g + d.g_ld_rx2, H + d.H_ld_rx2
    return f, g, H


def polish(stats: GroupStats, theta: np.ndarray, *, reml: bool = True, max_iter: int = 6,
           step_tol: float = 1e-12) -> tuple[np.ndarray, Derivatives]:
    """Newton steps with the exact gradient and Hessian from a nearly optimal ``theta``.

    Parameters
    ----------
    stats : GroupStats
    theta : ndarray, shape (n, m)
        Points near the optimum of the profiled deviance (e.g. from
        :func:`replic.lmm.optimize.minimize`).
    reml : bool
    max_iter : int
    step_tol : float
        A data set stops when its next Newton step is below ``step_tol * max(1, |theta|)``:
        the optimum to rounding (the Newton step after a step of 1e-9 is at the level of
        rounding), so fits do not depend on the path that led to it (starting values, the
        layout of the statistics).

    Returns
    -------
    theta : ndarray, shape (n, m)
        The polished points.  A step is kept while the deviance does not rise beyond rounding
        and the gradient shrinks; directions of zero or negative curvature are left alone (the
        flat directions of some boundary fits), so a point on the boundary stays there and one
        just off it steps onto it (the deviance is even in a zero column of ``Lambda``).
    parts : Derivatives
        The derivatives at the returned points (for the Satterthwaite df).
    """
    x = np.array(theta, dtype=float)
    parts = derivatives(stats, x)
    f, g, H = profiled_derivatives(stats, x, reml=reml, parts=parts)
    active = np.flatnonzero(np.isfinite(f) & np.isfinite(g).all(axis=1)
                            & np.isfinite(H).all(axis=(1, 2)))
    for _ in range(max_iter):
        if active.size == 0:
            break
        step = newton_step(g[active], H[active])
        big = np.abs(step).max(axis=1) > step_tol * np.maximum(1.0, np.abs(x[active]).max(
            axis=1))
        active, step = active[big], step[big]
        if active.size == 0:
            break
        xn = x[active] + step
        sub = stats.take(active)
        pn = derivatives(sub, xn)
        fn, gn, Hn = profiled_derivatives(sub, xn, reml=reml, parts=pn)
        ok = (np.isfinite(fn) & np.isfinite(gn).all(axis=1) & np.isfinite(Hn).all(axis=(1, 2))
              & (fn <= f[active] + 1e-9 * (np.abs(f[active]) + 1.0))
              & (np.abs(gn).max(axis=1) < np.abs(g[active]).max(axis=1)))
        active = active[ok]
        x[active], f[active], g[active], H[active] = xn[ok], fn[ok], gn[ok], Hn[ok]
        _put(parts, active, _take(pn, np.flatnonzero(ok)))
    return x, parts
