"""Conditional modes (PIRLS) and the Laplace deviance of a GLMM with one grouping factor,
vectorised over data sets, parameter points and groups.

The model (lme4's parametrisation): ``eta = X beta + Z Lambda u`` with ``u_j ~ N(0, I_q)`` per
group ``j`` and ``Lambda`` lower triangular from ``theta`` (:mod:`replic.kernel.smallmat`).  For
fixed ``(theta, beta)`` the conditional mode ``u_j`` of each group minimises the penalised
deviance ``-2 log p(y_j | eta_j) + |u_j|^2``; with one grouping factor the groups decouple, so
lme4's penalised iteratively reweighted least squares is a Newton step on a ``q x q`` system per
group, ``M_j = Lambda' Z_j' W_j Z_j Lambda + I``.  The Laplace deviance is

    D(theta, beta) = sum_j [ -2 log p(y_j | eta_j) + |u_j|^2 + log |M_j| ]    (at the modes)

(lme4's ``glmer`` criterion for ``nAGQ = 1`` without the family's constant).  Its gradient in
``(theta, beta)`` is closed form: the envelope term plus the derivative of ``log |M_j|`` through
``Lambda`` and through the weights at the moving mode (implicit differentiation of the mode,
``M_j du = ...``); every piece is a sum over a group's rows.

Layout: axes first, so every operation is elementwise on large contiguous blocks and every sum
over rows is a sum over the first axis.  Observations are ``(U, J, *lead)`` (``U`` rows per group,
``lead`` any trailing shape: data sets, parameter points); ``X`` is ``(P, U, Jx)`` and ``Z``
``(Q, U, Jx)`` with ``Jx`` 1 (every group has the same rows, unobserved ones with ``m = 0``) or
``J``; parameters are ``(d, *lead)``, modes ``(Q, J, *lead)``, small matrices ``(Q, Q, J, *lead)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.glmm.family import Terms, terms
from replic.kernel.smallmat import det_inv_lead, tri_index

__all__ = ["Data", "Modes", "laplace", "modes"]


@dataclass(frozen=True, eq=False)
class Data:
    """Responses and design of data sets sharing a row layout (axes first).

    Attributes
    ----------
    family : str
        ``"bernoulli"``, ``"binomial"`` or ``"poisson"``.
    y : ndarray, shape (U, J, *lead)
        Successes or counts, 0 on unobserved rows.
    m : ndarray, shape (U, J, *lead)
        Trials (binomial) or prior weights (Poisson); 0 on unobserved rows.
    X : ndarray, shape (P, U, Jx)
    Z : ndarray, shape (Q, U, Jx)
    """

    family: str
    y: np.ndarray
    m: np.ndarray
    X: np.ndarray
    Z: np.ndarray

    @property
    def p(self) -> int:
        return self.X.shape[0]

    @property
    def q(self) -> int:
        return self.Z.shape[0]

    @property
    def n(self) -> int:
        return self.y.shape[2]

    def take(self, index: np.ndarray) -> Data:
        """The data sets ``index`` (first lead axis)."""
        return Data(self.family, self.y[:, :, index], self.m[:, :, index], self.X, self.Z)

    def points(self) -> Data:
        """The data with a trailing axis for parameter points, ``(U, J, n, 1)``."""
        return Data(self.family, self.y[..., None], self.m[..., None], self.X, self.Z)


@dataclass(frozen=True, eq=False)
class Modes:
    """Conditional modes at parameter points and what the deviance and its gradient need.

    Attributes
    ----------
    u : ndarray, shape (Q, J, *lead)
        Spherical conditional modes.
    eta : ndarray, shape (U, J, *lead)
    loglik : ndarray, shape (J, *lead)
        Kernel log-likelihood of each group at the mode.
    Minv : ndarray, shape (Q, Q, J, *lead)
    logdet : ndarray, shape (J, *lead)
        ``log |M_j|``.
    lam : ndarray, shape (Q, Q, *lead)
    converged : ndarray of bool, shape lead
    terms : Terms
        The family's per-observation terms at the modes.
    A : ndarray, shape (Q, Q, J, *lead)
        ``Z' W Z`` per group.
    s : ndarray, shape (Q, J, *lead)
        ``Z' r`` per group.
    """

    u: np.ndarray
    eta: np.ndarray
    loglik: np.ndarray
    Minv: np.ndarray
    logdet: np.ndarray
    lam: np.ndarray
    converged: np.ndarray
    terms: Terms
    A: np.ndarray
    s: np.ndarray


def _cols(A: np.ndarray, nlead: int) -> np.ndarray:
    """``(K, U, Jx)`` design columns with singleton axes for the lead: ``(K, U, Jx, 1, ...)``."""
    return A.reshape(*A.shape, *([1] * nlead))


def lower(theta: np.ndarray, q: int) -> np.ndarray:
    """``Lambda`` (Q, Q, *lead) from ``theta`` (m, *lead), lme4's column order."""
    lam = np.zeros((q, q, *theta.shape[1:]))
    rows, cols = tri_index(q)
    lam[rows, cols] = theta
    return lam


