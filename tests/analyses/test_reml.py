"""The ``reml`` analysis: protocol, agreement with fit_lmm per replicate, failures, run_study."""

from __future__ import annotations

import dataclasses
import pickle

import numpy as np
import pandas as pd
import pytest

from replic import Design
from replic.analyses import get_analysis
from replic.errors import ReplicInputError
from replic.lmm import fit_lmm
from replic.simulate import model_frame, simulate

X10 = tuple(range(10))
REQUIRED = ("estimate", "se", "lower", "upper", "p", "error")


@pytest.fixture(scope="module")
def reml():
    return get_analysis("reml")


def _long(y: np.ndarray) -> pd.DataFrame:
    k, T = y.shape
    d = pd.DataFrame({"y": y.ravel(), "Days": np.tile(np.arange(T, dtype=float), k),
                      "Subject": np.repeat(np.arange(k), T)})
    return d.dropna()


def test_protocol(reml, sleep_post):
    frame = model_frame(sleep_post, "Days", X10)
    assert (reml.name, reml.representation) == ("reml", "full")
    ctx = reml.prepare(sleep_post, frame, {})
    assert pickle.loads(pickle.dumps(ctx)) == ctx
    with pytest.raises(ReplicInputError, match="unknown option"):
        reml.prepare(sleep_post, frame, {"chains": 4})
    with pytest.raises(ReplicInputError, match="level"):
        reml.prepare(sleep_post, frame, {"level": 1.5})


@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_columns_agree_with_fit_lmm(reml, sleep_post, missing):
    design = Design(6, x=X10, missing=missing)
    frame = model_frame(sleep_post, "Days", X10)
    reps = simulate(sleep_post, design, frame, start=0, stop=40, seed=11)
    out = reml.run(reps, reml.prepare(sleep_post, frame, {}))
    for col in (*REQUIRED, "df", "converged", "singular", "subjects"):
        assert out[col].shape == (40,), col
    assert (out["subjects"] == 6).all()
    assert (out["error"] == "").all() and out["converged"].all()
    assert (out["lower"] < out["estimate"]).all() and (out["estimate"] < out["upper"]).all()
    if not missing:
        assert (out["df"][~out["singular"]] == 5).all()
    for i in (0, 13, 27):
        fit = fit_lmm(_long(reps.y[i]), "y ~ 1 + Days + (1 + Days | Subject)")
        row = fit.fixed.loc["Days"]
        for col in ("estimate", "se", "lower", "upper"):
            assert out[col][i] == pytest.approx(row[col], rel=1e-5), col
        assert out["df"][i] == pytest.approx(row["df"], rel=1e-3)
        assert out["p"][i] == pytest.approx(row["p"], rel=1e-3, abs=1e-12)
        assert out["singular"][i] == fit.singular


def test_moments_representation_is_refused(reml, sleep_post):
    frame = model_frame(sleep_post, "Days", X10)
    reps = simulate(sleep_post, Design(4, x=X10), frame, start=0, stop=5, seed=1,
                    representation="moments")
    with pytest.raises(ReplicInputError, match="full"):
        reml.run(reps, None)


def test_failed_replicates_are_recorded(reml, sleep_post):
    frame = model_frame(sleep_post, "Days", X10)
    reps = simulate(sleep_post, Design(4, x=X10, missing=0.1), frame, start=0, stop=6, seed=3)
    observed = reps.observed.copy()
    observed[2] = False
    observed[2, 0] = True                    # one subject left in replicate 2
    y = np.where(observed, reps.y, np.nan)
    out = reml.run(dataclasses.replace(reps, y=y, observed=observed), None)
    assert "fewer than 2 groups" in out["error"][2]
    assert out["subjects"][2] == 1 and out["subjects"][0] == 4
    assert np.isnan([out[c][2] for c in ("estimate", "se", "lower", "upper", "p")]).all()
    assert not out["converged"][2]
    ok = np.arange(6) != 2
    assert (out["error"][ok] == "").all() and np.isfinite(out["estimate"][ok]).all()


def test_run_study_with_reml(sleep_post):
    from replic import run_study

    res = run_study(sleep_post, [Design(4, x=X10), Design(6, x=X10, missing=0.2)], term="Days",
                    analysis="reml", reps=60, seed=5, n_jobs=1)
    table = res.replicates
    assert len(table) == 120
    assert (table["error"] == "").all()
    assert {"df", "singular", "converged"} <= set(table.columns)
    assert table["estimate"].notna().all()
    assert set(res.summary["design"]) == {d for d in table["design"]}


def test_random_intercept_posterior(reml, ri_post):
    """Varying intercepts only: the profiled engine (no closed form), balanced and missing."""
    frame = model_frame(ri_post, "Days", X10)
    assert ri_post.varying == ("Intercept",)
    for missing in (0.0, 0.25):
        reps = simulate(ri_post, Design(5, x=X10, missing=missing), frame, start=0, stop=20,
                        seed=8)
        out = reml.run(reps, None)
        assert (out["error"] == "").all() and out["converged"].all()
        for i in (0, 11):
            fit = fit_lmm(_long(reps.y[i]), "y ~ 1 + Days + (1 | Subject)")
            assert out["estimate"][i] == pytest.approx(fit.fixed.loc["Days", "estimate"], rel=1e-6)
            assert out["se"][i] == pytest.approx(fit.fixed.loc["Days", "se"], rel=1e-5)
            assert out["df"][i] == pytest.approx(fit.fixed.loc["Days", "df"], rel=1e-3)
