"""Replication criteria, vectorised over replicates.

Each criterion asks whether a replicate's estimate of the term "matches" the original's:

``sig_same_direction``
    the replicate's 95% interval excludes 0 on the original's side (the headline);
``same_sign``
    the replicate's estimate has the original's sign;
``orig_in_rep_ci``
    the original estimate lies inside the replicate's 95% interval;
``rep_in_orig_ci``
    the replicate estimate lies inside the original's 95% interval;
``rep_in_pi``
    the replicate estimate lies inside the 95% prediction interval
    ``theta_o +/- 1.96 sqrt(se_o^2 + se_r^2)``;
``small_telescopes``
    not a "failure to replicate" in Simonsohn's (2015) sense: the replicate's one-sided 95% upper
    bound (in the original's direction) is not below ``d33``, the effect the original had 33%
    power to detect (``d33 = se_o (z_{0.975} + z_{0.33})``);
``bf_rep``
    the replication Bayes factor (Verhagen & Wagenmakers 2014, normal approximation) of the
    original's posterior ``N(theta_o, se_o^2)`` against 0 exceeds ``bf_threshold``;
``sceptical_p``
    the one-sided sceptical p-value (Held 2020) in the original's direction is below
    ``alpha / 2``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from replic.errors import ReplicInputError

__all__ = ["CRITERIA", "Original", "bf_rep", "d33", "evaluate", "sceptical_p", "t_isf"]

CRITERIA = ("sig_same_direction", "same_sign", "orig_in_rep_ci", "rep_in_orig_ci", "rep_in_pi",
            "small_telescopes", "bf_rep", "sceptical_p")


@dataclass(frozen=True)
class Original:
    """The original study's estimate of the term: posterior mean, sd and 95% interval."""

    estimate: float
    se: float
    lower: float
    upper: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.estimate) and np.isfinite(self.se) and self.se > 0):
            raise ReplicInputError(
                f"the original's posterior of the term has mean {self.estimate!r} and sd "
                f"{self.se!r}; the replication criteria compare each replicate with the "
                "original's uncertainty, so they need a finite mean and an sd above 0 (draws "
                "that all have the same value of the term have none)")

    @property
    def direction(self) -> float:
        """+1 when the original effect is positive, -1 when negative."""
        return 1.0 if self.estimate >= 0 else -1.0


def t_isf(q: float, df) -> np.ndarray:
    """``scipy.stats.t.isf(q, df)`` evaluated once per distinct ``df`` (replicates share few)."""
    df = np.asarray(df, float)
    if df.size and (df == df.flat[0]).all():
        return np.full(df.shape, stats.t.isf(q, df.flat[0]))
    u, inv = np.unique(df, return_inverse=True)
    with np.errstate(invalid="ignore"):
        return stats.t.isf(q, u)[inv].reshape(df.shape)


def d33(se_o: float, *, alpha: float = 0.05) -> float:
    """The effect a two-sided z-test at level ``alpha`` with standard error ``se_o`` detects
    with 33% power (Simonsohn 2015), ignoring the negligible opposite tail."""
    return float(se_o * (stats.norm.isf(alpha / 2) + stats.norm.ppf(0.33)))


def bf_rep(theta_r, se_r, theta_o: float, se_o: float) -> np.ndarray:
    """Replication Bayes factor ``BF_r0`` under normal approximations.

    ``H_r``: theta follows the original's posterior ``N(theta_o, se_o^2)``; ``H_0``: theta = 0;
    data: ``theta_r ~ N(theta, se_r^2)``.  ``BF_r0 = N(theta_r; theta_o, se_o^2 + se_r^2) /
    N(theta_r; 0, se_r^2)``.
    """
    theta_r, se_r = np.asarray(theta_r, float), np.asarray(se_r, float)
    log_bf = (stats.norm.logpdf(theta_r, theta_o, np.sqrt(se_o**2 + se_r**2))
              - stats.norm.logpdf(theta_r, 0.0, se_r))
    return np.exp(np.minimum(log_bf, 700.0))


