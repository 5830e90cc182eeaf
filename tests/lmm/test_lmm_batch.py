"""The batched engine (fit_replicates) against fit_lmm and lme4, balanced and with missingness."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic.kernel.stats import stats_from_replicates
from replic.lmm import fit_batch, fit_lmm, fit_replicates
from replic.lmm.balanced import closed_form_applies

DAYS = np.arange(10.0)
X = np.column_stack([np.ones(10), DAYS])


def simulate(n, k, *, sd=(24.7, 5.9), cor=0.07, sigma=25.6, missing=0.0, seed=0):
    """Sleepstudy-shaped replicates: y = 251.4 + 10.5 Days + u_0 + u_1 Days + e."""
    rng = np.random.default_rng(seed)
    S = np.array([[sd[0] ** 2, cor * sd[0] * sd[1]], [cor * sd[0] * sd[1], sd[1] ** 2]])
    u = rng.multivariate_normal(np.zeros(2), S, size=(n, k))
    y = 251.4 + 10.5 * DAYS + u[..., :1] + u[..., 1:] * DAYS + rng.normal(0, sigma, (n, k, 10))
    if missing:
        y = np.where(rng.random(y.shape) < missing, np.nan, y)
    return y


def long(y):
    k, T = y.shape
    d = pd.DataFrame({"y": y.ravel(), "x": np.tile(DAYS[:T], k), "g": np.repeat(np.arange(k), T)})
    return d.dropna()


def compare(batch, i, fit):
    np.testing.assert_allclose(batch.beta[i], fit.fixed["estimate"], rtol=1e-6)
    np.testing.assert_allclose(batch.se[i], fit.fixed["se"], rtol=1e-5)
    np.testing.assert_allclose(batch.df[i], fit.fixed["df"], rtol=1e-3)
    assert batch.sigma[i] == pytest.approx(fit.sigma, rel=1e-5)
    assert batch.criterion[i] <= fit.criterion + 1e-6
    assert batch.criterion[i] == pytest.approx(fit.criterion, abs=1e-5)
    assert batch.singular[i] == fit.singular


@pytest.mark.parametrize("missing", [0.0, 0.2])
def test_replicates_agree_with_fit_lmm(missing):
    y = simulate(30, 8, missing=missing, seed=1)
    batch = fit_replicates(y, X, X)
    assert (batch.error == "").all() and batch.converged.all()
    for i in range(0, 30, 6):
        compare(batch, i, fit_lmm(long(y[i]), "y ~ 1 + x + (1 + x | g)"))


@pytest.mark.parametrize(("name", "missing"), [("balanced", False), ("balanced_missing", True)])
def test_replicate_engine_agrees_with_lme4(lme4_ref, lme4_data, name, missing):
    full = lme4_data("balanced")
    d = lme4_data(name)
    levels = sorted(full.g.unique())
    T = 8
    y = np.full((1, len(levels), T), np.nan)
    y[0, [levels.index(g) for g in d.g], d.x.astype(int)] = d.y
    batch = fit_replicates(y, np.column_stack([np.ones(T), np.arange(T)]),
                           np.column_stack([np.ones(T), np.arange(T)]))
    fx = lme4_ref["fixed"]
    ref = fx[(fx.dataset == name) & fx.reml]
    np.testing.assert_allclose(batch.beta[0], ref.estimate, rtol=1e-4)
    np.testing.assert_allclose(batch.se[0], ref.se, rtol=1e-4)
    np.testing.assert_allclose(batch.df[0], ref.df, rtol=1e-3)
    crit = lme4_ref["fit"].query("dataset == @name and reml").criterion.iloc[0]
    assert crit - 1e-4 < batch.criterion[0] <= crit + 1e-6


def test_closed_form_equals_profiled_reml_including_boundary():
    # a small slope sd puts many replicates on the boundary (singular fits)
    y = simulate(200, 6, sd=(20.0, 0.3), sigma=25.0, seed=2)
    assert closed_form_applies(X, X)
    closed = fit_replicates(y, X, X)
    profiled = fit_batch(stats_from_replicates(y, X, X))
    assert 20 < closed.singular.sum() < 200
    assert (closed.criterion <= profiled.criterion + 1e-6).all()
    np.testing.assert_allclose(closed.criterion, profiled.criterion, atol=1e-5)
    np.testing.assert_allclose(closed.beta, profiled.beta, rtol=1e-6)
    np.testing.assert_allclose(closed.se, profiled.se, rtol=1e-4)
    np.testing.assert_allclose(closed.df, profiled.df, rtol=1e-3)
    np.testing.assert_array_equal(closed.singular, profiled.singular)
    interior = ~closed.singular
    assert (closed.df[interior] == 5).all()


def test_singular_flag_matches_fit_lmm_on_boundary_fits():
    y = simulate(60, 6, sd=(20.0, 0.3), sigma=25.0, missing=0.15, seed=4)
    batch = fit_replicates(y, X, X)
    sing = np.flatnonzero(batch.singular)
    assert sing.size >= 3
    for i in sing[:3]:
        fit = fit_lmm(long(y[i]), "y ~ 1 + x + (1 + x | g)")
        assert fit.singular
        compare(batch, i, fit)
    diag = batch.theta[:, [0, 2]]
    assert ((diag.min(axis=1) < 1e-4) == batch.singular).all()


def test_random_intercept_only_uses_profiled_reml():
    y = simulate(10, 6, sd=(20.0, 1e-9), seed=5)
    Z = X[:, :1]
    assert not closed_form_applies(X, Z)
    batch = fit_replicates(y, X, Z)
    for i in (0, 7):
        compare(batch, i, fit_lmm(long(y[i]), "y ~ 1 + x + (1 | g)"))


def test_failed_replicates_are_kept_with_a_reason():
    y = simulate(5, 4, missing=0.2, seed=6)
    y[1] = np.nan                        # nothing observed
    y[2, 1:] = np.nan                    # one subject left
    y[3, :, 1:] = np.nan                 # one observation per subject: as many as effects
    batch = fit_replicates(y, X, X)
    assert batch.beta.shape == (5, 2)
    assert batch.error[0] == "" and batch.error[4] == ""
    assert "fewer" in batch.error[1]
    assert "fewer than 2 groups" in batch.error[2]
    assert "fewer observations than random effects" in batch.error[3]
    assert np.isnan(batch.beta[1:4]).all() and not batch.converged[1:4].any()
    assert np.isfinite(batch.beta[[0, 4]]).all()


def test_rank_deficient_replicates_are_kept_with_a_reason():
    x = np.repeat([0.0, 1.0, 2.0], [4, 3, 3])          # repeated design points
    Xr = np.column_stack([np.ones(10), x])
    y = simulate(3, 5, seed=9)
    y[1, :, 4:] = np.nan                               # replicate 1 observed at x = 0 only
    batch = fit_replicates(y, Xr, Xr)
    assert "rank deficient" in batch.error[1]
    assert (batch.error[[0, 2]] == "").all()


def test_ml_replicates_agree_with_fit_lmm():
    y = simulate(6, 7, missing=0.1, seed=7)
    batch = fit_replicates(y, X, X, reml=False)
    for i in (0, 5):
        compare(batch, i, fit_lmm(long(y[i]), "y ~ 1 + x + (1 + x | g)", reml=False))


def test_slices_give_the_same_fits(monkeypatch):
    import replic.lmm.replicates as rep

    y = simulate(40, 8, missing=0.2, seed=8)
    whole = fit_replicates(y, X, X)
    monkeypatch.setattr(rep, "_CELLS", 100)            # slices of 16 replicates
    sliced = fit_replicates(y, X, X)
    for name in ("beta", "cov", "df", "theta", "sigma", "criterion"):
        np.testing.assert_allclose(getattr(sliced, name), getattr(whole, name), rtol=1e-10)
    np.testing.assert_array_equal(sliced.singular, whole.singular)


def test_engine_agrees_with_lme4_on_replicates():
    """24 sleepstudy-shaped replicates simulated and fitted in R (12 complete, 12 with 20%
    missing; several of lme4's fits singular): estimate, SE, Satterthwaite df, criterion, flag."""
    here = Path(__file__).parents[1] / "data" / "lme4"
    d = pd.read_csv(here / "replicates.csv")
    ref = pd.read_csv(here / "replicate_fits.csv")
    y = np.full((24, 6, 10), np.nan)
    y[d["rep"] - 1, d["g"].str[1:].astype(int) - 1, d["x"]] = d["y"]
    fit = fit_replicates(y, X, X)
    assert ref["singular"].sum() >= 3 and ref["missing"].sum() == 12
    np.testing.assert_allclose(fit.beta[:, 1], ref["estimate"], rtol=1e-4)
    np.testing.assert_allclose(fit.se[:, 1], ref["se"], rtol=1e-4)
    np.testing.assert_allclose(fit.df[:, 1], ref["df"], rtol=1e-3)
    assert (fit.criterion <= ref["criterion"] + 1e-6).all()
    np.testing.assert_allclose(fit.criterion, ref["criterion"], atol=1e-4)
    np.testing.assert_array_equal(fit.singular, ref["singular"])
