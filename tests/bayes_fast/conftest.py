"""Fixtures: the brms reference data sets of tests/r/bayes_fast_reference.R."""

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "bayes_fast"
SETS = pd.read_csv(DATA / "datasets.csv")


def reference_summaries() -> pd.DataFrame:
    """The reference summaries of every data set: the long brms runs, except where the
    marginal Stan run (tests/r/bayes_fast_marginal_reference.R: the same posterior without the
    funnel brms's parameterisation has with 3 subjects) replaces them."""
    brms = pd.read_csv(DATA / "summaries.csv")
    marginal = pd.read_csv(DATA / "marginal_summaries.csv")
    return pd.concat([brms[~brms["dataset"].isin(marginal["dataset"])], marginal],
                     ignore_index=True)


@pytest.fixture(params=list(SETS["name"]))
def reference(request) -> dict:
    """One reference data set: ``name``, ``data``, ``formula``, ``response``, ``summaries``
    (brms posterior summaries indexed by parameter) and ``priors`` (brms's prior table)."""
    row = SETS.set_index("name").loc[request.param]
    summaries = reference_summaries()
    priors = pd.read_csv(DATA / "priors.csv", keep_default_na=False)
    return {"name": request.param, "data": pd.read_csv(DATA / f"{request.param}.csv"),
            "formula": row["formula"], "response": row["response"],
            "summaries": summaries[summaries["dataset"] == request.param].set_index("parameter"),
            "priors": priors[priors["dataset"] == request.param]}
