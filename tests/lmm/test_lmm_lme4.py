"""fit_lmm against lme4 1.1-31 + lmerTest 3.1-3 (tolerances from issue 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic.lmm import fit_lmm

NAMES = list(pd.read_csv(Path(__file__).parents[1] / "data" / "lme4" / "fit.csv").dataset
             .unique())
CASES = [(name, reml) for name in NAMES for reml in (True, False)]


@pytest.fixture(scope="module")
def fits(lme4_data, lme4_formula):
    return {(name, reml): fit_lmm(lme4_data(name), lme4_formula[name], reml=reml)
            for name, reml in CASES}


def _ref(table, name, reml):
    return table[(table.dataset == name) & (table.reml == reml)]


@pytest.mark.parametrize(("name", "reml"), CASES)
def test_fixed_effects_se_df(fits, lme4_ref, name, reml):
    fit = fits[name, reml]
    ref = _ref(lme4_ref["fixed"], name, reml).set_index("term")
    assert list(fit.fixed.index) == list(ref.index)
    np.testing.assert_allclose(fit.fixed["estimate"], ref["estimate"], rtol=1e-4)
    np.testing.assert_allclose(fit.fixed["se"], ref["se"], rtol=1e-4)
    np.testing.assert_allclose(fit.fixed["df"], ref["df"], rtol=1e-5)
    np.testing.assert_allclose(fit.fixed["t"], ref["t"], rtol=1e-4)
    np.testing.assert_allclose(fit.fixed["p"], ref["p"], rtol=1e-2, atol=1e-12)


@pytest.mark.parametrize(("name", "reml"), CASES)
def test_criterion_never_above_lme4(fits, lme4_ref, name, reml):
    fit = fits[name, reml]
    ref = _ref(lme4_ref["fit"], name, reml).iloc[0]
    assert fit.criterion <= ref["criterion"] + 1e-6
    assert fit.criterion == pytest.approx(ref["criterion"], abs=1e-4)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-4)
    assert fit.singular == bool(ref["singular"])
    assert fit.converged
    assert (fit.n_obs, fit.n_groups) == (ref["n"], ref["n_groups"])


@pytest.mark.parametrize(("name", "reml"), CASES)
def test_variance_components(fits, lme4_ref, name, reml):
    fit = fits[name, reml]
    ref = _ref(lme4_ref["varcorr"], name, reml).set_index("name")["value"]
    singular = bool(_ref(lme4_ref["fit"], name, reml)["singular"].iloc[0])
    tol = 1e-2 if singular else 1e-3      # at the boundary lme4 stops at a bobyqa bound
    assert fit.sigma == pytest.approx(ref["sigma"], rel=tol)
    for term in fit.sd.index:
        assert fit.sd[term] == pytest.approx(ref[f"sd_{term}"], rel=tol)
    for i, a in enumerate(fit.cor.index):
        for b in fit.cor.index[i + 1:]:
            assert fit.cor.loc[a, b] == pytest.approx(ref[f"cor_{a}__{b}"], abs=tol)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "near_singular"])
def test_theta_and_blups(fits, lme4_ref, name):
    fit = fits[name, True]
    theta = _ref(lme4_ref["theta"], name, True)["theta"].to_numpy()
    np.testing.assert_allclose(fit.theta, theta, rtol=2e-3, atol=1e-4)
    ref = _ref(lme4_ref["ranef"], name, True)
    got = fit.ranef.stack()
    want = ref.set_index([ref.level.astype(str), "term"])["value"]
    np.testing.assert_allclose(got.loc[want.index], want, rtol=1e-3, atol=1e-3 * want.abs().max())


def test_sleepstudy_published_numbers(fits):
    fit = fits["sleepstudy", True]
    fx = fit.fixed.round(3)
    assert (fx.loc["Intercept", "estimate"], fx.loc["Intercept", "se"]) == (251.405, 6.825)
    assert (fx.loc["Days", "estimate"], fx.loc["Days", "se"]) == (10.467, 1.546)
    assert fit.sd["Intercept"] == pytest.approx(24.741, abs=1e-3)
    assert round(fit.sd["Days"], 3) == 5.922
    assert round(fit.cor.loc["Intercept", "Days"], 3) == 0.066
    assert round(fit.sigma, 3) == 25.592
    assert round(fit.fixed.loc["Days", "df"], 1) == 17.0
    lo, hi = fit.fixed.loc["Days", ["lower", "upper"]]
    assert lo < 10.467 < hi and hi - lo == pytest.approx(2 * 2.109816 * 1.5458, rel=1e-3)


def test_near_singular_is_flagged_and_on_the_boundary(fits):
    fit = fits["near_singular", True]
    assert fit.singular
    assert abs(fit.cor.loc["Intercept", "x"]) == pytest.approx(1.0, abs=1e-6)
