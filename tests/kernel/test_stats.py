"""One set of sufficient statistics for both LMM kernels: long form, replicates (complete and
masked), collapsed patterns and one pattern per group agree with direct sums over the rows."""

import numpy as np
import pytest

from replic.kernel.stats import GroupStats, stats_from_long, stats_from_replicates
from tests.kernel.pergroup import per_group_stats


def _data(n=3, k=5, T=4, seed=0):
    rng = np.random.default_rng(seed)
    x = np.arange(T, dtype=float)
    X = np.column_stack([np.ones(T), x, x**2])
    Z = X[:, :2]
    return rng.normal(size=(n, k, T)), X, Z, rng.random((n, k, T)) > 0.3


def _direct(y, X, Z, obs):
    """Per-group cross-products of one data set by explicit sums over its observed rows."""
    k = y.shape[0]
    ZtXy = np.stack([Z[o].T @ np.column_stack([X, yj])[o] for yj, o in zip(y, obs, strict=True)])
    Xy = np.concatenate([np.column_stack([X, yj])[o] for yj, o in zip(y, obs, strict=True)])
    ZtZ = np.stack([Z[o].T @ Z[o] for o in obs])
    return ZtZ, ZtXy, Xy.T @ Xy, int(obs.sum()), int(obs.any(axis=1).sum()), k


def _ztxy(s):
    """``Z_j'[X_j y_j]`` of each group of statistics with one pattern per group."""
    assert np.all(s.count == 1)
    ZtX = np.broadcast_to(s.ZtX, (s.n, *s.ZtX.shape[1:]))
    return np.concatenate([ZtX, s.zy[..., None]], axis=-1)


def _direct_patterns(y, X, Z, obs):
    """Cross-products of one data set's patterns (groups observed at the same rows; patterns of
    several groups first, each in order of its first group) by explicit sums over the groups'
    observed rows."""
    ZtZ, ZtXy, XytXy, N, J, _ = _direct(y, X, Z, obs)
    keys = [o.tobytes() for o in obs]
    members = [[j for j, key in enumerate(keys) if key == u] for u in dict.fromkeys(keys)]
    members.sort(key=lambda g: (len(g) == 1, g[0]))
    zy = ZtXy[..., -1]
    return (np.array([len(g) for g in members]), np.stack([ZtZ[g[0]] for g in members]),
            np.stack([ZtXy[g[0], :, :-1] for g in members]),
            np.stack([zy[g].sum(axis=0) for g in members]),
            np.stack([np.einsum("jq,jr->qr", zy[g], zy[g]) for g in members]), XytXy, N, J)


@pytest.mark.parametrize("mask", ["complete", "random", "dropout"])
def test_replicates_match_direct_sums(mask):
    y, X, Z, obs = _data(k=6)
    if mask == "complete":
        obs = np.ones_like(obs)
    elif mask == "dropout":                             # 3 patterns in data set 0, 1 in 1 and 2
        obs = np.arange(4) < np.array([[3, 2, 4, 2, 4, 4], [3] * 6, [4] * 6])[..., None]
    s = stats_from_replicates(np.where(obs, y, np.nan), X, Z,
                              None if mask == "complete" else obs)
    assert (s.n, s.q, s.p) == (3, 2, 3)
    for i in range(3):
        count, ZtZ, ZtX, zy, Szz, XytXy, N, J = _direct_patterns(y[i], X, Z, obs[i])
        G = count.size
        np.testing.assert_array_equal(np.broadcast_to(s.count, (3, s.count.shape[1]))[i],
                                      np.pad(count, (0, s.count.shape[1] - G)))
        for name, want in (("ZtZ", ZtZ), ("ZtX", ZtX), ("zy", zy), ("Szz", Szz)):
            got = np.broadcast_to(getattr(s, name), (3, *getattr(s, name).shape[1:]))[i]
            np.testing.assert_allclose(got[:G], want, atol=1e-12, err_msg=name)
            assert not got[G:].any()                    # empty patterns pad the data set
        np.testing.assert_allclose(s.XytXy[i], XytXy, rtol=1e-12)
        assert s.n_obs[i] == N and s.n_groups[i] == J
    if mask == "dropout":
        assert s.count.tolist() == [[2, 3, 1], [6, 0, 0], [6, 0, 0]]   # several first


