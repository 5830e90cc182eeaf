"""The ``stan`` analysis: compiled once in the parent, replicates refitted in loky workers.

Real sampling on each backend (PyStan, CmdStan) with small chains (2 x 200 after 200 warm-up).
Reference: for a balanced complete design the GLS estimate of the Days effect is the mean of the
per-subject OLS estimates whatever the variance parameters, so the posterior mean must sit on it
up to Monte Carlo error.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np
import pandas as pd
import pytest
from joblib import Parallel, delayed

from replic import Design, ReplicInputError
from replic.analyses import get_analysis
from replic.analyses.summary import per_subject_ols
from replic.simulate import model_frame, simulate
from tests.stan.conftest import BACKENDS, need_backend

pytest.importorskip("arviz", reason="arviz is not installed")

X10 = tuple(float(d) for d in range(10))
SMALL = {"chains": 2, "warmup": 200, "draws": 200, "seed": 3}
COLUMNS = ("estimate", "se", "lower", "upper", "p", "error", "prob_positive", "rhat",
           "ess_bulk", "divergences", "converged")


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request) -> str:
    return need_backend(request.param)


@pytest.fixture(scope="module")
def post(sleep_post):
    from tests.stan.conftest import DATASETS, FORMULA

    data = pd.read_csv(DATASETS / "sleepstudy.csv")
    return dataclasses.replace(sleep_post, data=data, response="Reaction", formula=FORMULA)


@pytest.fixture(scope="module")
def frame(post):
    return model_frame(post, "Days", X10)


@pytest.fixture(scope="module")
def reps(post, frame):
    return simulate(post, Design(8, x=X10), frame, start=0, stop=4, seed=11)


@pytest.fixture(scope="module")
def small(backend) -> dict:
    return SMALL | {"backend": backend}


@pytest.fixture(scope="module")
def context(post, frame, small):
    return get_analysis("stan").prepare(post, frame, dict(small))


def _run_in_worker(reps, context):
    from replic.stan.pystan_chain import runs_here

    assert context.chains_at_once() == 1  # chains one at a time inside workers ...
    if context.model.backend == "pystan":  # ... in the worker's own main thread
        assert runs_here(context.model.model_name)
    return os.getpid(), get_analysis("stan").run(reps, context)


def test_prepare_compiles_once_with_original_priors(post, frame, small, caplog):
    from replic.stan.backends import compile_count

    an = get_analysis("stan")
    before = compile_count()
    with caplog.at_level(logging.INFO):
        ctx = an.prepare(post, frame, dict(small))
    assert compile_count() == before + 1 and ctx.model.backend == small["backend"]
    assert sum("compiling Stan program" in r.getMessage() for r in caplog.records) == 1
    assert ctx.priors.intercept.location == 288.7 and ctx.priors.sd.scale == 59.3
    assert ctx.ess_min == 200.0


def test_parallel_workers_agree_with_serial(reps, context, frame):
    an = get_analysis("stan")
    halves = [simulate_half for simulate_half in (_slice(reps, 0, 2), _slice(reps, 2, 4))]
    out = Parallel(n_jobs=2, backend="loky")(delayed(_run_in_worker)(h, context) for h in halves)
    pids = {pid for pid, _ in out}
    assert os.getpid() not in pids
    par = {k: np.concatenate([o[k] for _, o in out]) for k in out[0][1]}
    for col in COLUMNS:
        assert par[col].shape == (4,), col
    assert (par["error"] == "").all()
    assert context.chains_at_once() == context.chains  # all chains at once in this process
    serial = an.run(reps, context)  # same seeds per replicate and chain: identical draws
    for col in COLUMNS:
        np.testing.assert_array_equal(par[col], serial[col], err_msg=col)
    # reference: GLS estimate of a balanced design = mean of per-subject OLS estimates
    est, _ = per_subject_ols(reps.y, reps.observed, frame.X, frame.t)
    ols = est.mean(axis=1)
    assert np.all(np.abs(serial["estimate"] - ols) < 0.25 * serial["se"])
    assert np.all((serial["lower"] < serial["estimate"]) & (serial["estimate"] < serial["upper"]))
    pp = serial["prob_positive"]
    np.testing.assert_allclose(serial["p"], 2 * np.minimum(pp, 1 - pp))
    assert np.all(serial["rhat"] < 1.1) and np.all(serial["ess_bulk"] > 20)


def _slice(reps, lo, hi):
    fields = {f.name: getattr(reps, f.name) for f in dataclasses.fields(reps)}
    for name in ("rep", "draw", "beta", "Sigma", "sigma", "vbar", "y"):
        fields[name] = fields[name][lo:hi]
    return type(reps)(**fields)


def test_short_chains_are_flagged_not_converged(post, frame, reps, backend):
    an = get_analysis("stan")
    ctx = an.prepare(post, frame, {"chains": 2, "warmup": 15, "draws": 20, "backend": backend})
    res = an.run(_slice(reps, 0, 2), ctx)
    assert not res["converged"].any()
    assert (res["error"] == "").all() and np.isfinite(res["estimate"]).all()


def test_missing_observations_and_priors_from_replicate(sleep_post, frame, small):
    """Without data on the posterior each replicate gets its own brms default priors."""
    an = get_analysis("stan")
    ctx = an.prepare(sleep_post, frame, dict(small))
    assert ctx.priors is None
    r = simulate(sleep_post, Design(6, x=X10, missing=0.3), frame, start=0, stop=1, seed=2)
    res = an.run(r, ctx)
    assert res["error"][0] == "" and np.isfinite(res["estimate"][0])


def test_run_study_with_stan(post, small, caplog):
    """Per-replicate results are identical for n_jobs = 1 (chains side by side) and 2 (chains
    one at a time in each worker)."""
    from replic.study import run_study

    with caplog.at_level(logging.INFO):
        result = run_study(post, [Design(6)], term="Days", analysis="stan", reps=4, seed=5,
                           n_jobs=2, options=dict(small))
    assert sum("compiling Stan program" in r.getMessage() for r in caplog.records) == 1
    table = result.replicates
    assert len(table) == 4 and (table["error"] == "").all()
    for col in COLUMNS:
        assert col in table.columns, col
    serial = run_study(post, [Design(6)], term="Days", analysis="stan", reps=4, seed=5,
                       n_jobs=1, options=dict(small)).replicates
    cols, key = ["design", "rep", "draw", "seed", *COLUMNS], ["design", "rep"]
    pd.testing.assert_frame_equal(serial.sort_values(key)[cols].reset_index(drop=True),
                                  table.sort_values(key)[cols].reset_index(drop=True))


def test_bad_options(post, frame):
    an = get_analysis("stan")
    with pytest.raises(ReplicInputError, match="unknown option"):
        an.prepare(post, frame, {"iter": 10})
    with pytest.raises(ReplicInputError, match="chains"):
        an.prepare(post, frame, {"chains": 0})
    with pytest.raises(ReplicInputError, match="parallel_chains"):
        an.prepare(post, frame, {"parallel_chains": 0})


def test_two_group_design_refit_with_its_own_matrices(backend):
    """A between-subject design (age:SexMale, 5 + 5 new subjects): Stan refits the full
    interaction model on the design's rows; its posterior mean lies near the REML estimate of
    the same data set (flat-ish priors, 10 subjects)."""
    import dataclasses
    from pathlib import Path

    import pandas as pd

    from replic import Design, read_draws, run_study

    ref = Path(__file__).parents[1] / "data" / "brms"
    o = dataclasses.replace(read_draws(ref / "orthodont_draws.csv.gz"),
                            data=pd.read_csv(ref / "orthodont.csv"))
    d = Design(10, between={"Sex": {"Female": 0.5, "Male": 0.5}}, params="mean")
    st = run_study(o, [d], term="age:SexMale", analysis="stan", reps=2, seed=3, n_jobs=1,
                   options={"chains": 2, "warmup": 300, "draws": 300,
                            "backend": backend}).replicates
    re = run_study(o, [d], term="age:SexMale", analysis="reml", reps=2, seed=3,
                   n_jobs=1).replicates
    assert (st["error"] == "").all()
    assert (np.abs(st["estimate"] - re["estimate"]) < re["se"]).all()


def test_failed_fit_is_recorded_not_raised(reps, context, backend):
    """A replicate whose likelihood overflows cannot be initialised: its row carries the error."""
    fields = {f.name: getattr(reps, f.name) for f in dataclasses.fields(reps)}
    two = _slice(reps, 0, 2)
    y = two.y.copy()
    y[1] = y[1] * 1e300  # finite data, but (y - mu)^2 overflows at every initial value
    fields.update({name: getattr(two, name) for name in ("rep", "draw", "beta", "Sigma",
                                                         "sigma", "vbar")}, y=y)
    res = get_analysis("stan").run(type(reps)(**fields), context)
    assert res["error"][0] == "" and np.isfinite(res["estimate"][0])
    engine = "PyStan" if backend == "pystan" else "CmdStan"
    assert res["error"][1].startswith(f"ReplicFitError: {engine} sampling failed"), res["error"][1]
    assert not res["converged"][1] and np.isnan(res["estimate"][1]) and np.isnan(res["rhat"][1])


def test_backends_give_the_same_results(post, frame, reps):
    """The same replicate seeds give the same refits on PyStan and CmdStan (same sampler)."""
    an = get_analysis("stan")
    two = _slice(reps, 0, 2)
    out = [an.run(two, an.prepare(post, frame, SMALL | {"backend": need_backend(name)}))
           for name in BACKENDS]
    for col in COLUMNS:
        np.testing.assert_array_equal(out[0][col], out[1][col], err_msg=col)
