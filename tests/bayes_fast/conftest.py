"""Fixtures: the brms reference data sets of tests/r/bayes_fast_reference.R."""

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "bayes_fast"
SETS = pd.read_csv(DATA / "datasets.csv")


@pytest.fixture(params=list(SETS["name"]))
def reference(request) -> dict:
    """One reference data set: ``name``, ``data``, ``formula``, ``response``, ``summaries``
    (brms posterior summaries indexed by parameter) and ``priors`` (brms's prior table)."""
    row = SETS.set_index("name").loc[request.param]
    summaries = pd.read_csv(DATA / "summaries.csv")
    priors = pd.read_csv(DATA / "priors.csv", keep_default_na=False)
    return {"name": request.param, "data": pd.read_csv(DATA / f"{request.param}.csv"),
            "formula": row["formula"], "response": row["response"],
            "summaries": summaries[summaries["dataset"] == request.param].set_index("parameter"),
            "priors": priors[priors["dataset"] == request.param]}
