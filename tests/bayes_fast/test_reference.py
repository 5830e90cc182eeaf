"""bayes-fast against long brms (Stan NUTS) runs with the same model and default priors.

References: tests/r/bayes_fast_reference.R (4 long chains per data set).  Tolerances: mean, sd,
2.5% and 97.5% quantiles within 0.15 posterior sd for every fixed effect, every sd, sigma and
every correlation (issue 13's tolerance), except the 97.5% quantile of sd(Days) of the
3-subject data set -- a prior-dominated heavy tail that bayes-fast puts 0.05-0.17 sd low over
seeds (a known bias, issue 13): 0.2 there; P(b > 0) within 0.01.
"""

import re

import numpy as np

from replic.bayes_fast import summarise_bayes_fast
from replic.priors import default_priors

TOL_SD = 0.15
KNOWN = {("sleep_k3", "sd_Subject__Days", "q97.5"): 0.2}
TOL_P = 0.01


def test_agrees_with_brms(reference):
    name, ref = reference["name"], reference["summaries"]
    ours = summarise_bayes_fast(reference["data"], reference["formula"], draws=20000, seed=1)
    assert set(ours.index) == set(ref.index), name
    assert ours.attrs["khat"] < 0.7
    for par in ref.index:
        for stat in ("mean", "sd", "q2.5", "q97.5"):
            err = abs(ours.loc[par, stat] - ref.loc[par, stat]) / ref.loc[par, "sd"]
            tol = KNOWN.get((name, par, stat), TOL_SD)
            assert err < tol, (f"{name} {par} {stat}: {ours.loc[par, stat]:.4g} vs brms "
                                  f"{ref.loc[par, stat]:.4g} ({err:.3f} posterior sd)")
        if par.startswith("b_"):
            diff = abs(ours.loc[par, "prob_positive"] - ref.loc[par, "prob_positive"])
            assert diff < TOL_P, f"{name} {par}: P(> 0) differs by {diff:.4f}"


def _student_t(text: str) -> tuple[float, ...]:
    m = re.fullmatch(r"student_t\(([-\d.]+), ([-\d.]+), ([-\d.]+)\)", text)
    assert m is not None, text
    return tuple(float(g) for g in m.groups())


def test_default_priors_are_brms_priors(reference):
    """The reference runs used exactly the priors replic computes (brms's defaults)."""
    ours = default_priors(reference["data"][reference["response"]].to_numpy())
    pri = reference["priors"]
    by_class = dict(zip(pri["class"][pri["prior"] != ""], pri["prior"][pri["prior"] != ""],
                        strict=True))
    for cls, p in (("Intercept", ours.intercept), ("sd", ours.sd), ("sigma", ours.sigma)):
        assert _student_t(by_class[cls]) == (p.df, p.location, p.scale), cls
    assert by_class["L"] == "lkj_corr_cholesky(1)" and np.isclose(ours.lkj, 1.0)
