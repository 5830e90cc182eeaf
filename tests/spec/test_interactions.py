"""Interactions whose margins are absent, coded as R's model.matrix codes them (indicators for a
factor whose margin is missing) and named as lme4 names them (tests/r/spec_interactions.R:
datasets::warpbreaks and nlme::Orthodont)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic.errors import ReplicInputError
from replic.lmm import fit_lmm
from replic.spec import ModelSpec
from replic.spec.levels import as_factors, is_categorical, r_levels
from replic.spec.names import lme4_term
from replic.spec.rcoding import model_matrix

from .conftest import SPEC

REF = pd.read_csv(SPEC / "interactions.csv", keep_default_na=False)
CASES = list(dict.fromkeys(REF["case"]))


def _case(name: str) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    ref = REF[REF["case"] == name]
    data = pd.read_csv(SPEC / f"{ref['data'].iloc[0]}.csv")
    return ref, data, pd.read_csv(SPEC / f"interactions_{name}.csv")


@pytest.mark.parametrize("name", CASES)
def test_columns_and_values_as_model_matrix(name):
    ref, data, X = _case(name)
    spec = ModelSpec.parse(ref["formula"].iloc[0])
    variables = list(spec.variables()[0])
    factors = tuple((v, r_levels(data[v])) for v in variables if is_categorical(data[v]))
    prepared = as_factors(data, factors)
    mm = model_matrix(spec.fixed_formula, prepared, spec.formula, "fixed-effect")
    assert [lme4_term(str(c)) for c in mm.columns] == list(ref["name"])
    np.testing.assert_array_equal(np.asarray(mm, dtype=float), X.to_numpy(dtype=float))
    # new rows (e.g. new subjects) get the same columns from the recorded coding
    again = mm.model_spec.get_model_matrix(prepared.iloc[::7])
    np.testing.assert_array_equal(np.asarray(again), X.to_numpy(dtype=float)[::7])


@pytest.mark.parametrize("name", [c for c in CASES if (REF[REF["case"] == c]["lme4"] != "").all()])
def test_full_rank_designs_have_lme4s_names(name):
    ref, data, X = _case(name)
    fit = fit_lmm(data, ref["formula"].iloc[0])
    assert fit.spec.lme4_fixed == tuple(ref["lme4"])
    md = fit.spec.design(data)
    np.testing.assert_allclose(md.X, X.to_numpy(dtype=float), rtol=0, atol=0)


def test_rank_deficient_design_names_what_lme4_drops():
    ref, data, _ = _case("wb_both")
    dropped = ref.loc[ref["lme4"] == "", "name"].tolist()
    assert dropped == ["woolB:tensionM"]
    with pytest.raises(ReplicInputError, match="woolB:tensionM is a combination"):
        fit_lmm(data, ref["formula"].iloc[0])
