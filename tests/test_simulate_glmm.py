"""Simulated GLMM replicates (bernoulli, binomial with trials, poisson): moments against closed
forms and quadrature within a few Monte Carlo standard errors, the seeding rule, trials.

Posteriors: brms fits of tests/r/brms_glmm.R (tests/data/glmm/).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import special

from replic import Design, ReplicInputError, read_draws
from replic.kernel.normal_mean import mean_response, normal_expectation
from replic.simulate import BLOCK, model_frame, simulate

DATA = Path(__file__).parent / "data" / "glmm"
WEEKS = (0.0, 2.0, 4.0, 6.0, 11.0)


@pytest.fixture(scope="module")
def bacteria():
    return read_draws("replic:bacteria_brms_draws.csv.gz", family="bernoulli")


@pytest.fixture(scope="module")
def epil():
    return dataclasses.replace(read_draws(DATA / "epil_brms_draws.csv.gz", family="poisson"),
                               data=pd.read_csv(DATA / "epil.csv"))


@pytest.fixture(scope="module")
def cbpp():
    post = read_draws(DATA / "cbpp_brms_draws.csv.gz", family="binomial")
    return dataclasses.replace(post, data=pd.read_csv(DATA / "cbpp.csv", dtype={"period": str}),
                               formula="incidence | trials(size) ~ period + (1 | herd)")


def _point(post):
    p = post.point("mean")
    Sigma = p["sd"][:, None] * p["cor"] * p["sd"][None, :]
    return p["b"], Sigma


def _rows_moments(r):
    """Per row: mean over replicates and subjects, and its MCSE (subjects independent)."""
    y = r.y.reshape(-1, r.y.shape[-1])
    return y.mean(axis=0), y.std(axis=0) / np.sqrt(y.shape[0])


def test_bernoulli_row_means_are_population_averages(bacteria):
    frame = model_frame(bacteria, "week", WEEKS)
    r = simulate(bacteria, Design(10, x=WEEKS, params="mean"), frame, start=0, stop=3000, seed=3)
    assert set(np.unique(r.y)) == {0.0, 1.0} and r.trials.tolist() == [1.0] * 5
    b, Sigma = _point(bacteria)
    tau = np.sqrt(np.einsum("uq,qp,up->u", frame.Z, Sigma, frame.Z))
    want = mean_response(frame.X @ b, tau, "logit")
    got, mcse = _rows_moments(r)
    assert np.all(np.abs(got - want) < 4 * mcse), (got, want, mcse)
    # within-subject covariance of weeks 0 and 11: E[h0 h11] - p0 p11 by 2-D quadrature
    L = np.linalg.cholesky(Sigma)
    w = np.linspace(-8, 8, 321)
    W = np.stack(np.meshgrid(w, w, indexing="ij"), -1).reshape(-1, 2)
    wt = np.exp(-0.5 * (W**2).sum(1))
    wt /= wt.sum()
    h = special.expit(frame.X @ b + (W @ L.T) @ frame.Z.T)
    cov = wt @ (h[:, 0] * h[:, 4]) - (wt @ h[:, 0]) * (wt @ h[:, 4])
    y = r.y.reshape(-1, 5)
    prod = (y[:, 0] - want[0]) * (y[:, 4] - want[4])
    assert abs(prod.mean() - cov) < 4 * prod.std() / np.sqrt(prod.size)
    assert cov > 0.01  # the subjects' shared deviations make their responses correlated


def test_poisson_moments_closed_form(epil):
    """Poisson-lognormal: E y = exp(eta + tau^2 / 2), Var y = mu + mu^2 (exp(tau^2) - 1)."""
    bare = dataclasses.replace(epil, data=None)  # trtprogabide: a 0/1 column of the design
    d = Design(8, within={"visit": [-1.5, -0.5, 0.5, 1.5] * 2,
                          "trtprogabide": [0] * 4 + [1] * 4}, params="mean")
    frame = model_frame(bare, "visit", d)
    r = simulate(bare, d, frame, start=0, stop=4000, seed=8)
    assert r.trials is None and np.all(r.y == np.round(r.y))
    b, Sigma = _point(epil)
    tau2 = np.einsum("uq,qp,up->u", frame.Z, Sigma, frame.Z)
    mu = np.exp(frame.X @ b + tau2 / 2)
    var = mu + mu**2 * np.expm1(tau2)
    got, mcse = _rows_moments(r)
    assert np.all(np.abs(got - mu) < 4 * mcse)
    y = r.y.reshape(-1, 8)
    dev2 = (y - mu) ** 2
    assert np.all(np.abs(dev2.mean(0) - var) < 4 * dev2.std(0) / np.sqrt(y.shape[0]))


def test_binomial_trials_from_the_design_and_the_original_rows(cbpp):
    d = Design(12, within={"period": ["1", "2", "3", "4"]}, params="mean", trials=20)
    frame = model_frame(cbpp, "period2", d)
    assert frame.trials.tolist() == [20.0] * 4
    r = simulate(cbpp, d, frame, start=0, stop=3000, seed=4)
    assert r.y.max() <= 20 and np.all(r.y == np.round(r.y))
    b, Sigma = _point(cbpp)
    eta, tau = frame.X @ b, np.sqrt(np.einsum("uq,qp,up->u", frame.Z, Sigma, frame.Z))
    p = mean_response(eta, tau, "logit")
    p2 = normal_expectation(lambda e: special.expit(e) ** 2, eta, tau)
    n = 20.0
    var = n * p - n * p2 + n**2 * (p2 - p**2)  # E Var(y | v) + Var E(y | v)
    got, mcse = _rows_moments(r)
    assert np.all(np.abs(got - n * p) < 4 * mcse)
    y = r.y.reshape(-1, 4)
    dev2 = (y - n * p) ** 2
    assert np.all(np.abs(dev2.mean(0) - var) < 4 * dev2.std(0) / np.sqrt(y.shape[0]))
    # trials taken with the original herds' rows (their sizes), and a clear error without any
    orig = model_frame(cbpp, "period2", Design(5, within="original"))
    sizes = set(pd.read_csv(DATA / "cbpp.csv", dtype={"period": str})["size"])
    assert orig.trials is not None and set(orig.trials) <= sizes
    bare = dataclasses.replace(cbpp, data=None, formula=None)
    with pytest.raises(ReplicInputError, match="needs the number of trials"):
        model_frame(bare, "period2", Design(4, within={"period2": [0, 1, 0, 0],
                                                      "period3": [0, 0, 1, 0],
                                                      "period4": [0, 0, 0, 1]}))


def test_seeding_rule_and_representation(bacteria):
    d = Design(6, x=WEEKS, missing=0.1)
    frame = model_frame(bacteria, "week", d)
    whole = simulate(bacteria, d, frame, start=0, stop=BLOCK + 40, seed=5,
                     representation="moments")
    assert whole.y is not None  # GLMMs always simulate whole data sets
    parts = [simulate(bacteria, d, frame, start=a, stop=b, seed=5)
             for a, b in ((0, 11), (11, BLOCK + 1), (BLOCK + 1, BLOCK + 40))]
    y = np.concatenate([p.y for p in parts])
    assert np.array_equal(np.nan_to_num(whole.y, nan=-1), np.nan_to_num(y, nan=-1))
    assert np.array_equal(whole.draw, np.concatenate([p.draw for p in parts]))
    other = simulate(bacteria, d, frame, start=0, stop=40, seed=6)
    assert not np.array_equal(np.nan_to_num(other.y), np.nan_to_num(whole.y[:40]))
    with pytest.raises(ReplicInputError, match="has no sigma"):
        simulate(bacteria, Design(3, x=WEEKS, params={"sigma": 1.0}), frame, start=0, stop=2,
                 seed=1)


def test_long_arrays_for_glmer_style_fits(cbpp):
    from replic.simulate import long_arrays

    d = Design(3, within={"period": ["1", "2", "3", "4"]}, trials=7, missing=0.2)
    frame = model_frame(cbpp, "period2", d)
    r = simulate(cbpp, d, frame, start=0, stop=5, seed=1)
    long = long_arrays(r)
    assert long["y"].shape == (5, 12) and long["X"].shape == (12, 4)
    assert long["group"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert long["trials"].tolist() == [7.0] * 12
    np.testing.assert_array_equal(long["observed"], ~np.isnan(long["y"]))
    np.testing.assert_array_equal(long["y"][2, 4:8], r.y[2, 1])
