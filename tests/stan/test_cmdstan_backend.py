"""The CmdStan backend (cmdstanpy): runs where CmdStan is installed, skips with the reason here."""

from __future__ import annotations

import numpy as np
import pytest

from replic import ReplicFitError
from replic.stan.cmdstan_backend import cmdstan_available
from tests.stan.conftest import FORMULA

HAVE, WHY = cmdstan_available()
requires_cmdstan = pytest.mark.skipif(not HAVE, reason=f"requires CmdStan: {WHY}")


@pytest.mark.skipif(HAVE, reason="CmdStan is installed")
def test_missing_cmdstan_is_a_clear_fit_error():
    from replic.stan.backends import compile_model

    with pytest.raises(ReplicFitError, match=r"CmdStan is not installed|cmdstanpy is not"):
        compile_model(backend="cmdstan")


@pytest.mark.requires_cmdstan
@requires_cmdstan
def test_cmdstan_fit_matches_brms_and_reads_back(sleepstudy, brms_draws, tmp_path):
    import replic
    from replic.stan.fit import fit_posterior

    post = fit_posterior(sleepstudy, FORMULA, backend="cmdstan", output_dir=tmp_path, seed=1,
                         quiet=True)
    for name, mine in (("b_Days", post.b[:, 1]), ("sigma", post.sigma)):
        ref = brms_draws[name].to_numpy()
        assert abs(mine.mean() - ref.mean()) < 0.15 * ref.std()
    csvs = sorted(tmp_path.glob("*.csv"))
    back = replic.read_draws(csvs[0])
    assert back.fixed == ("Intercept", "Days") and back.group == "Subject"
    chain1 = post.b[post.chain == 1, 1]
    np.testing.assert_allclose(back.b[:, 1], chain1, rtol=1e-5)


@pytest.mark.requires_cmdstan
@requires_cmdstan
def test_cmdstan_executable_ships_to_workers(tmp_path):
    import pickle

    from replic.stan.backends import compile_model

    model = compile_model(backend="cmdstan")
    clone = pickle.loads(pickle.dumps(model))
    assert clone.exe == model.exe and clone.backend == "cmdstan"
