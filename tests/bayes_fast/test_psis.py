"""PSIS against ArviZ and on weights with known Pareto tails."""

import warnings

import numpy as np
import pytest

from replic.bayes_fast.psis import psis, weights_ess


def test_matches_arviz_row_by_row():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")          # arviz announces its refactor on import
        import arviz as az
    rng = np.random.default_rng(0)
    lw = np.stack([rng.standard_t(df, 3000) * s for df, s in
                   [(3, 1.0), (10, 0.5), (2, 2.0), (50, 0.1), (1, 1.0)]])
    ref_lw, ref_k = az.psislw(lw.copy())
    mine_lw, mine_k = psis(lw)
    np.testing.assert_allclose(mine_k, ref_k, rtol=1e-10)
    np.testing.assert_allclose(mine_lw, ref_lw, atol=1e-10)


@pytest.mark.parametrize("k", [0.2, 0.5, 0.9])
def test_khat_recovers_pareto_shape(k):
    rng = np.random.default_rng(1)
    # generalised Pareto(k) weights: log w = log((U^-k - 1) / k)
    u = rng.random((40, 4000))
    lw = np.log((u ** -k - 1) / k)
    _, khat = psis(lw)
    assert abs(np.median(khat) - k) < 0.08


def test_normalised_and_ess():
    lw = np.zeros((2, 1000))
    lw[1, :10] = 5.0
    out, _ = psis(lw)
    np.testing.assert_allclose(np.exp(out).sum(axis=1), 1.0)
    ess = weights_ess(out)
    assert ess[0] == pytest.approx(1000) and ess[1] < 200
