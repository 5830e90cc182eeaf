"""The Woodbury sums of one-factor Gaussian LMMs around lme4's relative covariance factor (numpy).

With ``Sigma = sigma^2 Lambda Lambda'`` (``Lambda`` lower triangular, ``q x q``) and, for each
group ``j``, ``A_j = Z_j'Z_j``, ``M_j = I + Lambda' A_j Lambda``, ``N_j = Lambda M_j^-1 Lambda'``
and ``B_j = Z_j'[X_j y_j]``, every Gaussian LMM likelihood (REML or ML, profiled or not, lme4's or
bayes-fast's) needs only

    log|L|^2 = sum_j c_j log|M_j|        and        S = sum_j B_j' N_j B_j,

(``c_j`` groups share pattern ``j``); then ``sigma^2 [X y]'V^-1[X y] = [X y]'[X y] - S``.  ``S``
is linear in the entries of ``N_j``, so with the products of the rows of ``B_j`` summed over each
pattern's groups and cached (``outer``: :func:`pattern_outer`) the sum over groups is a matrix
product.

For ``q <= 2`` both need no per-group matrix algebra: ``adj`` is linear on 2 x 2 matrices, so

    |M_j| = 1 + tr(A_j Lambda Lambda') + |Lambda|^2 |A_j|,
    N_j = (Lambda Lambda' + |Lambda|^2 adj A_j) / |M_j|,

and ``S = sum_j (Lambda Lambda' + |Lambda|^2 adj A_j) . outer_j / |M_j|`` is one matrix product of
the ``1 / |M_j|`` (trial points x groups) with per-group constants, then four scalars per trial
point.  Each ``|M_j| >= 1`` is a sum of non-negative terms (no cancellation), unlike ``M_j``'s
entries.  For ``q > 2``: closed-form inverses of the ``M_j`` on whole arrays, matrix axes first.
"""

from __future__ import annotations

import numpy as np

from replic.kernel.smallmat import det_inv_lead, dot, tri_index

__all__ = ["group_sums", "pattern_outer"]

#: Row blocks of the matrix products stay below this many multiply-adds (OpenBLAS runs products
#: of at most 65536 x 4 of them on one thread: threads cost more than they save here, and a
#: study already runs one process per core).
_BLOCK = 1 << 17


