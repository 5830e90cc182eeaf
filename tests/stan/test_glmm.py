"""fit_posterior on GLMMs: brms's posterior within Monte Carlo error, the same draws on both
backends.

Reference: tests/r/brms_glmm_reference.R -- brms 2.18 (rstan 2.21), brms's default priors, one
long run (4 chains x 5000 draws after 1000 warm-up, seed 2026) per data set, summarised with
Monte Carlo standard errors (posterior 1.4) in tests/data/brms_glmm/reference.csv.  Tested here:
lme4::cbpp, ``incidence | trials(size) ~ period + (1 | herd)`` (binomial with trials, the
cheapest), with brms's settings (4 x 1000 after 1000 warm-up) on PyStan: the mean, sd, 2.5% and
97.5% quantiles of every b and sd within 4 combined Monte Carlo standard errors of brms's
(replic's MCSE from arviz; brms's sd MCSE scaled from replic's by the ESS ratio) and within
0.2 reference posterior sds.  The bernoulli (MASS::bacteria, correlated random slope) and
poisson (brms::epilepsy) references are checked by ``benchmarks/bench_stan_glmm.py`` (README,
Accuracy).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.stan.conftest import need_backend
from tests.stan.glmm_reference import DATA, MODELS, agreement, load

_FITS: dict[str, object] = {}


def cbpp_fit(backend: str):
    """cbpp with brms's settings on ``backend``, fitted once per session (~10 s)."""
    from replic.stan.fit import fit_posterior

    if backend not in _FITS:
        formula, family = MODELS["cbpp"]
        _FITS[backend] = fit_posterior(load("cbpp"), formula, family=family, seed=2026,
                                       backend=backend, quiet=True)
    return _FITS[backend]


def test_cbpp_matches_brms():
    post = cbpp_fit(need_backend("pystan"))
    assert post.family.name == "binomial" and post.sigma is None
    assert post.fixed == ("Intercept", "period2", "period3", "period4")
    d = post.diagnostics
    assert d["converged"] and d["divergences"] == 0 and d["family"] == "binomial"
    assert d["priors"]["intercept"] == {"df": 3.0, "location": 0.0, "scale": 2.5}
    table = pd.DataFrame({f"b_{t}": post.b[:, i] for i, t in enumerate(post.fixed)}
                         | {"sd_herd__Intercept": post.sd[:, 0], ".chain": post.chain})
    ref = pd.read_csv(DATA / "reference.csv")
    agree = agreement(table, ref[ref["dataset"] == "cbpp"])
    assert len(agree) == 4 * 5  # 4 b + 1 sd, 4 statistics each
    worst = agree.loc[agree["diff_mcse"].abs().idxmax()]
    assert agree["diff_mcse"].abs().max() < 4, worst.to_dict()
    assert agree["diff_sd"].abs().max() < 0.2, agree.loc[agree["diff_sd"].abs().idxmax()]


def test_backends_give_the_same_glmm_draws():
    """CmdStan's draws are PyStan's for the same seed (binomial; every parameter)."""
    a, b = (cbpp_fit(need_backend(name)) for name in ("pystan", "cmdstan"))
    for name in ("b", "sd", "r", "chain"):
        np.testing.assert_array_equal(getattr(b, name), getattr(a, name), err_msg=name)
    assert b.family == a.family and b.sigma is None


@pytest.mark.parametrize("dataset", ["bacteria", "epilepsy"])
def test_bernoulli_and_poisson_sample_on_both_backends(dataset):
    """Short chains of the other families: the same draws on both backends, brms names."""
    from replic.stan.fit import fit_draws

    formula, family = MODELS[dataset]
    data = load(dataset).iloc[:120]  # a subset: sampling takes ~1 s
    tables = [fit_draws(data, formula, family=family, chains=2, warmup=150, draws=100, seed=4,
                        backend=need_backend(name), quiet=True)[0]
              for name in ("pystan", "cmdstan")]
    pd.testing.assert_frame_equal(tables[0], tables[1])
    assert "sigma" not in tables[0] and tables[0].filter(like="b_").shape[1] == \
        {"bacteria": 2, "epilepsy": 5}[dataset]
