"""The ``stan`` analysis on bernoulli and binomial studies: refits of simulated replicates.

Real sampling on each backend with small chains (2 x 150 after 150 warm-up; the figures are not
the point here, the plumbing is): a bernoulli study end to end through ``run_study`` (MASS
bacteria, brms's posterior), binomial replicates whose successes count out of each row's trials
(lme4 cbpp), the same results on both backends, and a replicate whose data the family cannot
have recorded as a failed fit.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic import Design, read_draws
from replic.analyses import get_analysis
from replic.simulate import model_frame, simulate
from tests.stan.conftest import BACKENDS, need_backend

pytest.importorskip("arviz", reason="arviz is not installed")

GLMM = Path(__file__).resolve().parents[1] / "data" / "glmm"
SMALL = {"chains": 2, "warmup": 150, "draws": 150, "seed": 3}
WEEKS = (0.0, 2.0, 4.0, 6.0, 11.0)


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    return need_backend(request.param)


@pytest.fixture(scope="module")
def bacteria():
    return read_draws("replic:bacteria_brms_draws.csv.gz", family="bernoulli")


@pytest.fixture(scope="module")
def cbpp():
    post = read_draws(GLMM / "cbpp_brms_draws.csv.gz", family="binomial")
    return dataclasses.replace(post, data=pd.read_csv(GLMM / "cbpp.csv", dtype={"period": str}),
                               formula="incidence | trials(size) ~ period + (1 | herd)",
                               response="incidence")


def test_bernoulli_study(bacteria, backend):
    from replic.study import run_study

    res = run_study(bacteria, [Design(12, x=WEEKS)], term="week", analysis="stan", reps=2,
                    seed=4, n_jobs=1, options=SMALL | {"backend": backend})
    t = res.replicates
    assert len(t) == 2 and (t["error"] == "").all(), t["error"].tolist()
    assert np.isfinite(t["estimate"]).all() and (t["se"] > 0).all()
    assert ((t["lower"] < t["estimate"]) & (t["estimate"] < t["upper"])).all()
    assert t["prob_positive"].between(0, 1).all() and np.isfinite(t["rhat"]).all()
    sig = res.summary.set_index("criterion").loc["sig_same_direction"]
    assert sig["n"] == 2 and sig["n_failed"] == 0 and 0 <= sig["probability"] <= 1
    assert np.isfinite(sig["mcse"])


def test_binomial_replicates_on_both_backends_and_failures(cbpp):
    """Binomial refits with each row's trials: identical on PyStan and CmdStan; a replicate with
    more successes than trials is a recorded failure, not an exception."""
    design = Design(6, within="original")  # the original herds' rows and sizes (trials)
    frame = model_frame(cbpp, "period2", design)
    reps = simulate(cbpp, design, frame, start=0, stop=2, seed=8)
    assert len(set(reps.trials)) > 1 and np.nanmax(reps.y - reps.trials) <= 0
    an = get_analysis("stan")
    out = []
    for name in BACKENDS:
        ctx = an.prepare(cbpp, frame, SMALL | {"backend": need_backend(name)})
        assert ctx.family == "binomial" and ctx.priors.sigma is None
        out.append(an.run(reps, ctx))
    for col in ("estimate", "se", "lower", "upper", "prob_positive", "rhat", "ess_bulk"):
        np.testing.assert_array_equal(out[0][col], out[1][col], err_msg=col)
    assert (out[0]["error"] == "").all() and np.isfinite(out[0]["estimate"]).all()
    bad = dataclasses.replace(reps, y=np.where(np.isfinite(reps.y), reps.trials + 1, reps.y))
    res = an.run(bad, ctx)
    assert res["error"][0].startswith("ReplicInputError: Stan data: response")
    assert "between 0 and the trials" in res["error"][0]
    assert not res["converged"][0] and np.isnan(res["estimate"][0])
