"""replic's REML/ML fits against lmerTest on public data sets replic was not tuned on
(tests/r/lmertest_public.R): nlme's BodyWeight, MathAchieve, ergoStool and Machines, datasets'
ChickWeight, lme4's Dyestuff — two-, three- and four-level factors, interactions with a factor,
repeated observations per cell, 7185 rows in 160 groups.

Names are lme4's exactly; estimates, standard errors and the criterion agree to the precision
of lme4's optimum; Satterthwaite df agree with lmerTest within its numDeriv error (~1e-5), and on
BodyWeight, a balanced design whose between-rat terms have the exact df 16 - 3 = 13 (REML) and 16
(ML), replic gives those values where lmerTest's numerical derivatives give 13.00007.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic.lmm import fit_lmm

PUBLIC = Path(__file__).parents[1] / "data" / "lme4" / "public"
REF = pd.read_csv(PUBLIC / "lmertest_public.csv")
CASES = list(REF.groupby(["dataset", "formula", "reml"], sort=False).groups)


def _data(name: str) -> pd.DataFrame:
    path = PUBLIC / f"{name}.csv"
    return pd.read_csv(path if path.exists() else path.with_suffix(".csv.gz"))


@pytest.fixture(scope="module")
def fits() -> dict:
    return {(d, f, r): fit_lmm(_data(d), f, reml=bool(r)) for d, f, r in CASES}


@pytest.mark.parametrize("case", CASES, ids=[f"{d}-{'reml' if r else 'ml'}-{f.split('~')[1]}"
                                             for d, f, r in CASES])
def test_public_data_sets_agree_with_lmertest(fits, case):
    fit = fits[case]
    ref = REF[(REF["dataset"] == case[0]) & (REF["formula"] == case[1]) &
              (REF["reml"] == case[2])]
    names = [t.replace("(Intercept)", "Intercept") for t in ref["term"]]
    assert list(fit.fixed.index) == names                     # lme4's names, in lme4's order
    got = fit.fixed.loc[names]
    np.testing.assert_allclose(got["estimate"], ref["estimate"], rtol=0,
                               atol=1e-5 * ref["se"].min())
    np.testing.assert_allclose(got["se"], ref["se"], rtol=2e-5)
    np.testing.assert_allclose(got["df"], ref["df"], rtol=3e-5)
    assert fit.sigma == pytest.approx(ref["sigma"].iloc[0], rel=1e-5)
    assert fit.criterion == pytest.approx(ref["criterion"].iloc[0], abs=1e-6)
    assert fit.singular == bool(ref["singular"].iloc[0])
    assert fit.n_obs == len(_data(case[0]))


def test_balanced_bodyweight_gives_the_exact_df(fits):
    """16 rats, every rat weighed at the same 11 times, diet between rats: each fixed effect is
    estimated from the rats' own lines, on 16 - 3 = 13 df (REML; 16 under ML's variance)."""
    for reml, exact in ((True, 13.0), (False, 16.0)):
        key = next(c for c in CASES if c[0] == "bodyweight" and c[2] == reml)
        np.testing.assert_allclose(fits[key].fixed["df"], exact, rtol=1e-9)
        lmertest = REF[(REF["dataset"] == "bodyweight") & (REF["reml"] == reml)]["df"]
        assert (lmertest - exact).abs().max() > 1e-5   # lmerTest's numDeriv is further off
