"""R references of the model specification (written by tests/r/spec_reference.R, committed)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

SPEC = Path(__file__).parents[1] / "data" / "spec"


@pytest.fixture(scope="session")
def factors() -> pd.DataFrame:
    """Subjects s1..s12 with Sex (2 levels), Type (4 levels), x, y and missing values."""
    return pd.read_csv(SPEC / "factors.csv")


@pytest.fixture(scope="session")
def factors_fixed() -> pd.DataFrame:
    """lme4 + lmerTest fits of three models on ``factors``: names, estimates, se, df, n."""
    return pd.read_csv(SPEC / "factors_fixed.csv")


@pytest.fixture(scope="session")
def factors_groups() -> pd.DataFrame:
    """Levels of the grouping factor in lme4's order."""
    return pd.read_csv(SPEC / "factors_groups.csv")


@pytest.fixture(scope="session")
def collation() -> pd.DataFrame:
    """Strings in the order R's sort() gives them."""
    return pd.read_csv(SPEC / "collation.csv", keep_default_na=False)
