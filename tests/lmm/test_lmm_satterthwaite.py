"""Satterthwaite df: against lmerTest at a tight optimum on real longitudinal data sets
(tests/r/satterthwaite_reference.R), against the exact k - 1 of balanced designs, and at the
boundary against the df at the closed-form (exact) optimum."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic.kernel.stats import stats_from_replicates
from replic.lmm import fit_batch, fit_lmm
from replic.lmm.balanced import fit_balanced

LME4 = Path(__file__).parents[1] / "data" / "lme4"
SLEEP = Path(__file__).parents[2] / "replic" / "datasets" / "sleepstudy.csv"
REF = pd.read_csv(LME4 / "satterthwaite.csv")
CASES = sorted({(d, r) for d, r in zip(REF.dataset, REF.reml, strict=True)})


@pytest.mark.parametrize(("name", "reml"), CASES)
def test_df_as_lmertest_at_a_tight_optimum(name, reml):
    ref = REF[(REF.dataset == name) & (REF.reml == reml)].set_index("term")
    data = pd.read_csv(SLEEP if name == "sleepstudy" else LME4 / f"{name}.csv")
    fit = fit_lmm(data, ref.formula.iloc[0], reml=bool(reml))
    assert list(fit.fixed.index) == list(ref.index)
    assert fit.singular == bool(ref.singular.iloc[0]) and fit.n_obs == ref.n.iloc[0]
    np.testing.assert_allclose(fit.fixed["df"], ref["df"], rtol=1e-5)
    np.testing.assert_allclose(fit.fixed["se"], ref["se"], rtol=1e-5)


@pytest.fixture(scope="module")
def balanced():
    """400 balanced data sets (8 subjects x 6 occasions) with a small slope variance: about
    half the REML optima are interior (many close to the boundary), half singular."""
    rng = np.random.default_rng(5)
    n, k, T = 400, 8, 6
    x = np.arange(T, dtype=float)
    X = np.column_stack([np.ones(T), x])
    u = rng.standard_normal((n, k, 2)) * [3.0, 0.15]
    y = 10 + u[..., :1] + (1 + u[..., 1:]) * x + rng.standard_normal((n, k, T))
    return k, fit_balanced(y, X, X), fit_batch(stats_from_replicates(y, X, X))


def test_balanced_interior_df_are_exactly_k_minus_1(balanced):
    k, exact, general = balanced
    interior = ~exact.singular
    near = interior & (exact.theta[:, 2] < 0.1)            # slope sd below 0.1 sigma
    assert interior.sum() > 150 and near.sum() > 20
    np.testing.assert_allclose(general.df[interior], k - 1, rtol=0, atol=1e-6)


def test_balanced_boundary_fits_reach_the_boundary(balanced):
    _, exact, general = balanced
    singular = exact.singular
    assert singular.sum() > 100
    assert np.array_equal(general.singular, exact.singular)
    np.testing.assert_allclose(general.theta[singular], exact.theta[singular], atol=1e-7)
    np.testing.assert_allclose(general.df[singular], exact.df[singular], rtol=1e-6)
    np.testing.assert_allclose(general.criterion, exact.criterion, rtol=1e-12)
