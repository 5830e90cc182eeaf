"""Designs as the user's experiment: each design's power against its own closed form.

Parameters are fixed at the posterior mean (``params="mean"``: conditional power), so every
replicate's per-subject coefficient is ``beta + v_i + e_i`` with ``v_i ~ N(0, tau^2)`` and OLS
noise ``sigma^2 g`` (``g = [(X'X)^-1]_tt`` of one subject's rows): the two-stage t test has
exactly noncentral-t power, and so has REML whenever its variance estimate is interior (rare
boundary fits make REML differ; the designs below are chosen where they are rare).  Each
probability is compared within 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import replic
from replic import Design, run_study
from replic.errors import ReplicInputError

REF = Path(__file__).parent / "data" / "brms"
SIG = "sig_same_direction"


def one_sample_power(delta: float, var: float, k: int) -> float:
    """P(t > t_.975) for the one-sample t of k subjects' coefficients ~ N(delta, var)."""
    return float(stats.nct.sf(stats.t.isf(0.025, k - 1), k - 1, delta / np.sqrt(var / k)))


def two_sample_power(delta: float, var: float, n1: int, n0: int) -> float:
    df = n1 + n0 - 2
    return float(stats.nct.sf(stats.t.isf(0.025, df), df,
                              delta / np.sqrt(var * (1 / n1 + 1 / n0))))


def g_of(x) -> float:
    x = np.asarray(x, dtype=float)
    return 1.0 / np.sum((x - x.mean()) ** 2)


def _sig(result: replic.StudyResult) -> pd.DataFrame:
    return result.summary[result.summary["criterion"] == SIG].set_index("design")


@pytest.fixture(scope="module")
def sleep_point(sleep_post):
    p = sleep_post.point("mean")
    return p["b"][1], p["sd"][1] ** 2, float(p["sigma"]) ** 2


@pytest.fixture(scope="module")
def orthodont():
    post = replic.read_draws(REF / "orthodont_draws.csv.gz")
    return dataclasses.replace(post, data=pd.read_csv(REF / "orthodont.csv"))


def test_subjects_or_sessions_each_design_its_own_power(sleep_post, sleep_point):
    """Designs differing only in the number of sessions are separate rows, each at its own
    noncentral-t power; k_needed is found per family (same sessions, any k)."""
    beta, tau2, s2 = sleep_point
    designs = [Design(k, x=range(n), params="mean") for n in (3, 5, 10) for k in (4, 8)]
    res = run_study(sleep_post, designs, term="Days", reps=3000, seed=11, target=0.75,
                     n_jobs=1)
    sig = _sig(res)
    assert len(sig) == 6 and res.summary.groupby("design").size().eq(8).all()
    for d in designs:
        row = sig.loc[f"k={d.k}, Days 0–{len(d.x) - 1}, params=mean"]
        want = one_sample_power(beta, tau2 + s2 * g_of(d.x), d.k)
        assert row["n"] == 3000 and abs(row["probability"] - want) < 4 * row["mcse"]
    kn = res.k_needed[res.k_needed["criterion"] == SIG].set_index("family")["k"]
    # closed forms: 0-9 sessions 0.50 (k=4) / 0.93 (k=8); 0-4: 0.28 / 0.67; 0-2: 0.12 / 0.26
    assert kn["Days 0–9, params=mean"] == 8
    assert np.isnan(kn["Days 0–4, params=mean"]) and np.isnan(kn["Days 0–2, params=mean"])


def test_sessions_reml(sleep_post, sleep_point):
    beta, tau2, s2 = sleep_point
    designs = [Design(6, x=range(n), params="mean") for n in (7, 10)]
    sig = _sig(run_study(sleep_post, designs, term="Days", analysis="reml", reps=2000, seed=5,
                    n_jobs=1))
    for d in designs:
        row = sig.loc[f"k=6, Days 0–{len(d.x) - 1}, params=mean"]
        want = one_sample_power(beta, tau2 + s2 * g_of(d.x), 6)
        assert abs(row["probability"] - want) < 4 * row["mcse"]


@pytest.mark.parametrize("analysis", ["summary", "reml"])
def test_trial_level_design(sleep_post, sleep_point, analysis):
    """20 trials per condition: power of the per-subject mean differences, variance
    tau^2 + sigma^2 (1/20 + 1/20)."""
    beta, tau2, s2 = sleep_point
    d = Design(5, x=[0] * 20 + [1] * 20, params="mean")
    row = _sig(run_study(sleep_post, [d], term="Days", analysis=analysis, reps=3000,
                         seed=7, n_jobs=1)).iloc[0]
    want = one_sample_power(beta, tau2 + s2 * (1 / 20 + 1 / 20), 5)
    assert abs(row["probability"] - want) < 4 * row["mcse"]
    # the collapsed design (one observation per condition) has far less power
    assert one_sample_power(beta, tau2 + 2 * s2, 5) < want - 0.1


