"""Pareto smoothed importance sampling (PSIS), vectorised over rows.

Vehtari, Simpson, Gelman, Yao & Gabry (2024), "Pareto smoothed importance sampling", JMLR 25(72).
The largest ``M_tail = ceil(min(M / 5, 3 sqrt(M / r_eff)))`` weights of each row are replaced by
expected order statistics of a generalised Pareto distribution fitted to them (Zhang & Stephens
2009 empirical Bayes fit with the weakly informative prior on ``k`` used by ``loo`` and ArviZ),
then truncated at the largest raw weight.  The fitted shape ``k-hat`` is the diagnostic: above
0.7 the estimates are unreliable.  Row for row this reproduces ``arviz.psislw``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["gpd_fit", "psis", "weights_ess"]

_EPS = np.finfo(float).eps


def gpd_fit(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fit generalised Pareto distributions to the ascending rows of ``x`` (n, m), all > 0.

    Returns
    -------
    k, sigma : ndarray, shape (n,)
        Shape (with the prior ``(m k + 5) / (m + 10)``) and scale.
    """
    n = x.shape[-1]
    m_est = 30 + int(n ** 0.5)
    b = 1.0 - np.sqrt(m_est / (np.arange(1, m_est + 1, dtype=float) - 0.5))
    b = b[None, :] / (3.0 * x[:, int(n / 4 + 0.5) - 1, None]) + 1.0 / x[:, -1, None]   # (r, m)
    k_ary = np.log1p(-b[:, :, None] * x[:, None, :]).mean(axis=-1)
    len_scale = n * (np.log(-(b / k_ary)) - k_ary - 1.0)
    w = 1.0 / np.exp(len_scale[:, None, :] - len_scale[:, :, None]).sum(axis=-1)
    w = np.where(w >= 10 * _EPS, w, 0.0)
    w /= w.sum(axis=-1, keepdims=True)
    b_post = np.sum(b * w, axis=-1)
    k = np.log1p(-b_post[:, None] * x).mean(axis=-1)
    sigma = -k / b_post
    return (n * k + 10 * 0.5) / (n + 10), sigma


def _gpd_quantile(p: np.ndarray, k: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    small = np.abs(k) < _EPS
    ks = np.where(small, 1.0, k)[:, None]
    q = np.where(small[:, None], -np.log1p(-p)[None, :], np.expm1(-ks * np.log1p(-p)) / ks)
    return q * sigma[:, None]


def psis(log_weights: np.ndarray, *, reff: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Pareto-smooth the log importance weights of each row.

    Parameters
    ----------
    log_weights : ndarray, shape (n, M)
        Unnormalised log weights; ``-inf`` allowed (zero weight).
    reff : float
        Relative efficiency of the draws (1 for independent proposals).

    Returns
    -------
    log_weights : ndarray, shape (n, M)
        Smoothed, truncated and normalised (``logsumexp == 0``) log weights.
    khat : ndarray, shape (n,)
        Pareto shape estimate of each row (``inf`` when the tail cannot be fitted).
    """
    lw = np.array(log_weights, dtype=float, ndmin=2)
    n, M = lw.shape
    lw = lw - lw.max(axis=1, keepdims=True)
    m_tail = int(np.ceil(min(M / 5.0, 3.0 * np.sqrt(M / reff))))
    order = np.argsort(lw, axis=1)
    tail_idx = order[:, M - m_tail:]
    cutoff = np.maximum(np.take_along_axis(lw, order[:, M - m_tail - 1, None], axis=1)[:, 0],
                        np.log(np.finfo(float).tiny))
    tail = np.exp(np.take_along_axis(lw, tail_idx, axis=1)) - np.exp(cutoff)[:, None]
    ok = (m_tail > 4) & (tail[:, 0] > 0) & np.isfinite(cutoff)
    khat = np.full(n, np.inf)
    if ok.any():
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            k, sig = gpd_fit(tail[ok])
            p = np.arange(0.5, m_tail) / m_tail
            smooth = np.log(_gpd_quantile(p, k, sig) + np.exp(cutoff[ok])[:, None])
        good = np.isfinite(k)
        rows = np.flatnonzero(ok)[good]
        smoothed = lw[rows]
        np.put_along_axis(smoothed, tail_idx[rows], np.minimum(smooth[good], 0.0), axis=1)
        lw[rows] = smoothed
        khat[np.flatnonzero(ok)] = k
    with np.errstate(invalid="ignore"):
        top = lw.max(axis=1, keepdims=True)
        lw = lw - (top + np.log(np.exp(lw - top).sum(axis=1, keepdims=True)))
    return lw, khat


def weights_ess(log_weights: np.ndarray) -> np.ndarray:
    """Effective sample size ``1 / sum w^2`` of normalised log weights (n, M)."""
    return 1.0 / np.exp(2.0 * log_weights).sum(axis=-1)
