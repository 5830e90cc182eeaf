"""lme4 + lmerTest reference fits (written by tests/r/lme4_reference.R, committed)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

LME4 = Path(__file__).parents[1] / "data" / "lme4"
SLEEP = Path(str(resources.files("replic") / "datasets" / "sleepstudy.csv"))

FORMULAS = {
    "balanced": "y ~ 1 + x + (1 + x | g)",
    "balanced_missing": "y ~ 1 + x + (1 + x | g)",
    "unbalanced": "y ~ 1 + x1 + x2 + (1 + x1 + x2 | g)",
    "near_singular": "y ~ 1 + x + (1 + x | g)",
    "few_subjects": "y ~ 1 + x + (1 + x | g)",
    "intercept_only": "y ~ 1 + x + (1 | g)",
    "slope_only": "y ~ 1 + x + (0 + x | g)",
    "sleepstudy": "Reaction ~ 1 + Days + (1 + Days | Subject)",
}


def load_data(name: str) -> pd.DataFrame:
    """A reference data set (sleepstudy from replic's bundled copy)."""
    return pd.read_csv(SLEEP if name == "sleepstudy" else LME4 / f"{name}.csv")


@pytest.fixture(scope="session")
def lme4_ref() -> dict[str, pd.DataFrame]:
    """The reference tables: fixed, varcorr, fit, theta, ranef."""
    return {t: pd.read_csv(LME4 / f"{t}.csv") for t in ("fixed", "varcorr", "fit", "theta",
                                                          "ranef")}