def test_distinct_masks_keep_one_pattern_per_group_in_order():
    y, X, Z, _ = _data(n=2, k=4, T=3)
    obs = np.array([[[1, 1, 1], [0, 1, 1], [1, 0, 1], [1, 1, 0]],
                    [[1, 1, 0], [1, 0, 1], [0, 1, 1], [1, 1, 1]]], dtype=bool)
    s = stats_from_replicates(np.where(obs, y, np.nan), X, Z, obs)
    per = per_group_stats(y, X, Z, obs)
    assert s.count.tolist() == [[1.0] * 4]             # shared by both data sets
    for name in ("ZtZ", "ZtX", "zy", "Szz", "XytXy", "outer"):
        np.testing.assert_allclose(getattr(s, name), getattr(per, name), rtol=1e-13,
                                   atol=1e-13, err_msg=name)


def test_collapsed_patterns_sum_the_groups():
    y, X, Z, _ = _data()
    one = stats_from_replicates(y, X, Z)
    per = per_group_stats(y, X, Z)
    assert one.count.shape == (1, 1) and one.count[0, 0] == 5
    assert per.count.shape == (3, 5) and np.all(per.count == 1)
    np.testing.assert_allclose(one.zy[:, 0], per.zy.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(one.Szz[:, 0], per.Szz.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(one.XytXy, per.XytXy, rtol=1e-12)
    np.testing.assert_allclose(one.outer.reshape(3, 3, -1),
                               per.outer.reshape(3, 3, 5, -1).sum(axis=2), rtol=1e-12)


def test_long_form_counts_empty_levels():
    y, X, Z, obs = _data(n=1)
    rows = np.argwhere(obs[0])                                  # (group, t) of observed rows
    long = stats_from_long(y[0][obs[0]], X[rows[:, 1]], Z[rows[:, 1]], rows[:, 0], 6)
    rep = per_group_stats(np.where(obs, y, np.nan), X, Z, obs)
    np.testing.assert_allclose(_ztxy(long)[:, :5], _ztxy(rep), atol=1e-12)
    np.testing.assert_allclose(long.XytXy, rep.XytXy, rtol=1e-12)
    assert long.zy.shape[1] == 6 and not _ztxy(long)[0, 5].any()   # level 6: no rows
    assert long.n_groups[0] == rep.n_groups[0] == obs[0].any(axis=1).sum()


def test_take_keeps_shared_arrays_and_caches():
    y, X, Z, _ = _data()
    s = stats_from_replicates(y, X, Z).with_outer()
    sub = s.take(np.array([2, 0]))
    assert sub.n == 2 and sub.ZtZ.shape[0] == 1 and "outer" in sub.__dict__
    np.testing.assert_array_equal(sub.outer, s.outer[[2, 0]])
    np.testing.assert_array_equal(sub.zy, s.zy[[2, 0]])


def test_reorder_terms_permutes_z():
    y, X, Z, _ = _data()
    s = per_group_stats(y, X, Z)
    r = s.reorder_terms(np.array([1, 0]))
    t = per_group_stats(y, X, Z[:, ::-1])
    for name in ("ZtZ", "ZtX", "zy", "XytXy", "Szz", "outer"):
        np.testing.assert_allclose(getattr(r, name), getattr(t, name), rtol=1e-12)
    assert isinstance(r, GroupStats)


@pytest.mark.parametrize("reml", [True, False])
def test_deviance_of_collapsed_patterns_equals_per_group(reml):
    from replic.lmm.deviance import deviance

    y, X, Z, _ = _data(k=7)
    theta = np.array([[[0.8, 0.1, 0.3], [1.5, -0.2, 0.05]]] * 3)
    one = deviance(stats_from_replicates(y, X, Z), theta, reml=reml)
    per = deviance(per_group_stats(y, X, Z), theta, reml=reml)
    assert np.isfinite(per).all()
    np.testing.assert_allclose(one, per, rtol=1e-12)
