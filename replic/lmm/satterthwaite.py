"""Satterthwaite degrees of freedom for fixed effects, as lmerTest computes them, vectorised.

lmerTest (Kuznetsova et al. 2017) takes the variance parameters ``varpar = (theta, sigma)``, the
Hessian ``H`` of the deviance in them with ``sigma`` not profiled out (``devfun_vp``), their
asymptotic covariance ``A = 2 H^+`` (pseudo-inverse over the positive eigenvalues), and the
Jacobian of ``Cov(beta) = sigma^2 (RX'RX)^-1`` in ``varpar``.  For a contrast ``l``:

    df = 2 (l' C l)^2 / (g' A g),      g_i = l' (dC / d varpar_i) l.

With ``devfun_vp = ld(theta) + r2(theta) / sigma^2 + nu log(2 pi sigma^2)`` (``ld`` the
log-determinants, ``r2`` the penalised RSS, ``nu = N - P`` for REML) the derivatives in ``sigma``
are analytic; those in ``theta`` are central finite differences of ``ld``, ``r2`` and
``(RX'RX)^-1`` on one stencil, evaluated for all data sets at once.
"""

from __future__ import annotations

import numpy as np

from replic.lmm.deviance import components
from replic.lmm.fdiff import assemble, stencil, steps
from replic.lmm.stats import GroupStats

__all__ = ["satterthwaite_df", "varpar_covariance"]


def varpar_covariance(hess: np.ndarray, *, tol: float = 1e-8, rtol: float = 1e-6) -> np.ndarray:
    """``2 H^+`` over the eigenvalues of ``H`` above ``max(tol, rtol * largest)``.

    lmerTest keeps the eigenvalues above ``tol = 1e-8``; its Hessian comes from Richardson
    extrapolation and resolves zero eigenvalues (the flat directions of ``theta`` at some
    boundary fits) to well below that.  A plain central-difference Hessian has a rounding floor
    near ``1e-7`` relative, so eigenvalues below ``rtol`` times the largest count as zero too.
    """
    lam, V = np.linalg.eigh(np.where(np.isfinite(hess), hess, 0.0))
    cut = np.maximum(tol, rtol * np.abs(lam).max(axis=-1, keepdims=True))
    keep = lam > cut
    inv = np.where(keep, 1.0 / np.where(keep, lam, 1.0), 0.0)
    return 2.0 * np.einsum("nij,nj,nkj->nik", V, inv, V)


def satterthwaite_df(stats: GroupStats, theta: np.ndarray, sigma: np.ndarray, *,
                     reml: bool = True) -> tuple[np.ndarray, np.ndarray]:
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

    Returns
    -------
    df : ndarray, shape (n, P)
    cov : ndarray, shape (n, P, P)
        ``sigma^2 (RX'RX)^-1`` at the optimum.
    """
    c = components(stats, stencil(theta, h := steps(theta, rel=1e-3, floor=0.05)))
    ld = c.ld_l2 + c.ld_rx2 if reml else c.ld_l2
    cxx = np.diagonal(c.CXX_inv, axis1=-2, axis2=-1)             # (n, E, P)
    vals = np.concatenate([ld[..., None], c.r2[..., None], cxx], axis=-1)
    g, H = assemble(vals, h)                                     # (n, m, 2+P), (n, m, m, 2+P)
    n, m = theta.shape
    nu = stats.n_obs - (stats.p if reml else 0)
    s2 = sigma**2
    r2, c0 = c.r2[:, 0], cxx[:, 0]                               # at the optimum
    # Hessian of devfun_vp(theta, sigma) = ld + r2 / sigma^2 + nu log(2 pi sigma^2)
    Hv = np.empty((n, m + 1, m + 1))
    Hv[:, :m, :m] = H[..., 0] + H[..., 1] / s2[:, None, None]
    Hv[:, :m, m] = Hv[:, m, :m] = -2.0 * g[..., 1] / (s2 * sigma)[:, None]
    Hv[:, m, m] = 6.0 * r2 / s2**2 - 2.0 * nu / s2
    # gradient of Var(beta_i) = sigma^2 [CXX^-1]_ii in (theta, sigma)
    gv = np.concatenate([s2[:, None, None] * g[..., 2:], (2.0 * sigma[:, None] * c0)[:, None]],
                        axis=1)                                  # (n, m + 1, P)
    A = varpar_covariance(Hv)
    v0 = s2[:, None] * c0
    denom = np.einsum("nip,nij,njp->np", gv, A, gv)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = 2.0 * v0**2 / denom
    return df, s2[:, None, None] * c.CXX_inv[:, 0]
