"""Warnings about untrusted original fits (bayes-fast Pareto k-hat > 0.7)."""

from __future__ import annotations

import dataclasses
import warnings

import pandas as pd
import pytest

import replic
from replic.fitcheck import warn_khat


def test_warns_above_threshold_only(sleep_post):
    with pytest.warns(replic.ReplicWarning, match=r"study\.toml: Pareto k-hat 0\.80 > 0\.7"):
        warn_khat(dataclasses.replace(sleep_post, diagnostics={"khat": 0.797}),
                  where="study.toml")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        warn_khat(dataclasses.replace(sleep_post, diagnostics={"khat": 0.69}), where="x")
        warn_khat(sleep_post, where="x")  # no k-hat: not a bayes-fast fit


def test_fit_bayes_fast_checks_its_fit():
    from importlib import resources

    data = pd.read_csv(str(resources.files("replic") / "datasets" / "sleepstudy.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # sleepstudy's fit is fine (k-hat well below 0.7)
        post = replic.fit_bayes_fast(data, "Reaction ~ Days + (Days | Subject)", draws=500)
    assert post.diagnostics["khat"] <= 0.7
    with pytest.warns(replic.ReplicWarning, match="fit_bayes_fast: Pareto k-hat"):
        warn_khat(dataclasses.replace(post, diagnostics={"khat": 1.2}), where="fit_bayes_fast")


def test_orthodont_fit_warns_iff_khat_above_threshold():
    """A real hard case: Orthodont's bayes-fast fit had k-hat 0.76 (seed 0, 1000 draws)."""
    from pathlib import Path

    data = pd.read_csv(Path(__file__).parent / "data" / "brms" / "orthodont.csv")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        post = replic.fit_bayes_fast(data, "distance ~ age * Sex + (age | Subject)", draws=1000)
    ours = [w for w in caught if issubclass(w.category, replic.ReplicWarning)]
    assert bool(ours) == (post.diagnostics["khat"] > 0.7)
    if ours:
        assert f"{post.diagnostics['khat']:.2f} > 0.7" in str(ours[0].message)


def test_report_shows_the_original_fit_diagnostics(tmp_path):
    """A study from data fitted with bayes-fast records the fit's diagnostics; the report's
    study table shows the k-hat and says when it is above 0.7."""
    from pathlib import Path

    from replic.report.tables import study_rows
    from replic.results_io import read_results

    data = pd.read_csv(Path(__file__).parent / "data" / "brms" / "orthodont.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", replic.ReplicWarning)
        post = replic.fit_bayes_fast(data, "distance ~ age * Sex + (age | Subject)", draws=300)
    res = replic.run_study(post, [replic.Design(6, between={"Sex": {"Female": 0.5,
                                                                    "Male": 0.5}})],
                           term="age:SexMale", analysis="reml", reps=5, seed=1, n_jobs=1)
    back = read_results(res.write(tmp_path / "out", report=False))
    info = back.info if hasattr(back, "info") else back["info"]
    rows = dict(study_rows(info, res.original, term="age:SexMale"))
    khat = post.diagnostics["khat"]
    assert rows["Original fit diagnostics"].startswith(f"Pareto k-hat {khat:.2f}")
    assert ("unreliable" in rows["Original fit diagnostics"]) == (khat > 0.7)
