"""fit_lmm against statsmodels MixedLM, a second, independent reference.

statsmodels' standard errors come from the joint observed information of the fixed effects and
variance parameters, which equals lme4's ``sigma^2 (RX'RX)^-1`` only for balanced data; for
unbalanced data only the estimates, variance components and log-likelihood are compared.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from replic.lmm import fit_lmm, parse_formula

CASES = ["sleepstudy", "balanced", "few_subjects", "balanced_missing", "unbalanced",
         "intercept_only"]
BALANCED = {"sleepstudy", "balanced", "few_subjects"}


@pytest.mark.parametrize("name", CASES)
def test_agrees_with_statsmodels(name, lme4_data, lme4_formula):
    smf = pytest.importorskip("statsmodels.formula.api")
    data = lme4_data(name)
    spec = parse_formula(lme4_formula[name])
    with warnings.catch_warnings():
        # MixedLM warns about its own optimiser's boundary handling; not under test here
        warnings.simplefilter("ignore")
        ref = smf.mixedlm(f"{spec.response} ~ {spec.fixed}", data, groups=data[spec.group],
                          re_formula=f"~{spec.random}").fit(reml=True, method=["lbfgs"])
    fit = fit_lmm(data, lme4_formula[name])
    assert ref.converged
    np.testing.assert_allclose(fit.fixed["estimate"], ref.fe_params, rtol=1e-5)
    np.testing.assert_allclose(fit.sd, np.sqrt(np.diag(ref.cov_re)), rtol=1e-4)
    assert fit.sigma == pytest.approx(np.sqrt(ref.scale), rel=1e-5)
    assert fit.loglik == pytest.approx(ref.llf, abs=1e-6)
    assert fit.loglik >= ref.llf - 1e-8
    if name in BALANCED:
        np.testing.assert_allclose(fit.fixed["se"], ref.bse_fe, rtol=1e-4)
