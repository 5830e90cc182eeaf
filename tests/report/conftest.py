"""Results directories written by real (small) studies, shared by the report tests.

* ``study_dir``: the sleepstudy brms posterior with its data attached, summary analysis,
  k = 2..16; its report is rendered once (``study_context``) and saved as ``report.html``;
* ``nodata_dir``: the same posterior without data (a brms draws file carries none);
* ``multi_dir``: summary and REML analyses of the same designs in one directory, as a study
  comparing analyses writes them.

(``write_results`` rendering the report itself is exercised by ``test_failed_fits_...``.)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest

import replic
from replic.report import build_context, render_html
from replic.results_io import read_results
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


def _with_report(directory: Path) -> tuple[Path, dict]:
    """Render the report of ``directory`` once: save it and return the context behind it."""
    context = build_context(read_results(directory))
    (directory / "report.html").write_text(render_html(context), encoding="utf-8")
    return directory, context


@pytest.fixture(scope="session")
def study_rendered(study_result, tmp_path_factory) -> tuple[Path, dict]:
    return _with_report(study_result.write(tmp_path_factory.mktemp("study") / "sleepstudy",
                                           report=False))


@pytest.fixture(scope="session")
def study_dir(study_rendered) -> Path:
    """``study_result``'s results directory, with ``report.html``."""
    return study_rendered[0]


@pytest.fixture(scope="session")
def study_context(study_rendered) -> dict:
    """The figures, tables and text behind ``study_dir``'s report."""
    return study_rendered[1]


@pytest.fixture(scope="session")
def nodata_dir(tmp_path_factory) -> Path:
    """A study from the brms draws file alone (no data.csv), written without a report."""
    post = replic.read_draws(DATASETS / "sleepstudy_brms_draws.csv.gz")
    res = run_study(post, [replic.Design(k, x=range(10)) for k in (2, 4, 8)], term="Days",
                    reps=200, seed=3)
    return res.write(tmp_path_factory.mktemp("nodata") / "brms", report=False)


@pytest.fixture(scope="session")
def multi_dir(multi_rendered) -> Path:
    """Summary and REML analyses of k = 3..6 in one results directory, with its report."""
    return multi_rendered[0]


@pytest.fixture(scope="session")
def multi_context(multi_rendered) -> dict:
    """The figures, tables and text behind ``multi_dir``'s report."""
    return multi_rendered[1]


@pytest.fixture(scope="session")
def multi_rendered(posterior, tmp_path_factory) -> tuple[Path, dict]:
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
    return _with_report(both.write(tmp_path_factory.mktemp("multi") / "both", report=False))
