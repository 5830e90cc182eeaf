"""bayes-fast on held-out posteriors with mass near the boundary, against long brms runs.

References: tests/r/bayes_fast_boundary_reference.R (brms 2.18 / rstan, brms's default priors,
4 chains x 10000 draws after 1000 warm-up, adapt_delta 0.99-0.995): nlme's Orthodont
``distance ~ age + (age | Subject)`` (27 children; sd(Intercept) and sd(age) with 2.5%
quantiles at 0.1 and 0.03), Orthodont with Sex, the 11 girls (a very weak random slope), and 5
sleepstudy subjects with similar slopes (few groups).  Tolerance (issue 13): every b, sd, cor
and sigma within 0.15 reference sd in mean, sd, 2.5% and 97.5% quantile, at 5 seeds of 2^15
importance draws each.

One reference statistic is itself unreliable and is checked differently: on ``sleep_sub5`` the
posterior sd of ``sd_Subject__Days`` (a heavy right tail) is 1.9-2.0 in chains 1-3 of the brms
run and 5.4 in chain 4, which spent ~100 iterations at sd(Days) = 40-62 (an excursion the
tail's probability, ~3e-5 beyond 40 by importance sampling with 5800 proposals there, cannot
support); the pooled 3.27 is dominated by it.  There bayes-fast must lie within the range of
the per-chain values (committed thinned draws).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic.bayes_fast import summarise_bayes_fast

DATA = Path(__file__).resolve().parents[1] / "data" / "bayes_fast"
SETS = pd.read_csv(DATA / "boundary_datasets.csv").set_index("name")
SUMMARIES = pd.read_csv(DATA / "boundary_summaries.csv")
TOL = 0.15
STATS = ("mean", "sd", "q2.5", "q97.5")
UNRELIABLE = {("sleep_sub5", "sd_Subject__Days", "sd")}


@pytest.fixture(scope="module")
def chain_draws() -> pd.DataFrame:
    return pd.read_csv(DATA / "boundary_draws.csv.gz")


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("name", list(SETS.index))
def test_within_015_reference_sd(name, seed, chain_draws):
    row = SETS.loc[name]
    ref = SUMMARIES[SUMMARIES["dataset"] == name].set_index("parameter")
    ours = summarise_bayes_fast(pd.read_csv(DATA / f"{name}.csv"), row["formula"], draws=2**15,
                                seed=seed)
    assert set(ours.index) == set(ref.index)
    assert ours.attrs["khat"] < 0.7, ours.attrs["khat"]
    for par in ref.index:
        for stat in STATS:
            if (name, par, stat) in UNRELIABLE:
                per_chain = chain_draws[chain_draws["dataset"] == name].groupby(".chain")[par]
                lo, hi = per_chain.std().min(), per_chain.std().max()
                assert lo <= ours.loc[par, stat] <= hi, (par, stat, lo, hi)
                continue
            err = abs(ours.loc[par, stat] - ref.loc[par, stat]) / ref.loc[par, "sd"]
            assert err < TOL, (f"{name} seed {seed} {par} {stat}: {ours.loc[par, stat]:.4g} vs "
                               f"brms {ref.loc[par, stat]:.4g} ({err:.3f} posterior sd)")


def test_references_converged():
    """The long brms runs themselves: R-hat < 1.003, bulk ESS > 3500 per parameter."""
    assert SUMMARIES["rhat"].max() < 1.003 and SUMMARIES["ess_bulk"].min() > 3500
    assert np.all(SUMMARIES["n_draws"] == 40000)
