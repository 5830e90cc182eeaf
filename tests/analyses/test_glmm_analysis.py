"""The batched ``glmm`` analysis agrees with fit_glmm replicate by replicate.

Replicates are simulated here with numpy from known parameters (a sleepstudy-sized binary design:
18 subjects x 10 observations, random intercept and slope; a Poisson and a binomial design with
trials), some with unobserved rows, then refitted in one batch and one by one through fit_glmm's
formula path.  The batch uses forward differences of the gradient for the Hessian, fit_glmm
central ones: SEs agree to 1e-4 relative, estimates to 1e-6.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from replic.analyses import get_analysis
from replic.analyses.glmm import GlmmContext
from replic.glmm import fit_glmm

X_VALUES = np.arange(10) / 3.0 - 1.5


def _replicates(family: str, n: int, *, k: int = 18, seed: int = 1, trials: int = 6,
                missing: float = 0.0, intercept_only: bool = False):
    rng = np.random.default_rng(seed)
    U = X_VALUES.size
    X = np.column_stack([np.ones(U), X_VALUES])
    Z = X[:, :1] if intercept_only else X
    beta = np.array([0.3, 0.5]) if family != "poisson" else np.array([1.0, 0.3])
    L = np.array([[0.8]]) if intercept_only else np.array([[0.8, 0.0], [0.1, 0.4]])
    v = rng.standard_normal((n, k, Z.shape[1])) @ L.T
    eta = (X @ beta)[None, None, :] + v @ Z.T
    if family == "poisson":
        y = rng.poisson(np.exp(eta)).astype(float)
    else:
        size = trials if family == "binomial" else 1
        y = rng.binomial(size, 1 / (1 + np.exp(-eta))).astype(float)
    observed = None
    if missing:
        observed = rng.random(y.shape) >= missing
        y = np.where(observed, y, np.nan)
    frame = SimpleNamespace(X=X, Z=Z, t=1, trials=np.full(U, float(trials)))
    return SimpleNamespace(y=y, observed=observed, frame=frame, n=n)


def _one(reps, r: int) -> pd.DataFrame:
    k, U = reps.y.shape[1:]
    df = pd.DataFrame({"y": reps.y[r].ravel(), "x": np.tile(X_VALUES, k),
                       "g": np.repeat([f"s{j:02d}" for j in range(k)], U), "n": 6})
    return df.dropna()


CASES = {
    "bernoulli": ("bernoulli", "y ~ x + (x | g)", {}),
    "bernoulli_missing": ("bernoulli", "y ~ x + (x | g)", {"missing": 0.2}),
    "poisson": ("poisson", "y ~ x + (x | g)", {}),
    "binomial": ("binomial", "y | trials(n) ~ x + (1 | g)", {"intercept_only": True}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_batch_agrees_with_fit_glmm_per_replicate(case):
    family, formula, kw = CASES[case]
    reps = _replicates(family, 5, **kw)
    out = get_analysis("glmm").run(reps, GlmmContext(family=family))
    for r in range(reps.n):
        fit = fit_glmm(_one(reps, r), formula, family=family)
        row = fit.fixed.loc["x"]
        assert out["error"][r] == ""
        assert out["estimate"][r] == pytest.approx(row["estimate"], abs=1e-6)
        assert out["se"][r] == pytest.approx(row["se"], rel=1e-4)
        assert out["p"][r] == pytest.approx(row["p"], rel=1e-3, abs=1e-8)
        assert out["lower"][r] == pytest.approx(row["lower"], abs=1e-4)
        assert bool(out["singular"][r]) == fit.singular
        assert bool(out["converged"][r]) == fit.converged
    assert (out["subjects"] == 18).all()


def test_quadrature_option_and_refusals():
    reps = _replicates("binomial", 3, intercept_only=True)
    an = get_analysis("glmm")
    out = an.run(reps, GlmmContext(family="binomial", nAGQ=9))
    for r in range(3):
        fit = fit_glmm(_one(reps, r), "y | trials(n) ~ x + (1 | g)", family="binomial", nAGQ=9)
        assert out["estimate"][r] == pytest.approx(fit.fixed.loc["x", "estimate"], abs=1e-6)
        assert out["se"][r] == pytest.approx(fit.fixed.loc["x", "se"], rel=1e-4)


def test_a_replicate_without_successes_is_an_error_row_not_fatal():
    reps = _replicates("bernoulli", 3)
    reps.y[1] = 0.0                                   # glmer: 'Response is constant'
    out = get_analysis("glmm").run(reps, GlmmContext(family="bernoulli"))
    assert out["error"][0] == "" and out["error"][2] == ""
    assert "constant" in out["error"][1]
    assert np.isnan(out["estimate"][1]) and not out["converged"][1]
    assert np.isfinite(out["estimate"][[0, 2]]).all()


def test_results_do_not_depend_on_the_batch():
    """Same bits whatever replicates share a batch (any chunking, any n_jobs)."""
    reps = _replicates("bernoulli", 12, seed=4, missing=0.1)
    an, ctx = get_analysis("glmm"), GlmmContext(family="bernoulli")
    whole = an.run(reps, ctx)
    for lo, hi in ((0, 5), (5, 6), (6, 12)):
        part = SimpleNamespace(y=reps.y[lo:hi], observed=reps.observed[lo:hi],
                               frame=reps.frame, n=hi - lo)
        out = an.run(part, ctx)
        for key in ("estimate", "se", "p", "lower", "upper"):
            np.testing.assert_array_equal(out[key], whole[key][lo:hi])


def test_one_subject_is_an_error_row_as_in_glmer():
    reps = _replicates("bernoulli", 2, k=1)
    out = get_analysis("glmm").run(reps, GlmmContext(family="bernoulli"))
    assert all("at least 2 subjects" in e for e in out["error"])
    assert np.isnan(out["estimate"]).all()
