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

__all__ = ["Data", "Modes", "laplace", "modes", "rowsum", "same_b"]


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
    """``Lambda' v`` for ``v`` (Q, ...) and ``lam`` (Q, Q, ...) broadcasting against it."""
    q = lam.shape[0]
    return np.stack([sum(lam[c, a] * v[c] for c in range(a, q)) for a in range(q)])


def _lam_v(lam: np.ndarray, v: np.ndarray) -> np.ndarray:
    """``Lambda v``."""
    return np.stack([sum(lam[a, c] * v[c] for c in range(a + 1))
                     for a in range(lam.shape[0])])


def _msym(M: list, q: int) -> np.ndarray:
    return np.stack([np.stack([M[a][b] for b in range(q)]) for a in range(q)])


def rowsum(x: np.ndarray) -> np.ndarray:
    """Sum over the first axis, adding its slices in order.

    numpy's ``sum`` picks pairwise or sequential summation by memory layout, so a column's
    rounding would depend on how many other columns (groups, replicates) share the array; adding
    slice by slice gives every column the same bits whatever the batch (results identical for
    any chunking of replicates).
    """
    acc = x[0].copy()
    for i in range(1, x.shape[0]):
        acc += x[i]
    return acc


def _system(lam: np.ndarray, Zc: np.ndarray, u: np.ndarray, r: np.ndarray, w: np.ndarray):
    """``A = Z'WZ``, ``M = Lambda' A Lambda + I`` with determinant and inverse, and half the
    penalised score ``Lambda' Z' r - u`` at the modes."""
    q = lam.shape[0]
    A = [[None] * q for _ in range(q)]
    for a in range(q):
        for b in range(a + 1):
            A[a][b] = A[b][a] = rowsum(w * (Zc[a] * Zc[b]))
    AL = [[sum(A[a][c] * lam[c, b] for c in range(b, q)) for b in range(q)]
          for a in range(q)]                                         # A Lambda
    M = [[None] * q for _ in range(q)]
    for a in range(q):
        for b in range(a + 1):
            M[a][b] = M[b][a] = sum(lam[c, a] * AL[c][b] for c in range(a, q)) + (
                1.0 if a == b else 0.0)
    det, Minv = det_inv_lead(_msym(M, q))
    s = np.stack([rowsum(r * Zc[a]) for a in range(q)])
    grad = _lam_t_v(lam, s) - u
    return _msym(A, q), det, Minv, grad, s


