"""Sufficient statistics of one-factor Gaussian LMM data sets, batched over data sets (numpy only).

Everything the (REML or ML) likelihood of ``y = X beta + Z b + e`` needs is a sum over groups of
small cross-products, computed once per data set; a likelihood evaluation then costs
``O(G q^2 p)``, not ``O(N)``.  Groups that share their design (``X_j``, ``Z_j``: the complete,
balanced replicates of a study) can be collapsed into one *pattern*, so that cost does not grow
with the number of groups; kept apart (one pattern per group, ``count == 1``), the statistics also
give each group's own ``Z_j'[X_j y_j]`` (best linear unbiased predictions, exact derivatives).

This one :class:`GroupStats` serves both LMM kernels: bayes-fast reads the pattern fields, the
REML engine (:mod:`replic.lmm`) :attr:`GroupStats.XytXy` and :attr:`GroupStats.outer` (the
deviance, for patterns or groups) and the per-group view :attr:`GroupStats.ZtXy` (exact
derivatives, starting values, BLUPs).

Shapes: ``n`` data sets, ``G`` patterns, ``P`` fixed effects, ``Q`` varying terms.  Design arrays
may have a leading axis of 1 (shared by all data sets).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from replic.kernel.woodbury import pattern_outer

__all__ = ["GroupStats", "outer_blocks", "stats_from_long", "stats_from_replicates"]

#: Derived arrays carried over (indexed) by :meth:`GroupStats.take` instead of recomputed.
_CACHED = ("ZtXy", "XytXy", "outer")


@dataclass(frozen=True, eq=False)
class GroupStats:
    """Cross-products of ``n`` data sets, by design pattern.

    Attributes
    ----------
    count : ndarray, shape (n|1, G)
        Number of groups with each pattern.
    XtX : ndarray, shape (n|1, G, P, P)
        ``X_j' X_j`` of one group of the pattern.
    ZtX : ndarray, shape (n|1, G, Q, P)
    ZtZ : ndarray, shape (n|1, G, Q, Q)
    zy : ndarray, shape (n, G, Q)
        ``sum_j Z_j' y_j`` over the groups of the pattern.
    Szz : ndarray, shape (n, G, Q, Q)
        ``sum_j (Z_j' y_j)(Z_j' y_j)'`` over the groups of the pattern.
    Xty : ndarray, shape (n, P)
    yty : ndarray, shape (n,)
    nobs : ndarray, shape (n,)
        Number of observations.
    xbar : ndarray, shape (n, P)
        Column means of ``X`` over the observations (brms centres predictors at these).
    n_groups : ndarray of int, shape (n,)
        Number of groups with at least one observation.
    """

    count: np.ndarray
    XtX: np.ndarray
    ZtX: np.ndarray
    ZtZ: np.ndarray
    zy: np.ndarray
    Szz: np.ndarray
    Xty: np.ndarray
    yty: np.ndarray
    nobs: np.ndarray
    xbar: np.ndarray
    n_groups: np.ndarray

    @property
    def n(self) -> int:
        """Number of data sets."""
        return int(self.yty.shape[0])

    @property
    def q(self) -> int:
        """Number of varying terms."""
        return int(self.ZtZ.shape[-1])

    @property
    def p(self) -> int:
        """Number of fixed effects."""
        return int(self.Xty.shape[-1])

    @property
    def n_obs(self) -> np.ndarray:
        """Number of observations as integers, shape (n,)."""
        return self.nobs.astype(int)

    @property
    def per_group(self) -> bool:
        """Whether every pattern is one group (``count == 1``), so per-group views exist."""
        return bool(np.all(self.count == 1))

    @cached_property
    def ZtXy(self) -> np.ndarray:
        """``Z_j'[X_j y_j]`` of each group, shape (n, J, Q, P + 1) (per-group statistics only)."""
        if not self.per_group:
            raise ValueError("per-group cross-products need statistics built with "
                             "per_group=True (these collapse groups into patterns)")
        ZtX = np.broadcast_to(self.ZtX, (self.n, *self.ZtX.shape[1:]))
        return np.concatenate([ZtX, self.zy[..., None]], axis=-1)

    @cached_property
    def XytXy(self) -> np.ndarray:
        """``[X y]'[X y]`` of each data set, shape (n, P + 1, P + 1)."""
        n, p = self.n, self.p
        out = np.empty((n, p + 1, p + 1))
        count = np.broadcast_to(self.count, (n, self.count.shape[-1]))
        out[:, :p, :p] = np.einsum("ng,ngab->nab", count,
                                   np.broadcast_to(self.XtX, (n, *self.XtX.shape[1:])))
        out[:, :p, p] = self.Xty
        out[:, p, :p] = self.Xty
        out[:, p, p] = self.yty
        return out

    @cached_property
    def outer(self) -> np.ndarray:
        """Products of the rows of ``Z_j'[X_j y_j]`` summed over each pattern's groups, shape
        (n, t G, (P + 1)^2) (:func:`outer_blocks`, or
        :func:`replic.kernel.woodbury.pattern_outer` for collapsed patterns), cached for
        :func:`replic.kernel.woodbury.group_sums`."""
        if self.per_group:
            return outer_blocks(self.ZtXy)
        return pattern_outer(self.count, self.ZtX, self.zy, self.Szz)

    def with_outer(self) -> GroupStats:
        """These statistics, with :attr:`outer` computed (and carried along by :meth:`take`)."""
        _ = self.outer
        return self

    def take(self, idx: np.ndarray | slice) -> GroupStats:
        """The statistics of data sets ``idx`` (arrays shared by all data sets stay shared)."""
        if isinstance(idx, np.ndarray) and idx.shape == (self.n,) and np.array_equal(
                idx, np.arange(self.n)):
            return self
        def pick(a: np.ndarray) -> np.ndarray:
            return a if a.shape[0] == 1 and self.n != 1 else a[idx]
        out = GroupStats(**{f.name: pick(getattr(self, f.name)) for f in fields(self)})
        for name in _CACHED:
            if name in self.__dict__:
                out.__dict__[name] = self.__dict__[name][idx]
        return out

    def reorder_terms(self, order: np.ndarray) -> GroupStats:
        """The statistics with the varying terms (columns of ``Z``) in ``order``."""
        o = np.asarray(order)
        return GroupStats(count=self.count, XtX=self.XtX, ZtX=self.ZtX[..., o, :],
                          ZtZ=self.ZtZ[..., o, :][..., o], zy=self.zy[..., o],
                          Szz=self.Szz[..., o, :][..., o], Xty=self.Xty, yty=self.yty,
                          nobs=self.nobs, xbar=self.xbar, n_groups=self.n_groups)