def sceptical_p(z_o, z_r, c, *, alternative: str = "one.sided") -> np.ndarray:
    """Sceptical p-value of Held (2020), "nominal" type.

    Parameters
    ----------
    z_o, z_r : array_like
        z-values of the original and the replication.
    c : array_like
        Variance ratio ``se_o^2 / se_r^2``.
    alternative : {"one.sided", "two.sided"}
        ``one.sided`` tests in the original's direction (a replicate of opposite sign gives
        ``p > 0.5``), as in ReplicationSuccess::pSceptical.

    Notes
    -----
    The sceptical z-value solves ``(c - 1) z^4 + (z_o^2 + z_r^2) z^2 - z_o^2 z_r^2 = 0``
    (equation 7 of Held 2020); for ``c = 1``, ``z_S^2 = z_o^2 z_r^2 / (z_o^2 + z_r^2)``, half
    the harmonic mean of the squared z-values.
    """
    z_o, z_r, c = (np.asarray(a, float) for a in (z_o, z_r, c))
    zo2, zr2 = z_o**2, z_r**2
    s = zo2 + zr2
    # rationalised root of the quadratic: stable for every c >= 0, including c = 1
    den = s + np.sqrt(s**2 + 4 * (c - 1) * zo2 * zr2)
    with np.errstate(divide="ignore", invalid="ignore"):
        zs2 = np.where(den > 0, 2 * zo2 * zr2 / den, 0.0)
    zs = np.sqrt(zs2)
    if alternative == "two.sided":
        return 2 * stats.norm.sf(zs)
    if alternative != "one.sided":
        raise ValueError(f"alternative={alternative!r}")
    p = stats.norm.sf(zs)
    return np.where(np.sign(z_o) == np.sign(z_r), p, 1 - p)


def evaluate(original: Original, estimate, se, lower, upper, df=None, *, alpha: float = 0.05,
             bf_threshold: float = 1.0) -> dict[str, np.ndarray]:
    """Evaluate every criterion for replicates with the given estimates and intervals.

    Parameters
    ----------
    original : Original
    estimate, se, lower, upper : array_like, shape (n,)
        The replicates' estimates of the term, standard errors (posterior sds for Bayesian
        analyses) and 95% intervals.  NaN marks a failed replicate; its criteria are NaN.
    df : array_like, optional
        Degrees of freedom of the replicate's t statistics (normal when omitted).  The
        one-sided bound uses t(df); the normal-approximation criteria (``rep_in_pi``,
        ``bf_rep``, ``sceptical_p``) use ``se * t_{df, 0.975} / z_{0.975}``, the standard
        error of a normal interval as wide as the replicate's t interval.
    alpha : float
        Two-sided level (the intervals are 1 - alpha).
    bf_threshold : float
        ``bf_rep`` succeeds when ``BF_r0 > bf_threshold``.

    Returns
    -------
    dict
        One float array (1.0 / 0.0 / NaN) per criterion id, plus ``bf_rep_value``,
        ``sceptical_p_value`` and ``upper_one_sided``.
    """
    est, se, lo, hi = (np.asarray(a, float) for a in (estimate, se, lower, upper))
    o = original
    sgn = o.direction
    ok = np.isfinite(est) & np.isfinite(se) & np.isfinite(lo) & np.isfinite(hi)
    crit = stats.norm.isf(alpha / 2)
    q = stats.norm.isf(alpha) if df is None else t_isf(alpha, df)
    # one-sided upper bound of |effect| in the original's direction
    upper_dir = sgn * est + q * se
    # normal-approximation criteria use the standard error whose normal interval has the
    # replicate's own width (a t(df) interval widens it by t_{df} / z)
    se_n = se if df is None else se * t_isf(alpha / 2, df) / crit
    bf = bf_rep(est, se_n, o.estimate, o.se)
    with np.errstate(divide="ignore", invalid="ignore"):
        p_s = sceptical_p(o.estimate / o.se, est / se_n, o.se**2 / se_n**2)
    out = {
        "sig_same_direction": (lo > 0) if sgn > 0 else (hi < 0),
        "same_sign": np.sign(est) == sgn,
        "orig_in_rep_ci": (lo <= o.estimate) & (o.estimate <= hi),
        "rep_in_orig_ci": (o.lower <= est) & (est <= o.upper),
        "rep_in_pi": np.abs(est - o.estimate) <= crit * np.sqrt(o.se**2 + se_n**2),
        "small_telescopes": upper_dir >= d33(o.se, alpha=alpha),
        "bf_rep": bf > bf_threshold,
        "sceptical_p": p_s < alpha / 2,
    }
    res = {name: np.where(ok, out[name].astype(float), np.nan) for name in CRITERIA}
    res["bf_rep_value"] = np.where(ok, bf, np.nan)
    res["sceptical_p_value"] = np.where(ok, p_s, np.nan)
    res["upper_one_sided"] = np.where(ok, upper_dir, np.nan)
    return res
