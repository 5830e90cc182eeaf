"""The one-matmul REML for many design patterns equals the pattern-by-pattern kernel."""

import numpy as np
import pytest

from replic.bayes_fast.reml import reml_conditional
from replic.bayes_fast.reml_patterns import reml_conditional_patterns
from replic.bayes_fast.stats import stats_from_long, stats_from_replicates
from replic.bayes_fast.transform import from_unconstrained, n_theta

T = 8


@pytest.mark.parametrize("Q", [1, 2, 3])
def test_equals_reml_conditional_with_missing_rows(Q):
    rng = np.random.default_rng(Q)
    t = np.arange(T, dtype=float)
    X = np.column_stack([np.ones(T), t, rng.normal(size=T)])
    Z = X[:, :Q]
    y = 50 + rng.normal(0, 5, (6, 4, T)) + 2.0 * t
    observed = rng.random(y.shape) > 0.3
    observed[..., :2] = True                       # every group keeps two rows
    stats = stats_from_replicates(np.where(observed, y, np.nan), X, Z, observed)
    eta = rng.normal(0, 0.8, (6, 7, n_theta(Q))) + np.r_[np.full(Q, 1.0),
                                                        np.zeros(n_theta(Q) - Q - 1), 1.5]
    theta, _ = from_unconstrained(eta, Q)
    a, b = reml_conditional(stats, theta), reml_conditional_patterns(stats, theta)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-8, atol=1e-6)
    np.testing.assert_allclose(b.beta_hat, a.beta_hat, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.cov_beta(), a.cov_beta(), rtol=1e-8, atol=1e-10)


def test_equals_reml_conditional_for_long_data_and_singular_sigma():
    rng = np.random.default_rng(5)
    n_obs = 60
    g = rng.integers(0, 9, n_obs)
    x = rng.uniform(8, 14, n_obs)
    X = Z = np.column_stack([np.ones(n_obs), x])
    y = 20 + 0.6 * x + rng.normal(0, 2, 9)[g] + rng.normal(0, 1.4, n_obs)
    stats = stats_from_long(y, X, Z, g, 9)
    eta = rng.normal(0, 1, (1, 50, 4))
    eta[0, :5, 1] = -40.0                           # sd(x) = e^-40: Sigma numerically singular
    theta, _ = from_unconstrained(eta, 2)
    a, b = reml_conditional(stats, theta), reml_conditional_patterns(stats, theta)
    np.testing.assert_allclose(b.loglik, a.loglik, rtol=1e-8, atol=1e-6)
    np.testing.assert_allclose(b.beta_hat, a.beta_hat, rtol=1e-5, atol=1e-6)
