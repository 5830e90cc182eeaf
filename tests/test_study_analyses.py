"""run_study with several analyses: what ``replic run --analysis A --analysis B`` does, from
Python (per-analysis options, everything checked before anything runs or is written, streaming
to ``out/runs/<analysis>/``, combining, resuming)."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from replic import Design, FlaggedReplicatesWarning, ReplicInputError
from replic.combine import combine_results
from replic.priors import Priors, StudentT
from replic.study import run_study

X10 = tuple(range(10))
DESIGNS = [Design(3, x=X10), Design(5, x=X10)]
COMMON = dict(term="Days", reps=60, seed=11, n_jobs=1, quiet=True)


@pytest.fixture(scope="module")
def alone(sleep_post):
    """Each analysis run by itself."""
    return {a: run_study(sleep_post, DESIGNS, analysis=a, **COMMON) for a in ("summary", "reml")}


@pytest.fixture(scope="module")
def both(sleep_post):
    return run_study(sleep_post, DESIGNS, analysis=["summary", "reml"], **COMMON)


def test_a_list_of_analyses_equals_the_runs_combined(alone, both):
    want = combine_results([alone["summary"], alone["reml"]])
    for attr in ("replicates", "summary", "k_needed", "type_sm", "diagnosands"):
        pd.testing.assert_frame_equal(getattr(both, attr), getattr(want, attr), check_exact=True)
    assert both.original == want.original
    assert both.info["analysis"] == "summary, reml"
    assert list(both.info["analyses"]) == ["summary", "reml"]
    assert list(both.summary["analysis"].unique()) == ["summary", "reml"]
    # every analysis sees the same posterior draw and seed for replicate r
    a, b = (both.replicates[both.replicates["analysis"] == n] for n in ("summary", "reml"))
    for col in ("design", "rep", "draw", "seed", "true_effect"):
        assert np.array_equal(a[col].to_numpy(), b[col].to_numpy())


def test_one_name_in_a_list_is_the_single_analysis(sleep_post, alone):
    one = run_study(sleep_post, DESIGNS, analysis=["reml"], **COMMON)
    pd.testing.assert_frame_equal(one.summary, alone["reml"].summary, check_exact=True)
    assert one.info["analysis"] == "reml"


def test_options_are_routed_per_analysis(sleep_post):
    designs = DESIGNS[:1]
    opts = {"reml": {"level": 0.5}, "bayes-fast": {"draws": 150}}
    kw = dict(COMMON, reps=8)
    res = run_study(sleep_post, designs, analysis=["reml", "bayes-fast"], options=opts, **kw)
    same = run_study(sleep_post, designs, analysis=opts, **kw)  # the mapping form
    pd.testing.assert_frame_equal(res.replicates, same.replicates, check_exact=True)
    own = combine_results([run_study(sleep_post, designs, analysis=name, options=o, **kw)
                           for name, o in opts.items()])
    pd.testing.assert_frame_equal(res.replicates, own.replicates, check_exact=True)
    pd.testing.assert_frame_equal(res.summary, own.summary, check_exact=True)
    assert {n: i["options"] for n, i in res.info["analyses"].items()} == opts
    rows = res.replicates
    # level 0.5 is routed to reml only: its intervals are estimate +/- t_{0.75, df} se;
    # bayes-fast keeps its 95% intervals (about +/- 2 posterior sd)
    reml = rows[rows["analysis"] == "reml"]
    half = (reml["upper"] - reml["lower"]) / (2 * reml["se"])
    np.testing.assert_allclose(half, stats.t.isf(0.25, reml["df"]), rtol=1e-9)
    fast = rows[rows["analysis"] == "bayes-fast"]
    assert ((fast["upper"] - fast["lower"]) / (2 * fast["se"])).between(1.6, 2.6).all()


def _tree(root):
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(("analysis", "options", "match"), [
    (["summary", "bogus"], None, r"analysis='bogus'; expected one of"),
    (["summary", "reml"], {"stan": {"chains": 2}}, r"'stan' is not one of the analyses run "
                                                    r"\(summary, reml\)"),
    (["summary", "bayes-fast"], {"draws": 200}, r"options=\{'draws': 200\} with analysis="
                                                r".*expected a mapping keyed by analysis names"),
    (["reml", "summary", "reml"], None, r"each analysis at most once"),
    ({"reml": {}, "summary": None}, {"reml": {}}, r"expected options=None"),
    ([], None, r"analysis=\[\]; expected one or more analysis names"),
    (["summary", "reml"], {"reml": 0.9}, r"options\['reml'\]=0.9; expected a mapping"),
    (["summary", "reml"], {"reml": {"level": 2}}, r"reml option level=2"),
    (3, None, r"analysis=3; expected an analysis name, a list"),
])
def test_bad_analyses_and_options_are_refused_before_anything_is_written(
        sleep_post, tmp_path, analysis, options, match):
    before = _tree(tmp_path)
    with pytest.raises(ReplicInputError, match=match):
        run_study(sleep_post, DESIGNS, analysis=analysis, options=options,
                  out=tmp_path / "out", **COMMON)
    assert _tree(tmp_path) == before


def test_a_design_only_the_second_analysis_refuses_stops_everything(sleep_post, tmp_path):
    """reml can analyse a continuous subject-level covariate, summary cannot: the study is
    refused before reml runs, and the output directory is untouched."""
    post = dataclasses.replace(sleep_post, fixed=("Intercept", "Days", "base", "Days:base"),
                               b=np.column_stack([sleep_post.b, np.zeros((4000, 2))]))
    d = Design(6, x=range(4), covariates={"base": ("normal", 0, 1)})
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(ReplicInputError, match=r"continuous subject-level covariate; use reml"):
        run_study(post, [d], analysis=["reml", "summary"], out=out, **COMMON)
    assert list(out.iterdir()) == []


def test_out_with_several_analyses_streams_combines_and_resumes(sleep_post, both, tmp_path):
    out = tmp_path / "out"
    kw = dict(COMMON, analysis=["summary", "reml"], out=out)
    res = run_study(sleep_post, DESIGNS, **kw)
    assert res.replicates_file == out / "replicates.parquet"
    pd.testing.assert_frame_equal(res.replicates, both.replicates, check_exact=True)
    pd.testing.assert_frame_equal(res.summary, both.summary, check_exact=True)
    for name in ("summary", "reml"):  # the rows are on disk once, in out/replicates.parquet
        assert sorted(p.name for p in (out / "runs" / name).iterdir()) == ["manifest.json"]
    assert not list((out / "runs").glob(".combined-*"))

    again = run_study(sleep_post, DESIGNS, resume=True, **kw)
    for name in ("summary", "reml"):
        last = json.loads((out / "runs" / name / "manifest.json").read_text())["runs"][-1]
        assert (last["status"], last["chunks_run"]) == ("complete", 0)
    pd.testing.assert_frame_equal(again.replicates, both.replicates, check_exact=True)
    pd.testing.assert_frame_equal(again.summary, both.summary, check_exact=True)

    again.write(out)  # the combined file stays where it is, the tables join it
    assert {"summary.csv", "study.json", "report.html", "replicates.parquet"} <= {
        p.name for p in out.iterdir()}
    pd.testing.assert_frame_equal(pd.read_parquet(out / "replicates.parquet"), both.replicates,
                                  check_exact=True)


def test_resume_recomputes_a_damaged_combined_file(sleep_post, both, tmp_path, capsys):
    out = tmp_path / "out"
    kw = dict(COMMON, analysis=["summary", "reml"], out=out)
    run_study(sleep_post, DESIGNS, **kw)
    combined = out / "replicates.parquet"
    data = bytearray(combined.read_bytes())
    data[len(data) // 2] ^= 0xFF
    combined.write_bytes(bytes(data))
    capsys.readouterr()
    again = run_study(sleep_post, DESIGNS, resume=True, **kw)
    assert capsys.readouterr().err.count("recomputing the replicates it held") == 2
    pd.testing.assert_frame_equal(again.replicates, both.replicates, check_exact=True)


def test_keep_chunks_keeps_each_runs_own_files(sleep_post, tmp_path):
    out = tmp_path / "out"
    run_study(sleep_post, DESIGNS, analysis=["summary", "reml"], out=out, keep_chunks=True,
              **COMMON)
    for name in ("summary", "reml"):
        have = {p.name for p in (out / "runs" / name).iterdir()}
        assert {"manifest.json", "replicates.parquet", "chunks"} <= have
    assert (out / "replicates.parquet").is_file()


HARD = Priors(intercept=StudentT(3.0, 400.0, 0.5), sd=StudentT(3.0, 0.0, 60.0),
              sigma=StudentT(3.0, 0.0, 60.0))  # bayes-fast flags replicates (see
# tests/test_flagged_warnings.py)


def test_flagged_fits_warn_once_for_the_combined_result(sleep_post):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = run_study(sleep_post, [Design(4, x=X10)], term="Days", reps=5, seed=3, n_jobs=1,
                        analysis={"summary": None, "bayes-fast": {"draws": 300, "priors": HARD}})
    (w,) = [w for w in caught if w.category is FlaggedReplicatesWarning]
    n = int(res.replicates["flagged"].fillna(False).astype(bool).sum())
    assert n > 0
    assert w.message.counts == {("bayes-fast", res.info["designs"][0]): (n, 5)}