def outer_blocks(ZtXy: np.ndarray) -> np.ndarray:
    """Symmetrised products ``B_r B_s' (+ B_s B_r')`` of the rows ``B_r`` of ``Z_j'[X y]``.

    For ``r <= s`` in lme4's ``theta`` order, stacked to shape (n, t J, (p + 1)^2): the
    deviance's ``sum_j B_j' N_j B_j`` is then one matrix product with the entries of ``N_j``.
    """
    n, J, q, _ = ZtXy.shape
    cols, rows = np.triu_indices(q)
    blocks = []
    for r, c in zip(rows, cols, strict=True):
        o = ZtXy[:, :, r, :, None] * ZtXy[:, :, c, None, :]
        if r != c:
            o = o + np.swapaxes(o, -1, -2)
        blocks.append(o.reshape(n, J, -1))
    return np.concatenate(blocks, axis=1)


def stats_from_replicates(y: np.ndarray, X: np.ndarray, Z: np.ndarray,
                          observed: np.ndarray | None = None, *,
                          per_group: bool = False) -> GroupStats:
    """Statistics of ``n`` replicates that observe every group at the same design rows.

    Parameters
    ----------
    y : ndarray, shape (n, k, T)
        Responses of ``k`` groups at ``T`` design rows; entries outside ``observed`` are ignored
        (may be NaN).
    X : ndarray, shape (T, P)
        Fixed-effect design of one group.
    Z : ndarray, shape (T, Q)
        Varying-term design of one group.
    observed : ndarray of bool, shape (n, k, T), optional
        Observation mask; None when complete (then all groups share one pattern).
    per_group : bool
        Keep one pattern per group even when complete (``G = k``), for the per-group views.

    Returns
    -------
    GroupStats
    """
    n, k, T = y.shape
    P, Q = X.shape[1], Z.shape[1]
    if observed is None:
        Zy = np.einsum("tq,nkt->nkq", Z, y)
        common = dict(Xty=np.einsum("tp,nkt->np", X, y), yty=np.einsum("nkt,nkt->n", y, y),
                      nobs=np.full(n, float(k * T)),
                      xbar=np.broadcast_to(X.mean(axis=0), (n, P)),
                      n_groups=np.full(n, k if T else 0))
        if per_group:
            return GroupStats(
                count=np.ones((1, k)), XtX=np.broadcast_to(X.T @ X, (1, k, P, P)),
                ZtX=np.broadcast_to(Z.T @ X, (1, k, Q, P)),
                ZtZ=np.broadcast_to(Z.T @ Z, (1, k, Q, Q)), zy=Zy,
                Szz=Zy[..., :, None] * Zy[..., None, :], **common)
        return GroupStats(
            count=np.full((1, 1), float(k)), XtX=(X.T @ X)[None, None], ZtX=(Z.T @ X)[None, None],
            ZtZ=(Z.T @ Z)[None, None], zy=Zy.sum(axis=1)[:, None],
            Szz=np.einsum("nkq,nkr->nqr", Zy, Zy)[:, None], **common)
    m = observed.astype(float)
    y0 = np.where(observed, y, 0.0)
    Zy = y0 @ Z                                                 # (n, k, Q)
    nobs = m.sum(axis=(1, 2))
    with np.errstate(divide="ignore", invalid="ignore"):
        xbar = (m.sum(axis=1) @ X) / nobs[:, None]

    def masked(A: np.ndarray, B: np.ndarray) -> np.ndarray:   # sum_t m_t A_t' B_t per group
        return (m @ (A[:, :, None] * B[:, None, :]).reshape(T, -1)).reshape(
            n, k, A.shape[1], B.shape[1])

    return GroupStats(
        count=np.ones((1, k)), XtX=masked(X, X), ZtX=masked(Z, X), ZtZ=masked(Z, Z), zy=Zy,
        Szz=Zy[..., :, None] * Zy[..., None, :], Xty=np.einsum("nkt,tp->np", y0, X),
        yty=np.einsum("nkt,nkt->n", y0, y0), nobs=nobs, xbar=xbar,
        n_groups=observed.any(axis=2).sum(axis=1))


