"""Exact REML fits of balanced complete replicates from per-subject sufficient statistics.

When every subject is observed at the same design points and the varying terms span the fixed
effects (``Z = X A`` with ``A`` invertible, e.g. ``y ~ 1 + x + (1 + x | g)``), the REML
likelihood factorises.  With the per-subject OLS coefficients ``c_j = (Z'Z)^-1 Z'y_j``, their
sample covariance ``S`` (divisor ``k - 1``), the pooled residual sum of squares ``RSS`` on
``nu = k (T - q)`` df, and ``G = (Z'Z)^-1``:

    -2 l_R = nu log s2 + RSS / s2 + (k - 1) (log|V| + tr(V^-1 S)) + const,   V = Sigma + s2 G.

In coordinates where ``G = I`` (``S~ = R^-1 S R^-T``, ``G = R R'``) with eigenvalues ``mu_i`` of
``S~``, the maximiser under ``Sigma >= 0`` clips the eigenvalues of ``V`` at ``s2``; each number
``m`` of clipped eigenvalues gives a stationary ``s2_m = (RSS + (k-1) sum_{i<=m} mu_(i)) /
(nu + (k-1) m)`` and the best of them is the exact REML fit, boundary (singular) fits included.
The REML criterion itself is, with ``v_i = max(mu_i, s2)`` and ``Z = X A``,

    (kT - q) log 2 pi + nu log s2 + RSS / s2 + (k - 1) (sum log v_i - log|Z'Z| + sum mu_i / v_i)
        + k log|Z'Z| + q log k + 2 log|A|.

Then ``beta = A^-1 mean(c_j)``, ``Cov(beta) = A^-1 V A^-T / k`` and, when ``Sigma`` is interior,
the Satterthwaite df of every fixed effect is exactly ``k - 1``.  Pure numpy.
"""

from __future__ import annotations

import numpy as np

from replic.kernel.smallmat import psd_cholesky, theta_from_lower, tri_index
from replic.kernel.stats import stats_from_replicates
from replic.lmm.batch import SINGULAR_TOL, BatchFit, empty_fit, finish
from replic.lmm.deviance import LOG2PI

__all__ = ["closed_form_applies", "fit_balanced"]


def closed_form_applies(X: np.ndarray, Z: np.ndarray, *, k: int = 2) -> bool:
    """True when ``Z`` spans exactly the columns of ``X``, leaves residual df per subject, and
    there are ``k >= 2`` subjects."""
    T, q = Z.shape
    if X.shape[1] != q or T <= q or k < 2:
        return False
    r = np.linalg.matrix_rank
    return bool(r(Z) == q and r(np.column_stack([Z, X])) == q)


def fit_balanced(y: np.ndarray, X: np.ndarray, Z: np.ndarray, *, df: bool = True) -> BatchFit:
    """REML fits of complete balanced replicates in closed form.

    Parameters
    ----------
    y : ndarray, shape (n, k, T)
        Complete responses of ``k`` subjects at ``T`` design points.
    X, Z : ndarray, shape (T, q)
        Per-subject designs with :func:`closed_form_applies`.
    df : bool
        Compute Satterthwaite df (exactly ``k - 1`` for interior fits, numerically on the
        boundary).

    Returns
    -------
    BatchFit
    """
    n, k, T = y.shape
    q = Z.shape[1]
    ZtZ = Z.T @ Z
    G = np.linalg.inv(ZtZ)
    R = np.linalg.cholesky(G)
    Rinv = np.linalg.inv(R)
    A = G @ Z.T @ X
    Ainv = np.linalg.inv(A)
    c = y @ (Z @ G)                                           # (n, k, q)
    rss = (y**2).sum(axis=(1, 2)) - np.einsum("nkq,qr,nkr->n", c, ZtZ, c)
    nu = k * (T - q)
    cbar = c.mean(axis=1)
    d = c - cbar[:, None]
    S = np.einsum("nkq,nkr->nqr", d, d) / (k - 1)
    mu, U = np.linalg.eigh(Rinv @ S @ Rinv.T)                 # ascending
    s2 = _sigma2(mu, rss, nu, k)
    clipped = np.maximum(mu - s2[:, None], 0.0)
    RU = R @ U
    Sigma = np.einsum("nij,nj,nkj->nik", RU, clipped, RU)
    V = Sigma + s2[:, None, None] * G
    lam = psd_cholesky(Sigma / s2[:, None, None])
    theta = theta_from_lower(lam)
    rows, cols = tri_index(q)
    v = np.maximum(mu, s2[:, None])                           # eigenvalues of whitened V
    logdet_ztz = np.linalg.slogdet(ZtZ)[1]
    crit = ((k * T - q) * LOG2PI + nu * np.log(s2) + rss / s2
            + (k - 1) * (np.log(v).sum(axis=1) - logdet_ztz + (mu / v).sum(axis=1))
            + k * logdet_ztz + q * np.log(k) + 2 * np.linalg.slogdet(A)[1])
    out = empty_fit(n, X.shape[1], rows.size, np.full(n, "", dtype=object))
    out.beta[:] = cbar @ Ainv.T
    out.cov[:] = Ainv @ V @ Ainv.T / k
    out.theta[:] = theta
    out.sigma[:] = np.sqrt(s2)
    out.criterion[:] = crit
    out.converged[:] = np.isfinite(crit)
    out.singular[:] = (theta[:, rows == cols] < SINGULAR_TOL).any(axis=1)
    interior = (mu > s2[:, None]).all(axis=1)
    out.df[:] = np.where(interior[:, None], float(k - 1), np.nan)
    edge = np.flatnonzero(~interior)
    if df and edge.size:
        part = empty_fit(edge.size, X.shape[1], rows.size, out.error[edge])
        stats = stats_from_replicates(y[edge], X, Z).with_outer()
        finish(part, np.arange(edge.size), stats,
               theta[edge], converged=np.ones(edge.size, dtype=bool), reml=True, exact=True)
        out.df[edge] = part.df
    return out


def _sigma2(mu: np.ndarray, rss: np.ndarray, nu: int, k: int) -> np.ndarray:
    """The REML ``s2``: the best stationary point over the number of clipped eigenvalues."""
    n, q = mu.shape
    m = np.arange(q + 1)
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(mu, axis=1)], axis=1)   # (n, q + 1)
    cand = (rss[:, None] + (k - 1) * cum) / (nu + (k - 1) * m)[None, :]
    cand = np.maximum(cand, 1e-300)
    mu_ = mu[:, None, :]
    s2 = cand[:, :, None]
    below = mu_ < s2
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(below, np.log(s2) + mu_ / s2, np.log(np.where(below, 1.0, mu_)) + 1.0)
    f = nu * np.log(cand) + rss[:, None] / cand + (k - 1) * term.sum(axis=2)
    return cand[np.arange(n), np.argmin(f, axis=1)]
