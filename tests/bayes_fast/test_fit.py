"""fit_bayes_fast: a Posterior in brms's parameterisation that the rest of replic can use."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import replic
from replic.bayes_fast import fit_bayes_fast, summarise_bayes_fast
from replic.effects import effect_draws
from replic.errors import ReplicInputError
from replic.io_brms import posterior_from_brms
from replic.priors import Priors, StudentT, default_priors

DATASETS = Path(replic.__file__).parent / "datasets"
FORMULA = "Reaction ~ 1 + Days + (1 + Days | Subject)"


@pytest.fixture(scope="module")
def sleep():
    return pd.read_csv(DATASETS / "sleepstudy.csv")


@pytest.fixture(scope="module")
def fit(sleep):
    return fit_bayes_fast(sleep, FORMULA, draws=4000, seed=3)


def test_posterior_interface(fit, sleep):
    assert fit.fixed == ("Intercept", "Days") and fit.varying == ("Intercept", "Days")
    assert fit.group == "Subject" and fit.n_draws == 4000
    assert fit.r.shape == (4000, 18, 2) and len(fit.levels) == 18
    assert np.all(np.linalg.eigvalsh(fit.Sigma)[:, 0] > 0)
    assert fit.diagnostics["khat"] < 0.7 and fit.diagnostics["ess"] > 8000
    assert fit.formula == FORMULA and fit.response == "Reaction" and len(fit.data) == len(sleep)
    s = fit.term_summary("Days")
    assert s["lower"] < s["estimate"] < s["upper"]
    point = fit.point("median")
    assert point["b"].shape == (2,) and point["cor"].shape == (2, 2)
    draws = effect_draws(fit, "Days", k=[3, 10])
    assert set(draws["estimand"]) >= {"conditional", "fitted", "new_gaussian", "replication_mean"}


def test_draws_match_brms_draws_including_random_effects(fit):
    """Against the committed brms fit (4000 draws): every parameter and every subject's r_."""
    brms = posterior_from_brms(pd.read_csv(DATASETS / "sleepstudy_brms_draws.csv.gz"))
    pairs = {"b": (fit.b, brms.b), "sd": (fit.sd, brms.sd), "sigma": (fit.sigma, brms.sigma),
             "cor": (fit.cor[:, 0, 1], brms.cor[:, 0, 1])}
    order = [brms.levels.index(lv) for lv in fit.levels]
    pairs["r"] = (fit.r.reshape(4000, -1), brms.r[:, order].reshape(4000, -1))
    for name, (ours, ref) in pairs.items():
        sd = ref.std(axis=0)
        # both sides are Monte Carlo estimates from ~4000 draws: allow 0.15 posterior sd
        assert np.all(np.abs(ours.mean(axis=0) - ref.mean(axis=0)) / sd < 0.15), name
        assert np.all(np.abs(ours.std(axis=0) / sd - 1) < 0.1), name


def test_seed_reproducible_and_summary_consistent(sleep):
    a = fit_bayes_fast(sleep, FORMULA, draws=500, seed=11)
    b = fit_bayes_fast(sleep, FORMULA, draws=500, seed=11)
    np.testing.assert_array_equal(a.b, b.b)
    np.testing.assert_array_equal(a.r, b.r)
    s = summarise_bayes_fast(sleep, FORMULA, draws=4000, seed=2)
    assert abs(s.loc["b_Days", "mean"] - a.b[:, 1].mean()) < 0.3 * s.loc["b_Days", "sd"]


def test_intercept_only_varying_and_explicit_priors(sleep):
    pri = default_priors(sleep["Reaction"].to_numpy())
    post = fit_bayes_fast(sleep, "Reaction ~ Days + (1 | Subject)", draws=1000, priors=pri)
    assert post.varying == ("Intercept",) and post.cor.shape == (1000, 1, 1)
    assert post.diagnostics["khat"] < 0.7


def test_conflicting_intercept_prior_is_flagged(sleep):
    """A deliberately hard case: a sharp intercept prior far from the data makes the
    importance weights over beta's conditional normal degenerate; k-hat says so."""
    pri = default_priors(sleep["Reaction"].to_numpy())
    hard = Priors(intercept=StudentT(3.0, 320.0, 0.5), sd=pri.sd, sigma=pri.sigma)
    post = fit_bayes_fast(sleep, FORMULA, draws=1000, priors=hard, seed=0)
    assert post.diagnostics["khat"] > 0.7


@pytest.mark.parametrize("formula, match", [
    ("Reaction ~ Days", "exactly one"),
    ("Reaction ~ Days + (1 | Subject) + (1 | Days)", "exactly one"),
    ("Reaction ~ Days + (Days || Subject)", "'||'"),
    ("Speed ~ Days + (1 | Subject)", "Speed"),
])
def test_bad_formulas(sleep, formula, match):
    with pytest.raises(ReplicInputError, match=match):
        fit_bayes_fast(sleep, formula, draws=100)
