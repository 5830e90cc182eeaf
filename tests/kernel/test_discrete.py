"""Inverse distribution functions of the Poisson and binomial: equal to scipy's ppf."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from replic.kernel.discrete import binomial_quantile, poisson_quantile


def test_poisson_quantile_equals_scipy():
    rng = np.random.default_rng(0)
    u = rng.random(20_000)
    mu = np.exp(rng.normal(1.0, 3.0, u.size))
    np.testing.assert_array_equal(poisson_quantile(u, mu), stats.poisson.ppf(u, mu))
    edge = poisson_quantile(np.array([0.0, 0.5, 1 - 1e-16]), np.array([1e-9, 1e6, 2.0]))
    np.testing.assert_array_equal(edge, [0.0, stats.poisson.ppf(0.5, 1e6), 22.0])
    assert poisson_quantile(rng.random((3, 4)), 2.0).shape == (3, 4)


def test_binomial_quantile_equals_scipy():
    rng = np.random.default_rng(1)
    u = rng.random(20_000)
    n = rng.integers(1, 200, u.size).astype(float)
    p = special.expit(rng.normal(-1.0, 3.0, u.size))
    np.testing.assert_array_equal(binomial_quantile(u, n, p), stats.binom.ppf(u, n, p))
    edge = binomial_quantile(np.array([0.0, 0.5, 0.9, 0.3]), np.array([5.0, 5.0, 5.0, 1.0]),
                             np.array([0.0, 1.0, 0.5, 0.5]))
    np.testing.assert_array_equal(edge, [0.0, 5.0, 4.0, 0.0])
