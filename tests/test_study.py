"""run_study end to end with the summary analysis."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import replic
from replic import Design, ReplicInputError

X10 = tuple(range(10))


@pytest.fixture(scope="module")
def result(sleep_post):
    return replic.run_study(sleep_post, [Design(k, x=X10) for k in (2, 3, 5, 10, 20)],
                            term="Days", reps=3000, seed=7)


def test_tables(result):
    s = result.summary
    assert {"design", "k", "criterion", "probability", "mcse", "lower", "upper"} <= set(s)
    assert len(s) == 5 * len(replic.CRITERIA)
    assert len(result.replicates) == 5 * 3000
    assert (result.replicates.groupby("k")["rep"].nunique() == 3000).all()
    assert set(result.k_needed["criterion"]) == set(replic.CRITERIA)
    assert len(result.type_sm) == 5
    assert result.original.estimate == pytest.approx(10.34, abs=0.01)


def test_power_increases_with_k(result):
    s = result.summary.query("criterion == 'sig_same_direction'").sort_values("k")
    assert np.all(np.diff(s["probability"]) > 0)
    assert s["probability"].iloc[-1] > 0.99


def test_sig_probability_closed_form(sleep_post, result):
    """P(t-test significant, positive) = E_s[P(T'_{k-1}(ncp) > t_crit)] with the per-draw
    noncentral t of the two-stage estimate (exact for the balanced design)."""
    from scipy import stats

    k = 5
    g = 1 / 82.5  # [(X'X)^-1]_tt for Days 0..9
    v = sleep_post.Sigma[:, 1, 1] + sleep_post.sigma**2 * g
    ncp = sleep_post.b[:, 1] / np.sqrt(v / k)
    p_true = stats.nct.sf(stats.t.isf(0.025, k - 1), k - 1, ncp).mean()
    row = result.summary.query("criterion == 'sig_same_direction' and k == @k").iloc[0]
    assert abs(row["probability"] - p_true) < 3 * row["mcse"]


def test_same_seed_same_numbers_any_n_jobs(sleep_post):
    designs = [Design(k, x=X10) for k in (3, 8)]
    a = replic.run_study(sleep_post, designs, term="Days", reps=2500, seed=3, n_jobs=1,
                         chunk_size=1000)
    b = replic.run_study(sleep_post, designs, term="Days", reps=2500, seed=3, n_jobs=2,
                         chunk_size=700)
    pd.testing.assert_frame_equal(a.summary, b.summary)
    pd.testing.assert_frame_equal(a.replicates, b.replicates)
    c = replic.run_study(sleep_post, designs, term="Days", reps=2500, seed=4)
    assert not a.replicates["estimate"].equals(c.replicates["estimate"])


def test_adding_a_design_leaves_others_unchanged(sleep_post):
    a = replic.run_study(sleep_post, [Design(4, x=X10)], term="Days", reps=500, seed=1)
    b = replic.run_study(sleep_post, [Design(9, x=X10), Design(4, x=X10)], term="Days",
                         reps=500, seed=1)
    pd.testing.assert_frame_equal(a.replicates, b.replicates.query("k == 4")
                                  .reset_index(drop=True))


def test_missing_design_and_fixed_params(sleep_post):
    r = replic.run_study(sleep_post, [Design(6, x=X10, missing=0.2, params="mean")],
                         term="Days", reps=400, seed=2)
    assert (r.replicates["draw"] == -1).all()
    assert np.allclose(r.replicates["true_effect"], sleep_post.b[:, 1].mean(), rtol=1e-12)
    assert r.summary["design"].iloc[0] == "k=6, Days 0–9, missing=0.2, params=mean"


def test_bad_arguments(sleep_post):
    with pytest.raises(ReplicInputError, match=r"say how each new subject is observed: x"):
        replic.run_study(sleep_post, [3], term="Days", reps=10, seed=0)
    with pytest.raises(ReplicInputError, match=r"Design: k=1"):
        replic.run_study(sleep_post, [1], term="Days", reps=10, seed=0)
    with pytest.raises(ReplicInputError, match=r"reps=0"):
        replic.run_study(sleep_post, [Design(3, x=X10)], term="Days", reps=0, seed=0)
    with pytest.raises(ReplicInputError, match=r"analysis='bogus'"):
        replic.run_study(sleep_post, [Design(3, x=X10)], term="Days", reps=10, seed=0,
                         analysis="bogus")
    with pytest.raises(ReplicInputError, match=r"term 'Age'"):
        replic.run_study(sleep_post, [Design(3, x=X10)], term="Age", reps=10, seed=0)


def test_write_and_read_back(result, tmp_path):
    from replic.results_io import read_results

    out = result.write(tmp_path / "res", report=False)
    back = read_results(out)
    pd.testing.assert_frame_equal(back["replicates"], result.replicates)
    assert np.allclose(back["summary"]["probability"], result.summary["probability"],
                       equal_nan=True)
    assert back["original"] == result.original
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
