"""Vectorised brms default priors equal replic.priors.default_priors row by row."""

import numpy as np

from replic.bayes_fast.batch_priors import batch_priors
from replic.priors import Priors, StudentT, default_priors


def test_rows_match_default_priors():
    rng = np.random.default_rng(0)
    y = rng.normal(250, 40, (30, 60)) * rng.uniform(0.001, 3, (30, 1))
    y[rng.random(y.shape) < 0.2] = np.nan
    bp = batch_priors(None, y)
    for i in range(30):
        ref = default_priors(y[i][np.isfinite(y[i])])
        assert (bp.intercept[1][i], bp.intercept[2][i]) == (ref.intercept.location,
                                                            ref.intercept.scale)
        assert bp.sd[2][i] == ref.sd.scale and bp.sigma[2][i] == ref.sigma.scale
    assert bp.lkj == 1.0


def test_explicit_priors_are_shared():
    pri = Priors(intercept=None, sd=StudentT(3, 0, 5), sigma=StudentT(4, 0, 2), lkj=2.0)
    bp = batch_priors(pri, np.zeros((3, 1)))
    assert bp.intercept is None and bp.lkj == 2.0
    np.testing.assert_array_equal(bp.sigma[0], [4.0, 4.0, 4.0])
    assert bp.take(slice(1, 2)).sd[2].tolist() == [5.0]
