"""Priors of replic's (G)LMMs, with brms's defaults computed from the data as brms does.

brms (2.18, ``get_prior``; ``brms:::def_scale_prior.brmsterms``): the intercept (on centred
predictors) gets ``student_t(3, round(median(y_link), 1), scale)``, every sd (and sigma)
``student_t(3, 0, scale)`` (half-t through their lower bound 0), the other fixed effects a flat
prior, the correlation matrix ``lkj(1)``; ``scale = max(round(mad(y_link), 1), 2.5)``.  The
response on the link scale ``y_link`` is ``y`` for the identity link (``gaussian``; on
sleepstudy ``student_t(3, 288.7, 59.3)``) and ``log(y)``, zeros replaced by 0.1, for the log
link (``poisson``; brms's epilepsy counts: ``student_t(3, 1.4, 2.5)``); for the logit link
(``bernoulli``, ``binomial``) brms uses no data: ``student_t(3, 0, 2.5)`` for both.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.errors import ReplicInputError

__all__ = ["FAMILY_LINKS", "Priors", "StudentT", "default_parameters", "default_priors"]

#: The families whose brms default priors replic computes, with their (only) link.
FAMILY_LINKS = {"gaussian": "identity", "bernoulli": "logit", "binomial": "logit",
                "poisson": "log"}


@dataclass(frozen=True)
class StudentT:
    """A Student-t prior ``student_t(df, location, scale)`` (half-t for sds and sigma)."""

    df: float
    location: float
    scale: float

    def __post_init__(self) -> None:
        if not (self.df > 0 and self.scale > 0 and np.isfinite(self.location)):
            raise ReplicInputError(f"prior {self}: expected df > 0, scale > 0, finite location")


@dataclass(frozen=True)
class Priors:
    """Priors of the model: intercept (centred), sds, sigma, LKJ shape; flat on other b.

    ``intercept=None`` means a flat prior on the intercept too; ``sigma`` is the residual sd's
    prior of a Gaussian model (None for the families without one).
    """

    intercept: StudentT | None
    sd: StudentT
    sigma: StudentT | None = None
    lkj: float = 1.0

    def __post_init__(self) -> None:
        if not self.lkj > 0:
            raise ReplicInputError(f"priors: lkj={self.lkj}; expected a positive shape")


def default_parameters(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """brms's data-dependent prior parameters for each row of ``y`` (n, N), NaN = missing.

    Returns the intercept location ``round(median(y), 1)`` and the scale
    ``max(round(mad(y), 1), 2.5)`` (R's ``mad``: 1.4826 median absolute deviation; R's
    ``round``: half to even), each of shape (n,).  The one implementation of the rule, used
    for single fits (:func:`default_priors`) and batches of replicates alike.
    """
    y = np.asarray(y, dtype=float)
    med = np.nanmedian(y, axis=1)
    mad = 1.4826 * np.nanmedian(np.abs(y - med[:, None]), axis=1)
    return np.round(med, 1), np.maximum(np.round(mad, 1), 2.5)


def default_priors(y: np.ndarray, *, family: str = "gaussian") -> Priors:
    """brms's default priors for a model of response ``y`` in ``family``.

    Parameters
    ----------
    y : array_like
        The response (for ``binomial``: the successes; brms uses no data for the logit link).
    family : {"gaussian", "bernoulli", "binomial", "poisson"}
        With its link: identity, logit, logit, log.

    Returns
    -------
    Priors
        ``sigma`` set for ``gaussian`` only.
    """
    link = FAMILY_LINKS.get(family)
    if link is None:
        raise ReplicInputError(f"family={family!r}; brms default priors are known for "
                               f"{', '.join(FAMILY_LINKS)}")
    if link == "logit":
        return Priors(intercept=StudentT(3.0, 0.0, 2.5), sd=StudentT(3.0, 0.0, 2.5), lkj=1.0)
    y = np.asarray(y, dtype=float)
    if link == "log":
        y = np.log(np.where(y == 0, 0.1, y))
    loc, scale = (float(v[0]) for v in default_parameters(y[None]))
    return Priors(intercept=StudentT(3.0, loc, scale), sd=StudentT(3.0, 0.0, scale),
                  sigma=StudentT(3.0, 0.0, scale) if family == "gaussian" else None, lkj=1.0)
