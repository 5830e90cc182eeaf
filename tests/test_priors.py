"""brms's default priors per family, against ``get_prior`` of brms 2.18 on public data sets.

tests/data/brms_glmm/priors.csv comes from tests/r/brms_glmm_reference.R: MASS::bacteria
(bernoulli), lme4::cbpp (binomial with trials), brms::epilepsy (poisson).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic import ReplicInputError
from replic.priors import StudentT, default_priors

DATA = Path(__file__).parent / "data" / "brms_glmm"
CASES = {"bacteria": ("bernoulli", "y"), "cbpp": ("binomial", "incidence"),
         "epilepsy": ("poisson", "count")}


def _r(prior: StudentT) -> str:
    """How brms prints a Student-t prior."""
    return f"student_t({prior.df:g}, {prior.location:g}, {prior.scale:g})"


@pytest.mark.parametrize("dataset", sorted(CASES))
def test_family_defaults_are_brms_get_prior(dataset):
    family, response = CASES[dataset]
    brms = pd.read_csv(DATA / "priors.csv", keep_default_na=False)
    brms = brms[(brms["dataset"] == dataset) & (brms["coef"] == "") & (brms["group"] == "")]
    wanted = dict(zip(brms["class"], brms["prior"], strict=True))
    y = pd.read_csv(DATA / f"{dataset}.csv")[response].to_numpy(dtype=float)
    ours = default_priors(y, family=family)
    assert _r(ours.intercept) == wanted["Intercept"]
    assert _r(ours.sd) == wanted["sd"]
    assert ours.sigma is None and ours.lkj == 1.0


def test_log_link_priors_follow_the_log_response():
    """brms: zeros become 0.1 before the log; location round(median, 1), scale >= 2.5."""
    y = np.array([0, 0, 0, 1, 200, 5000, 90000])  # log(y): -2.3 x3, 0, 5.3, 8.5, 11.4
    p = default_priors(y, family="poisson")
    assert p.intercept == StudentT(3.0, 0.0, 3.4)  # mad(log y) = 1.4826 * 2.303 = 3.41
    assert p.sd == StudentT(3.0, 0.0, 3.4)
    g = default_priors(np.array([1.0, 2.0, 4.0]))
    assert g.sigma == StudentT(3.0, 0.0, 2.5) and g.intercept == StudentT(3.0, 2.0, 2.5)


def test_unknown_family_is_refused():
    with pytest.raises(ReplicInputError, match=r"family='gamma'.*gaussian, bernoulli"):
        default_priors(np.ones(3), family="gamma")
