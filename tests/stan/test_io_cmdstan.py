"""read_draws on CmdStan CSV output of replic's program (no CmdStan install needed).

The committed fixture ``data/cmdstan`` holds real PyStan draws of sleepstudy written in CmdStan's
format (``python -m tests.stan.cmdstan_csv``); cmdstanpy.from_csv is the reference reader.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

import replic
from replic import ReplicInputError
from replic.io_cmdstan import posterior_from_cmdstan, read_cmdstan_csv
from tests.stan.cmdstan_csv import write_cmdstan_csv
from tests.stan.conftest import FORMULA, HERE

FIXTURE = HERE / "data" / "cmdstan"
CHAINS = sorted(FIXTURE.glob("lmm-*.csv"))


def test_reader_agrees_with_cmdstanpy():
    cmdstanpy = pytest.importorskip("cmdstanpy")
    ref = cmdstanpy.from_csv([str(p) for p in CHAINS])
    flat = read_cmdstan_csv(CHAINS)
    assert len(flat) == 200 and list(flat[".chain"].unique()) == [1, 2]
    np.testing.assert_array_equal(flat["b.1"], ref.stan_variable("b")[:, 0])
    np.testing.assert_array_equal(flat["divergent__"].sum(), ref.divergences.sum())
    r = ref.stan_variable("r_1")  # (draws, J, M)
    post = posterior_from_cmdstan(CHAINS)
    np.testing.assert_array_equal(post.r, r)
    np.testing.assert_array_equal(post.sd, ref.stan_variable("sd_1"))
    np.testing.assert_allclose(post.cor[:, 0, 1], ref.stan_variable("Cor_1")[:, 0, 1])


def test_read_draws_dispatches_and_names_like_brms():
    post = replic.read_draws(CHAINS[0])
    assert post.fixed == ("Intercept", "Days") and post.group == "Subject"
    assert post.levels[:2] == ("308", "309") and post.formula == FORMULA
    assert post.n_draws == 100 and post.response == "Reaction"
    assert 5 < post.b[:, 1].mean() < 15  # b_Days of sleepstudy


def test_generic_names_without_sidecar(tmp_path):
    shutil.copy(CHAINS[0], tmp_path / "chain.csv")
    post = replic.read_draws(tmp_path / "chain.csv")
    assert post.fixed == ("Intercept", "x1") and post.varying == ("z1", "z2")
    assert post.group == "g" and post.levels[-1] == "18"


def test_roundtrip_of_a_real_fit(pystan_model, sleepstudy, tmp_path):
    """PyStan draws written as CmdStan CSV come back identical (to CmdStan's 6 digits)."""
    from replic.io_cmdstan import write_model_names
    from replic.stan.data import stan_data

    sd = stan_data(sleepstudy, FORMULA)
    flat = pystan_model.sample(sd.to_stan(), chains=2, warmup=150, draws=60, seed=3)
    paths = write_cmdstan_csv(flat, tmp_path, warmup=150, seed=3)
    write_model_names(tmp_path, {"fixed": sd.data.fixed, "varying": sd.data.varying,
                                 "group": sd.data.group, "levels": sd.data.levels})
    post = posterior_from_cmdstan(paths)
    np.testing.assert_allclose(post.b[:, 1], flat["b.1"], rtol=1e-5)
    np.testing.assert_allclose(post.r[:, 3, 1], flat["r_1.4.2"], rtol=1e-5)
    assert post.diagnostics["divergences"] == int(flat["divergent__"].sum())


def test_bad_files(tmp_path):
    bad = tmp_path / "opt.csv"
    bad.write_text("# model = lmm_model\n# method = optimize\nlp__,b.1\n1,2\n")
    with pytest.raises(ReplicInputError, match="not CmdStan sampler output"):
        replic.read_draws(bad)
    empty = tmp_path / "empty.csv"
    empty.write_text(CHAINS[0].read_text().split("lp__")[0])
    with pytest.raises(ReplicInputError, match=r"empty\.csv"):
        replic.read_draws(empty)
    with pytest.raises(ReplicInputError, match="no such CmdStan CSV"):
        read_cmdstan_csv([tmp_path / "missing.csv"])
    other = tmp_path / "other.csv"
    other.write_text("# method = sample\nlp__,theta\n1,2\n3,4\n")
    with pytest.raises(ReplicInputError, match="replic's program"):
        posterior_from_cmdstan([other], names={"fixed": ["Intercept"], "varying": ["Intercept"],
                                               "group": "g", "levels": ["1"]})
