"""The Woodbury sums (closed forms for q <= 2, general q) against per-group dense algebra."""

import numpy as np
import pytest

from replic.kernel.smallmat import tri_index
from replic.kernel.woodbury import group_sums, pattern_outer


def _groups(rng, n, J, q, p):
    Z = rng.normal(size=(n, J, 5, q))
    B = rng.normal(size=(n, J, q, p + 1))
    return np.swapaxes(Z, -1, -2) @ Z, B


def _outer(B):
    """``pattern_outer`` of groups with a pattern each (``B_j = Z_j'[X_j y_j]``, (n, J, q, p+1))."""
    ones = np.ones(B.shape[:2])
    zy = B[..., -1]
    return pattern_outer(ones, B[..., :-1], zy, zy[..., :, None] * zy[..., None, :])


def _direct_outer(B, count=None):
    """``sum_j B_r B_s' (+ B_s B_r')`` over the groups, block by block, in explicit loops."""
    n, J, q, p1 = B.shape
    count = np.ones((n, J)) if count is None else count
    blocks = []
    for r, c in zip(*tri_index(q), strict=True):
        o = np.zeros((n, J, p1, p1))
        for i in range(n):
            for j in range(J):
                o[i, j] = count[i, j] * np.outer(B[i, j, r], B[i, j, c])
        blocks.append((o + np.swapaxes(o, -1, -2) if r != c else o).reshape(n, J, -1))
    return np.concatenate(blocks, axis=1)


def _dense(lam, A, B, count):
    """log|L|^2 and S group by group with numpy.linalg."""
    n, E, q, _ = lam.shape
    ld = np.zeros((n, E))
    S = np.zeros((n, E, B.shape[-1], B.shape[-1]))
    for j in range(A.shape[1]):
        M = np.eye(q) + np.swapaxes(lam, -1, -2) @ A[:, None, j] @ lam
        N = lam @ np.linalg.inv(M) @ np.swapaxes(lam, -1, -2)
        ld += count[:, None, j] * np.linalg.slogdet(M)[1]
        S += count[:, None, j, None, None] * (np.swapaxes(B[:, None, j], -1, -2) @ N
                                              @ B[:, None, j])
    return ld, S


@pytest.mark.parametrize("q", [1, 2, 3])
@pytest.mark.parametrize("E", [3, 700])            # 700: the blocked products
def test_group_sums_against_dense(q, E):
    rng = np.random.default_rng(q)
    n, J, p = 4, 6, 2
    A, B = _groups(rng, n, J, q, p)
    lam = np.tril(rng.normal(size=(n, E, q, q)))
    lam[0, 0] = 0.0                                 # Sigma = 0
    lam[1, 0, -1, -1] = 0.0                         # singular Sigma
    ld, S = group_sums(lam, A, _outer(B))
    ld_d, S_d = _dense(lam, A, B, np.ones((n, J)))
    np.testing.assert_allclose(_outer(B), _direct_outer(B), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ld, ld_d, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(S.reshape(S_d.shape), S_d, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("q", [1, 2, 3])
def test_patterns_and_counts(q):
    """Groups collapsed into patterns (counts, summed Z'y) give the per-group sums."""
    rng = np.random.default_rng(10 + q)
    n, G, p = 3, 2, 2
    count = np.array([[3.0, 2.0]])
    ZtZ, B = _groups(rng, 1, G, q, p)
    ZtX = B[..., :p]
    zy = rng.normal(size=(n, 5, q))                 # 3 groups of pattern 0, 2 of pattern 1
    pattern = np.array([0, 0, 0, 1, 1])
    per_group = np.concatenate([np.broadcast_to(ZtX[:, pattern], (n, 5, q, p)),
                                zy[..., None]], axis=-1)
    lam = np.tril(rng.normal(size=(n, 9, q, q)))
    sums = np.stack([zy[:, pattern == g].sum(axis=1) for g in range(G)], axis=1)
    Szz = np.stack([np.einsum("nkq,nkr->nqr", zy[:, pattern == g], zy[:, pattern == g])
                    for g in range(G)], axis=1)
    ld, S = group_sums(lam, ZtZ, pattern_outer(count, ZtX, sums, Szz), count=count)
    ld_g, S_g = group_sums(lam, ZtZ[:, pattern], _outer(per_group))
    np.testing.assert_allclose(ld, ld_g, rtol=1e-12)
    np.testing.assert_allclose(S, S_g, rtol=1e-10, atol=1e-10)
    summed = _direct_outer(per_group).reshape(n, -1, 5, (p + 1) ** 2)
    summed = np.stack([summed[:, :, pattern == g].sum(axis=2) for g in range(G)], axis=2)
    np.testing.assert_allclose(pattern_outer(count, ZtX, sums, Szz), summed.reshape(n, -1,
                               (p + 1) ** 2), rtol=1e-12, atol=1e-12)


def test_log_determinant_survives_overflowing_products():
    """Huge |M_j| (sd = 1e60 sigma) overflow their product; the sum of logs is used."""
    rng = np.random.default_rng(0)
    A, B = _groups(rng, 1, 8, 2, 1)
    lam = np.tril(np.full((1, 2, 2, 2), 1e60))
    lam[0, 1] = np.tril(np.ones((2, 2)))
    ld, _ = group_sums(lam, A, _outer(B))
    ld_d, _ = _dense(lam[:, 1:], A, B, np.ones((1, 8)))
    assert np.isfinite(ld).all() and ld[0, 0] > 1000
    np.testing.assert_allclose(ld[:, 1:], ld_d, rtol=1e-12)
