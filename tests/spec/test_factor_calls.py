"""Formulas written with R's ``factor(x)``, lme4's ``cbind(successes, n - successes)`` and R's
dotted column names (tests/r/factor_calls.R): columns named as lme4 and brms name them
(``factor(period)2``, ``factorperiod2``; ``log(Petal.Length)``, ``logPetal.Length``), fits equal
to lmer's and glmer's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic.errors import ReplicInputError
from replic.formula_grammar import check_formula, formulaic_text
from replic.glmm import fit_glmm
from replic.lmm import fit_lmm
from replic.spec import ModelSpec

DATA = Path(__file__).parents[1] / "data"
REF = pd.read_csv(DATA / "spec" / "factor_calls.csv")
CBPP = pd.read_csv(DATA / "glmer" / "cbpp.csv")   # period stored as 1..4: numeric in the CSV


def _ref(model: str, formula: str | None = None, data: str | None = None) -> pd.DataFrame:
    rows = REF[(REF["model"] == model) & ((REF["formula"] == formula) if formula else True)
               & ((REF["data"] == data) if data else True)]
    return rows.reset_index(drop=True)


@pytest.mark.parametrize(("formula", "data"), list(dict.fromkeys(
    zip(_ref("lmer")["formula"], _ref("lmer")["data"], strict=True))))
def test_lmer_names_and_estimates(formula, data):
    """factor(period) and its interaction (cbpp), R's dotted names inside and outside calls
    (iris: log(Petal.Length), Sepal.Width), factor(period) of a column with a missing value
    (pandas reads it as 1.0, 2.0, ...; the levels are still named 2, 3, 4)."""
    ref = _ref("lmer", formula, data)
    frame = CBPP if data == "cbpp" else pd.read_csv(DATA / "spec" / f"{data}.csv")
    fit = fit_lmm(frame, formula)
    spec = ModelSpec.parse(formula).bind(frame).spec
    assert spec.lme4_fixed == tuple(ref["term"])       # factor(period)2:size, log(Petal.Length)
    assert list(fit.fixed.index) == list(ref["brms"])  # factorperiod2:size, logPetal.Length
    np.testing.assert_allclose(fit.fixed["estimate"], ref["estimate"], rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(fit.fixed["se"], ref["se"], rtol=1e-5)


def test_glmer_cbind_successes_out_of_n_with_a_factor_call():
    ref = _ref("glmer")
    fit = fit_glmm(CBPP, ref["formula"].iloc[0])       # binomial, implied by cbind
    assert fit.family == "binomial"
    assert list(fit.fixed.index) == list(ref["term"])
    np.testing.assert_allclose(fit.fixed["estimate"], ref["estimate"], rtol=1e-6)
    np.testing.assert_allclose(fit.fixed["se"], ref["se"], rtol=1e-5)
    same = fit_glmm(CBPP, "incidence | trials(size) ~ factor(period) + (1 | herd)")
    np.testing.assert_array_equal(same.fixed.to_numpy(), fit.fixed.to_numpy())


def test_factor_and_c_build_the_same_columns_under_their_own_names():
    a = ModelSpec.parse("incidence ~ factor(period) + (1 | herd)").bind(CBPP)
    b = ModelSpec.parse("incidence ~ C(period) + (1 | herd)").bind(CBPP)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.spec.fixed == ("Intercept", "factorperiod2", "factorperiod3", "factorperiod4")
    assert b.spec.fixed == ("Intercept", "Cperiod2", "Cperiod3", "Cperiod4")
    new = pd.DataFrame({"period": [4, 1]})
    np.testing.assert_array_equal(a.spec.design(new).X, [[1, 0, 0, 1], [1, 0, 0, 0]])
    assert a.spec.design(new).fixed == a.spec.fixed
    assert formulaic_text(a.spec.formula) == b.spec.formula   # what formulaic reads


@pytest.mark.parametrize(("formula", "token"), [
    ("cbind(s, n - m) ~ x + (1 | g)", "the successes column 's' after '-'"),
    ("cbind(s, s - s) ~ x + (1 | g)", "a trials column before '-'"),
    ("cbind(s, n - s - 1) ~ x + (1 | g)", "')' closing cbind(successes, n - successes)"),
    ("cbind(s, n + s) ~ x + (1 | g)", "')' closing cbind(successes, failures)"),
])
def test_cbind_arithmetic_beyond_n_minus_successes_is_refused(formula, token):
    with pytest.raises(ReplicInputError, match="expected " + token.replace("(", r"\(")
                       .replace(")", r"\)")):
        check_formula(formula, where="formula")


def test_fit_glmm_without_a_family_the_response_does_not_imply():
    with pytest.raises(ReplicInputError, match="implies no family; expected family="):
        fit_glmm(CBPP, "incidence ~ factor(period) + (1 | herd)")
