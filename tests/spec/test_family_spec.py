"""The spec's family, link and binomial trials (cbind and trials(n) responses)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic.errors import ReplicInputError
from replic.family import Family
from replic.spec import ModelSpec, model_data


@pytest.fixture
def counts():
    rng = np.random.default_rng(1)
    n = rng.integers(1, 9, size=12)
    s = rng.binomial(n, 0.4)
    return pd.DataFrame({"s": s, "f": n - s, "n": n, "x": np.arange(12.0) % 4,
                         "g": np.repeat(list("abcd"), 3), "b": (s > 1).astype(int)})


@pytest.mark.parametrize("formula", ["cbind(s, f) ~ x + (1 | g)", "s | trials(n) ~ x + (1 | g)"])
def test_binomial_responses_give_successes_and_trials(counts, formula):
    md = model_data(counts, formula)
    assert md.spec.family == Family("binomial", "logit") and md.spec.link == "logit"
    np.testing.assert_array_equal(md.y, counts["s"])
    np.testing.assert_array_equal(md.trials, counts["n"])
    assert md.spec.response == "s"
    rows = pd.DataFrame({"x": [0.0, 1.0], "n": [5, 7]})
    want = [5, 7] if "trials" in formula else None
    got = md.spec.design(rows).trials
    assert (got is None) if want is None else got.tolist() == want


def test_fixed_trials_number_and_families(counts):
    md = model_data(counts, "s | trials(8) ~ x + (1 | g)")
    assert md.trials.tolist() == [8.0] * 12
    assert model_data(counts, "b ~ x + (1 | g)", ).spec.family.name == "gaussian"
    spec = ModelSpec.parse("b ~ x + (1 | g)", family="bernoulli").bind(counts).spec
    assert spec.family == Family("bernoulli") and spec.trials_columns == ()
    assert ModelSpec.parse("s ~ x + (1 | g)", family="poisson").family.link == "log"
    assert ModelSpec.parse("b ~ x + (1 | g)", family="bernoulli", link="probit").link == "probit"


@pytest.mark.parametrize("formula, family, match", [
    ("s ~ x + (1 | g)", "bernoulli", "0 or 1"),
    ("x ~ s + (1 | g)", "poisson", "count"),
    ("s ~ x + (1 | g)", "binomial", "needs its trials"),
    ("cbind(s, f) ~ x + (1 | g)", "poisson", "is binomial"),
    ("s | trials(2) ~ x + (1 | g)", None, "between 0 and the trials"),
    ("s | trials(m) ~ x + (1 | g)", None, "'m' \\(binomial trials\\)"),
    ("b ~ x + (1 | g)", "poisson(logit)", "link"),
    ("cbind(s, s) ~ x + (1 | g)", None, "same column 's' twice"),
])
def test_bad_family_data_are_refused(counts, formula, family, match):
    with pytest.raises(ReplicInputError, match=match):
        model_data(counts.assign(x=counts["x"] + 0.5), formula) if family is None else \
            ModelSpec.parse(formula, family=family).bind(counts.assign(x=counts["x"] + 0.5))
