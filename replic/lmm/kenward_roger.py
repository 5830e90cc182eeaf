"""Kenward-Roger adjusted covariance and df of the fixed effects, as pbkrtest computes them.

Kenward & Roger (1997), in pbkrtest's form (``vcovAdj``, ``Lb_ddf``), which lmerTest calls for
``ddf = "Kenward-Roger"``.  The marginal covariance is linear in the variance parameters
``gamma = (Sigma_11, Sigma_21, ..., Sigma_qq, sigma^2)``: ``V = sum_r gamma_r G_r``, where ``G_r``
is ``Z_j E_r Z_j'`` in group ``j`` (``E_r`` the indicator of one entry of ``Sigma`` and its
mirror) and ``I`` for ``sigma^2``.  With ``Phi = (X'V^-1 X)^-1``,

    P_r  = -X'V^-1 G_r V^-1 X,        Q_rs = X'V^-1 G_r V^-1 G_s V^-1 X,
    I_rs = tr(G_r V^-1 G_s V^-1) - 2 tr(Phi Q_rs) + tr(Phi P_r Phi P_s),     W = 2 I^-1,
    Phi_A = Phi + 2 Phi (sum_rs W_rs (Q_rs - P_r Phi P_s)) Phi,

and the df of ``l'beta`` follow from ``A1``, ``A2`` and ``rho`` (pbkrtest's ``Lb_ddf``).  ``V`` is
block diagonal by group, so every term is a sum over groups of small dense blocks.  Pure numpy.
"""

from __future__ import annotations

import numpy as np

from replic.kernel.smallmat import tri_index

__all__ = ["kenward_roger"]


def kenward_roger(X: np.ndarray, Z: np.ndarray, group: np.ndarray, Sigma: np.ndarray,
                  sigma2: float) -> tuple[np.ndarray, np.ndarray]:
    """Kenward-Roger adjusted covariance and df of every fixed effect of a REML fit.

    Parameters
    ----------
    X : ndarray, shape (N, P)
    Z : ndarray, shape (N, q)
    group : ndarray of int, shape (N,)
    Sigma : ndarray, shape (q, q)
        REML estimate of the covariance of the varying terms.
    sigma2 : float
        REML estimate of the residual variance.

    Returns
    -------
    cov_adj : ndarray, shape (P, P)
        ``Phi_A``, the adjusted covariance of the fixed effects.
    df : ndarray, shape (P,)
        Kenward-Roger denominator df of each fixed effect.
    """
    q, P = Z.shape[1], X.shape[1]
    rows, cols = tri_index(q)
    E = []
    for r, c in zip(rows, cols, strict=True):
        e = np.zeros((q, q))
        e[r, c] = e[c, r] = 1.0
        E.append(e)
    R = len(E) + 1
    XtVX = np.zeros((P, P))
    PP = np.zeros((R, P, P))
    QQ = np.zeros((R, R, P, P))
    K = np.zeros((R, R))
    for j in np.unique(group):
        at = group == j
        Xj, Zj = X[at], Z[at]
        Vinv = np.linalg.inv(Zj @ Sigma @ Zj.T + sigma2 * np.eye(Xj.shape[0]))
        G = [Zj @ e @ Zj.T for e in E] + [np.eye(Xj.shape[0])]
        H = [g @ Vinv for g in G]                       # G_r V^-1
        VX = Vinv @ Xj
        XtVX += Xj.T @ VX
        GVX = [h @ Xj for h in H]                       # G_r V^-1 X
        for r in range(R):
            PP[r] -= GVX[r].T @ VX
            for s in range(r, R):
                QQ[r, s] += GVX[r].T @ Vinv @ GVX[s]
                K[r, s] += np.sum(H[r].T * H[s])
    Phi = np.linalg.inv(XtVX)
    info = np.empty((R, R))
    for r in range(R):
        for s in range(r, R):
            QQ[s, r] = QQ[r, s].T
            K[s, r] = K[r, s]
            info[r, s] = info[s, r] = (K[r, s] - 2 * np.sum(Phi * QQ[r, s])
                                       + np.sum((Phi @ PP[r]) * (PP[s] @ Phi)))
    ev = np.linalg.eigvalsh(info)
    W = 2 * (np.linalg.inv(info) if np.abs(ev).min() > 1e-10 else np.linalg.pinv(info))
    U = np.zeros((P, P))
    for r in range(R):
        for s in range(R):
            U += W[r, s] * (QQ[r, s] - PP[r] @ Phi @ PP[s])
    cov_adj = Phi + 2 * Phi @ U @ Phi
    df = np.array([_lb_ddf(np.eye(P)[t], Phi, PP, W) for t in range(P)])
    return cov_adj, df


def _lb_ddf(L: np.ndarray, V0: np.ndarray, PP: np.ndarray, W: np.ndarray) -> float:
    """pbkrtest's ``Lb_ddf`` for one contrast ``L`` (``q = 1``)."""
    theta = np.outer(L, L) / (L @ V0 @ L)
    u = [theta @ V0 @ p @ V0 for p in PP]
    R = len(u)
    A1 = A2 = 0.0
    for i in range(R):
        for j in range(i, R):
            e = 1.0 if i == j else 2.0
            A1 += e * W[i, j] * np.trace(u[i]) * np.trace(u[j])
            A2 += e * W[i, j] * np.sum(u[i] * u[j].T)
    q = 1.0
    B = (A1 + 6 * A2) / (2 * q)
    g = ((q + 1) * A1 - (q + 4) * A2) / ((q + 2) * A2)
    den = 3 * q + 2 * (1 - g)
    c1, c2, c3 = g / den, (q - g) / den, (q + 2 - g) / den
    V0_ = 1 + c1 * B
    V1 = 1 - c2 * B
    V2 = 1 - c3 * B
    V0_ = 0.0 if abs(V0_) < 1e-10 else V0_
    x = 1 - A2 / q
    ratio = 1.0 if (abs(x) < 1e-14 and abs(V1) < 1e-14) else x / V1
    rho = ratio**2 * V0_ / V2 / q
    return float(4 + (q + 2) / (q * rho - 1))