def _lam_t_v(lam: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Lambda' v`` for ``v`` (Q, J, *lead), ``lam`` (Q, Q, *lead)."""
    q = lam.shape[0]
    return np.stack([sum(lam[c, a][None] * v[c] for c in range(a, q)) for a in range(q)])


def _lam_v(lam: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Lambda v``."""
    return np.stack([sum(lam[a, c][None] * v[c] for c in range(a + 1))
                     for a in range(lam.shape[0])])


def _msym(M: list, q: int) -> np.ndarray:
    return np.stack([np.stack([M[a][b] for b in range(q)]) for a in range(q)])


def _system(lam: np.ndarray, Zc: np.ndarray, u: np.ndarray, r: np.ndarray, w: np.ndarray):
    """``A = Z'WZ``, ``M = Lambda' A Lambda + I`` with determinant and inverse, and half the
    penalised score ``Lambda' Z' r - u`` at the modes."""
    q = lam.shape[0]
    A = [[None] * q for _ in range(q)]
    for a in range(q):
        for b in range(a + 1):
            A[a][b] = A[b][a] = (w * (Zc[a] * Zc[b])).sum(0)
    AL = [[sum(A[a][c] * lam[c, b][None] for c in range(b, q)) for b in range(q)]
          for a in range(q)]                                         # A Lambda
    M = [[None] * q for _ in range(q)]
    for a in range(q):
        for b in range(a + 1):
            M[a][b] = M[b][a] = sum(lam[c, a][None] * AL[c][b] for c in range(a, q)) + (
                1.0 if a == b else 0.0)
    det, Minv = det_inv_lead(_msym(M, q))
    s = np.stack([(r * Zc[a]).sum(0) for a in range(q)])
    grad = _lam_t_v(lam, s) - u
    return _msym(A, q), det, Minv, grad, s


def _matvec(Mx: np.ndarray, v: np.ndarray) -> np.ndarray:
    q = Mx.shape[0]
    return np.stack([sum(Mx[a, b] * v[b] for b in range(q)) for a in range(q)])


def modes(data: Data, theta: np.ndarray, beta: np.ndarray, *, u0: np.ndarray | None = None,
          tol: float = 1e-9, max_iter: int = 40) -> Modes:
    """PIRLS: the conditional modes at ``(theta, beta)`` (Newton per group, step halving).

    Parameters
    ----------
    data : Data
        Observations ``(U, J, *lead)`` (broadcastable to the parameters' lead).
    theta : ndarray, shape (Q (Q + 1) / 2, *lead)
    beta : ndarray, shape (P, *lead)
    u0 : ndarray, shape (Q, J, *lead), optional
        Starting modes (zeros by default).
    tol : float
        A group has converged when its Newton step is below ``tol`` in every coordinate (or
        its Newton decrement is at the rounding level of its deviance).
    max_iter : int

    Returns
    -------
    Modes
    """
    q, nlead = data.q, beta.ndim - 1
    lam = lower(theta, q)
    Xc, Zc = _cols(data.X, nlead), _cols(data.Z, nlead)
    offset = sum(Xc[p] * beta[p][None, None] for p in range(data.p))     # (U, Jx, *lead)
    J = data.y.shape[1]
    lead = np.broadcast_shapes(beta.shape[1:], data.y.shape[2:])
    u = np.zeros((q, J, *lead)) if u0 is None else np.broadcast_to(u0, (q, J, *lead)).copy()

    def evaluate(u: np.ndarray):
        b = _lam_v(lam, u)
        eta = offset + sum(Zc[a] * b[a][None] for a in range(q))
        t = terms(data.family, eta, data.y, data.m)
        pdev = -2.0 * t.loglik.sum(0) + (u * u).sum(0)
        return eta, t, np.where(np.isfinite(pdev), pdev, np.inf)

    eta, t, pdev = evaluate(u)
    converged = np.zeros((J, *lead), dtype=bool)
    for it in range(max_iter + 1):
        A, det, Minv, grad, s = _system(lam, Zc, u, t.r, t.w)
        if it == max_iter:
            break
        step = _matvec(Minv, grad)
        step = np.where(np.isfinite(step), step, 0.0)
        dec = (grad * step).sum(0)
        converged |= (np.abs(step).max(0) < tol) | (dec < 1e-24 * (1.0 + np.abs(pdev)))
        if converged.all():
            break
        step = np.where(converged[None], 0.0, step)
        for _half in range(12):                                   # step halving per group
            eta_n, t_n, pdev_n = evaluate(u + step)
            worse = pdev_n > pdev + 1e-12 * (1.0 + np.abs(pdev))
            if not worse.any():
                break
            step = np.where(worse[None], step / 2, step)
        u = u + step
        eta, t, pdev = eta_n, t_n, pdev_n
    with np.errstate(divide="ignore", invalid="ignore"):
        logdet = np.log(det)
    return Modes(u=u, eta=eta, loglik=t.loglik.sum(0), Minv=Minv, logdet=logdet, lam=lam,
                 converged=converged.all(0), terms=t, A=A, s=s)


def laplace(data: Data, theta: np.ndarray, beta: np.ndarray, *, u0: np.ndarray | None = None,
            gradient: bool = False) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None,
                                             Modes]:
    """The Laplace deviance at ``(theta, beta)`` and, optionally, its gradient.

    Returns
    -------
    dev : ndarray, shape lead
        ``sum_j -2 loglik_j + |u_j|^2 + log |M_j|`` (``inf`` where not finite).
    grad : ndarray, shape (m + P, *lead), or None
        Derivatives in ``(theta, beta)``, lme4's order.
    du : ndarray, shape (m + P, Q, J, *lead), or None
        Derivatives of the modes in ``(theta, beta)`` (warm starts of nearby points).
    modes : Modes
    """
    md = modes(data, theta, beta, u0=u0)
    dev = (-2.0 * md.loglik + (md.u * md.u).sum(0) + md.logdet).sum(0)
    dev = np.where(np.isfinite(dev), dev, np.inf)
    if not gradient:
        return dev, None, None, md
    grad, du = _gradient(data, md)
    return dev, grad, du, md


def _gradient(data: Data, md: Modes) -> tuple[np.ndarray, np.ndarray]:
    """d D / d (theta, beta) and d u / d (theta, beta) at the modes (module docstring)."""
    q, p = data.q, data.p
    nlead = md.lam.ndim - 2
    Xc, Zc = _cols(data.X, nlead), _cols(data.Z, nlead)
    t, A, s = md.terms, md.A, md.s
    lam = md.lam
    # K = Lambda M^-1 Lambda' (Q, Q, J, *lead); h_i = z_i' K z_i; a_i = h_i w'_i
    ML = np.stack([_lam_v(lam, md.Minv[:, b]) for b in range(q)], axis=1)   # Lambda M^-1
    K = np.stack([_lam_v(lam, ML[a]) for a in range(q)])                    # (Lambda M^-1 L')'
    h = sum((2.0 if a != b else 1.0) * (Zc[a] * Zc[b]) * K[a, b][None]
            for a in range(q) for b in range(a + 1))
    av = h * t.dw
    tv = np.stack([(av * Zc[a]).sum(0) for a in range(q)])                  # Z' a
    C = [[(t.w * (Zc[a] * Xc[k])).sum(0) for k in range(p)] for a in range(q)]   # Z' W X
    Kt = _matvec(K, tv)
    e = av - 2.0 * t.r
    gb = [((e * Xc[k]).sum(0) - sum(C[a][k] * Kt[a] for a in range(q))).sum(0)
          for k in range(p)]
    LtA = np.stack([np.stack([sum(lam[c, a][None] * A[c, b] for c in range(a, q))
                              for b in range(q)]) for a in range(q)])        # Lambda' A
    MLA = np.stack([np.stack([sum(md.Minv[c, x] * LtA[x, b] for x in range(q))
                              for b in range(q)]) for c in range(q)])        # M^-1 Lambda' A
    Lt_t = _lam_t_v(lam, tv)
    rows, cols = tri_index(q)
    gt, dus = [], []
    for rr, c in zip(rows, cols, strict=True):
        uc = md.u[c]
        rhs = -LtA[:, rr] * uc[None]
        rhs[c] = rhs[c] + s[rr]
        du = _matvec(md.Minv, rhs)
        g = (-2.0 * uc * s[rr] + 2.0 * MLA[c, rr] + uc * tv[rr] + (Lt_t * du).sum(0))
        gt.append(g.sum(0))
        dus.append(du)
    for k in range(p):                                  # d u / d beta_k = -M^-1 Lambda' C_k
        dus.append(-_matvec(md.Minv, _lam_t_v(lam, np.stack([C[a][k] for a in range(q)]))))
    return np.stack([*gt, *gb]), np.stack(dus)
