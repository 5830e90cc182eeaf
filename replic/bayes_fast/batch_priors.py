"""Priors of many data sets at once: brms's data-dependent defaults, vectorised.

:func:`replic.priors.default_parameters` is brms's rule (``scale = max(round(mad(y), 1), 2.5)``,
intercept location ``round(median(y), 1)``) over the rows of an ``(n, N)`` array of responses with
NaN for missing values; here it becomes the arrays the batched sampler reads.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.priors import Priors, default_parameters

__all__ = ["BatchPriors", "batch_priors"]


@dataclass(frozen=True, eq=False)
class BatchPriors:
    """Student-t parameters ``(df, location, scale)`` as arrays of shape (n,).

    ``intercept`` is None for a flat intercept prior.
    """

    intercept: tuple[np.ndarray, np.ndarray, np.ndarray] | None
    sd: tuple[np.ndarray, np.ndarray, np.ndarray]
    sigma: tuple[np.ndarray, np.ndarray, np.ndarray]
    lkj: float

    def take(self, idx: np.ndarray | slice) -> BatchPriors:
        """The priors of data sets ``idx``."""
        def pick(t):
            return None if t is None else tuple(a[idx] for a in t)
        return BatchPriors(intercept=pick(self.intercept), sd=pick(self.sd),
                           sigma=pick(self.sigma), lkj=self.lkj)


def batch_priors(priors: Priors | None, y: np.ndarray) -> BatchPriors:
    """Priors for the data sets whose responses are the rows of ``y`` (n, N).

    Parameters
    ----------
    priors : Priors or None
        Explicit priors shared by every data set, or None for brms's defaults from each row.
    y : ndarray, shape (n, N)
        Responses, NaN where missing.
    """
    n = y.shape[0]
    if priors is not None:
        def full(t):
            return None if t is None else tuple(np.full(n, float(v)) for v in
                                                (t.df, t.location, t.scale))
        return BatchPriors(intercept=full(priors.intercept), sd=full(priors.sd),
                           sigma=full(priors.sigma), lkj=float(priors.lkj))
    loc, scale = default_parameters(y)
    three, zero = np.full(n, 3.0), np.zeros(n)
    return BatchPriors(intercept=(three, loc, scale), sd=(three, zero, scale),
                       sigma=(three, zero, scale), lkj=1.0)
