"""The response families of :mod:`replic.glmm`: binomial (logit link) and Poisson (log link).

Every observation carries a count ``y`` and a weight ``m``: the number of trials for the
binomial family (1 for a Bernoulli response), the prior weight (1, or 0 for an unobserved row)
for the Poisson family.  An unobserved row has ``y = m = 0`` and contributes nothing.  Both links
are canonical, so with ``mu`` the mean per trial the score of ``log p(y | eta)`` is
``r = y - m mu``, the working weight is ``w = m V(mu)`` and Fisher scoring is Newton's method:

=========  ==================================  ==========================  ===================
family     log p(y | eta) without constant     w = -d r / d eta            d w / d eta
=========  ==================================  ==========================  ===================
binomial   y eta - m log(1 + exp(eta))         m mu (1 - mu)               w (1 - 2 mu)
poisson    y eta - m exp(eta)                  m mu                        m mu
=========  ==================================  ==========================  ===================

The constants (``log C(m, y)``, ``-log y!``) and the saturated log-likelihood (for lme4's
deviance residuals) are computed once per data set by :func:`constants`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

__all__ = ["FAMILIES", "Terms", "constants", "terms"]

#: Families implemented, with their links (lme4/brms names).
FAMILIES = {"bernoulli": "logit", "binomial": "logit", "poisson": "log"}


@dataclass(frozen=True)
class Terms:
    """Per-observation quantities at a linear predictor ``eta`` (shapes of ``eta``).

    Attributes
    ----------
    loglik : ndarray
        ``log p(y | eta)`` without its constant.
    r : ndarray
        Score ``d loglik / d eta = y - m mu``.
    w : ndarray
        Working weight ``-d r / d eta``.
    mu : ndarray
        The mean per trial.
    poisson : bool
    """

    loglik: np.ndarray
    r: np.ndarray
    w: np.ndarray
    mu: np.ndarray
    poisson: bool = False

    @property
    def dw(self) -> np.ndarray:
        """``d w / d eta``: ``w (1 - 2 mu)`` (binomial) or ``w`` (Poisson)."""
        return self.w if self.poisson else self.w * (1.0 - 2.0 * self.mu)


def _kind(family: str) -> str:
    return "poisson" if family == "poisson" else "binomial"


def terms(family: str, eta: np.ndarray, y: np.ndarray, m: np.ndarray) -> Terms:
    """Log-likelihood, score, weight and mean at ``eta`` (see module docstring).

    ``eta`` broadcasts against ``y`` and ``m``; non-finite values propagate (callers treat a
    non-finite objective as ``inf``).  One ``exp`` and one ``log1p`` per element, in place.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if _kind(family) == "poisson":
            mu = np.exp(eta)
            mmu = m * mu
            return Terms(loglik=y * eta - mmu, r=y - mmu, w=mmu, mu=mu, poisson=True)
        e = np.abs(eta)
        np.negative(e, out=e)
        np.exp(e, out=e)                                   # exp(-|eta|)
        inv = e + 1.0
        np.reciprocal(inv, out=inv)                        # 1 / (1 + exp(-|eta|))
        mu = np.where(eta >= 0, inv, e * inv)
        w = e * inv
        w *= inv
        w = m * w                                          # m mu (1 - mu)
        np.log1p(e, out=e)
        e += np.maximum(eta, 0.0)                          # log(1 + exp(eta))
        loglik = y * eta
        loglik -= m * e
        r = m * mu
        np.subtract(y, r, out=r)
        return Terms(loglik=loglik, r=r, w=w, mu=mu)


def constants(family: str, y: np.ndarray, m: np.ndarray, *, axis: tuple[int, ...]) -> tuple[
        np.ndarray, np.ndarray]:
    """The log-likelihood's constant and its saturated value, summed over ``axis``.

    Returns
    -------
    const : ndarray
        ``sum log C(m, y)`` (binomial) or ``-sum m log y!`` (Poisson): added to the kernel's
        log-likelihood it gives lme4's ``logLik`` (its ``aic`` term).
    saturated : ndarray
        The kernel log-likelihood at ``mu = y / m``: ``-2 (kernel - saturated)`` is the sum of
        lme4's deviance residuals (the scale of its adaptive Gauss-Hermite deviance).
    """
    y = np.asarray(y, dtype=float)
    m = np.asarray(m, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if _kind(family) == "poisson":
            const = -(m * special.gammaln(y + 1.0))
            sat = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0)) - y, 0.0)
        else:
            const = special.gammaln(m + 1.0) - special.gammaln(y + 1.0) - special.gammaln(
                m - y + 1.0)
            sat = special.xlogy(y, y) + special.xlogy(m - y, m - y) - special.xlogy(m, m)
    sat = np.where(m > 0, sat, 0.0)
    for ax in sorted(axis, reverse=True):        # slice by slice: the same bits in any batch
        const = np.add.accumulate(const, axis=ax).take(-1, axis=ax)
        sat = np.add.accumulate(sat, axis=ax).take(-1, axis=ax)
    return const, sat
