"""PyStan chains run one by one or side by side: the same draws, stitched by chain.

Each chain is seeded by (seed, chain id), so the draws of a fit cannot depend on how many chains
run at once, nor on which process runs them; arviz's R-hat and bulk ESS are computed over the
stitched chains.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest

from replic import ReplicFitError
from tests.stan.conftest import FORMULA

pytest.importorskip("stan", reason="PyStan is not installed")


@pytest.fixture(scope="module")
def sleep_data(sleepstudy):
    from replic.stan.data import stan_data

    return stan_data(sleepstudy, FORMULA)


def test_chains_one_at_a_time_give_the_same_draws(pystan_model, sleep_data):
    from replic.stan.diagnostics import convergence
    from replic.stan.fit import sample_draws

    opts = {"chains": 3, "warmup": 150, "draws": 100, "seed": 9}
    table, flat = sample_draws(pystan_model, sleep_data, **opts)
    table1, flat1 = sample_draws(pystan_model, sleep_data, **opts, parallel_chains=1)
    assert flat.equals(flat1) and table.equals(table1)
    assert flat.shape[0] == 300 and flat.columns[0] == "lp__" and "b.1" in flat.columns
    np.testing.assert_array_equal(flat[".chain"], np.repeat([1, 2, 3], 100))
    np.testing.assert_array_equal(flat[".iteration"], np.tile(np.arange(1, 101), 3))
    by_chain = [flat.loc[flat[".chain"] == c, "b.1"].to_numpy() for c in (1, 2, 3)]
    assert not np.array_equal(by_chain[0], by_chain[1])  # chains are seeded by their id
    # the first chain of a longer fit is the one-chain fit with the same seed
    _, one = sample_draws(pystan_model, sleep_data, **{**opts, "chains": 1})
    np.testing.assert_array_equal(one["b.1"].to_numpy(), by_chain[0])
    diag = convergence(table, flat["divergent__"].to_numpy(), ess_min=100.0)
    assert 1.0 <= diag["rhat"] < 1.1 and 30 < diag["ess_bulk"] < 1000


def test_chain_runs_only_in_the_thread_that_loads_the_model(pystan_model):
    from replic.stan.pystan_chain import module_path, runs_here

    assert module_path(pystan_model.model_name) is not None
    assert module_path("models/notcompiled") is None
    seen = []
    t = threading.Thread(target=lambda: seen.append(runs_here(pystan_model.model_name)))
    t.start()
    t.join()
    assert seen == [False]


def test_bad_data_is_a_fit_error(pystan_model, sleep_data):
    data = sleep_data.to_stan()
    data["g"] = data["g"] + 100  # levels out of range
    for width in (None, 1):
        with pytest.raises(ReplicFitError, match="PyStan sampling failed"):
            pystan_model.sample(data, chains=2, warmup=10, draws=10, seed=1,
                                parallel_chains=width)