def stats_from_long(y: np.ndarray, X: np.ndarray, Z: np.ndarray, group: np.ndarray,
                    n_groups: int) -> GroupStats:
    """Statistics of one data set in long form, one pattern per group (``n = 1``, ``G = J``).

    Parameters
    ----------
    y : ndarray, shape (N,)
    X : ndarray, shape (N, P)
    Z : ndarray, shape (N, Q)
    group : ndarray of int, shape (N,)
        Group code ``0 <= group < n_groups`` of each observation.
    n_groups : int
        Number of groups (levels; a level without observations contributes nothing).

    Returns
    -------
    GroupStats
    """
    P, Q = X.shape[1], Z.shape[1]
    XtX = np.zeros((n_groups, P, P))
    ZtX = np.zeros((n_groups, Q, P))
    ZtZ = np.zeros((n_groups, Q, Q))
    Zy = np.zeros((n_groups, Q))
    np.add.at(XtX, group, X[:, :, None] * X[:, None, :])
    np.add.at(ZtX, group, Z[:, :, None] * X[:, None, :])
    np.add.at(ZtZ, group, Z[:, :, None] * Z[:, None, :])
    np.add.at(Zy, group, Z * y[:, None])
    return GroupStats(
        count=np.ones((1, n_groups)), XtX=XtX[None], ZtX=ZtX[None], ZtZ=ZtZ[None], zy=Zy[None],
        Szz=(Zy[:, :, None] * Zy[:, None, :])[None], Xty=(X.T @ y)[None],
        yty=np.array([y @ y]), nobs=np.array([float(y.size)]), xbar=X.mean(axis=0)[None],
        n_groups=np.array([np.unique(group).size]))
