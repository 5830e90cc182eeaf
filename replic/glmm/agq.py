"""Adaptive Gauss-Hermite quadrature deviance of a GLMM with one scalar random effect (lme4's
``nAGQ > 1``), vectorised over data sets and parameter points.

Per group ``j`` the integral over ``u_j ~ N(0, 1)`` is centred at the conditional mode
``u_j`` and scaled by its conditional sd ``s_j = M_j^(-1/2)`` (``M_j = lambda^2 z' W z + 1``):
with the probabilists' Hermite rule ``(z_k, w_k)`` normalised to unit total weight and
``d_j(u) = -2 log p(y_j | u) + u^2``,

    D = sum_j [ d_j(u_j) + log M_j - 2 log sum_k w_k exp(z_k^2 / 2 - Delta_jk / 2) ],
    Delta_jk = d_j(u_j + z_k s_j) - d_j(u_j)

which is lme4's ``glmerAGQ`` criterion (its ``d_j`` uses deviance residuals, a constant away
from the kernel log-likelihood used here; :func:`replic.glmm.family.constants`).  With one
node it is the Laplace deviance.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial.hermite_e import hermegauss

from replic.glmm.family import terms
from replic.glmm.pirls import Data, Modes, _cols, modes, rowsum

__all__ = ["agq_deviance", "gh_rule"]


def gh_rule(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the ``n``-point rule for ``N(0, 1)`` (lme4's
    ``GHrule(n)[, c("z", "w")]``)."""
    z, w = hermegauss(n)
    return z, w / w.sum()


def agq_deviance(data: Data, theta: np.ndarray, beta: np.ndarray, n_nodes: int, *,
                 u0: np.ndarray | None = None) -> tuple[np.ndarray, Modes]:
    """The ``n_nodes``-point adaptive Gauss-Hermite deviance at ``(theta, beta)``.

    Parameters
    ----------
    data : Data
        ``Q = 1`` (one scalar random effect).
    theta : ndarray, shape (1, *lead)
    beta : ndarray, shape (P, *lead)
    n_nodes : int

    Returns
    -------
    dev : ndarray, shape lead
        The deviance (kernel log-likelihood scale; ``inf`` where not finite).
    modes : Modes
    """
    md = modes(data, theta, beta, u0=u0, tol=1e-11)
    z, w = gh_rule(n_nodes)
    u = md.u[0]                                             # (J, *lead)
    sd = np.exp(-0.5 * md.logdet)                           # M_j^(-1/2)
    d0 = -2.0 * md.loglik + u * u
    zl = _cols(data.Z, beta.ndim - 1)[0] * md.lam[0, 0][None, None]   # z_i lambda
    acc = np.zeros_like(u)
    for zk, wk in zip(z, w, strict=True):
        if zk == 0.0:
            acc = acc + wk
            continue
        shift = zk * sd
        eta = md.eta + zl * shift[None]
        dk = -2.0 * rowsum(terms(data.family, eta, data.y, data.m).loglik) \
            + (u + shift) ** 2
        acc = acc + wk * np.exp(0.5 * zk * zk - 0.5 * (dk - d0))
    with np.errstate(divide="ignore", invalid="ignore"):
        dev = rowsum(d0 + md.logdet - 2.0 * np.log(acc))
    return np.where(np.isfinite(dev), dev, np.inf), md
