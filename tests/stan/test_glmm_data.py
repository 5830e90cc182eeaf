"""The Stan program's data for bernoulli, binomial and poisson models (no sampling).

brms's data for the same formulas: the response as integers, binomial trials per observation,
the fixed-effect design without its intercept column, brms's default priors of the family.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic import ReplicInputError
from replic.priors import StudentT
from replic.stan.data import stan_data

DATA = Path(__file__).resolve().parents[1] / "data" / "brms_glmm"


@pytest.fixture(scope="module")
def cbpp() -> pd.DataFrame:
    d = pd.read_csv(DATA / "cbpp.csv")
    return d.assign(period=d["period"].astype(str), herd=d["herd"].astype(str))


def test_binomial_with_trials(cbpp):
    sd = stan_data(cbpp, "incidence | trials(size) ~ period + (1 | herd)")
    assert sd.family == "binomial"  # implied by the trials response
    assert sd.data.fixed == ("Intercept", "period2", "period3", "period4")
    np.testing.assert_array_equal(sd.trials, cbpp["size"])
    d = sd.to_stan()
    assert d["family"] == 2 and d["K"] == 3 and d["J"] == 15 and len(d["Y"]) == 0
    np.testing.assert_array_equal(d["Y_int"], cbpp["incidence"])
    np.testing.assert_array_equal(d["trials"], cbpp["size"])
    assert sd.priors.intercept == sd.priors.sd == StudentT(3.0, 0.0, 2.5)
    assert sd.priors.sigma is None
    # lme4's cbind(successes, failures): the same data
    cb = stan_data(cbpp.assign(failures=cbpp["size"] - cbpp["incidence"]),
                   "cbind(incidence, failures) ~ period + (1 | herd)")
    np.testing.assert_array_equal(cb.trials, sd.trials)
    np.testing.assert_array_equal(cb.to_stan()["Y_int"], d["Y_int"])


def test_bernoulli_and_poisson():
    b = pd.read_csv(DATA / "bacteria.csv")
    sd = stan_data(b, "y ~ week + (week | ID)", family="bernoulli")
    d = sd.to_stan()
    assert d["family"] == 1 and d["M"] == 2 and len(d["trials"]) == 0
    e = pd.read_csv(DATA / "epilepsy.csv")
    sp = stan_data(e, "count ~ zAge + zBase * Trt + (1 | patient)", family="poisson")
    assert sp.to_stan()["family"] == 3
    assert sp.data.fixed == ("Intercept", "zAge", "zBase", "Trt", "zBase:Trt")
    assert sp.priors.intercept == StudentT(3.0, 1.4, 2.5)  # brms: log(median count 4) = 1.39


@pytest.mark.parametrize("family, y, message", [
    ("bernoulli", 2.0, "value 2 in row 1.*bernoulli response is 0 or 1"),
    ("poisson", -1.0, "value -1 in row 1.*count"),
    ("poisson", 0.5, "value 0.5 in row 1.*count"),
])
def test_impossible_responses_are_refused(family, y, message):
    d = pd.DataFrame({"y": [y, 0.0, 1.0, 1.0], "x": [0, 1, 0, 1], "g": ["a", "a", "b", "b"]})
    with pytest.raises(ReplicInputError, match=message):
        stan_data(d, "y ~ x + (1 | g)", family=family)


def test_successes_above_trials_and_probit_are_refused(cbpp):
    bad = cbpp.assign(incidence=cbpp["size"] + 1)
    with pytest.raises(ReplicInputError, match="successes between 0 and the trials"):
        stan_data(bad, "incidence | trials(size) ~ period + (1 | herd)")
    with pytest.raises(ReplicInputError, match=r"bernoulli\(probit\).*bernoulli\(logit\)"):
        stan_data(pd.read_csv(DATA / "bacteria.csv"), "y ~ week + (week | ID)",
                  family="bernoulli(probit)")
