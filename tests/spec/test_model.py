"""ModelSpec against lme4 (names, level order, dropped rows, values), and one spec under every
engine: lmm, bayes-fast, Stan data and the simulator build the same matrices."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic.bayes_fast import fit_bayes_fast
from replic.errors import ReplicInputError
from replic.lmm import fit_lmm
from replic.lmm.data import check_lmm_data
from replic.spec import ModelData, ModelSpec, model_data
from replic.stan.data import stan_data

MODELS = ("two_level", "four_level", "both")


@pytest.mark.parametrize("model", MODELS)
def test_names_levels_and_values_as_lme4(factors, factors_fixed, factors_groups, model):
    ref = factors_fixed[factors_fixed.model == model]
    fit = fit_lmm(factors, ref.formula.iloc[0])
    assert fit.spec.lme4_fixed == tuple(ref.term)
    assert list(fit.fixed.index) == list(ref.brms)
    assert (fit.n_obs, fit.n_dropped) == (ref.n.iloc[0], ref.n_dropped.iloc[0])
    assert list(fit.ranef.index) == list(factors_groups[factors_groups.model == model].level)
    np.testing.assert_allclose(fit.fixed["estimate"], ref.estimate, rtol=1e-6)
    np.testing.assert_allclose(fit.fixed["se"], ref.se, rtol=1e-5)
    np.testing.assert_allclose(fit.fixed["df"], ref.df, rtol=1e-5)


def test_three_engines_build_identical_matrices(factors):
    """REML, bayes-fast and Stan hold the data set in the same object: one ModelData from one
    bound spec, with the same names, level order, dropped rows and matrices."""
    formula = "y ~ x * Sex + Type + (1 + x | g)"
    md = model_data(factors, formula)
    lmm = check_lmm_data(factors, ModelSpec.parse(formula))
    sd = stan_data(factors, formula)
    post = fit_bayes_fast(factors, formula, draws=200, seed=1)
    fit = fit_lmm(factors, formula)
    assert type(lmm) is type(sd.data) is ModelData
    assert md.spec == lmm.spec == sd.data.spec == post.spec == fit.spec
    for other in (lmm, sd.data):
        assert other.n_dropped == md.n_dropped == 7
        assert np.array_equal(other.rows, md.rows)
        for name in ("y", "X", "Z", "codes"):
            assert np.array_equal(getattr(other, name), getattr(md, name))
    assert md.n_dropped == post.diagnostics["n_dropped"] == fit.n_dropped
    assert md.fixed == post.fixed == tuple(fit.fixed.index) == (
        "Intercept", "x", "SexMale", "Typehigh", "TypeLow", "TypemidMdose", "x:SexMale")
    assert md.varying == post.varying == tuple(fit.sd.index) == ("Intercept", "x")
    levels = tuple(f"s{i}" for i in (1, 10, 11, 12, 2, 3, 4, 5, 6, 7, 8, 9))
    assert md.levels == post.levels == tuple(fit.ranef.index) == levels
    # bayes-fast's spec materialises the same rows (the simulator's path for new subjects)
    new = post.model_spec().design(post.data)
    assert np.array_equal(new.X, md.X) and np.array_equal(new.Z, md.Z)
    kept = factors.dropna(subset=["y", "x", "Sex", "Type", "g"])
    assert np.array_equal(md.rows, kept.index.to_numpy())


def test_design_for_new_subjects(factors):
    spec = model_data(factors, "y ~ x * Sex + Type + (1 + x | g)").spec
    rows = pd.DataFrame({"x": [0.0, 1.0, 2.0], "Sex": ["Male"] * 3,
                         "Type": ["Low", "ctrl", "mid-dose"]})
    m = spec.design(rows, where="template")
    assert m.fixed == spec.fixed and m.X.shape == (3, 7) and m.Z.shape == (3, 2)
    np.testing.assert_array_equal(m.X[:, [0, 1, 2, 6]],
                                  [[1, 0, 1, 0], [1, 1, 1, 1], [1, 2, 1, 2]])
    np.testing.assert_array_equal(m.X[:, 3:6], [[0, 1, 0], [0, 0, 0], [0, 0, 1]])
    np.testing.assert_array_equal(m.Z, [[1, 0], [1, 1], [1, 2]])
    with pytest.raises(ReplicInputError, match=r"template: column 'Type' has level\(s\) medium"):
        spec.design(rows.assign(Type="medium"), where="template")
    with pytest.raises(ReplicInputError, match=r"template: column 'Sex' \(used by"):
        spec.design(rows.drop(columns="Sex"), where="template")
    with pytest.raises(ReplicInputError, match="not been bound"):
        ModelSpec.parse("y ~ x + (1 | g)").design(rows)


def test_stateful_transforms_keep_the_original_state():
    d = pd.DataFrame({"y": np.arange(8.0) ** 1.5, "x": np.arange(8.0), "g": list("aabbccdd")})
    spec = model_data(d, "y ~ center(x) + (1 | g)").spec
    assert spec.design(pd.DataFrame({"x": [3.5, 10.0]})).X[:, 1].tolist() == [0.0, 6.5]


def test_spec_is_frozen_and_hashable(factors):
    a = model_data(factors, "y ~ x + Type + (1 | g)").spec
    b = model_data(factors, "y ~ x + Type + (1 | g)").spec
    assert a == b and hash(a) == hash(b) and a.bound
    assert ModelSpec.parse("y ~ x + (1 | g)") != a
    assert ModelSpec.parse("y ~ x + (1 | g)", family="bernoulli") != ModelSpec.parse(
        "y ~ x + (1 | g)")
    with pytest.raises(ReplicInputError, match="family = 'binomia'"):
        ModelSpec.parse("y ~ x + (1 | g)", family="binomia")


def test_from_terms_for_draws_without_data():
    spec = ModelSpec.from_terms(("Intercept", "Days"), ("Intercept", "Days"), "Subject")
    m = spec.design(pd.DataFrame({"Days": [0.0, 3.0]}))
    np.testing.assert_array_equal(m.X, [[1, 0], [1, 3]])
    with pytest.raises(ReplicInputError, match="formula and data"):
        ModelSpec.from_terms(("Intercept", "Sex[Male]"), ("Intercept",), "g")


def test_model_data_of_arrays_checks_its_arrays():
    """Matrices built elsewhere (a replicate's new subjects) named by a names-only spec."""
    y, X = np.arange(6.0), np.column_stack([np.ones(6), np.arange(6.0) % 3])
    codes = np.repeat([0, 1], 3)
    md = ModelData.of_arrays(y, X, X[:, :1], codes, fixed=("Intercept", "x"),
                             varying=("Intercept",), levels=("1", "2"))
    assert md.spec.formula == "y ~ 1 + x + (1 | subject)" and not md.spec.bound
    assert (md.fixed, md.varying, md.levels, md.n_dropped) == (("Intercept", "x"),
                                                               ("Intercept",), ("1", "2"), 0)
    with pytest.raises(ReplicInputError, match="not been bound"):
        md.spec.design(pd.DataFrame({"x": [1.0]}))
    bad = {"X": X[:5], "codes": codes + 1, "Z": X, "y": y[:, None]}
    for name, value in bad.items():
        args = {"y": y, "X": X, "Z": X[:, :1], "codes": codes} | {name: value}
        with pytest.raises(ReplicInputError, match="model data: inconsistent arrays"):
            ModelData.of_arrays(**args, fixed=("Intercept", "x"), varying=("Intercept",),
                                levels=("1", "2"))
    with pytest.raises(ReplicInputError, match="inconsistent arrays"):
        ModelData.of_arrays(y, X, X[:, :1], codes.astype(float), fixed=("Intercept", "x"),
                            varying=("Intercept",), levels=("1", "2"))
