"""Shared fixtures: the bundled sleepstudy posteriors."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

import replic

DATASETS = Path(str(resources.files("replic") / "datasets"))
DRAWS = DATASETS / "sleepstudy_brms_draws.csv.gz"
RI_DRAWS = DATASETS / "sleepstudy_ri_brms_draws.csv.gz"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def sleep_df() -> pd.DataFrame:
    """The brms draws of Reaction ~ 1 + Days + (1 + Days | Subject) as a DataFrame."""
    return pd.read_csv(DRAWS)


@pytest.fixture(scope="session")
def sleep_post(sleep_df) -> replic.Posterior:
    return replic.read_draws(sleep_df)


@pytest.fixture(scope="session")
def ri_post() -> replic.Posterior:
    return replic.read_draws(RI_DRAWS)
