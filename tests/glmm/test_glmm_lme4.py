"""fit_glmm against lme4's glmer (tests/r/glmer_reference.R, committed CSVs).

Tolerances: estimates within 1e-4 (absolute, or relative beyond 1); standard errors within 1e-4
relative of glmer's Hessian-based ``vcov`` computed with a 1e-3 difference step (``se_d3``), and
within 5e-4 relative of glmer's printed SEs (step 1e-4), whose own finite-difference noise reaches
2e-4 (ohio: ``se`` and ``se_d3`` differ by that much).  logLik within 2e-5.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic.glmm import fit_glmm

REF = Path(__file__).parents[1] / "data" / "glmer"

#: model -> (data set, formula in replic, family, nAGQ)
MODELS = {
    "bacteria_slope": ("bacteria", "y ~ week + (week | ID)", "bernoulli", 1),
    "contraception": ("contraception", "use ~ age + urban + (urban | district)", "bernoulli", 1),
    "ohio": ("ohio", "resp ~ age + smoke + (age | id)", "bernoulli", 1),
    "cbpp": ("cbpp", "cbind(incidence, failures) ~ period + (1 | herd)", "binomial", 1),
    "cbpp_agq9": ("cbpp", "incidence | trials(size) ~ period + (1 | herd)", "binomial", 9),
    "cbpp_agq25": ("cbpp", "incidence | trials(size) ~ period + (1 | herd)", "binomial", 25),
    "grouseticks": ("grouseticks", "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD)", "poisson", 1),
    "grouseticks_agq5": ("grouseticks", "TICKS ~ YEAR + scale(HEIGHT) + (1 | BROOD)", "poisson",
                         5),
}


def _data(name: str) -> pd.DataFrame:
    df = pd.read_csv(REF / f"{name}.csv")
    if name == "cbpp":
        df["period"] = df["period"].astype(str)
        df["failures"] = df["size"] - df["incidence"]
    return df


@pytest.fixture(scope="module")
def ref() -> dict[str, pd.DataFrame]:
    return {t: pd.read_csv(REF / f"{t}.csv") for t in ("fixed", "varcorr", "fit", "theta")}


@pytest.fixture(scope="module")
def fits() -> dict:
    return {m: fit_glmm(_data(d), f, family=fam, nAGQ=k) for m, (d, f, fam, k) in MODELS.items()}


@pytest.mark.parametrize("model", list(MODELS))
def test_fixed_effects_match_glmer(model, fits, ref):
    fit = fits[model]
    r = ref["fixed"].query("model == @model").set_index("term")
    got = fit.fixed.loc[r.index]
    assert list(fit.fixed.index) == list(r.index)
    np.testing.assert_allclose(got["estimate"], r["estimate"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(got["se"], r["se_d3"], rtol=1e-4)
    np.testing.assert_allclose(got["se"], r["se"], rtol=5e-4)
    np.testing.assert_allclose(got["z"], r["z"], rtol=5e-4, atol=1e-4)
    np.testing.assert_allclose(got["p"], r["p"], rtol=5e-3, atol=1e-8)
    assert fit.converged


@pytest.mark.parametrize("model", list(MODELS))
def test_variance_components_loglik_and_flags_match_glmer(model, fits, ref):
    fit = fits[model]
    row = ref["fit"].query("model == @model").iloc[0]
    assert fit.loglik == pytest.approx(row["loglik"], abs=2e-5)
    assert fit.singular == bool(row["singular"])
    vc = ref["varcorr"].query("model == @model").set_index("name")["value"]
    for name, value in vc.items():
        if name.startswith("sd_"):
            assert fit.sd[name[3:]] == pytest.approx(value, rel=1e-4, abs=1e-6)
        else:
            a, b = name[4:].split("__")
            assert fit.cor.loc[a, b] == pytest.approx(value, abs=1e-4)
    theta = ref["theta"].query("model == @model")["theta"].to_numpy()
    np.testing.assert_allclose(fit.theta, theta, rtol=1e-4, atol=1e-6)


def test_cbind_and_trials_are_the_same_model(fits):
    df = _data("cbpp")
    a = fits["cbpp"]
    b = fit_glmm(df, "incidence | trials(size) ~ period + (1 | herd)", family="binomial")
    pd.testing.assert_frame_equal(a.fixed, b.fixed)
    assert a.loglik == b.loglik