def same_b(theta_from: np.ndarray, u: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """Modes at ``theta`` giving the same random effects ``b = Lambda u`` as ``u`` at
    ``theta_from`` (a start for PIRLS after a long step in ``theta``): forward substitution,
    non-finite entries replaced by ``u``'s.  Shapes as :func:`modes`' ``u0``."""
    q = u.shape[0]
    lam_from, lam = lower(theta_from, q)[:, :, None], lower(theta, q)[:, :, None]
    b = _lam_v(lam_from, u)
    out = []
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        for a in range(q):
            acc = b[a] - sum(lam[a, c] * out[c] for c in range(a))
            out.append(acc / lam[a, a])
    v = np.stack(out)
    return np.where(np.isfinite(v), v, u)


def _matvec(Mx: np.ndarray, v: np.ndarray) -> np.ndarray:
    q = Mx.shape[0]
    return np.stack([sum(Mx[a, b] * v[b] for b in range(q)) for a in range(q)])


def modes(data: Data, theta: np.ndarray, beta: np.ndarray, *, u0: np.ndarray | None = None,
          u_alt: tuple[np.ndarray, ...] = (), tol: float = 1e-9, max_iter: int = 40) -> Modes:
    """PIRLS: the conditional modes at ``(theta, beta)`` (Newton per group, step halving).

    Parameters
    ----------
    data : Data
        Observations ``(U, J, *lead)`` (broadcastable to the parameters' lead).
    theta : ndarray, shape (Q (Q + 1) / 2, *lead)
    beta : ndarray, shape (P, *lead)
    u0 : ndarray, shape (Q, J, *lead), optional
        Starting modes (zeros by default).
    u_alt : tuple of ndarray, shape (Q, J, *lead)
        Other starting modes; each group starts from whichever start has the lowest penalised
        deviance.
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
    U, J = data.y.shape[:2]
    lead = np.broadcast_shapes(beta.shape[1:], data.y.shape[2:])
    shape = (J, *lead)
    # every (group, point) is a column: iterations touch only the columns still moving
    off = np.broadcast_to(offset, (U, *shape)).reshape(U, -1)
    Zg = np.broadcast_to(Zc, (q, U, *shape)).reshape(q, U, -1)
    yg = np.broadcast_to(data.y, (U, *shape)).reshape(U, -1)
    mg = np.broadcast_to(data.m, (U, *shape)).reshape(U, -1)
    lg = np.broadcast_to(lam[:, :, None], (q, q, *shape)).reshape(q, q, -1)
    G = off.shape[1]

    def evaluate(u: np.ndarray, c: slice | np.ndarray):
        b = _lam_v(lg[:, :, c], u)
        eta = off[:, c] + sum(Zg[a][:, c] * b[a] for a in range(q))
        t = terms(data.family, eta, yg[:, c], mg[:, c])
        pdev = -2.0 * rowsum(t.loglik) + rowsum(u * u)
        return eta, t, np.where(np.isfinite(pdev), pdev, np.inf)

    every = slice(None)
    u = np.zeros((q, G)) if u0 is None else np.broadcast_to(u0, (q, *shape)).reshape(q, G).copy()
    eta, t, pdev = evaluate(u, every)
    t = [t.loglik, t.r, t.w, t.mu]
    for alt in u_alt or ():            # other starts: keep the best per group
        ua = np.broadcast_to(alt, (q, *shape)).reshape(q, G)
        eta_a, t_a, pdev_a = evaluate(ua, every)
        better = pdev_a < pdev
        u = np.where(better, ua, u)
        eta = np.where(better, eta_a, eta)
        t = [np.where(better, x, y) for x, y in zip(
            (t_a.loglik, t_a.r, t_a.w, t_a.mu), t, strict=True)]
        pdev = np.minimum(pdev, pdev_a)
    converged = np.zeros(G, dtype=bool)
    moved = np.zeros(G, dtype=bool)
    active = np.arange(G)
    A, det, Minv, grad, s = _system(lg, Zg, u, t[1], t[2])     # every column, at the starts
    for it in range(max_iter):
        ua = u[:, active]
        if it:
            _, _, Mi, grad, _ = _system(lg[:, :, active], Zg[:, :, active], ua,
                                        t[1][:, active], t[2][:, active])
        else:
            Mi = Minv
        step = _matvec(Mi, grad)
        step = np.where(np.isfinite(step), step, 0.0)
        dec = rowsum(grad * step)
        done = (np.abs(step).max(0) < tol) | (dec < 1e-24 * (1.0 + np.abs(pdev[active])))
        converged[active[done]] = True
        active, ua, step = active[~done], ua[:, ~done], step[:, ~done]
        if active.size == 0:
            break
        moved[active] = True
        pa = pdev[active]
        for _half in range(12):                                   # step halving per group
            eta_n, t_n, pdev_n = evaluate(ua + step, active)
            worse = pdev_n > pa + 1e-12 * (1.0 + np.abs(pa))
            if not worse.any():
                break
            step = np.where(worse, step / 2, step)
        u[:, active] = ua + step
        eta[:, active] = eta_n
        for x, new in zip(t, (t_n.loglik, t_n.r, t_n.w, t_n.mu), strict=True):
            x[:, active] = new
        pdev[active] = pdev_n
    if moved.any():                    # the system at the final modes of the columns that moved
        c = np.flatnonzero(moved)
        A_c, det_c, Minv_c, _, s_c = _system(lg[:, :, c], Zg[:, :, c], u[:, c], t[1][:, c],
                                             t[2][:, c])
        A[:, :, c], det[c], Minv[:, :, c], s[:, c] = A_c, det_c, Minv_c, s_c
    with np.errstate(divide="ignore", invalid="ignore"):
        logdet = np.log(det)

    def back(x: np.ndarray, k: int) -> np.ndarray:
        return x.reshape(*x.shape[:k], *shape)

    return Modes(u=back(u, 1), eta=back(eta, 1), loglik=back(rowsum(t[0]), 0),
                 Minv=back(Minv, 2), logdet=back(logdet, 0), lam=lam,
                 converged=back(converged, 0).all(0),
                 terms=Terms(*(back(x, 1) for x in t), poisson=data.family == "poisson"),
                 A=back(A, 2), s=back(s, 1))


def laplace(data: Data, theta: np.ndarray, beta: np.ndarray, *, u0: np.ndarray | None = None,
            u_alt: tuple[np.ndarray, ...] = (), gradient: bool = False) -> tuple[
                np.ndarray, np.ndarray | None, np.ndarray | None, Modes]:
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
    md = modes(data, theta, beta, u0=u0, u_alt=u_alt)
    dev = rowsum(-2.0 * md.loglik + rowsum(md.u * md.u) + md.logdet)
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
    lam = md.lam[:, :, None]                                    # broadcasts over groups
    # K = Lambda M^-1 Lambda' (Q, Q, J, *lead); h_i = z_i' K z_i; a_i = h_i w'_i
    ML = np.stack([_lam_v(lam, md.Minv[:, b]) for b in range(q)], axis=1)   # Lambda M^-1
    K = np.stack([_lam_v(lam, ML[a]) for a in range(q)])                    # (Lambda M^-1 L')'
    h = sum((2.0 if a != b else 1.0) * (Zc[a] * Zc[b]) * K[a, b][None]
            for a in range(q) for b in range(a + 1))
    av = h * t.dw
    tv = np.stack([rowsum(av * Zc[a]) for a in range(q)])                  # Z' a
    C = [[rowsum(t.w * (Zc[a] * Xc[k])) for k in range(p)] for a in range(q)]   # Z' W X
    Kt = _matvec(K, tv)
    e = av - 2.0 * t.r
    gb = [rowsum(rowsum(e * Xc[k]) - sum(C[a][k] * Kt[a] for a in range(q)))
          for k in range(p)]
    LtA = np.stack([np.stack([sum(lam[c, a] * A[c, b] for c in range(a, q))
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
        g = (-2.0 * uc * s[rr] + 2.0 * MLA[c, rr] + uc * tv[rr] + rowsum(Lt_t * du))
        gt.append(rowsum(g))
        dus.append(du)
    for k in range(p):                                  # d u / d beta_k = -M^-1 Lambda' C_k
        dus.append(-_matvec(md.Minv, _lam_t_v(lam, np.stack([C[a][k] for a in range(q)]))))
    return np.stack([*gt, *gb]), np.stack(dus)
