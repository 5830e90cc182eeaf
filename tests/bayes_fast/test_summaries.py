"""Normal-mixture and weighted-draw summaries."""

import numpy as np
from scipy.optimize import brentq
from scipy.stats import norm

from replic.bayes_fast.summaries import mixture_quantile, mixture_summary, weighted_quantile


def test_mixture_quantiles_against_root_finding():
    rng = np.random.default_rng(3)
    mean = rng.normal(0, 2, (4, 50))
    var = rng.uniform(0.1, 3, (4, 50))
    w = rng.dirichlet(np.ones(50), size=4)
    for p in (0.025, 0.5, 0.975):
        got = mixture_quantile(mean, var, w, p)
        for i in range(4):
            def cdf(x, i=i, p=p):
                return np.sum(w[i] * norm.cdf(x, mean[i], np.sqrt(var[i]))) - p
            assert abs(got[i] - brentq(cdf, -50, 50, xtol=1e-12)) < 1e-7


def test_mixture_summary_moments_and_probability():
    mean = np.array([[1.0, 3.0]])
    var = np.array([[1.0, 4.0]])
    lw = np.log(np.array([[0.25, 0.75]]))
    s = mixture_summary(mean, var, lw)
    assert np.isclose(s["estimate"][0], 2.5)
    assert np.isclose(s["se"][0] ** 2, 0.25 * 1 + 0.75 * 4 + 0.25 * 1.5**2 + 0.75 * 0.5**2)
    pos = 0.25 * norm.cdf(1.0) + 0.75 * norm.cdf(1.5)
    assert np.isclose(s["prob_positive"][0], pos) and np.isclose(s["p"][0], 2 * (1 - pos))


def test_weighted_quantile_equal_weights_is_median():
    x = np.arange(101.0)[None]
    w = np.full((1, 101), 1 / 101)
    assert np.isclose(weighted_quantile(x, w, 0.5)[0], 50.0)
