"""Exact power of the ``summary`` analysis under fixed parameters (conditional power).

With parameters fixed at the sleepstudy posterior mean (``params="mean"``), a balanced design
observing each of k subjects at ``x`` gives per-subject OLS slopes that are iid
``N(beta, tau^2 + sigma^2 / Sxx)``; the summary analysis's t statistic ``mean / (sd / sqrt(k))``
is noncentral t with ``k - 1`` df and noncentrality ``beta sqrt(k) / sqrt(tau^2 +
sigma^2 / Sxx)``, so P(sig_same_direction) = P(T > t_{k-1, 0.975}).
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def slope_sd(post, x) -> float:
    """sd of one subject's OLS slope of Days under the posterior mean."""
    p = post.point("mean")
    x = np.asarray(x, float)
    sxx = ((x - x.mean()) ** 2).sum()
    tau = p["sd"][list(post.varying).index("Days")]
    return float(np.sqrt(tau**2 + float(p["sigma"]) ** 2 / sxx))


def power(post, k, *, beta: float | None = None, x=range(10)) -> np.ndarray:
    """P(sig_same_direction) for k subjects (beta: the posterior mean unless given)."""
    p = post.point("mean")
    b = float(p["b"][list(post.fixed).index("Days")]) if beta is None else beta
    k = np.asarray(k)
    return stats.nct.sf(stats.t.isf(0.025, k - 1), k - 1, b / slope_sd(post, x) * np.sqrt(k))


def orig_in_rep_ci(post, k, *, beta: float, x=range(10)) -> np.ndarray:
    """P(original's posterior mean inside the replicate's 95% t interval) for true ``beta``."""
    theta_o = float(post.b[:, list(post.fixed).index("Days")].mean())
    k = np.asarray(k)
    nc = (beta - theta_o) / slope_sd(post, x) * np.sqrt(k)
    tc = stats.t.isf(0.025, k - 1)
    return stats.nct.cdf(tc, k - 1, nc) - stats.nct.cdf(-tc, k - 1, nc)


def smallest_k(probs: np.ndarray, ks: np.ndarray, target: float) -> tuple[int, float]:
    """The smallest k with probability >= target, and its gap (min distance of it and the k
    before it from the target)."""
    i = int(np.argmax(probs >= target))
    gap = min(probs[i] - target, target - probs[i - 1]) if i > 0 else probs[i] - target
    return int(ks[i]), float(gap)
