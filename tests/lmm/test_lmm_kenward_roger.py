"""Kenward-Roger SEs and df against lmerTest (ddf = "Kenward-Roger", pbkrtest 0.5.2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic.errors import ReplicInputError
from replic.lmm import fit_lmm

KR = pd.read_csv(Path(__file__).parents[1] / "data" / "lme4" / "kr.csv")


@pytest.mark.parametrize("name", list(KR.dataset.unique()))
def test_kenward_roger_matches_lmertest(name, lme4_data, lme4_formula):
    fit = fit_lmm(lme4_data(name), lme4_formula[name], ddf="Kenward-Roger")
    ref = KR[KR.dataset == name].set_index("term")
    assert fit.ddf == "Kenward-Roger"
    np.testing.assert_allclose(fit.fixed["se"], ref["se"], rtol=1e-4)
    np.testing.assert_allclose(fit.fixed["df"], ref["df"], rtol=1e-3)
    np.testing.assert_allclose(fit.fixed["t"], fit.fixed["estimate"] / ref["se"], rtol=1e-4)


def test_kenward_roger_needs_reml(lme4_data, lme4_formula):
    with pytest.raises(ReplicInputError, match="REML"):
        fit_lmm(lme4_data("sleepstudy"), lme4_formula["sleepstudy"], reml=False,
                ddf="Kenward-Roger")
    with pytest.raises(ReplicInputError, match="ddf='KR'"):
        fit_lmm(lme4_data("sleepstudy"), lme4_formula["sleepstudy"], ddf="KR")
