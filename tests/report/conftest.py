"""Results directories written by real (small) studies, shared by the report tests.

* ``study_dir``: the sleepstudy brms posterior with its data attached, summary analysis,
  k = 2..16, written with its report by :func:`replic.results_io.write_results`;
* ``nodata_dir``: the same posterior without data (a brms draws file carries none);
* ``multi_dir``: summary and REML analyses of the same designs in one directory, as a study
  comparing analyses writes them.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

import replic
from replic.study import StudyResult, run_study
from replic.summarise import criteria_summary, k_needed, type_sm

DATASETS = Path(replic.__file__).parent / "datasets"
KS = range(2, 17)


@pytest.fixture(scope="session")
def posterior() -> replic.Posterior:
    """The sleepstudy brms posterior with the original data attached."""
    post = replic.read_draws(DATASETS / "sleepstudy_brms_draws.csv.gz")
    return dataclasses.replace(post, data=pd.read_csv(DATASETS / "sleepstudy.csv"))


@pytest.fixture(scope="session")
def study_result(posterior) -> StudyResult:
    """A summary-analysis study over k = 2..16."""
    return run_study(posterior, [replic.Design(k) for k in KS], term="Days", reps=400, seed=7)


@pytest.fixture(scope="session")
def study_dir(study_result, tmp_path_factory) -> Path:
    """``study_result`` written with its report."""
    return study_result.write(tmp_path_factory.mktemp("study") / "sleepstudy")


@pytest.fixture(scope="session")
def nodata_dir(tmp_path_factory) -> Path:
    """A study from the brms draws file alone (no data.csv), written without a report."""
    post = replic.read_draws(DATASETS / "sleepstudy_brms_draws.csv.gz")
    res = run_study(post, [replic.Design(k, x=range(10)) for k in (2, 4, 8)], term="Days",
                    reps=200, seed=3)
    return res.write(tmp_path_factory.mktemp("nodata") / "brms", report=False)


@pytest.fixture(scope="session")
def multi_dir(posterior, tmp_path_factory) -> Path:
    """Summary and REML analyses of k = 3..6 in one results directory."""
    designs = [replic.Design(k) for k in range(3, 7)]
    parts = []
    for analysis in ("summary", "reml"):
        try:
            parts.append(run_study(posterior, designs, term="Days", analysis=analysis,
                                   reps=100, seed=11))
        except replic.ReplicInputError as exc:  # the REML engine not installed
            pytest.skip(f"analysis {analysis!r} unavailable: {exc}")
    reps = pd.concat([p.replicates for p in parts], ignore_index=True)
    summary = criteria_summary(reps)
    first = parts[0]
    both = StudyResult(replicates=reps, summary=summary, k_needed=k_needed(summary),
                       type_sm=type_sm(reps), original=first.original,
                       info=first.info | {"analysis": "summary+reml"},
                       posterior=first.posterior)
    return both.write(tmp_path_factory.mktemp("multi") / "both")
