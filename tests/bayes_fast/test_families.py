"""bayes-fast is exact for Gaussian models only: other families are refused with one clear error
naming the family and the fits and analyses that handle it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic import ReplicInputError
from replic.bayes_fast.fit import fit_bayes_fast, summarise_bayes_fast
from replic.family import Family
from replic.posterior import Posterior

DATA = Path(__file__).resolve().parents[1] / "data" / "brms_glmm"


def test_fit_refuses_binomial_bernoulli_and_poisson():
    cbpp = pd.read_csv(DATA / "cbpp.csv").astype({"herd": str, "period": str})
    with pytest.raises(ReplicInputError, match=r"fit_bayes_fast: family binomial\(logit\) is "
                       r"not supported.*fit_posterior\(\.\.\., family='binomial'\).*fit_glmm"
                       r".*analysis 'stan' or 'glmm'"):
        fit_bayes_fast(cbpp, "incidence | trials(size) ~ period + (1 | herd)")  # implied
    bacteria = pd.read_csv(DATA / "bacteria.csv")
    with pytest.raises(ReplicInputError, match=r"family bernoulli\(logit\)"):
        fit_bayes_fast(bacteria, "y ~ week + (week | ID)", family="bernoulli")
    epilepsy = pd.read_csv(DATA / "epilepsy.csv")
    with pytest.raises(ReplicInputError, match=r"family poisson\(log\)"):
        summarise_bayes_fast(epilepsy, "count ~ zAge + (1 | patient)", family="poisson")


def test_analysis_refuses_a_bernoulli_posterior():
    from replic.analyses import get_analysis

    S = 4
    post = Posterior(fixed=("Intercept", "x"), varying=("Intercept",), group="g",
                     b=np.zeros((S, 2)), sd=np.ones((S, 1)), cor=np.ones((S, 1, 1)), sigma=None,
                     family=Family.of("bernoulli"))
    with pytest.raises(ReplicInputError, match=r"'bayes-fast' handles gaussian models only; "
                       r"the model is bernoulli\(logit\): use analysis .*stan"):
        get_analysis("bayes-fast").prepare(post, None, {})
