"""Per-group sufficient statistics of one-factor LMM data sets (pure numpy).

A Gaussian LMM with one grouping factor is determined, for fitting, by the per-group
cross-products ``Z_j'Z_j`` and ``Z_j'[X_j y_j]`` and the totals ``[X y]'[X y]`` and ``N``.  They are
computed once per data set; every deviance evaluation then costs ``O(J q^2 p)``, not ``O(N)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["GroupStats", "outer_blocks", "stats_from_long", "stats_from_replicates"]


@dataclass(frozen=True)
class GroupStats:
    """Cross-products of ``n`` data sets with ``J`` groups each.

    Attributes
    ----------
    ZtZ : ndarray, shape (n, J, q, q)
    ZtXy : ndarray, shape (n, J, q, p + 1)
        ``Z_j'X_j`` and, in the last column, ``Z_j'y_j``.
    XytXy : ndarray, shape (n, p + 1, p + 1)
        ``[X y]'[X y]``.
    n_obs : ndarray of int, shape (n,)
        Number of observations.
    n_groups : ndarray of int, shape (n,)
        Number of groups with at least one observation.
    outer : ndarray, shape (n, q (q + 1) / 2 * J, (p + 1)^2), optional
        Products of the rows of ``Z_j'[X y]`` (see :meth:`with_outer`), cached for the
        deviance.
    """

    ZtZ: np.ndarray
    ZtXy: np.ndarray
    XytXy: np.ndarray
    n_obs: np.ndarray
    n_groups: np.ndarray
    outer: np.ndarray | None = None

    @property
    def n(self) -> int:
        """Number of data sets."""
        return int(self.XytXy.shape[0])

    @property
    def q(self) -> int:
        """Number of varying terms."""
        return int(self.ZtZ.shape[-1])

    @property
    def p(self) -> int:
        """Number of fixed effects."""
        return int(self.XytXy.shape[-1] - 1)

    def take(self, index: np.ndarray) -> GroupStats:
        """The statistics of the data sets ``index``."""
        return GroupStats(ZtZ=self.ZtZ[index], ZtXy=self.ZtXy[index], XytXy=self.XytXy[index],
                          n_obs=self.n_obs[index], n_groups=self.n_groups[index],
                          outer=None if self.outer is None else self.outer[index])

    def with_outer(self) -> GroupStats:
        """These statistics with :attr:`outer` computed."""
        if self.outer is not None:
            return self
        return GroupStats(ZtZ=self.ZtZ, ZtXy=self.ZtXy, XytXy=self.XytXy, n_obs=self.n_obs,
                          n_groups=self.n_groups, outer=outer_blocks(self.ZtXy))


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


def stats_from_long(y: np.ndarray, X: np.ndarray, Z: np.ndarray, group: np.ndarray,
                    n_levels: int) -> GroupStats:
    """Statistics of one data set in long format (one row per observation).

    Parameters
    ----------
    y : ndarray, shape (N,)
    X : ndarray, shape (N, p)
    Z : ndarray, shape (N, q)
    group : ndarray of int, shape (N,)
        Group code ``0..n_levels-1`` of each row.
    n_levels : int

    Returns
    -------
    GroupStats
        With ``n = 1``.
    """
    Xy = np.column_stack([X, y])
    q, p1 = Z.shape[1], Xy.shape[1]
    ZtZ = np.zeros((n_levels, q, q))
    ZtXy = np.zeros((n_levels, q, p1))
    np.add.at(ZtZ, group, Z[:, :, None] * Z[:, None, :])
    np.add.at(ZtXy, group, Z[:, :, None] * Xy[:, None, :])
    return GroupStats(ZtZ=ZtZ[None], ZtXy=ZtXy[None], XytXy=(Xy.T @ Xy)[None],
                      n_obs=np.array([y.size]),
                      n_groups=np.array([np.unique(group).size]))


def stats_from_replicates(y: np.ndarray, X: np.ndarray, Z: np.ndarray,
                          observed: np.ndarray | None = None) -> GroupStats:
    """Statistics of ``n`` replicate data sets sharing one per-subject design.

    Parameters
    ----------
    y : ndarray, shape (n, k, T)
        Responses of ``k`` subjects at ``T`` design points (``nan`` where not observed).
    X : ndarray, shape (T, p)
        Fixed-effect design of one subject.
    Z : ndarray, shape (T, q)
        Varying-term design of one subject.
    observed : ndarray of bool, shape (n, k, T), optional
        Observation mask; ``None`` when every value is observed.

    Returns
    -------
    GroupStats
    """
    n, k, T = y.shape
    q = Z.shape[1]
    Xy_design = np.column_stack([X, np.zeros(T)])
    p1 = Xy_design.shape[1]
    if observed is None:
        w = np.ones((n, k, T))
        y0 = y
    else:
        w = observed.astype(float)
        y0 = np.where(observed, y, 0.0)
    zz = (Z[:, :, None] * Z[:, None, :]).reshape(T, q * q)
    ZtZ = (w @ zz).reshape(n, k, q, q)
    zx = (Z[:, :, None] * Xy_design[:, None, :]).reshape(T, q * p1)
    ZtXy = (w @ zx).reshape(n, k, q, p1)
    ZtXy[..., -1] = y0 @ Z
    xx = (Xy_design[:, :, None] * Xy_design[:, None, :]).reshape(T, p1 * p1)
    wt = w.sum(axis=1)                                     # (n, T)
    XytXy = (wt @ xx).reshape(n, p1, p1)
    Xty = np.einsum("nkt,tp->np", y0, X)
    XytXy[:, :-1, -1] = Xty
    XytXy[:, -1, :-1] = Xty
    XytXy[:, -1, -1] = (y0**2).sum(axis=(1, 2))
    n_obs = w.sum(axis=(1, 2)).astype(int)
    n_groups = (w.sum(axis=2) > 0).sum(axis=1)
    return GroupStats(ZtZ=ZtZ, ZtXy=ZtXy, XytXy=XytXy, n_obs=n_obs, n_groups=n_groups)
