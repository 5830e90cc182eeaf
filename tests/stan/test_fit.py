"""fit_posterior on sleepstudy reproduces brms's posterior within Monte Carlo error."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic import ReplicFitError, ReplicInputError
from replic.io_brms import posterior_from_brms
from tests.stan.conftest import FORMULA

# brms 2.18 summary (../shared/data/README.md): posterior mean (sd)
BRMS = {"b_Days": (10.34, 1.73), "b_Intercept": (251.19, 7.44), "sd_Subject__Days": (6.62, 1.52),
        "sd_Subject__Intercept": (26.91, 6.80), "sigma": (25.90, 1.60)}


def _draws(post) -> dict[str, np.ndarray]:
    return {"b_Intercept": post.b[:, 0], "b_Days": post.b[:, 1],
            "sd_Subject__Intercept": post.sd[:, 0], "sd_Subject__Days": post.sd[:, 1],
            "cor_Subject__Intercept__Days": post.cor[:, 0, 1], "sigma": post.sigma}


def test_published_brms_summary(sleepstudy_fit):
    ours = _draws(sleepstudy_fit)
    for name, (mean, sd) in BRMS.items():
        assert abs(ours[name].mean() - mean) < 0.15 * sd, name
        assert ours[name].std() == pytest.approx(sd, rel=0.15), name


def test_all_brms_draws_within_mc_error(sleepstudy_fit, brms_draws):
    """Every parameter, including the 36 subject deviations, against brms's 4000 draws."""
    ref = posterior_from_brms(brms_draws, source="brms")
    assert sleepstudy_fit.levels == ref.levels
    mine, theirs = _draws(sleepstudy_fit), _draws(ref)
    mine |= {f"r{j}": sleepstudy_fit.r[:, j // 2, j % 2] for j in range(36)}
    theirs |= {f"r{j}": ref.r[:, j // 2, j % 2] for j in range(36)}
    for name, x in theirs.items():
        y = mine[name]
        assert abs(y.mean() - x.mean()) < 0.15 * x.std(), name
        assert y.std() == pytest.approx(x.std(), rel=0.15), name


def test_posterior_carries_data_and_names(sleepstudy_fit, sleepstudy, backend):
    p = sleepstudy_fit
    assert p.diagnostics["backend"] == backend and p.source == f"stan ({backend})"
    assert p.fixed == ("Intercept", "Days") and p.varying == ("Intercept", "Days")
    assert p.group == "Subject" and len(p.levels) == 18 and p.r.shape == (4000, 18, 2)
    assert p.formula == FORMULA and p.response == "Reaction"
    assert p.data is sleepstudy
    assert sorted(np.unique(p.chain)) == [1, 2, 3, 4]
    d = p.diagnostics
    assert d["converged"] and d["rhat"] < 1.01 and d["ess_bulk"] > 400 and d["divergences"] == 0
    assert d["priors"]["intercept"] == {"df": 3.0, "location": 288.7, "scale": 59.3}


def test_default_design_x_from_carried_data(sleepstudy_fit):
    from replic.study import resolve_designs

    (design,) = resolve_designs(sleepstudy_fit, 5, "Days")
    assert design.x == tuple(float(d) for d in range(10))


def test_bad_inputs_fail_before_compiling(sleepstudy):
    from replic.stan import fit_posterior

    with pytest.raises(ReplicInputError, match="Reactio"):
        fit_posterior(sleepstudy, "Reactio ~ Days + (Days | Subject)")
    with pytest.raises(ReplicInputError, match="exactly one random-effects term"):
        fit_posterior(sleepstudy, "Reaction ~ Days")
    with pytest.raises(ReplicInputError, match="chains"):
        fit_posterior(sleepstudy, FORMULA, chains=0)
    with pytest.raises(ReplicInputError, match=r"seed=4294967296; expected .* 2\*\*32 - 1"):
        fit_posterior(sleepstudy, FORMULA, seed=2**32)
    with pytest.raises(ReplicInputError, match="backend"):
        fit_posterior(sleepstudy, FORMULA, backend="rstan")
    with pytest.raises(ReplicInputError, match="DataFrame"):
        fit_posterior(sleepstudy.to_dict(), FORMULA)


BAD_PROGRAM = "parameters { real x; } model { x ~ no_such_distribution(); }"


def test_compiler_failure_is_a_fit_error(backend):
    if backend == "pystan":
        from replic.stan.pystan_backend import compile_pystan

        with pytest.raises(ReplicFitError, match="could not build the Stan program: Semantic"):
            compile_pystan(BAD_PROGRAM)
    else:
        from replic.stan.cmdstan_backend import compile_cmdstan

        with pytest.raises(ReplicFitError, match=r"CmdStan could not compile the Stan program: "
                                                 r".*no_such_distribution"):
            compile_cmdstan(BAD_PROGRAM, name="bad-program")


def test_sampling_reproducible_with_seed(stan_model, sleepstudy):
    from replic.stan.data import stan_data
    from replic.stan.fit import sample_draws

    sd = stan_data(sleepstudy.iloc[:60], FORMULA)
    a, _ = sample_draws(stan_model, sd, chains=2, warmup=100, draws=50, seed=5)
    b, flat = sample_draws(stan_model, sd, chains=2, warmup=100, draws=50, seed=5)
    pd.testing.assert_frame_equal(a, b)
    # chains are told apart correctly: the adapted step size is constant within a chain
    assert flat.groupby(".chain")["stepsize__"].nunique().eq(1).all()
    assert flat["stepsize__"].nunique() == 2


def test_import_replic_stays_light():
    import subprocess
    import sys

    code = ("import sys, replic; replic.fit_posterior; "
            "print(sorted(m for m in ('stan', 'httpstan', 'arviz', 'cmdstanpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=300).stdout
    assert out.strip() == "[]"


def test_random_intercept_model_matches_brms(stan_model, backend, sleepstudy):
    """The same program with one varying term (no correlation) against brms's RI fit."""
    from replic.stan import fit_posterior
    from tests.stan.conftest import DATASETS

    ref = posterior_from_brms(pd.read_csv(DATASETS / "sleepstudy_ri_brms_draws.csv.gz"))
    post = fit_posterior(sleepstudy, "Reaction ~ 1 + Days + (1 | Subject)", seed=7,
                         backend=backend, quiet=True)
    assert post.varying == ("Intercept",) and post.cor.shape == (4000, 1, 1)
    for mine, theirs in ((post.b[:, 1], ref.b[:, 1]), (post.b[:, 0], ref.b[:, 0]),
                         (post.sd[:, 0], ref.sd[:, 0]), (post.sigma, ref.sigma)):
        assert abs(mine.mean() - theirs.mean()) < 0.15 * theirs.std()
        assert mine.std() == pytest.approx(theirs.std(), rel=0.15)


def test_model_without_fixed_intercept(stan_model, backend, sleepstudy):
    from replic.stan import fit_posterior

    post = fit_posterior(sleepstudy, "Reaction ~ 0 + Days + (1 + Days | Subject)", chains=2,
                         warmup=150, draws=100, seed=1, backend=backend, quiet=True)
    assert post.fixed == ("Days",) and post.varying == ("Intercept", "Days")
    assert np.isfinite(post.b).all() and post.b[:, 0].mean() > 0