def group_sums(lam: np.ndarray, ZtZ: np.ndarray, outer: np.ndarray, *,
               count: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``log|L|^2`` and ``S = sum_j B_j' N_j B_j`` at many values of ``Lambda``.

    Parameters
    ----------
    lam : ndarray, shape (n, E, q, q)
        ``E`` values of the lower-triangular ``Lambda`` for each of ``n`` data sets.
    ZtZ : ndarray, shape (n|1, J, q, q)
        ``Z_j'Z_j`` of each group (or pattern).
    outer : ndarray, shape (n|1, t J, R)
        Products of the rows of ``B_j`` (``t = q (q + 1) / 2`` blocks of ``J`` rows, lme4's
        ``theta`` order, off-diagonal blocks symmetrised), summed over the groups of a pattern.
        When ``R`` is a square, the rows are symmetric matrices and only their upper triangles
        are read.
    count : ndarray, shape (n|1, J), optional
        Groups of each pattern (all 1 when None; 0 for the empty patterns that pad data sets
        with fewer patterns).  ``log|L|^2`` takes one logarithm per trial point for the
        patterns of at most one group, one per pattern for those of several (the leading ones).

    Returns
    -------
    ld_l2 : ndarray, shape (n, E)
        ``sum_j c_j log|M_j|``.
    S : ndarray, shape (n, E, R)
        A view with ``E`` the fastest axis (entries ``S[..., r]`` are contiguous).
    """
    q = lam.shape[-1]
    n = max(lam.shape[0], ZtZ.shape[0], outer.shape[0])
    ZtZ = np.broadcast_to(ZtZ, (n, *ZtZ.shape[1:]))
    outer = np.broadcast_to(outer, (n, *outer.shape[1:]))
    lam = np.broadcast_to(lam, (n, *lam.shape[1:]))
    R = outer.shape[-1]
    p1 = round(R ** 0.5)
    if p1 * p1 == R:                          # symmetric p1 x p1 blocks: the upper triangle only
        rows, cols = np.triu_indices(p1)
        full = np.empty((p1, p1), dtype=int)
        full[rows, cols] = full[cols, rows] = np.arange(rows.size)
        outer = outer[..., rows * p1 + cols]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):   # far out: inf, nan
        det, S = (_sums_general if q > 2 else _sums_small)(lam, ZtZ, outer)   # E last
        ld = _log_det_sum(det, count)
    if p1 * p1 == R:
        S = S[:, full.ravel()]
    return ld, np.swapaxes(S, 1, 2)


def _log_det_sum(det: np.ndarray, count: np.ndarray | None) -> np.ndarray:
    """``sum_j c_j log|M_j|`` (n, E) from ``|M_j|`` (n, J, E) and ``count`` (n|1, J): one
    logarithm per trial point for the patterns of at most one group (a product), one per
    pattern for the leading patterns of several groups
    (:func:`replic.kernel.stats.stats_from_replicates` puts them first)."""
    n, J, _ = det.shape
    lead = 0
    if count is not None:
        multi = np.flatnonzero((count > 1).any(axis=0))
        lead = int(multi[-1]) + 1 if multi.size else 0
        count = np.broadcast_to(count, (n, J))
    ld = np.einsum("njm,nj->nm", np.log(det[:, :lead]), count[:, :lead]) if lead else None
    if lead == J:
        return ld
    rest = det[:, lead:]
    if count is not None and not count[:, lead:].all():    # empty patterns: |M| counts as 1
        rest = np.where(count[:, lead:, None] > 0, rest, 1.0)
    prod = np.log(np.prod(rest, axis=1))
    bad = ~np.isfinite(prod)
    if bad.any():                                           # overflow of the product
        prod[bad] = np.log(np.swapaxes(rest, 1, 2)[bad]).sum(axis=-1)
    return prod if ld is None else ld + prod


def pattern_outer(count: np.ndarray, ZtX: np.ndarray, zy: np.ndarray, Szz: np.ndarray
                  ) -> np.ndarray:
    """The ``outer`` of :func:`group_sums` for groups collapsed into design patterns.

    Parameters
    ----------
    count : ndarray, shape (n|1, G)
        Groups of each pattern.
    ZtX : ndarray, shape (n|1, G, q, P)
        ``Z_j'X_j`` of one group of the pattern.
    zy : ndarray, shape (n, G, q)
        ``sum_j Z_j'y_j`` over the pattern's groups.
    Szz : ndarray, shape (n, G, q, q)
        ``sum_j (Z_j'y_j)(Z_j'y_j)'`` over the pattern's groups.

    Returns
    -------
    ndarray, shape (n, t G, (P + 1)^2)
        ``sum_j B_r B_s' (+ B_s B_r')`` over the pattern's groups, for the rows ``r >= s`` of
        ``B_j = Z_j'[X_j y_j]`` in lme4's ``theta`` order (one group per pattern: that group's
        products).  For a symmetric ``F`` (``q x q``, one per pattern), ``sum_j B_j' F B_j`` is
        the sum over blocks ``(r, s)`` of ``F[r, s]`` times the block.
    """
    n, G, q = zy.shape
    P = ZtX.shape[-1]
    ZtX = np.broadcast_to(ZtX, (n, G, q, P))
    c = np.broadcast_to(count, (n, G))[:, :, None, None, None, None]
    o = np.empty((n, G, q, q, P + 1, P + 1))
    o[..., :P, :P] = c * ZtX[:, :, :, None, :, None] * ZtX[:, :, None, :, None, :]
    o[..., :P, P] = ZtX[:, :, :, None, :] * zy[:, :, None, :, None]
    o[..., P, :P] = zy[:, :, :, None, None] * ZtX[:, :, None, :, :]
    o[..., P, P] = Szz
    rows, cols = tri_index(q)
    blocks = [o[:, :, r, c] + (np.swapaxes(o[:, :, r, c], -1, -2) if r != c else 0.0)
              for r, c in zip(rows, cols, strict=True)]
    return np.concatenate([b.reshape(n, G, -1) for b in blocks], axis=1)


def _blocked_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` for (n, K, J) and (n, J, E), in column blocks of at most :data:`_BLOCK`
    multiply-adds per product."""
    n, K, J = a.shape
    E = b.shape[-1]
    cols = max(1, _BLOCK // max(J * K, 1))
    if cols >= E:
        return a @ b
    out = np.empty((n, K, E))
    for lo in range(0, E, cols):
        np.matmul(a, b[..., lo:lo + cols], out=out[..., lo:lo + cols])
    return out


def _sums_small(lam: np.ndarray, A: np.ndarray, outer: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """``|M_j|`` (n, J, E) and ``S`` (n, R, E) in closed form for ``q <= 2``: trial points run
    along the last axis of every intermediate (long contiguous loops)."""
    n, E, q, _ = lam.shape
    J = A.shape[1]
    R = outer.shape[-1]
    if q == 1:
        s00 = lam[..., 0, 0] ** 2                              # (n, E)
        det = 1.0 + A[:, :, 0, 0, None] * s00[:, None, :]      # (n, J, E)
        r = 1.0 / det
        return det, s00[:, None, :] * _blocked_matmul(np.swapaxes(outer, 1, 2), r)
    l11, l21, l22 = lam[..., 0, 0], lam[..., 1, 0], lam[..., 1, 1]
    coef = np.empty((n, 5, E))
    coef[:, 0] = 1.0
    s00 = np.multiply(l11, l11, out=coef[:, 1])                  # Lambda Lambda'
    np.multiply(l11, l21, out=coef[:, 2])
    s10 = coef[:, 2]
    s11 = np.add(l21 * l21, l22 * l22, out=coef[:, 3])
    delta = np.square(l11 * l22, out=coef[:, 4])                 # |Lambda|^2
    a11, a12, a22 = A[..., 0, 0], A[..., 0, 1], A[..., 1, 1]     # (n, J)
    U = np.stack([np.ones_like(a11), a11, 2.0 * a12, a22, a11 * a22 - a12 * a12], axis=-1)
    det = _blocked_matmul(U, coef)                               # (n, J, E)
    r = 1.0 / det
    D = outer.reshape(n, 3, J, R)
    adj = a22[..., None] * D[:, 0] - a12[..., None] * D[:, 1] + a11[..., None] * D[:, 2]
    Wt = np.swapaxes(np.concatenate([D[:, 0], D[:, 1], D[:, 2], adj], axis=-1), 1, 2)
    V = _blocked_matmul(Wt, r)                                   # (n, 4R, E)
    S = s00[:, None] * V[:, :R]
    S += s10[:, None] * V[:, R:2 * R]
    S += s11[:, None] * V[:, 2 * R:3 * R]
    S += delta[:, None] * V[:, 3 * R:]
    return det, S


def _sums_general(lam: np.ndarray, A: np.ndarray, outer: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """``|M_j|`` (n, J, E) and ``S`` (n, R, E) for any ``q``: closed-form inverses on arrays,
    matrix axes first."""
    q = lam.shape[-1]
    rows, cols = tri_index(q)
    L = np.moveaxis(lam, (-2, -1), (0, 1))[..., None]            # (q, q, n, E, 1)
    Am = np.moveaxis(A, (-2, -1), (0, 1))[:, :, :, None, :]      # (q, q, n, 1, J)
    M = _sandwich(L, Am, q, transpose=True)                      # Lambda' A_j Lambda
    for k in range(q):
        M[k, k] += 1.0
    det, Minv = det_inv_lead(M)
    N = _sandwich(L, Minv, q, transpose=False)                   # Lambda M_j^-1 Lambda'
    Ncat = np.concatenate([N[r, c] for r, c in zip(rows, cols, strict=True)], axis=-1)
    return np.swapaxes(det, 1, 2), _blocked_matmul(np.swapaxes(outer, 1, 2),
                                                   np.swapaxes(Ncat, 1, 2))


def _sandwich(lam: np.ndarray, A: np.ndarray, q: int, *, transpose: bool) -> np.ndarray:
    """``Lambda' A Lambda`` (``transpose``) or ``Lambda A Lambda'`` for symmetric ``A``, matrix
    axes first, using that ``Lambda`` is lower triangular."""
    L = np.swapaxes(lam, 0, 1) if transpose else lam       # left factor F, result F A F'
    out = np.empty((q, q, *np.broadcast_shapes(lam.shape[2:], A.shape[2:])))
    nz = [[j for j in range(q) if (j >= i if transpose else j <= i)] for i in range(q)]
    FA = [[dot([L[k, i] for i in nz[k]], [A[i, ell] for i in nz[k]]) for ell in range(q)]
          for k in range(q)]
    for k in range(q):
        for ell in range(k, q):
            out[k, ell] = dot([FA[k][i] for i in nz[ell]], [L[ell, i] for i in nz[ell]])
            out[ell, k] = out[k, ell]
    return out
