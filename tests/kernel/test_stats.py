"""One set of sufficient statistics for both LMM kernels: long form, replicates (complete and
masked), collapsed patterns and one pattern per group agree with direct sums over the rows."""

import numpy as np
import pytest

from replic.kernel.stats import GroupStats, stats_from_long, stats_from_replicates


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


@pytest.mark.parametrize("masked", [False, True])
def test_replicates_match_direct_sums(masked):
    y, X, Z, obs = _data()
    if not masked:
        obs = np.ones_like(obs)
    s = stats_from_replicates(np.where(obs, y, np.nan), X, Z, obs)   # all True: per group
    assert s.count.shape == (1, 5) and (s.n, s.q, s.p) == (3, 2, 3)
    for i in range(3):
        ZtZ, ZtXy, XytXy, N, J, _ = _direct(y[i], X, Z, obs[i])
        np.testing.assert_allclose(np.broadcast_to(s.ZtZ, (3, 5, 2, 2))[i], ZtZ, atol=1e-12)
        np.testing.assert_allclose(_ztxy(s)[i], ZtXy, atol=1e-12)
        zy = ZtXy[..., -1]
        np.testing.assert_allclose(s.Szz[i], zy[:, :, None] * zy[:, None, :], atol=1e-12)
        np.testing.assert_allclose(s.XytXy[i], XytXy, rtol=1e-12)
        assert s.n_obs[i] == N and s.n_groups[i] == J


def test_collapsed_patterns_sum_the_groups():
    y, X, Z, _ = _data()
    one = stats_from_replicates(y, X, Z)
    per = stats_from_replicates(y, X, Z, np.ones(y.shape, dtype=bool))
    assert one.count.shape == (1, 1) and one.count[0, 0] == 5
    assert per.count.shape == (1, 5) and np.all(per.count == 1)
    np.testing.assert_allclose(one.zy[:, 0], per.zy.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(one.Szz[:, 0], per.Szz.sum(axis=1), rtol=1e-12)
    np.testing.assert_allclose(one.XytXy, per.XytXy, rtol=1e-12)
    np.testing.assert_allclose(one.outer.reshape(3, 3, -1),
                               per.outer.reshape(3, 3, 5, -1).sum(axis=2), rtol=1e-12)


def test_long_form_equals_replicates_and_counts_empty_levels():
    y, X, Z, obs = _data(n=1)
    rows = np.argwhere(obs[0])                                  # (group, t) of observed rows
    long = stats_from_long(y[0][obs[0]], X[rows[:, 1]], Z[rows[:, 1]], rows[:, 0], 6)
    rep = stats_from_replicates(np.where(obs, y, np.nan), X, Z, obs)
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
    s = stats_from_replicates(y, X, Z, np.ones(y.shape, dtype=bool))
    r = s.reorder_terms(np.array([1, 0]))
    t = stats_from_replicates(y, X, Z[:, ::-1], np.ones(y.shape, dtype=bool))
    for name in ("ZtZ", "ZtX", "zy", "XytXy", "Szz", "outer"):
        np.testing.assert_allclose(getattr(r, name), getattr(t, name), rtol=1e-12)
    assert isinstance(r, GroupStats)


@pytest.mark.parametrize("reml", [True, False])
def test_deviance_of_collapsed_patterns_equals_per_group(reml):
    from replic.lmm.deviance import deviance

    y, X, Z, _ = _data(k=7)
    theta = np.array([[[0.8, 0.1, 0.3], [1.5, -0.2, 0.05]]] * 3)
    one = deviance(stats_from_replicates(y, X, Z), theta, reml=reml)
    per = deviance(stats_from_replicates(y, X, Z, np.ones(y.shape, dtype=bool)), theta,
                   reml=reml)
    assert np.isfinite(per).all()
    np.testing.assert_allclose(one, per, rtol=1e-12)
