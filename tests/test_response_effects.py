"""Effects on the response scale: population averages against brute-force integration and the
probit closed form, new subjects against brms's posterior_epred, Gaussian models on both scales.

References: tests/data/glmm/ (tests/r/brms_glmm.R: brms 2.18 fits of MASS::bacteria, bernoulli,
``y ~ week + (week | ID)``, and of lme4::cbpp, binomial with trials).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from replic import ReplicInputError, effect_draws, read_draws
from replic.family import Family
from replic.response_effects import contrast_rows, population_average

DATA = Path(__file__).parent / "data" / "glmm"


@pytest.fixture(scope="module")
def bacteria():
    return read_draws("replic:bacteria_brms_draws.csv.gz", family="bernoulli")


@pytest.fixture(scope="module")
def epred():
    return pd.read_csv(DATA / "bacteria_epred.csv.gz")


def _values(draws, estimand, level=None):
    d = draws[draws["estimand"] == estimand]
    if level is not None:
        d = d[d["level"] == level]
    return d["value"].to_numpy()


def test_gaussian_response_scale_equals_link_scale():
    post = read_draws("replic:sleepstudy_brms_draws.csv.gz")
    link = effect_draws(post, "Days", k=[3, 12], seed=4)
    resp = effect_draws(post, "Days", k=[3, 12], seed=4, scale="response")
    same = resp[resp["estimand"] != "population_averaged"].reset_index(drop=True)
    pd.testing.assert_frame_equal(same.drop(columns="value"), link.drop(columns="value"))
    np.testing.assert_allclose(same["value"], link["value"], rtol=0, atol=1e-9)
    np.testing.assert_allclose(_values(resp, "population_averaged"),
                               _values(link, "conditional"), atol=1e-9)
    twice = effect_draws(post, "Days", seed=4, scale="response", contrast=(2, 4))
    np.testing.assert_allclose(_values(twice, "conditional"), 2 * post.b[:, 1], atol=1e-9)


def test_conditional_and_fitted_equal_brms_epred(bacteria, epred):
    eff = effect_draws(bacteria, "week", scale="response", seed=1, k=[])
    np.testing.assert_allclose(_values(eff, "conditional"), epred["cond_w1"] - epred["cond_w0"],
                               atol=2e-9)
    for lv in ("X01", "X02", "Z26"):
        np.testing.assert_allclose(_values(eff, "fitted", lv),
                                   epred[f"fit_{lv}_w1"] - epred[f"fit_{lv}_w0"], atol=2e-9)


def test_new_gaussian_matches_brms_within_monte_carlo_error(bacteria, epred):
    """brms: posterior_epred(allow_new_levels = TRUE, sample_new_levels = "gaussian"), 10 new
    IDs x 1000 draws; replic: 10 seeds x 1000 draws.  Means and sds within 4 MCSE (the MCSE
    counts the 1000 draws as the effective sample, conservative for draws shared across IDs);
    quantiles within 0.01."""
    ids = [c[:-3] for c in epred.columns if c.startswith("new") and c.endswith("_w1")]
    theirs = np.concatenate([epred[f"{i}_w1"] - epred[f"{i}_w0"] for i in ids])
    ours = np.concatenate([_values(effect_draws(bacteria, "week", scale="response", seed=s,
                                                k=[]), "new_gaussian") for s in range(10)])
    sd = theirs.std()
    assert abs(ours.mean() - theirs.mean()) < 4 * sd * np.sqrt(2 / 1000)
    assert abs(ours.std() / sd - 1) < 4 * np.sqrt(1 / 1000)
    for q in (0.05, 0.25, 0.5, 0.75, 0.95):
        assert abs(np.quantile(ours, q) - np.quantile(theirs, q)) < 0.01
    # the new-subject effect is far more dispersed than the average subject's
    assert sd > 3 * _values(effect_draws(bacteria, "week", scale="response", k=[]),
                            "conditional").std()


def _brute_force(post, X, Z, h, draws, n=401, width=9.0):
    """Dense 2-D grid over u = L w (w standard normal, trapezoid), per draw."""
    w = np.linspace(-width, width, n)
    W1, W2 = np.meshgrid(w, w, indexing="ij")
    wt = np.exp(-0.5 * (W1**2 + W2**2)).ravel()
    wt /= wt.sum()
    out = np.empty((len(draws), X.shape[0]))
    for i, s in enumerate(draws):
        L = np.linalg.cholesky(post.Sigma[s])
        U = np.stack([W1.ravel(), W2.ravel()], axis=1) @ L.T
        eta = (X @ post.b[s])[None, :] + U @ Z.T
        out[i] = wt @ h(eta)
    return out


def test_population_average_against_brute_force_integration(bacteria):
    rows = contrast_rows(bacteria, "week", contrast=(0, 11))
    X, Z = rows["X"], rows["Z"]
    draws = [0, 17, 500, 999]
    got = population_average(bacteria, X, Z)[draws]
    want = _brute_force(bacteria, X, Z, special.expit, draws)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9)
    # a wide random-effect distribution (sds x 4): still accurate
    wide = dataclasses.replace(bacteria, sd=bacteria.sd * 4)
    np.testing.assert_allclose(population_average(wide, X, Z)[draws],
                               _brute_force(wide, X, Z, special.expit, draws, n=801, width=10),
                               rtol=0, atol=1e-8)


def test_population_average_probit_closed_form(bacteria):
    """Random intercept (the week-0 row) and intercept + slope rows: Phi(eta / sqrt(1 + tau^2))
    with tau^2 = z' Sigma z."""
    post = dataclasses.replace(bacteria, family=Family("bernoulli", "probit"))
    rows = contrast_rows(post, "week", contrast=(0, 2))
    got = population_average(post, rows["X"], rows["Z"])
    eta = post.b @ rows["X"].T
    tau2 = np.einsum("rq,sqp,rp->sr", rows["Z"], post.Sigma, rows["Z"])
    np.testing.assert_allclose(got, special.ndtr(eta / np.sqrt(1 + tau2)), rtol=0, atol=1e-12)
    # random intercept only: the probit-scale population-averaged effect is the conditional one
    # attenuated by sqrt(1 + sd^2), draw by draw
    ri = dataclasses.replace(post, sd=post.sd * np.array([1.0, 0.0]))
    eff = effect_draws(ri, "week", scale="link", k=[])
    np.testing.assert_allclose(_values(eff, "population_averaged"),
                               post.b[:, 1] / np.sqrt(1 + post.sd[:, 0] ** 2), atol=1e-10)
    np.testing.assert_allclose(_values(eff, "conditional"), post.b[:, 1], atol=1e-12)


