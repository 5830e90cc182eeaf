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

and ``dC = -sum_j B_j' dN_j B_j``.  For ``log|RX|^2 = log|C_XX|``, the penalised residual sum of
squares ``r2 = w' C w`` with ``w = (-beta, 1)``, and ``C_XX^-1``:

    d log|C_XX| = tr(C_XX^-1 dC_XX)
    d2          = tr(C_XX^-1 d2C_XX) - tr(C_XX^-1 dC_XX,l C_XX^-1 dC_XX,k)
    d r2        = w' dC w,     d2 = w' d2C w - 2 (dC_k w)_X' C_XX^-1 (dC_l w)_X
    d C_XX^-1   = -C_XX^-1 dC_XX C_XX^-1.

Exact to rounding, on the boundary too (where finite differences of an even function of a zero
column of ``Lambda`` lose their accuracy).  They give the Satterthwaite df
(:mod:`replic.lmm.satterthwaite`) and the Newton steps that polish an optimum
(:func:`profiled_derivatives`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.lmm.smallmat import det_inv, lower_from_theta, tri_index
from replic.lmm.stats import GroupStats

__all__ = ["Derivatives", "derivatives", "profiled_derivatives"]


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


def _sym(F: np.ndarray) -> np.ndarray:
    return F + np.swapaxes(F, -1, -2)


def derivatives(stats: GroupStats, theta: np.ndarray) -> Derivatives:
    """Exact derivatives of the profiled deviance's pieces at ``theta`` (n, m)."""
    q, p = stats.q, stats.p
    rows, cols = tri_index(q)
    lam = lower_from_theta(theta, q)[:, None]                         # (n, 1, q, q)
    A = stats.ZtZ                                                     # (n, J, q, q)
    lamT = np.swapaxes(lam, -1, -2)
    M = lamT @ A @ lam + np.eye(q)
    detM, Minv = det_inv(M)
    P = Minv @ lamT                                                   # (n, J, q, q)
    N = lam @ P
    K = np.eye(q) - N @ A
    KT = np.swapaxes(K, -1, -2)
    PA = P @ A
    LA = lamT @ A                                                     # Lambda' A_j
    n, J, m = P.shape[0], P.shape[1], rows.size
    dN = np.empty((n, J, m, q, q))
    dP = np.empty((n, J, m, q, q))
    for k, (r, c) in enumerate(zip(rows, cols, strict=True)):
        dN[:, :, k] = _sym(K[:, :, :, r, None] * P[:, :, None, c, :])
        inner = -LA[:, :, :, r, None] * P[:, :, None, c, :]          # -Lambda' A E_k P
        inner[:, :, c, :] += KT[:, :, r, :]                           # + E_k' K'
        dP[:, :, k] = Minv @ inner
    g_ld = 2.0 * PA[..., cols, rows].sum(axis=1)                      # (n, m)
    H_ld = 2.0 * np.swapaxes((dP @ A[:, :, None])[..., cols, rows].sum(axis=1), -1, -2)
    dNA = dN @ A[:, :, None]                                          # (n, J, m, q, q)
    d2N = np.empty((n, J, m, m, q, q))
    for k, (r, c) in enumerate(zip(rows, cols, strict=True)):
        for ell in range(m):
            F = (K[:, :, :, r, None] * dP[:, :, ell, None, c, :]
                 - dNA[:, :, ell, :, r, None] * P[:, :, None, c, :])
            d2N[:, :, k, ell] = _sym(F)
    B = stats.ZtXy                                                    # (n, J, q, p + 1)
    dC = -np.einsum("njqa,njkqr,njrb->nkab", B, dN, B)
    d2C = -np.einsum("njqa,njklqr,njrb->nklab", B, d2N, B)
    NB = N @ B
    C = stats.XytXy - np.einsum("njqa,njqb->nab", B, NB)
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
        ld_l2, ld_rx2 = np.log(detM).sum(axis=1), np.log(detC)
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
