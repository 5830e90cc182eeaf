"""The unconstrained parameterisation of theta = (sds, correlation, sigma) and its prior density.

``eta = (log sd_1..Q, atanh(z_1..Q(Q-1)/2), log sigma)``, where ``z`` are the canonical partial
correlations (CPCs) of the C-vine that Stan's ``cholesky_factor_corr`` transform uses: row ``i``
of the correlation's Cholesky factor is ``L[i, 0] = z_0i``,
``L[i, j] = z_ji * sqrt(1 - sum_{m<j} L[i, m]^2)`` and ``L[i, i] = sqrt(1 - sum_{m<i} L[i, m]^2)``.

Under ``lkj(eta_lkj)`` the CPCs are independent with ``(z_ji + 1) / 2 ~ Beta(b_j, b_j)``,
``b_j = eta_lkj + (Q - 2 - j) / 2`` (Lewandowski, Kurowicka & Joe 2009), so on the ``atanh``
scale the log density, Jacobian included, is ``b_j * log(1 - z_ji^2)`` up to a constant.
The sds and sigma get half-Student-t priors; on the log scale their Jacobian adds ``log sd``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammaln

__all__ = [
    "Theta",
    "cpc_pairs",
    "from_unconstrained",
    "log_prior_eta",
    "log_student_t",
    "n_theta",
]


@dataclass(frozen=True, eq=False)
class Theta:
    """Variance parameters in natural form, batched over leading axes ``...``.

    Attributes
    ----------
    sd : ndarray, shape (..., Q)
    L : ndarray, shape (..., Q, Q)
        Lower Cholesky factor of the correlation matrix.
    sigma : ndarray, shape (...)
    """

    sd: np.ndarray
    L: np.ndarray
    sigma: np.ndarray

    @property
    def cor(self) -> np.ndarray:
        """Correlation matrices, shape (..., Q, Q)."""
        return self.L @ np.swapaxes(self.L, -1, -2)


def n_theta(Q: int) -> int:
    """Length of ``eta`` for ``Q`` varying terms."""
    return Q + Q * (Q - 1) // 2 + 1


def cpc_pairs(Q: int) -> list[tuple[int, int]]:
    """``(j, i)`` (``j < i``) of each CPC, in the order they appear in ``eta``."""
    return [(j, i) for i in range(1, Q) for j in range(i)]


def from_unconstrained(eta: np.ndarray, Q: int) -> tuple[Theta, np.ndarray]:
    """Map ``eta`` (..., d) to :class:`Theta`; also return the CPCs ``z`` (..., Q(Q-1)/2)."""
    sd = np.exp(eta[..., :Q])
    z = np.tanh(eta[..., Q:-1])
    sigma = np.exp(eta[..., -1])
    L = np.zeros((*eta.shape[:-1], Q, Q))
    L[..., 0, 0] = 1.0
    for c, (j, i) in enumerate(cpc_pairs(Q)):
        rest = 1.0 - np.sum(L[..., i, :j] ** 2, axis=-1)
        L[..., i, j] = z[..., c] * np.sqrt(np.clip(rest, 0.0, None))
        if j == i - 1:
            L[..., i, i] = np.sqrt(np.clip(1.0 - np.sum(L[..., i, :i] ** 2, axis=-1), 0.0, None))
    return Theta(sd=sd, L=L, sigma=sigma), z


def log_student_t(x: np.ndarray, df: float | np.ndarray, loc: float | np.ndarray,
                  scale: float | np.ndarray) -> np.ndarray:
    """Log density of ``student_t(df, loc, scale)`` at ``x`` (broadcasting)."""
    u = (x - loc) / scale
    return (gammaln((df + 1) / 2) - gammaln(df / 2) - 0.5 * np.log(df * np.pi) - np.log(scale)
            - (df + 1) / 2 * np.log1p(u * u / df))


def log_prior_eta(eta: np.ndarray, Q: int, *, sd_prior: tuple, sigma_prior: tuple,
                  lkj: float = 1.0) -> np.ndarray:
    """Log prior density of ``eta`` (Jacobians included), up to a constant.

    Parameters
    ----------
    eta : ndarray, shape (..., d)
    Q : int
        Number of varying terms.
    sd_prior, sigma_prior : tuple of (df, location, scale)
        Student-t parameters (scalars or arrays of shape ``eta.shape[:k]`` for some leading
        ``k``: one prior per data set) of the half-t priors
        on every sd and on sigma (brms: location 0, the half-t through the lower bound 0).
    lkj : float
        Shape of the LKJ prior on the correlation matrix.
    """
    log_sd = eta[..., :Q]
    log_sigma = eta[..., -1]
    def lead(a, extra: int) -> np.ndarray:
        a = np.asarray(a, dtype=float)
        return a.reshape(a.shape + (1,) * (eta.ndim - 1 - a.ndim + extra))

    df, loc, scale = (lead(a, 1) for a in sd_prior)
    lp = np.sum(log_student_t(np.exp(log_sd), df, loc, scale) + log_sd, axis=-1)
    lp = lp + log_student_t(np.exp(log_sigma), *(lead(a, 0) for a in sigma_prior)) + log_sigma
    for c, (j, _i) in enumerate(cpc_pairs(Q)):
        b = lkj + (Q - 2 - j) / 2.0
        # log(1 - tanh(a)^2) = 2 * (log 2 - a - log1p(exp(-2a))), stable for large |a|
        a = np.abs(eta[..., Q + c])
        lp = lp + b * 2.0 * (np.log(2.0) - a - np.log1p(np.exp(-2.0 * a)))
    return lp