def test_replication_mean_tends_to_the_population_average(bacteria):
    eff = effect_draws(bacteria, "week", scale="response", k=[1, 4000], seed=2)
    pa = _values(eff, "population_averaged")
    big = _values(eff, "replication_mean", "k=4000")
    one = _values(eff, "replication_mean", "k=1")
    new = _values(eff, "new_gaussian")
    # per draw, the mean of 4000 subjects' effects is within 5 sd / sqrt(4000) of the average
    assert np.all(np.abs(big - pa) < 5 * 0.2 / np.sqrt(4000))
    assert abs(one.std() / new.std() - 1) < 0.15  # one new subject: same law as new_gaussian


def test_poisson_population_average_closed_form_and_factor_contrast():
    epil = read_draws(DATA / "epil_brms_draws.csv.gz", family="poisson")
    rows = contrast_rows(epil, "visit", contrast=(-1.5, 1.5))
    got = population_average(epil, rows["X"], rows["Z"])[[0, 9]]
    want = _brute_force(epil, rows["X"], rows["Z"], np.exp, [0, 9], n=801, width=12)
    np.testing.assert_allclose(got, want, rtol=1e-8)
    cbpp = dataclasses.replace(read_draws(DATA / "cbpp_brms_draws.csv.gz", family="binomial"),
                               data=pd.read_csv(DATA / "cbpp.csv", dtype={"period": str}))
    eff = effect_draws(cbpp, "period2", scale="response", k=[])
    b = cbpp.b
    np.testing.assert_allclose(_values(eff, "conditional"),
                               special.expit(b[:, 0] + b[:, 1]) - special.expit(b[:, 0]),
                               atol=1e-12)
    eff = effect_draws(cbpp, "period2", scale="response", contrast=("2", "4"), k=[])
    np.testing.assert_allclose(_values(eff, "conditional"),
                               special.expit(b[:, 0] + b[:, 3]) - special.expit(b[:, 0] + b[:, 1]),
                               atol=1e-12)


@pytest.mark.parametrize("kwargs, match", [
    (dict(scale="probability"), "scale='probability'"),
    (dict(scale="response", at={"week": 2}), "give its two values as contrast"),
    (dict(scale="response", contrast=(0, 1, 2)), "two finite values of 'week'"),
    (dict(scale="response", contrast=(0, float("nan"))), "two finite values of 'week'"),
    (dict(scale="response", at={"dose": 1}), "'dose' are not in the model"),
])
def test_bad_arguments(bacteria, kwargs, match):
    with pytest.raises(ReplicInputError, match=match):
        effect_draws(bacteria, "week", **kwargs)
    with pytest.raises(ReplicInputError, match="main-effect coefficient"):
        effect_draws(bacteria, "Intercept", scale="response")
