"""Convergence diagnostics (replic.stan.diagnostics) on draws whose mixing is known: arviz's
rank-normalised split R-hat, for one chain too (its two halves)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic.stan.diagnostics import convergence


def _table(draws: np.ndarray) -> pd.DataFrame:
    """brms-named draws of shape (chains, S, 2)."""
    chains, s, _ = draws.shape
    return pd.DataFrame({"b_Intercept": draws[..., 0].reshape(-1),
                         "sigma": draws[..., 1].reshape(-1),
                         ".chain": np.repeat(np.arange(1, chains + 1), s)})


def test_one_chain_has_a_finite_rhat_near_one_when_it_mixes():
    x = np.random.default_rng(1).normal(size=(1, 2000, 2))
    d = convergence(_table(x))
    assert 1.0 - 0.01 < d["rhat"] < 1.01
    assert d["converged"]


def test_one_chain_that_drifts_between_its_halves_is_not_converged():
    x = np.random.default_rng(2).normal(size=(1, 2000, 2))
    x[0, 1000:, 0] += 3.0          # the second half sits 3 sd away: split R-hat sees it
    d = convergence(_table(x))
    assert d["rhat"] > 1.5
    assert not d["converged"]


def test_several_chains_unchanged_by_the_one_chain_rule():
    x = np.random.default_rng(3).normal(size=(4, 500, 2))
    x[3] += 2.0                    # one chain stuck elsewhere
    d = convergence(_table(x), ess_min=100.0)
    assert d["rhat"] > 1.2 and not d["converged"]
    assert convergence(_table(x[:3]), ess_min=100.0)["rhat"] == pytest.approx(1.0, abs=0.01)
