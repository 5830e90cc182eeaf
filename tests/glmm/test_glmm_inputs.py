"""fit_glmm refuses bad input with one clear ReplicInputError naming the argument or column."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic import ReplicInputError
from replic.glmm import fit_glmm

REF = Path(__file__).parents[1] / "data" / "glmer"


@pytest.fixture(scope="module")
def cbpp() -> pd.DataFrame:
    return pd.read_csv(REF / "cbpp.csv", dtype={"herd": str, "period": str})


@pytest.fixture(scope="module")
def bacteria() -> pd.DataFrame:
    return pd.read_csv(REF / "bacteria.csv")


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"family": "gaussian"}, "family='gaussian'.*fit_lmm"),
    ({"family": "gamma"}, "family='gamma'"),
    ({"family": "bernoulli", "nAGQ": 0}, "nAGQ=0"),
    ({"family": "bernoulli", "nAGQ": 26}, "nAGQ=26"),
    ({"family": "bernoulli", "nAGQ": 2.5}, "nAGQ=2.5"),
    ({"family": "bernoulli", "nAGQ": True}, "nAGQ=True"),
    ({"family": "bernoulli", "nAGQ": 5}, "nAGQ=5.*one scalar random effect"),
])
def test_bad_arguments(bacteria, kwargs, match):
    with pytest.raises(ReplicInputError, match=match):
        fit_glmm(bacteria, "y ~ week + (week | ID)", **kwargs)


def test_bad_responses(bacteria, cbpp):
    with pytest.raises(ReplicInputError, match="week"):          # not 0/1
        fit_glmm(bacteria, "week ~ 1 + (1 | ID)", family="bernoulli")
    with pytest.raises(ReplicInputError, match="trials"):        # binomial without trials
        fit_glmm(cbpp, "incidence ~ period + (1 | herd)", family="binomial")
    with pytest.raises(ReplicInputError, match="constant"):
        fit_glmm(bacteria.assign(y=1), "y ~ week + (1 | ID)", family="bernoulli")
    with pytest.raises(ReplicInputError):                        # negative counts
        fit_glmm(cbpp.assign(incidence=-cbpp["incidence"]), "incidence ~ period + (1 | herd)",
                 family="poisson")
    with pytest.raises(ReplicInputError, match="formula"):       # no evaluated user text
        fit_glmm(cbpp, "incidence | trials(__import__('os').getpid()) ~ 1 + (1 | herd)",
                 family="binomial")


def test_missing_rows_are_dropped_and_counted(cbpp):
    full = fit_glmm(cbpp, "incidence | trials(size) ~ period + (1 | herd)", family="binomial")
    holed = cbpp.copy()
    holed.loc[[3, 7], "incidence"] = np.nan
    fit = fit_glmm(holed, "incidence | trials(size) ~ period + (1 | herd)", family="binomial")
    again = fit_glmm(cbpp.drop(index=[3, 7]), "incidence | trials(size) ~ period + (1 | herd)",
                     family="binomial")
    assert fit.n_dropped == 2 and fit.n_obs == full.n_obs - 2
    pd.testing.assert_frame_equal(fit.fixed, again.fixed)
