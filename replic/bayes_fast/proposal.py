"""Split-t proposal distributions (Geweke 1989) for importance sampling on R^d, batched.

A split-t centred at ``mu`` with axes ``base`` (columns) has, along each axis, one scale for
positive and one for negative excursions: ``x = mu + base (s(t) * t)`` with ``t`` multivariate
t and ``s(t_i) = plus_i`` if ``t_i > 0`` else ``minus_i``.  Skewed posteriors (variance
parameters, with long tails towards sd = 0) are covered without wasting draws on the short side.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.special import betaincinv, betaln, gammaln, ndtr

from replic.bayes_fast.mode import Mode

__all__ = ["Defensive", "SplitT"]


@dataclass(frozen=True, eq=False)
class SplitT:
    """Split-t distributions of ``n`` problems: ``mu`` (n, d), ``base`` (n, d, d), ``plus`` and
    ``minus`` (n, d), degrees of freedom ``df``."""

    mu: np.ndarray
    base: np.ndarray
    plus: np.ndarray
    minus: np.ndarray
    df: float

    @classmethod
    def from_mode(cls, logpost: Callable, mode: Mode, *, df: float,
                  radii: tuple[float, ...] = (1.0, 2.0, 3.0)) -> SplitT:
        """Axes from the curvature at the mode; side scales from how fast ``logpost`` falls.

        Along principal axis ``v_i`` (base sd ``1/sqrt(lam_i)``) the log density is evaluated at
        ``r`` base sds on each side; a normal would drop by ``r^2/2``, so the side's scale
        factor is the largest ``r / sqrt(2 drop)`` over ``r`` (clipped to [0.5, 6]).
        """
        lam, V = np.linalg.eigh(mode.precision)
        lam = np.clip(np.nan_to_num(lam, nan=1.0), 1e-2, None)
        n, d = mode.eta.shape
        base = V / np.sqrt(lam)[:, None, :]               # columns: base-sd steps along axes
        r = np.asarray(radii)
        axes = np.swapaxes(base, 1, 2)[:, None]
        steps = np.concatenate([r[:, None, None] * axes, -r[:, None, None] * axes], axis=1)
        pts = mode.eta[:, None, None, :] + steps          # (n, 2R, d, d)
        f = np.nan_to_num(logpost(pts.reshape(n, -1, d)), nan=-np.inf).reshape(n, 2 * r.size, d)
        drop = mode.value[:, None, None] - f
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            fac = np.where(drop > 0, np.concatenate([r, r])[None, :, None] / np.sqrt(2 * drop),
                           6.0)
        fac = np.clip(np.nan_to_num(fac, nan=6.0), 0.5, 6.0)
        return cls(mu=mode.eta, base=base, plus=fac[:, :r.size].max(axis=1),
                   minus=fac[:, r.size:].max(axis=1), df=df)

    @classmethod
    def from_draws(cls, x: np.ndarray, log_weights: np.ndarray, centre: np.ndarray, *,
                   df: float) -> SplitT:
        """Axes of the weighted covariance of draws ``x`` (n, M, d); side scales: the weighted
        RMS of the positive and of the negative projections on each axis about ``centre``."""
        w = np.exp(log_weights)
        mean = np.einsum("nm,nmd->nd", w, x)
        dev = x - mean[:, None]
        cov = np.einsum("nm,nmi,nmj->nij", w, dev, dev)
        lam, V = np.linalg.eigh(cov + 1e-10 * np.eye(cov.shape[-1]))
        proj = (x - centre[:, None]) @ V
        pos = proj > 0
        w = w[..., None]
        with np.errstate(invalid="ignore", divide="ignore"):
            plus = np.sqrt(np.sum(w * pos * proj**2, axis=1) / np.sum(w * pos, axis=1))
            minus = np.sqrt(np.sum(w * ~pos * proj**2, axis=1) / np.sum(w * ~pos, axis=1))
        floor = 0.1 * np.sqrt(np.maximum(lam, 1e-12))
        return cls(mu=centre, base=V, plus=np.maximum(np.nan_to_num(plus, nan=0.0), floor),
                   minus=np.maximum(np.nan_to_num(minus, nan=0.0), floor), df=df)

    def draw(self, z: np.ndarray, chi2: np.ndarray) -> np.ndarray:
        """Draws from standard normals ``z`` (n, M, d) and chi-squares(df) ``chi2`` (n, M)."""
        t = z / np.sqrt(chi2 / self.df)[..., None]
        scaled = t * np.where(t > 0, self.plus[:, None], self.minus[:, None])
        return self.mu[:, None] + scaled @ np.swapaxes(self.base, -1, -2)

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at ``x`` (n, M, d)."""
        d, df = self.mu.shape[-1], self.df
        # axes first, draws last: long contiguous loops
        t = np.linalg.inv(self.base) @ np.swapaxes(x - self.mu[:, None], 1, 2)   # (n, d, M)
        pos = t > 0
        t *= np.where(pos, 1.0 / self.plus[..., None], 1.0 / self.minus[..., None])
        logdet = np.linalg.slogdet(self.base)[1][:, None] + np.where(
            pos, np.log(self.plus)[..., None], np.log(self.minus)[..., None]).sum(axis=1)
        t *= t
        return (gammaln((df + d) / 2) - gammaln(df / 2) - d / 2 * np.log(df * np.pi) - logdet
                - (df + d) / 2 * np.log1p(t.sum(axis=1) / df))


