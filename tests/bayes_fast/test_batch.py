"""bayes-fast on batches of replicates: agreement with single fits, seeding, diagnostics."""

import numpy as np
import pandas as pd
import pytest

from replic.bayes_fast import analyse_replicates, summarise_bayes_fast
from replic.priors import Priors, StudentT

T = 10
X = Z = np.column_stack([np.ones(T), np.arange(T, dtype=float)])


def _replicates(n, k, seed=0):
    rng = np.random.default_rng(seed)
    u = rng.normal(0, 1, (n, k, 2)) * [25.0, 6.5]
    return (251.4 + u[..., :1] + (10.5 + u[..., 1:]) * np.arange(T)
            + rng.normal(0, 25.9, (n, k, T)))


def _keys(n):
    return [[7, r] for r in range(n)]


def test_agrees_with_single_data_set_fits():
    y = _replicates(3, 6)
    out = analyse_replicates(y, X, Z, term=1, keys=_keys(3), draws=8000)
    for i in range(3):
        long = pd.DataFrame({"y": y[i].ravel(), "x": np.tile(np.arange(T), 6),
                             "g": np.repeat(np.arange(6), T)})
        ref = summarise_bayes_fast(long, "y ~ 1 + x + (1 + x | g)", draws=20000, seed=i)
        sd = ref.loc["b_x", "sd"]
        for ours, theirs in (("estimate", "mean"), ("se", "sd"), ("lower", "q2.5"),
                             ("upper", "q97.5")):
            assert abs(out[ours][i] - ref.loc["b_x", theirs]) < 0.1 * sd, (i, ours)
        assert abs(out["prob_positive"][i] - ref.loc["b_x", "prob_positive"]) < 0.01
    np.testing.assert_allclose(out["p"], 2 * np.minimum(out["prob_positive"],
                                                        1 - out["prob_positive"]))


def test_results_do_not_depend_on_batching():
    y = _replicates(9, 4, seed=1)
    whole = analyse_replicates(y, X, Z, term=1, keys=_keys(9), draws=500)
    parts = [analyse_replicates(y[a:b], X, Z, term=1, keys=_keys(9)[a:b], draws=500)
             for a, b in ((0, 4), (4, 9))]
    small_chunks = analyse_replicates(y, X, Z, term=1, keys=_keys(9), draws=500,
                                      max_chunk_elements=1500)
    for key in ("estimate", "se", "lower", "upper", "khat", "ess"):
        joined = np.concatenate([p[key] for p in parts])
        np.testing.assert_allclose(joined, whole[key], rtol=1e-9)
        np.testing.assert_allclose(small_chunks[key], whole[key], rtol=1e-9)


def test_khat_for_every_replicate_and_flags():
    y = _replicates(12, 3, seed=2)
    observed = np.random.default_rng(3).random(y.shape) > 0.2
    out = analyse_replicates(np.where(observed, y, np.nan), X, Z, term=1, keys=_keys(12),
                             observed=observed, draws=1000)
    assert np.all(np.isfinite(out["khat"])) and np.all(out["ess"] > 100)
    assert out["flagged"].dtype == bool and np.array_equal(out["flagged"], out["khat"] > 0.7)
    hard = Priors(intercept=StudentT(3.0, 400.0, 0.5), sd=StudentT(3.0, 0.0, 60.0),
                  sigma=StudentT(3.0, 0.0, 60.0))
    flagged = analyse_replicates(y[:4], X, Z, term=1, keys=_keys(4), priors=hard, draws=1000)
    assert flagged["flagged"].all()


@pytest.mark.parametrize("k", [2, 3])
def test_few_subjects_still_sampled_well(k):
    y = _replicates(40, k, seed=4)
    out = analyse_replicates(y, X, Z, term=1, keys=_keys(40), draws=1000)
    assert np.median(out["khat"]) < 0.5 and out["flagged"].mean() <= 0.1
    assert np.all(out["lower"] < out["estimate"]) and np.all(out["estimate"] < out["upper"])
