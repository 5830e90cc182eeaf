"""Profiled REML/ML deviance of a one-factor Gaussian LMM, vectorised over data sets and trials.

The model is ``y = X beta + Z b + e`` with ``b_j = sigma Lambda u_j``, ``u_j ~ N(0, I)``, and
``Lambda`` lower triangular with lme4's ``theta`` as its entries.  Everything a fit needs is in the
cross-products of the groups' design patterns (:class:`~replic.kernel.stats.GroupStats`).  For
each group let
``M_j = Lambda' Z_j'Z_j Lambda + I``, ``N_j = Lambda M_j^-1 Lambda'`` and ``B_j = Z_j'[X y]``; then

    C = [X y]'[X y] - sum_j B_j' N_j B_j,

whose ``X`` block is lme4's ``RX'RX``; ``beta = C_XX^-1 C_Xy``, the penalised residual sum of
squares is ``r2 = C_yy - C_yX beta``, and (Bates et al. 2015, eqs. 34 and 41)

    REML: log|L|^2 + log|RX|^2 + (N - P) (1 + log(2 pi r2 / (N - P)))
    ML:   log|L|^2 + N (1 + log(2 pi r2 / N))

with ``log|L|^2 = sum_j log|M_j|``.  Groups sharing a design pattern share ``M_j`` and ``N_j``, so
the sum over groups is one matrix product of the entries of each pattern's ``N_j`` with the cached
products of the rows of ``B_j`` summed over the pattern
(:func:`~replic.kernel.woodbury.pattern_outer`): :func:`replic.kernel.woodbury.group_sums`, shared
with bayes-fast.  Pure numpy, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.kernel.smallmat import det_inv, lower_from_theta
from replic.kernel.stats import GroupStats
from replic.kernel.woodbury import group_sums

__all__ = ["LOG2PI", "Components", "components", "deviance", "deviance_vp"]

LOG2PI = float(np.log(2 * np.pi))


@dataclass(frozen=True)
class Components:
    """Pieces of the profiled deviance at trial values ``theta``, shape ``(n, E, ...)``.

    Attributes
    ----------
    ld_l2 : ndarray, shape (n, E)
        ``log |L_theta|^2``.
    ld_rx2 : ndarray, shape (n, E)
        ``log |RX|^2``.
    r2 : ndarray, shape (n, E)
        Penalised residual sum of squares.
    beta : ndarray, shape (n, E, P)
        Conditional estimates of the fixed effects.
    CXX_inv : ndarray, shape (n, E, P, P)
        ``(RX'RX)^-1``; ``sigma^2`` times it is the covariance of ``beta``.
    """

    ld_l2: np.ndarray
    ld_rx2: np.ndarray
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
    ld_l2, S = group_sums(lower_from_theta(theta, q), stats.ZtZ, stats.outer,
                          count=stats.count)
    C = stats.XytXy[:, None] - S.reshape(*theta.shape[:2], p + 1, p + 1)
    detC, CXX_inv = det_inv(C[..., :p, :p])
    beta = (CXX_inv * C[..., None, :p, p]).sum(-1)
    r2 = C[..., p, p] - (C[..., :p, p] * beta).sum(-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ld_rx2 = np.log(detC)
    return Components(ld_l2=ld_l2, ld_rx2=ld_rx2, r2=r2, beta=beta, CXX_inv=CXX_inv)


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
            out = c.ld_l2 + c.ld_rx2 + nu * (1.0 + LOG2PI + np.log(c.r2 / nu))
        else:
            out = c.ld_l2 + N * (1.0 + LOG2PI + np.log(c.r2 / N))
    return np.where(np.isfinite(out) & (c.r2 > 0), out, np.inf)


def deviance_vp(stats: GroupStats, theta: np.ndarray, sigma: np.ndarray, *, reml: bool = True,
                parts: Components | None = None) -> np.ndarray:
    """Deviance at ``(theta, sigma)`` with ``sigma`` given, not profiled out (lmerTest's
    ``devfun_vp``), shape (n, E)."""
    c = components(stats, theta) if parts is None else parts
    N = stats.n_obs[:, None].astype(float)
    s2 = sigma**2
    nu = N - stats.p if reml else N
    out = c.ld_l2 + c.r2 / s2 + nu * (LOG2PI + np.log(s2))
    return out + c.ld_rx2 if reml else out
