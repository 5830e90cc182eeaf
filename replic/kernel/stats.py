"""Sufficient statistics of one-factor Gaussian LMM data sets, batched over data sets (numpy only).

Everything the (REML or ML) likelihood of ``y = X beta + Z b + e`` needs is a sum over groups of
small cross-products, computed once per data set; a likelihood evaluation then costs
``O(G q^2 p)``, not ``O(N)``.  Groups that share their design (``X_j``, ``Z_j``: the complete,
balanced replicates of a study) are collapsed into one *pattern*, so that cost does not grow with
the number of groups.  There is one layout: a pattern of ``count`` groups holds one group's
design cross-products and the sums over its groups of ``Z_j'y_j`` and ``(Z_j'y_j)(Z_j'y_j)'``.
Groups with designs of their own (missing observations, long data) are patterns with
``count == 1``, whose ``zy`` is each group's own ``Z_j'y_j`` (best linear unbiased predictions).

Every sum over groups the likelihoods need is ``sum_j B_j' F_p B_j`` with ``B_j = Z_j'[X_j y_j]``
and ``F_p`` depending on the pattern's ``Z_j'Z_j`` only; it is a contraction of ``F_p`` with the
pattern's summed products :attr:`GroupStats.outer`
(:func:`replic.kernel.woodbury.pattern_outer`).  Both LMM kernels read this one object:
bayes-fast (:mod:`replic.bayes_fast`) the deviance pieces :attr:`GroupStats.XytXy` and
:attr:`GroupStats.outer` through :func:`replic.kernel.woodbury.group_sums` and, for single fits,
the per-group ``zy`` (random-effect draws); the REML engine (:mod:`replic.lmm`) the same deviance
pieces, the exact derivatives and moment starting values (contractions with
:attr:`GroupStats.outer`, ``zy`` and ``Szz``) and, for single fits, the per-group ``zy`` (BLUPs).

Shapes: ``n`` data sets, ``G`` patterns, ``P`` fixed effects, ``Q`` varying terms.  Design arrays
may have a leading axis of 1 (shared by all data sets).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property

import numpy as np

from replic.kernel.woodbury import pattern_outer

__all__ = ["GroupStats", "stats_from_long", "stats_from_replicates"]

#: Derived arrays carried over (indexed) by :meth:`GroupStats.take` instead of recomputed.
_CACHED = ("XytXy", "outer")


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
        (n, t G, (P + 1)^2) (:func:`replic.kernel.woodbury.pattern_outer`), cached for
        :func:`replic.kernel.woodbury.group_sums` and the REML engine's derivatives."""
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


def stats_from_replicates(y: np.ndarray, X: np.ndarray, Z: np.ndarray,
                          observed: np.ndarray | None = None) -> GroupStats:
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
        Observation mask; None when complete: then all groups share one pattern (``G = 1``).
        Otherwise the groups of a data set observed at the same rows share one (dropout leaves
        at most ``T + 1`` patterns) when that shortens the pattern axis for every data set;
        when some data set observes each of its groups differently, every group is its own
        pattern (``G = k``, ``count == 1``: random missingness, where sharing saves nothing).

    Returns
    -------
    GroupStats
    """
    n, k, T = y.shape
    P = X.shape[1]
    if observed is None:
        Zy = np.einsum("tq,nkt->nkq", Z, y)
        common = dict(Xty=np.einsum("tp,nkt->np", X, y), yty=np.einsum("nkt,nkt->n", y, y),
                      nobs=np.full(n, float(k * T)),
                      xbar=np.broadcast_to(X.mean(axis=0), (n, P)),
                      n_groups=np.full(n, k if T else 0))
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
    slot, G = _pattern_slots(observed)
    if G < k:                                                   # fewer patterns than groups
        H = (slot[:, None, :] == np.arange(G)[None, :, None]).astype(float)   # (n, G, k)
        count = H.sum(axis=2)
        mp = (H @ m) / np.maximum(count, 1.0)[..., None]       # each pattern's mask (n, G, T)
        zy = H @ Zy
        Szz = H @ (Zy[..., :, None] * Zy[..., None, :]).reshape(n, k, -1)
    else:                                  # some data set has k patterns: one per group for all
        count, mp, zy = np.ones((1, k)), m, Zy
        Szz = (Zy[..., :, None] * Zy[..., None, :]).reshape(n, k, -1)

    def masked(A: np.ndarray, B: np.ndarray) -> np.ndarray:   # sum_t m_t A_t' B_t per pattern
        return (mp @ (A[:, :, None] * B[:, None, :]).reshape(T, -1)).reshape(
            n, G, A.shape[1], B.shape[1])

    Q = Z.shape[1]
    return GroupStats(
        count=count, XtX=masked(X, X), ZtX=masked(Z, X), ZtZ=masked(Z, Z), zy=zy,
        Szz=Szz.reshape(n, G, Q, Q), Xty=np.einsum("nkt,tp->np", y0, X),
        yty=np.einsum("nkt,nkt->n", y0, y0), nobs=nobs, xbar=xbar,
        n_groups=observed.any(axis=2).sum(axis=1))


def _pattern_slots(observed: np.ndarray) -> tuple[np.ndarray, int]:
    """The pattern of each group: groups of a data set observed at the same rows share one.

    Patterns of several groups come first, then those of one group, each in order of their
    first group (data sets whose groups all differ keep the groups' order); ``G`` is the largest
    number of patterns of any data set (the others end with empty patterns, ``count == 0``).

    Parameters
    ----------
    observed : ndarray of bool, shape (n, k, T)

    Returns
    -------
    slot : ndarray of int, shape (n, k)
    G : int
    """
    n, k, T = observed.shape
    if T <= 62:
        key = observed.astype(np.int64) @ (np.int64(1) << np.arange(T, dtype=np.int64))
    else:
        key = np.unique(observed.reshape(n * k, T), axis=0, return_inverse=True)[1].reshape(n, k)
    order = np.argsort(key, axis=1, kind="stable")
    sk = np.take_along_axis(key, order, axis=1)
    new = np.ones((n, k), dtype=bool)
    new[:, 1:] = sk[:, 1:] != sk[:, :-1]
    run = np.cumsum(new, axis=1) - 1                            # pattern by sorted key
    first = np.full((n, k), k)                                  # first group of each pattern
    rows = np.broadcast_to(np.arange(n)[:, None], (n, k))
    first[rows[new], run[new]] = order[new]                     # stable: the smallest index
    size = np.zeros((n, k), dtype=int)
    np.add.at(size, (rows, run), 1)
    key = first + np.where(size > 1, 0, k + 1)                  # patterns of several first
    rank = np.argsort(np.argsort(key, axis=1, kind="stable"), axis=1, kind="stable")
    slot = np.empty_like(run)
    np.put_along_axis(slot, order, np.take_along_axis(rank, run, axis=1), axis=1)
    return slot, int(run[:, -1].max()) + 1 if k else 0


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