@pytest.mark.parametrize(("analysis", "k"), [("summary", 16), ("summary", 30), ("reml", 30)])
def test_between_subject_interaction(orthodont, analysis, k):
    """age:SexMale with new subjects allocated 50/50: the two-sample noncentral-t power of the
    balanced design (ages 8-14 from the original data)."""
    p = orthodont.point("mean")
    var = p["sd"][1] ** 2 + float(p["sigma"]) ** 2 * g_of([8, 10, 12, 14])
    d = Design(k, between={"Sex": {"Female": 0.5, "Male": 0.5}}, params="mean")
    res = run_study(orthodont, [d], term="age:SexMale", analysis=analysis, reps=2000, seed=3,
                     n_jobs=1)
    row = _sig(res).iloc[0]
    assert row.name == f"k={k}, age 8,10,12,14, Sex 50/50, params=mean"
    want = two_sample_power(p["b"][3], var, k // 2, k - k // 2)
    assert abs(row["probability"] - want) < 4 * row["mcse"]
    rep = res.replicates
    assert (rep["true_effect"] == p["b"][3]).all()
    assert rep["realised_effect"].std() == pytest.approx(
        p["sd"][1] * np.sqrt(4 / k), rel=0.1)  # mean Male minus mean Female age deviation


def test_summary_refuses_what_two_stage_cannot_do(sleep_post):
    post = dataclasses.replace(sleep_post, fixed=("Intercept", "Days", "base", "Days:base"),
                               b=np.column_stack([sleep_post.b, np.zeros((4000, 2))]))
    d = Design(6, x=range(4), covariates={"base": ("normal", 0, 1)})
    with pytest.raises(ReplicInputError, match=r"continuous subject-level covariate; use reml"):
        run_study(post, [d], term="Days", reps=10, seed=0, n_jobs=1)
    with pytest.raises(ReplicInputError, match=r"cannot estimate 'base'.*use reml"):
        run_study(post, [d], term="base", reps=10, seed=0, n_jobs=1)
    res = run_study(post, [d], term="Days", analysis="reml", reps=20, seed=0, n_jobs=1)
    assert (res.replicates["error"] == "").all()


def test_bayes_fast_fits_each_design_with_its_own_matrices(sleep_post):
    """Two designs with the same number of rows but different x: each design's rows are what it
    gives alone (not the first design's X), and posterior means track REML estimates."""
    a, b = Design(4, x=[0, 1, 2, 3]), Design(4, x=[0, 3, 6, 9])
    opts = {"draws": 200}
    both = run_study(sleep_post, [a, b], term="Days", analysis="bayes-fast", reps=6, seed=2,
                     options=opts, n_jobs=1).replicates
    alone = run_study(sleep_post, [b], term="Days", analysis="bayes-fast", reps=6, seed=2,
                      options=opts, n_jobs=1).replicates
    got = both[both["design"] == "k=4, Days 0,3,6,9"]["estimate"].to_numpy()
    assert np.array_equal(got, alone["estimate"].to_numpy())
    reml = run_study(sleep_post, [b], term="Days", analysis="reml", reps=6, seed=2,
                      n_jobs=1).replicates
    assert np.allclose(got, reml["estimate"], atol=3 * reml["se"].max())


def test_seeding_rule_holds_for_new_designs(orthodont):
    """Same numbers for any n_jobs; adding a design leaves the others' numbers unchanged."""
    d1 = Design(8, between={"Sex": {"Female": 0.5, "Male": 0.5}})
    d2 = Design(10, within="original", missing=0.1)
    one = run_study(orthodont, [d1], term="age:SexMale", analysis="reml", reps=40, seed=9,
                    n_jobs=1).replicates
    two = run_study(orthodont, [d2, d1], term="age:SexMale", analysis="reml", reps=40, seed=9,
                    n_jobs=2, chunk_size=7).replicates
    two = two[two["design"] == one["design"].iloc[0]].reset_index(drop=True)
    cols = ["rep", "draw", "estimate", "se", "df", "realised_effect"]
    pd.testing.assert_frame_equal(one[cols], two[cols])


def test_between_subject_contrast(orthodont):
    """SexMale (the sex difference at age 0, the model also having age:SexMale): two-sample t of
    per-subject intercepts, variance sd_Intercept^2 + sigma^2 [(X'X)^-1]_00; equal to REML's
    estimate in this balanced design."""
    p = orthodont.point("mean")
    X = np.column_stack([np.ones(4), [8, 10, 12, 14]])
    var = p["sd"][0] ** 2 + float(p["sigma"]) ** 2 * np.linalg.inv(X.T @ X)[0, 0]
    d = Design(40, between={"Sex": {"Female": 0.5, "Male": 0.5}}, params="mean")
    res = run_study(orthodont, [d], term="SexMale", reps=2000, seed=4, n_jobs=1)
    row = _sig(res).iloc[0]
    # the original's SexMale is negative: "significant in the original's direction" is t < -t*
    want = two_sample_power(-p["b"][2], var, 20, 20)
    assert abs(row["probability"] - want) < 4 * row["mcse"]
    reml = run_study(orthodont, [d], term="SexMale", analysis="reml", reps=50, seed=4,
                     n_jobs=1).replicates
    assert np.allclose(reml["estimate"], res.replicates["estimate"][:50], rtol=1e-6)
