"""Both Stan backends behind one interface, each tested for real.

Compiling is counted and happens once per study; the compiled model is a picklable handle.  Chain
``c`` is seeded by (seed, ``c``) on both backends -- the same C++ sampler, the same random number
streams -- so a fit's draws do not depend on how many chains run at once, and PyStan and CmdStan
give the same draws for the same seed (CmdStan's CSV files carry 18 significant digits).
"""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from replic import ReplicFitError
from tests.stan.conftest import FORMULA, need_backend, sleepstudy_fit_of


@pytest.fixture(scope="module")
def sleep_data(sleepstudy):
    from replic.stan.data import stan_data

    return stan_data(sleepstudy, FORMULA)


def test_compile_is_counted_and_the_model_pickles(stan_model, backend):
    from replic.stan.backends import compile_count, compile_model

    before = compile_count()
    model = compile_model(backend=backend)  # found in the backend's cache
    assert compile_count() == before + 1
    clone = pickle.loads(pickle.dumps(model))
    assert clone == model == stan_model and clone.backend == backend


def test_chains_one_at_a_time_give_the_same_draws(stan_model, sleep_data):
    from replic.stan.diagnostics import convergence
    from replic.stan.fit import sample_draws

    opts = {"chains": 3, "warmup": 150, "draws": 100, "seed": 9}
    table, flat = sample_draws(stan_model, sleep_data, **opts)
    table1, flat1 = sample_draws(stan_model, sleep_data, **opts, parallel_chains=1)
    assert flat.equals(flat1) and table.equals(table1)
    assert flat.shape[0] == 300 and flat.columns[0] == "lp__" and "b.1" in flat.columns
    np.testing.assert_array_equal(flat[".chain"], np.repeat([1, 2, 3], 100))
    np.testing.assert_array_equal(flat[".iteration"], np.tile(np.arange(1, 101), 3))
    by_chain = [flat.loc[flat[".chain"] == c, "b.1"].to_numpy() for c in (1, 2, 3)]
    assert not np.array_equal(by_chain[0], by_chain[1])  # chains are seeded by their id
    # the first chain of a longer fit is the one-chain fit with the same seed
    _, one = sample_draws(stan_model, sleep_data, **{**opts, "chains": 1})
    np.testing.assert_array_equal(one["b.1"].to_numpy(), by_chain[0])
    diag = convergence(table, flat["divergent__"].to_numpy(), ess_min=100.0)
    assert 1.0 <= diag["rhat"] < 1.1 and 30 < diag["ess_bulk"] < 1000


def test_bad_data_is_a_fit_error(stan_model, backend, sleep_data):
    data = sleep_data.to_stan()
    data["g"] = data["g"] + 100  # levels out of range
    engine = {"pystan": "PyStan", "cmdstan": "CmdStan"}[backend]
    for width in (None, 1):
        with pytest.raises(ReplicFitError, match=f"{engine} sampling failed.*g"):
            stan_model.sample(data, chains=2, warmup=10, draws=10, seed=1,
                              parallel_chains=width)


def test_backends_give_the_same_draws(sleepstudy):
    """fit_posterior on sleepstudy, seed 2026: CmdStan's draws are PyStan's."""
    for name in ("pystan", "cmdstan"):
        need_backend(name)
    a = sleepstudy_fit_of("pystan", sleepstudy)
    b = sleepstudy_fit_of("cmdstan", sleepstudy)
    for name in ("b", "sd", "cor", "sigma", "r", "chain"):
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-12, atol=0,
                                   err_msg=name)
    for key in ("rhat", "ess_bulk", "divergences", "converged"):
        assert a.diagnostics[key] == pytest.approx(b.diagnostics[key], rel=1e-9), key
