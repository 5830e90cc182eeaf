"""The summary analysis: closed forms, and moments vs full-data simulation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from replic import Design
from replic.analyses.summary import ANALYSIS, per_subject_ols
from replic.simulate import model_frame, simulate

X10 = tuple(range(10))


def test_realised_effect_closed_form(sleep_post):
    """P(realised effect > 0) at k = 3 equals E_s[Phi(beta_s / (tau_s / sqrt(3)))]."""
    frame = model_frame(sleep_post, "Days", X10)
    R = 200_000
    r = simulate(sleep_post, Design(3, x=X10), frame, start=0, stop=R, seed=21,
                 representation="moments")
    p_hat = (r.realised_effect > 0).mean()
    tau = np.sqrt(sleep_post.Sigma[:, 1, 1])
    p_true = stats.norm.cdf(sleep_post.b[:, 1] / (tau / np.sqrt(3))).mean()
    mcse = np.sqrt(p_hat * (1 - p_hat) / R)
    assert abs(p_hat - p_true) < 3 * mcse


@pytest.mark.parametrize("k", [3, 12])
def test_moments_match_full_data(sleep_post, k):
    """Sufficient-statistic (moments) and full-data simulation: same distribution of the
    per-subject-OLS estimate, its SE and the realised effect."""
    frame = model_frame(sleep_post, "Days", X10)
    d = Design(k, x=X10)
    R = 20_000
    mom = ANALYSIS.run(simulate(sleep_post, d, frame, start=0, stop=R, seed=1,
                                representation="moments"))
    full_reps = simulate(sleep_post, d, frame, start=0, stop=R, seed=2)
    assert full_reps.ols_mean is None
    full = ANALYSIS.run(full_reps)
    for col in ("estimate", "se"):
        a, b = mom[col], full[col]
        assert abs(a.mean() - b.mean()) < 4 * np.sqrt(a.var() / R + b.var() / R), col
        assert a.std() == pytest.approx(b.std(), rel=0.04), col
        assert stats.ks_2samp(a, b).pvalue > 1e-3, col
    assert (mom["df"] == k - 1).all() and (full["error"] == "").all()


def test_full_data_estimate_is_mean_of_slopes(sleep_post):
    frame = model_frame(sleep_post, "Days", X10)
    r = simulate(sleep_post, Design(4, x=X10), frame, start=0, stop=3, seed=0)
    res = ANALYSIS.run(r)
    for i in range(3):
        slopes = [np.polyfit(X10, r.y[i, j], 1)[0] for j in range(4)]
        assert res["estimate"][i] == pytest.approx(np.mean(slopes), rel=1e-10)
        assert res["se"][i] == pytest.approx(np.std(slopes, ddof=1) / 2, rel=1e-10)
        t = stats.t.isf(0.025, 3)
        assert res["upper"][i] == pytest.approx(np.mean(slopes) + t * res["se"][i], rel=1e-10)
        p = 2 * stats.t.sf(abs(res["estimate"][i] / res["se"][i]), 3)
        assert res["p"][i] == pytest.approx(p, rel=1e-9)


def test_missing_observations(sleep_post):
    frame = model_frame(sleep_post, "Days", X10)
    r = simulate(sleep_post, Design(5, x=X10, missing=0.3), frame, start=0, stop=50, seed=4)
    est, ok = per_subject_ols(r.y, r.observed, frame.X, frame.t)
    i, j = np.argwhere(ok)[0]
    m = r.observed[i, j]
    assert est[i, j] == pytest.approx(np.polyfit(np.array(X10)[m], r.y[i, j][m], 1)[0], rel=1e-9)
    res = ANALYSIS.run(r)
    assert np.array_equal(res["subjects"], ok.sum(axis=1))


def test_too_few_subjects_is_an_error_row(sleep_post):
    """With 95% of observations missing most subjects have no slope: recorded, not dropped."""
    frame = model_frame(sleep_post, "Days", X10)
    r = simulate(sleep_post, Design(2, x=X10, missing=0.9), frame, start=0, stop=200, seed=4)
    res = ANALYSIS.run(r)
    bad = res["subjects"] < 2
    assert bad.any() and (~bad).any()
    assert (res["error"][bad] != "").all() and np.isnan(res["estimate"][bad]).all()
    assert (res["error"][~bad] == "").all() and np.isfinite(res["estimate"][~bad]).all()
