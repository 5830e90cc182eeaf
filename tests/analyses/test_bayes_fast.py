"""The ``bayes-fast`` analysis: protocol, columns, agreement with single fits, run_study."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from replic import Design
from replic.analyses import get_analysis
from replic.bayes_fast import summarise_bayes_fast
from replic.errors import ReplicInputError
from replic.simulate import model_frame, simulate

X10 = tuple(range(10))
REQUIRED = ("estimate", "se", "lower", "upper", "p", "error")
EXTRA = ("prob_positive", "khat", "ess", "flagged")


@pytest.fixture(scope="module")
def bf():
    return get_analysis("bayes-fast")


def test_protocol(bf, sleep_post):
    frame = model_frame(sleep_post, "Days", X10)
    assert (bf.name, bf.representation) == ("bayes-fast", "full")
    ctx = bf.prepare(sleep_post, frame, {"draws": 500})
    again = pickle.loads(pickle.dumps(ctx))
    assert again.draws == 500 and again.intercept == ctx.intercept
    with pytest.raises(ReplicInputError, match="unknown option"):
        bf.prepare(sleep_post, frame, {"chains": 4})
    with pytest.raises(ReplicInputError, match="draws"):
        bf.prepare(sleep_post, frame, {"draws": 10})
    moments = simulate(sleep_post, Design(4, x=X10), frame, start=0, stop=3, seed=1,
                       representation="moments")
    with pytest.raises(ReplicInputError, match="full"):
        bf.run(moments, ctx)


def test_priors_chosen_as_the_stan_analysis_does(bf, sleep_post):
    import dataclasses

    from tests.conftest import DATASETS

    frame = model_frame(sleep_post, "Days", X10)
    assert bf.prepare(sleep_post, frame, {}).priors is None          # per-replicate defaults
    data = pd.read_csv(DATASETS / "sleepstudy.csv")
    with_data = dataclasses.replace(sleep_post, data=data, response="Reaction")
    pri = bf.prepare(with_data, frame, {}).priors                     # the original's defaults
    assert (pri.intercept.location, pri.intercept.scale, pri.sd.scale) == (288.7, 59.3, 59.3)


@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_columns_and_agreement_with_single_fits(bf, sleep_post, missing):
    design = Design(5, x=X10, missing=missing)
    frame = model_frame(sleep_post, "Days", X10)
    reps = simulate(sleep_post, design, frame, start=0, stop=12, seed=11)
    out = bf.run(reps, bf.prepare(sleep_post, frame, {"draws": 8000}))
    for col in (*REQUIRED, *EXTRA):
        assert out[col].shape == (12,), col
    assert (out["error"] == "").all() and np.isfinite(out["khat"]).all()
    assert (out["lower"] < out["estimate"]).all() and (out["estimate"] < out["upper"]).all()
    np.testing.assert_allclose(out["p"], 2 * np.minimum(out["prob_positive"],
                                                        1 - out["prob_positive"]))
    for i in (0, 7):
        y = reps.y[i]
        long = pd.DataFrame({"Reaction": y.ravel(), "Days": np.tile(np.arange(10.0), 5),
                             "Subject": np.repeat(np.arange(5), 10)}).dropna()
        ref = summarise_bayes_fast(long, "Reaction ~ 1 + Days + (1 + Days | Subject)",
                                   draws=20000, seed=i).loc["b_Days"]
        # Monte Carlo error only (same posterior); tail quantiles of k = 5 posteriors are noisier
        for ours, theirs, tol in (("estimate", "mean", 0.05), ("se", "sd", 0.05),
                                  ("lower", "q2.5", 0.15), ("upper", "q97.5", 0.15)):
            assert abs(out[ours][i] - ref[theirs]) < tol * ref["sd"], (i, ours)


def test_independent_of_batching(bf, sleep_post):
    design = Design(4, x=X10)
    frame = model_frame(sleep_post, "Days", X10)
    ctx = bf.prepare(sleep_post, frame, {"draws": 300, "seed": 4})
    whole = bf.run(simulate(sleep_post, design, frame, start=0, stop=10, seed=2), ctx)
    a = bf.run(simulate(sleep_post, design, frame, start=0, stop=3, seed=2), ctx)
    b = bf.run(simulate(sleep_post, design, frame, start=3, stop=10, seed=2), ctx)
    np.testing.assert_allclose(np.concatenate([a["estimate"], b["estimate"]]),
                               whole["estimate"], rtol=1e-9)


def test_run_study_with_bayes_fast(sleep_post):
    from replic import run_study

    res = run_study(sleep_post, [Design(3, x=X10), Design(8, x=X10, missing=0.1)], term="Days",
                    analysis="bayes-fast", reps=40, seed=5, n_jobs=1, options={"draws": 500})
    table = res.replicates
    assert len(table) == 80 and (table["error"] == "").all()
    assert {"khat", "ess", "flagged", "prob_positive"} <= set(table.columns)
    assert table["estimate"].notna().all() and table["khat"].notna().all()


@pytest.mark.slow
def test_flagged_replicates_refitted_with_stan(bf, sleep_post):
    """The deliberately hard case (a sharp intercept prior far from the data) is flagged, and
    with ``refit_flagged`` its summaries come from the ``stan`` analysis (small chains)."""
    pytest.importorskip("stan", reason="PyStan is not installed")
    from replic.priors import Priors, StudentT

    hard = Priors(intercept=StudentT(3.0, 400.0, 0.5), sd=StudentT(3.0, 0.0, 60.0),
                  sigma=StudentT(3.0, 0.0, 60.0))
    frame = model_frame(sleep_post, "Days", X10)
    reps = simulate(sleep_post, Design(6, x=X10), frame, start=0, stop=1, seed=2)
    ctx = bf.prepare(sleep_post, frame, {"priors": hard, "refit_flagged": True, "stan_options": {
        "chains": 2, "warmup": 200, "draws": 200, "seed": 1}})
    out = bf.run(reps, ctx)
    assert out["flagged"].all() and out["refit"].all() and (out["error"] == "").all()
    assert np.isfinite(out["rhat"]).all() and out["lower"][0] < out["upper"][0]
