"""Satterthwaite degrees of freedom for fixed effects, as lmerTest computes them, vectorised.

lmerTest (Kuznetsova et al. 2017) takes the variance parameters ``varpar = (theta, sigma)``, the
Hessian ``H`` of the deviance in them with ``sigma`` not profiled out (``devfun_vp``), their
asymptotic covariance ``A = 2 H^+`` (pseudo-inverse over the positive eigenvalues), and the
Jacobian of ``Cov(beta) = sigma^2 (RX'RX)^-1`` in ``varpar``.  For a contrast ``l``:

    df = 2 (l' C l)^2 / (g' A g),      g_i = l' (dC / d varpar_i) l.

With ``devfun_vp = ld(theta) + r2(theta) / sigma^2 + nu log(2 pi sigma^2)`` (``ld`` the
log-determinants, ``r2`` the penalised RSS, ``nu = N - P`` for REML) every derivative is exact:
those in ``sigma`` in closed form, those in ``theta`` from :mod:`replic.lmm.derivatives`
(where lmerTest uses Richardson extrapolation), for all data sets at once.  At a boundary
optimum (a zero column of ``Lambda``) the deviance is even in that column, its derivatives
there vanish exactly, and the df are those lmerTest reports for the singular fit.
"""

from __future__ import annotations

import numpy as np

from replic.kernel.newton import pinv_sym
from replic.kernel.stats import GroupStats
from replic.lmm.derivatives import Derivatives, derivatives

__all__ = ["satterthwaite_df", "varpar_covariance"]


def varpar_covariance(hess: np.ndarray, *, tol: float = 1e-8, rtol: float = 1e-11
                      ) -> np.ndarray:
    """``2 H^+`` over the eigenvalues of ``H`` above ``max(tol, rtol * largest)``.

    lmerTest keeps the eigenvalues above ``tol = 1e-8``.  The Hessian here is exact up to
    rounding, so eigenvalues below ``rtol`` times the largest (the flat directions of ``theta``
    at some boundary fits, exactly zero in exact arithmetic) count as zero too.
    """
    return 2.0 * pinv_sym(np.where(np.isfinite(hess), hess, 0.0), rtol=rtol, atol=tol)


def satterthwaite_df(stats: GroupStats, theta: np.ndarray, sigma: np.ndarray, *,
                     reml: bool = True, parts: Derivatives | None = None) -> tuple[
                         np.ndarray, np.ndarray]:
    """Satterthwaite df of every fixed effect, and the covariance of the estimates.

    Parameters
    ----------
    stats : GroupStats
        ``n`` data sets.
    theta : ndarray, shape (n, m)
        Optimum of the profiled deviance.
    sigma : ndarray, shape (n,)
        Residual standard deviation at the optimum.
    reml : bool
    parts : Derivatives, optional
        :func:`~replic.lmm.derivatives.derivatives` at ``theta``, when already computed.

    Returns
    -------
    df : ndarray, shape (n, P)
    cov : ndarray, shape (n, P, P)
        ``sigma^2 (RX'RX)^-1`` at the optimum.
    """
    d = derivatives(stats, theta) if parts is None else parts
    n, m = theta.shape
    nu = stats.n_obs - (stats.p if reml else 0)
    s2 = sigma**2
    c0 = np.diagonal(d.CXX_inv, axis1=-2, axis2=-1)                  # (n, P)
    # Hessian of devfun_vp(theta, sigma) = ld + r2 / sigma^2 + nu log(2 pi sigma^2)
    Hv = np.empty((n, m + 1, m + 1))
    H_ld = d.H_ld_l2 + d.H_ld_rx2 if reml else d.H_ld_l2
    Hv[:, :m, :m] = H_ld + d.H_r2 / s2[:, None, None]
    Hv[:, :m, m] = Hv[:, m, :m] = -2.0 * d.g_r2 / (s2 * sigma)[:, None]
    Hv[:, m, m] = 6.0 * d.r2 / s2**2 - 2.0 * nu / s2
    # gradient of Var(beta_i) = sigma^2 [CXX^-1]_ii in (theta, sigma)
    g_c = np.diagonal(d.g_CXX_inv, axis1=-2, axis2=-1)               # (n, m, P)
    gv = np.concatenate([s2[:, None, None] * g_c, (2.0 * sigma[:, None] * c0)[:, None]],
                        axis=1)                                      # (n, m + 1, P)
    A = varpar_covariance(Hv)
    v0 = s2[:, None] * c0
    denom = np.einsum("nip,nij,njp->np", gv, A, gv)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = 2.0 * v0**2 / denom
    return df, s2[:, None, None] * d.CXX_inv
