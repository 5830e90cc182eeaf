"""Sufficient statistics of Gaussian LMM data sets, batched over replicates.

Every quantity the REML likelihood needs is a sum over groups of small cross-products.  Groups
that share their design (``X_j``, ``Z_j``: the balanced, complete replicates of a study) form one
*pattern*; their contributions then collapse to pattern-level sums, so the cost of evaluating
the likelihood does not grow with the number of groups.

Shapes: ``n`` data sets (replicates), ``G`` patterns, ``P`` fixed effects, ``Q`` varying terms.
Design arrays may have a leading axis of 1 (shared by all replicates).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GroupStats", "stats_from_long", "stats_from_replicates"]


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

    @property
    def n(self) -> int:
        """Number of data sets."""
        return int(self.yty.shape[0])

    def take(self, idx: np.ndarray | slice) -> GroupStats:
        """The statistics of data sets ``idx``."""
        def pick(a: np.ndarray) -> np.ndarray:
            return a if a.shape[0] == 1 and self.n != 1 else a[idx]
        return GroupStats(**{f: pick(getattr(self, f)) for f in self.__dataclass_fields__})


def stats_from_replicates(y: np.ndarray, X: np.ndarray, Z: np.ndarray,
                          observed: np.ndarray | None = None) -> GroupStats:
    """Statistics of replicates that observe every group at the same design rows.

    Parameters
    ----------
    y : ndarray, shape (n, k, T)
        Responses; entries outside ``observed`` are ignored (may be NaN).
    X : ndarray, shape (T, P)
        Fixed-effect design of one group.
    Z : ndarray, shape (T, Q)
        Varying-term design of one group.
    observed : ndarray of bool, shape (n, k, T), optional
        Observation mask; None when complete (then all groups share one pattern).
    """
    n, k, T = y.shape
    if observed is None:
        Zy = np.einsum("tq,nkt->nkq", Z, y)
        return GroupStats(
            count=np.full((1, 1), float(k)), XtX=(X.T @ X)[None, None], ZtX=(Z.T @ X)[None, None],
            ZtZ=(Z.T @ Z)[None, None], zy=Zy.sum(axis=1)[:, None],
            Szz=np.einsum("nkq,nkr->nqr", Zy, Zy)[:, None],
            Xty=np.einsum("tp,nkt->np", X, y), yty=np.einsum("nkt,nkt->n", y, y),
            nobs=np.full(n, float(k * T)), xbar=np.broadcast_to(X.mean(axis=0), (n, X.shape[1])))
    m = observed.astype(float)
    y0 = np.where(observed, y, 0.0)
    Zy = np.einsum("tq,nkt->nkq", Z, y0)
    nobs = m.sum(axis=(1, 2))
    return GroupStats(
        count=np.ones((1, k)), XtX=np.einsum("nkt,tp,tq->nkpq", m, X, X),
        ZtX=np.einsum("nkt,tq,tp->nkqp", m, Z, X), ZtZ=np.einsum("nkt,tq,tr->nkqr", m, Z, Z),
        zy=Zy, Szz=Zy[..., :, None] * Zy[..., None, :], Xty=np.einsum("tp,nkt->np", X, y0),
        yty=np.einsum("nkt,nkt->n", y0, y0), nobs=nobs,
        xbar=np.einsum("nkt,tp->np", m, X) / nobs[:, None])


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
    """
    onehot = np.zeros((y.size, n_groups))
    onehot[np.arange(y.size), group] = 1.0
    Zy = np.einsum("nj,nq,n->jq", onehot, Z, y)
    return GroupStats(
        count=np.ones((1, n_groups)), XtX=np.einsum("nj,np,nr->jpr", onehot, X, X)[None],
        ZtX=np.einsum("nj,nq,np->jqp", onehot, Z, X)[None],
        ZtZ=np.einsum("nj,nq,nr->jqr", onehot, Z, Z)[None], zy=Zy[None],
        Szz=(Zy[:, :, None] * Zy[:, None, :])[None], Xty=(X.T @ y)[None],
        yty=np.array([y @ y]), nobs=np.array([float(y.size)]), xbar=X.mean(axis=0)[None])
