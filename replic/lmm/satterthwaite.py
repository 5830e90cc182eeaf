"""Satterthwaite degrees of freedom for fixed effects, as lmerTest computes them, vectorised.

lmerTest (Kuznetsova et al. 2017) takes the variance parameters ``varpar = (theta, sigma)``, the
Hessian ``H`` of the deviance in them with ``sigma`` not profiled out (``devfun_vp``), their
asymptotic covariance ``A = 2 H^+`` (pseudo-inverse over the eigenvalues above ``1e-8``), and the
Jacobian of ``Cov(beta) = sigma^2 (RX'RX)^-1`` in ``varpar``.  For a contrast ``l``:

    df = 2 (l' C l)^2 / (g' A g),      g_i = l' (dC / d varpar_i) l.

Here the derivatives are central finite differences, evaluated for all data sets at once.
"""

from __future__ import annotations

import numpy as np

from replic.lmm.deviance import components, deviance_vp
from replic.lmm.fdiff import assemble, stencil, steps
from replic.lmm.stats import GroupStats

__all__ = ["satterthwaite_df", "varpar_covariance"]


def varpar_covariance(hess: np.ndarray, *, tol: float = 1e-8) -> np.ndarray:
    """``2 H^+`` over the eigenvalues of ``H`` above ``tol`` (lmerTest's ``vcov_varpar``)."""
    lam, V = np.linalg.eigh(np.where(np.isfinite(hess), hess, 0.0))
    inv = np.where(lam > tol, 1.0 / np.where(lam > tol, lam, 1.0), 0.0)
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
    x = np.column_stack([theta, sigma])
    # steps of 1e-3 balance truncation and rounding error (relative error of df ~1e-6)
    h = steps(x, rel=1e-3, floor=0.05)
    h[:, -1] = 1e-3 * np.abs(sigma)
    g, H, cov = _derivatives(stats, x, h, reml)
    v0 = np.diagonal(cov, axis1=-2, axis2=-1)
    A = varpar_covariance(H)
    denom = np.einsum("nip,nij,njp->np", g, A, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        df = 2.0 * v0**2 / denom
    return df, cov


def _derivatives(stats: GroupStats, x: np.ndarray, h: np.ndarray, reml: bool) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Gradient of ``Var(beta_i)``, Hessian of the deviance, and ``Cov(beta)`` at ``x``."""
    pts = stencil(x, h)
    parts = components(stats, pts[..., :-1])
    sig = pts[..., -1]
    dev = deviance_vp(stats, pts[..., :-1], sig, reml=reml, parts=parts)
    cov = sig[..., None, None] ** 2 * parts.CXX_inv          # (n, E, P, P)
    _, H = assemble(dev, h)
    g, _ = assemble(np.diagonal(cov, axis1=-2, axis2=-1), h)  # (n, d, P)
    return g, H, cov[:, 0]
