"""lme4 + lmerTest reference fits (written by tests/r/lme4_reference.R, committed).

Test modules take everything through fixtures (no ``import conftest``), so they collect the
same under any pytest import mode.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

LME4 = Path(__file__).parents[1] / "data" / "lme4"
SLEEP = Path(str(resources.files("replic") / "datasets" / "sleepstudy.csv"))


@pytest.fixture(scope="session")
def lme4_ref() -> dict[str, pd.DataFrame]:
    """The reference tables: fixed, varcorr, fit, theta, ranef."""
    return {t: pd.read_csv(LME4 / f"{t}.csv") for t in ("fixed", "varcorr", "fit", "theta",
                                                          "ranef")}


@pytest.fixture(scope="session")
def lme4_formula(lme4_ref) -> dict[str, str]:
    """The model formula of each reference data set, as R printed it."""
    fit = lme4_ref["fit"]
    return dict(zip(fit.dataset, fit.formula, strict=True))


@pytest.fixture(scope="session")
def lme4_data() -> Callable[[str], pd.DataFrame]:
    """Loader of a reference data set by name (sleepstudy from replic's bundled copy)."""

    def load(name: str) -> pd.DataFrame:
        return pd.read_csv(SLEEP if name == "sleepstudy" else LME4 / f"{name}.csv")

    return load
