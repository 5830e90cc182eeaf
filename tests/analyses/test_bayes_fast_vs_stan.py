"""bayes-fast against Stan refits of the same replicate data sets, on a boundary-heavy design.

Original: nlme's Orthodont, ``distance ~ age + (age | Subject)`` (bayes-fast fit, its data carried,
so both analyses use brms's default priors from the original's data).  Design: k = 4 new
children at ages 8, 10, 12, 14 -- four groups, so the replicates' posteriors of sd(age) pile up
near 0.  Both analyses see identical simulated data (same root seed and replicate keys).

Tolerances, per replicate whose Stan fit mixed (R-hat <= 1.02, bulk ESS >= 400: Stan's own
Monte Carlo error is then ~0.05 posterior sd on the mean and 0.1-0.15 on the 2.5%/97.5%
quantiles of these heavy-tailed four-group posteriors): posterior mean within 0.1 Stan posterior
sd, posterior sd within 15% (Stan's relative MCSE of the sd of such heavy tails is ~7%) and
within 5% on average, 95% interval ends within 0.35 sd each and within 0.1 sd on average
over replicates (no systematic shift), P(effect > 0) within 0.02; at least 3/4 of the
replicates must qualify.  Study level:
P(95% interval excludes 0 in the original's direction) of the two within 2 Monte Carlo SEs.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic import Design
from replic.bayes_fast import fit_bayes_fast
from replic.study import run_study

pytest.importorskip("stan", reason="PyStan is not installed")
DATA = Path(__file__).resolve().parents[1] / "data" / "bayes_fast"
REPS = 16


@pytest.fixture(scope="module")
def both():
    data = pd.read_csv(DATA / "orthodont.csv")
    post = fit_bayes_fast(data, "distance ~ 1 + age + (1 + age | Subject)", draws=4000, seed=1)
    design = Design(4, x=(8.0, 10.0, 12.0, 14.0))
    common = {"term": "age", "reps": REPS, "seed": 7, "n_jobs": 1}
    bf = run_study(post, [design], analysis="bayes-fast", options={"draws": 8000}, **common)
    st = run_study(post, [design], analysis="stan", options={"backend": "pystan"}, **common)
    return bf, st


def test_per_replicate_agreement(both):
    bf, st = (r.replicates.sort_values("rep").reset_index(drop=True) for r in both)
    assert np.array_equal(bf["seed"], st["seed"]) and np.array_equal(bf["draw"], st["draw"])
    ok = (st["rhat"] <= 1.02) & (st["ess_bulk"] >= 400) & (st["error"] == "")
    assert ok.sum() >= 3 * REPS // 4, st[["rhat", "ess_bulk", "divergences"]]
    sd = st.loc[ok, "se"]
    for col, tol in (("estimate", 0.1), ("lower", 0.35), ("upper", 0.35)):
        err = (bf.loc[ok, col] - st.loc[ok, col]) / sd
        assert err.abs().max() < tol, (col, err.round(3).tolist())
        assert abs(err.mean()) < 0.1, (col, err.round(3).tolist())
    ratio = bf.loc[ok, "se"] / sd - 1
    assert ratio.abs().max() < 0.15 and abs(ratio.mean()) < 0.05, ratio.round(3).tolist()
    assert ((bf.loc[ok, "prob_positive"] - st.loc[ok, "prob_positive"]).abs() < 0.02).all()


def test_study_probabilities_agree(both):
    p = [r.summary.set_index("criterion").loc["sig_same_direction"] for r in both]
    mcse = max(p[0]["mcse"], p[1]["mcse"], 1 / REPS)
    assert abs(p[0]["probability"] - p[1]["probability"]) <= 2 * mcse
