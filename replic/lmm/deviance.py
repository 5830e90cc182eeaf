"""Profiled REML/ML deviance of a one-factor Gaussian LMM, vectorised over data sets and trials.

The model is ``y = X beta + Z b + e`` with ``b_j = sigma Lambda u_j``, ``u_j ~ N(0, I)``, and
``Lambda`` lower triangular with lme4's ``theta`` as its entries.  Everything a fit needs is in the
per-group cross-products (:class:`~replic.lmm.stats.GroupStats`).  For each group let
``M_j = Lambda' Z_j'Z_j Lambda + I`` and ``W_j = Lambda' [Z_j'X_j | Z_j'y_j]``; then

    C = [X y]'[X y] - sum_j W_j' M_j^-1 W_j,

whose ``X`` block is lme4's ``RX'RX``; ``beta = C_XX^-1 C_Xy``, the penalised residual sum of
squares is ``r2 = C_yy - C_yX beta``, and (Bates et al. 2015, eqs. 34 and 41)

    REML: log|L|^2 + log|RX|^2 + (N - P) (1 + log(2 pi r2 / (N - P)))
    ML:   log|L|^2 + N (1 + log(2 pi r2 / N))

with ``log|L|^2 = sum_j log|M_j|``.  Pure numpy, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.lmm.smallmat import det_inv, lower_from_theta, mm, mtm
from replic.lmm.stats import GroupStats

__all__ = ["Components", "components", "deviance", "deviance_vp", "LOG2PI"]

LOG2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Components:
    """Pieces of the profiled deviance at trial values ``theta``, shape ``(n, E, ...)``.

    Attributes
    ----------
    ldL2 : ndarray, shape (n, E)
        ``log |L_theta|^2``.
    ldRX2 : ndarray, shape (n, E)
        ``log |RX|^2``.
    r2 : ndarray, shape (n, E)
        Penalised residual sum of squares.
    beta : ndarray, shape (n, E, P)
        Conditional estimates of the fixed effects.
    CXX_inv : ndarray, shape (n, E, P, P)
        ``(RX'RX)^-1``; ``sigma^2`` times it is the covariance of ``beta``.
    """

    ldL2: np.ndarray
    ldRX2: np.ndarray
    r2: np.ndarray
    beta: np.ndarray
    CXX_inv: np.ndarray


def components(stats: GroupStats, theta: np.ndarray) -> Components:
    """Evaluate the deviance components at ``theta``.

    Parameters
    ----------
    stats : GroupStats
        Cross-products of ``n`` data sets.
    theta : ndarray, shape (n, E, m)
        ``E`` trial values of lme4's ``theta`` for each data set.

    Returns
    -------
    Components
    """
    q, p = stats.q, stats.p
    lam = lower_from_theta(theta, q)[:, :, None]            # (n, E, 1, q, q)
    ztz = stats.ZtZ[:, None]                                 # (n, 1, J, q, q)
    M = mtm(lam, mm(ztz, lam)) + np.eye(q)
    W = mtm(lam, stats.ZtXy[:, None])                        # (n, E, J, q, p + 1)
    detM, Minv = det_inv(M)
    S = mtm(W, mm(Minv, W)).sum(axis=2)                     # (n, E, p + 1, p + 1)
    C = stats.XytXy[:, None] - S
    detC, CXX_inv = det_inv(C[..., :p, :p])
    beta = (CXX_inv * C[..., None, :p, p]).sum(-1)
    r2 = C[..., p, p] - (C[..., :p, p] * beta).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ldL2 = np.log(detM).sum(axis=2)
        ldRX2 = np.log(detC)
    return Components(ldL2=ldL2, ldRX2=ldRX2, r2=r2, beta=beta, CXX_inv=CXX_inv)


def deviance(stats: GroupStats, theta: np.ndarray, *, reml: bool = True,
             parts: Components | None = None) -> np.ndarray:
    """Profiled deviance (REML criterion, or ``-2 log L`` for ML) at ``theta``, shape (n, E).

    Non-finite where ``theta`` gives no valid fit; callers treat that as ``+inf``.
    """
    c = components(stats, theta) if parts is None else parts
    N = stats.n_obs[:, None].astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if reml:
            nu = N - stats.p
            out = c.ldL2 + c.ldRX2 + nu * (1.0 + LOG2PI + np.log(c.r2 / nu))
        else:
            out = c.ldL2 + N * (1.0 + LOG2PI + np.log(c.r2 / N))
    return np.where(np.isfinite(out) & (c.r2 > 0), out, np.inf)


def deviance_vp(stats: GroupStats, theta: np.ndarray, sigma: np.ndarray, *, reml: bool = True,
                parts: Components | None = None) -> np.ndarray:
    """Deviance at ``(theta, sigma)`` with ``sigma`` given, not profiled out (lmerTest's
    ``devfun_vp``), shape (n, E)."""
    c = components(stats, theta) if parts is None else parts
    N = stats.n_obs[:, None].astype(float)
    s2 = sigma**2
    nu = N - stats.p if reml else N
    out = c.ldL2 + c.r2 / s2 + nu * (LOG2PI + np.log(s2))
    return out + c.ldRX2 if reml else out
