"""Summaries of weighted draws: normal mixtures (Rao-Blackwellised) and weighted samples.

A fixed effect's posterior is a weighted mixture of normals, one per importance draw; its mean,
sd, ``P(> 0)`` and quantiles are computed from the mixture exactly, which has far less Monte
Carlo error than summarising sampled values.  Variance parameters are summarised from their
weighted draws.
"""

from __future__ import annotations

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = ["mixture_quantile", "mixture_summary", "weighted_quantile", "weighted_summary"]


def mixture_quantile(mean: np.ndarray, var: np.ndarray, w: np.ndarray, p: float, *,
                     iterations: int = 40, rtol: float = 1e-4) -> np.ndarray:
    """Quantile ``p`` of each row's normal mixture ``sum_m w_m N(mean_m, var_m)``.

    Newton iterations from the normal approximation, safeguarded by a shrinking bracket
    (bisection when a step leaves it).  A row stops after a Newton step below ``rtol`` mixture
    sds: Newton converges quadratically, so the error left is of order ``rtol^2`` sds.

    Parameters
    ----------
    mean, var, w : ndarray, shape (n, M)
        Component means, variances and weights (rows sum to 1).
    p : float
    """
    mu = np.sum(w * mean, axis=1)
    scale = np.sqrt(np.sum(w * (var + (mean - mu[:, None]) ** 2), axis=1))
    sd = np.sqrt(np.maximum(var, (1e-8 * scale[:, None]) ** 2))
    inv_sd = 1.0 / sd
    w_sd = w * inv_sd / np.sqrt(2 * np.pi)
    lo = np.min(mean - 10 * sd, axis=1)
    hi = np.max(mean + 10 * sd, axis=1)
    x = np.clip(mu + ndtri(p) * scale, lo, hi)
    active = np.arange(x.size)
    for _ in range(iterations):
        every = active.size == x.size
        m, isd, ww, wsd = ((a if every else a[active]) for a in (mean, inv_sd, w, w_sd))
        xa, lo_a, hi_a = x[active], lo[active], hi[active]
        u = (xa[:, None] - m) * isd
        F = np.einsum("nm,nm->n", ww, ndtr(u)) - p
        u *= u
        u *= -0.5
        dens = np.einsum("nm,nm->n", wsd, np.exp(u, out=u))
        lo_a = np.where(F < 0, xa, lo_a)
        hi_a = np.where(F >= 0, xa, hi_a)
        lo[active], hi[active] = lo_a, hi_a
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            nxt = xa - F / dens
        # a step to the bracket's end is the root itself (F == 0 there), not a step outside
        inside = np.isfinite(nxt) & (nxt >= lo_a) & (nxt <= hi_a)
        new = np.where(inside, nxt, 0.5 * (lo_a + hi_a))
        x[active] = new
        done = inside & (np.abs(new - xa) <= rtol * scale[active])
        active = active[~done]
        if active.size == 0:
            break
    return x


def mixture_summary(mean: np.ndarray, var: np.ndarray, log_weights: np.ndarray, *,
                    probs: tuple[float, float] = (0.025, 0.975)) -> dict[str, np.ndarray]:
    """Mean, sd, interval and ``P(> 0)`` of each row's weighted normal mixture.

    Returns
    -------
    dict
        ``estimate``, ``se`` (posterior sd), ``lower``, ``upper``, ``prob_positive`` and
        ``p = 2 min(P(> 0), P(< 0))``, each of shape (n,).
    """
    w = np.exp(log_weights)
    m = np.sum(w * mean, axis=1)
    v = np.sum(w * (var + (mean - m[:, None]) ** 2), axis=1)
    sd = np.sqrt(np.maximum(var, (1e-8 * np.sqrt(v)[:, None]) ** 2))
    pos = np.clip(np.sum(w * ndtr(mean / sd), axis=1), 0.0, 1.0)
    return {"estimate": m, "se": np.sqrt(v), "lower": mixture_quantile(mean, var, w, probs[0]),
            "upper": mixture_quantile(mean, var, w, probs[1]), "prob_positive": pos,
            "p": 2 * np.minimum(pos, 1 - pos)}


def weighted_quantile(x: np.ndarray, w: np.ndarray, p: float) -> np.ndarray:
    """Quantile ``p`` of each row of ``x`` (n, M) under weights ``w`` (rows sum to 1).

    Linear interpolation between the midpoints of the sorted draws' cumulative weights.
    """
    order = np.argsort(x, axis=1)
    xs = np.take_along_axis(x, order, axis=1)
    ws = np.take_along_axis(w, order, axis=1)
    cum = np.cumsum(ws, axis=1) - 0.5 * ws
    return np.array([np.interp(p, c, v) for c, v in zip(cum, xs, strict=True)])


def weighted_summary(x: np.ndarray, log_weights: np.ndarray, *,
                     probs: tuple[float, float] = (0.025, 0.975)) -> dict[str, np.ndarray]:
    """Weighted mean, sd, quantiles and ``P(> 0)`` of draws ``x`` (n, M)."""
    w = np.exp(log_weights)
    m = np.sum(w * x, axis=1)
    sd = np.sqrt(np.sum(w * (x - m[:, None]) ** 2, axis=1))
    return {"mean": m, "sd": sd, "q2.5": weighted_quantile(x, w, probs[0]),
            "q97.5": weighted_quantile(x, w, probs[1]),
            "prob_positive": np.sum(w * (x > 0), axis=1)}