@dataclass(frozen=True, eq=False)
class Defensive:
    """A defensive product proposal for the funnels of variance posteriors.

    When an sd goes to 0 the correlations of its term lose their data and spread over their
    prior: a funnel that a single split-t misses.  This proposal is a multivariate t with
    axis-aligned split scales on the ``free`` coordinates (log sds, log sigma) times the LKJ
    prior's marginals of the canonical partial correlations on the ``atanh`` scale
    (``(z + 1) / 2 ~ Beta(b, b)``), so it covers those regions exactly.

    Attributes
    ----------
    mu, plus, minus : ndarray, shape (n, d_free)
        Centre and side scales of the t part.
    free, cpc : ndarray of int
        Coordinates of the t part and of the correlations.
    b : ndarray, shape (d_cpc,)
        Beta shapes of the correlations.
    df : float
    """

    mu: np.ndarray
    plus: np.ndarray
    minus: np.ndarray
    free: np.ndarray
    cpc: np.ndarray
    b: np.ndarray
    df: float

    @classmethod
    def from_draws(cls, x: np.ndarray, log_weights: np.ndarray, centre: np.ndarray, *,
                   cpc: np.ndarray, b: np.ndarray, df: float, inflate: float = 2.0) -> Defensive:
        """Side scales ``inflate`` times the weighted RMS deviations of draws ``x`` (n, M, d)
        on each side of ``centre`` (n, d), coordinate by coordinate."""
        d = x.shape[-1]
        free = np.setdiff1d(np.arange(d), cpc)
        w = np.exp(log_weights)[..., None]
        dev = x[..., free] - centre[:, None, free]
        pos = dev > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            plus = np.sqrt(np.sum(w * pos * dev**2, axis=1) / np.sum(w * pos, axis=1))
            minus = np.sqrt(np.sum(w * ~pos * dev**2, axis=1) / np.sum(w * ~pos, axis=1))
        rms = np.sqrt(np.sum(w * dev**2, axis=1))
        floor = np.maximum(0.1 * np.nan_to_num(rms, nan=1.0), 1e-3)
        return cls(mu=centre[:, free], plus=inflate * np.maximum(np.nan_to_num(plus), floor),
                   minus=inflate * np.maximum(np.nan_to_num(minus), floor), free=free,
                   cpc=np.asarray(cpc, dtype=int), b=np.asarray(b, dtype=float), df=df)

    def draw(self, z: np.ndarray, chi2: np.ndarray) -> np.ndarray:
        """Draws from standard normals ``z`` (n, M, d) and chi-squares(df) ``chi2`` (n, M)."""
        out = np.empty(z.shape)
        t = z[..., self.free] / np.sqrt(chi2 / self.df)[..., None]
        out[..., self.free] = self.mu[:, None] + t * np.where(t > 0, self.plus[:, None],
                                                              self.minus[:, None])
        if self.cpc.size:
            u = np.clip(ndtr(z[..., self.cpc]), 1e-12, 1 - 1e-12)
            r = 2.0 * betaincinv(self.b, self.b, u) - 1.0
            out[..., self.cpc] = np.arctanh(np.clip(r, -1 + 1e-15, 1 - 1e-15))
        return out

    def logpdf(self, x: np.ndarray) -> np.ndarray:
        """Log density at ``x`` (n, M, d)."""
        d, df = self.free.size, self.df
        t = x[..., self.free] - self.mu[:, None]
        pos = t > 0
        t *= np.where(pos, 1.0 / self.plus[:, None], 1.0 / self.minus[:, None])
        log_s = np.where(pos, np.log(self.plus)[:, None], np.log(self.minus)[:, None])
        lp = (gammaln((df + d) / 2) - gammaln(df / 2) - d / 2 * np.log(df * np.pi)
              - log_s.sum(axis=-1)
              - (df + d) / 2 * np.log1p(np.einsum("nmd,nmd->nm", t, t) / df))
        if self.cpc.size:
            a = np.abs(x[..., self.cpc])
            log1mz2 = 2.0 * (np.log(2.0) - a - np.log1p(np.exp(-2.0 * a)))
            const = (1.0 - self.b) * np.log(4.0) - np.log(2.0) - betaln(self.b, self.b)
            lp = lp + np.sum(self.b * log1mz2 + const, axis=-1)
        return lp

