"""The numbers behind every figure of the report, checked against the saved results."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic.report.data import add_series, diagnostics, effect_intervals
from replic.report.figures import trajectory_figure
from replic.report.tables import diagnostics_table
from replic.results_io import read_results


@pytest.fixture(scope="module")
def saved(study_dir):
    return read_results(study_dir)


@pytest.fixture(scope="module")
def context(study_context):
    return study_context


def test_effects_figure_plots_the_saved_draws(saved, context):
    fig = context["figures"]["effects"]
    d = fig.data
    assert list(d["estimand"]) == ["conditional", "fitted_mean", "new_uncertainty",
                                   "new_gaussian"] + ["replication_mean"] * 4
    # the smallest, middle and largest k of the grid, and the recommended k (k = 7 here)
    kn = saved["k_needed"].set_index("criterion")
    k = int(kn.loc["sig_same_direction", "k"])
    assert list(d["level"][-4:]) == [f"k={v}" for v in sorted({2, 9, 16, k})]
    assert k not in (2, 9, 16)
    assert d["label"].str.endswith("(recommended)").sum() == 1
    assert f"A new experiment with k = {k} subjects (recommended)" in list(d["label"])
    assert (d["n"] == saved["info"]["posterior"]["draws"]).all()
    # the average subject's interval is the original's 95% interval (same draws, same rule)
    o = saved["original"]
    cond = d.iloc[0]
    assert cond["q2.5"] == pytest.approx(o.lower, rel=1e-12)
    assert cond["q97.5"] == pytest.approx(o.upper, rel=1e-12)
    assert cond["mean"] == pytest.approx(o.estimate, rel=1e-12)
    # every plotted interval equals effects.csv's for the same estimand
    eff = saved["effects"].assign(level=lambda e: e["level"].fillna("").astype(str))
    merged = d.merge(eff, on=["estimand", "level"], suffixes=("", "_csv"), validate="1:1")
    assert len(merged) == len(d)
    for c in ("mean", "q2.5", "q50", "q97.5", "P(<0)"):
        np.testing.assert_allclose(merged[c], merged[f"{c}_csv"], rtol=1e-10, atol=1e-12)
    # widths: the average subject < a new person; replication means narrow as k grows
    width = d["q97.5"] - d["q2.5"]
    assert width.iloc[0] < width.iloc[3]
    assert width.iloc[4] > width.iloc[5] > width.iloc[6] > width.iloc[7]
    for label in d["label"]:
        assert label in fig.alt


def test_effect_intervals_prefers_pooled_fitted_draws(saved):
    draws = saved["effect_draws"]
    fitted = pd.DataFrame({"estimand": "fitted", "draw": [0, 0, 1, 1], "level": ["a", "b"] * 2,
                           "value": [1.0, 2.0, 3.0, 4.0]})
    rows = effect_intervals(pd.concat([draws, fitted], ignore_index=True))
    row = rows[rows["estimand"] == "fitted"].iloc[0]
    assert "new_uncertainty" not in set(rows["estimand"])
    assert row["n"] == 4 and row["mean"] == 2.5 and row["q50"] == 2.5


def test_trajectory_figure_plots_bands_and_observed_data(saved, context):
    fig = context["figures"]["trajectories"]
    d = fig.data
    bands = d[d["layer"] != "observed"].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        bands[["layer", "x", "lower", "median", "upper", "mean"]],
        saved["trajectories"].rename(columns={"band": "layer"})[
            ["layer", "x", "lower", "median", "upper", "mean"]], check_dtype=False)
    obs = d[d["layer"] == "observed"]
    data = saved["data"]
    assert len(obs) == len(data) == 180
    assert obs["group"].nunique() == 18
    np.testing.assert_array_equal(obs["y"].to_numpy(), data["Reaction"].to_numpy())
    np.testing.assert_array_equal(obs["x"].to_numpy(), data["Days"].to_numpy(float))
    # nesting of the bands at every x: conditional inside new-subject inside prediction
    wide = bands.pivot(index="x", columns="layer", values="upper") - \
        bands.pivot(index="x", columns="layer", values="lower")
    assert (wide["conditional"] < wide["new_subject"]).all()
    assert (wide["new_subject"] < wide["prediction"]).all()
    assert "18 subjects" in fig.alt


def test_trajectory_figure_without_data(nodata_dir):
    res = read_results(nodata_dir)
    assert res["data"] is None
    fig = trajectory_figure(res["trajectories"], term="Days")
    assert set(fig.data["layer"]) == {"conditional", "new_subject", "prediction"}
    assert "Observed data not available" in fig.alt


def test_headline_curve_is_the_summary_with_k_needed(saved, context):
    fig = context["figures"]["curve"]
    d = fig.data
    s = saved["summary"]
    s = s[s["criterion"] == "sig_same_direction"].sort_values("k")
    assert list(d["k"]) == list(s["k"])
    for c in ("probability", "mcse", "lower", "upper", "n"):
        np.testing.assert_allclose(d[c].to_numpy(float), s[c].to_numpy(float))
    kn = saved["k_needed"].set_index("criterion").loc["sig_same_direction", "k"]
    assert (d["k_needed"] == kn).all()
    target = saved["info"]["target"]
    assert kn == d.loc[d["probability"] >= target, "k"].min()
    assert f"k = {int(kn)}" in fig.alt


def test_all_criteria_figure_covers_every_summary_row(saved, context):
    d = context["figures"]["criteria"].data
    s = saved["summary"]
    m = s.merge(d, on=["criterion", "k"], suffixes=("", "_fig"), validate="1:1")
    assert len(m) == len(s) == len(d)
    for c in ("probability", "lower", "upper"):
        np.testing.assert_allclose(m[c], m[f"{c}_fig"])
    kn = saved["k_needed"].set_index("criterion")["k"]
    marks = d.drop_duplicates("criterion").set_index("criterion")["k_needed"]
    pd.testing.assert_series_equal(marks.sort_index(), kn.sort_index(), check_names=False,
                                   check_dtype=False)


def test_type_sm_figure_is_the_saved_table(saved, context):
    d = context["figures"]["type_sm"].data
    t = saved["type_sm"].sort_values("k")
    for c in ("k", "n_significant", "power", "type_s", "type_m", "type_m_mcse"):
        np.testing.assert_allclose(d[c].to_numpy(float), t[c].to_numpy(float))


def test_overlaid_analyses(multi_dir, multi_context):
    res = read_results(multi_dir)
    figs = multi_context["figures"]
    curve = figs["curve"]
    assert list(dict.fromkeys(curve.data["series"])) == ["summary", "reml"]
    for name, g in curve.data.groupby("series"):
        s = res["summary"]
        s = s[(s["analysis"] == name) & (s["criterion"] == "sig_same_direction")]
        np.testing.assert_allclose(g["probability"].to_numpy(), s["probability"].to_numpy())
    crit = figs["criteria"]
    assert crit.data.groupby("series").size().to_dict() == {"reml": 32, "summary": 32}
    tsm = figs["type_sm"]
    assert set(tsm.data["series"]) == {"summary", "reml"}
    assert "summary" in curve.alt and "reml" in curve.alt


def test_series_names_design_families():
    df = pd.DataFrame({"analysis": ["summary"] * 3, "missing": [0.0, 0.2, 0.0],
                       "params": ["posterior", "posterior", "mean"]})
    assert list(add_series(df)["series"]) == [
        "summary, complete data, assurance", "summary, 20% missing, assurance",
        "summary, complete data, conditional power (parameters at the posterior mean)"]
    df["params"] = ["posterior", "b_Days=5", "b_Days=5, sigma=20"]
    assert list(add_series(df)["series"])[1:] == [
        "summary, 20% missing, conditional power at b_Days = 5",
        "summary, complete data, conditional power at b_Days = 5, sigma = 20"]


def test_diagnostics_count_each_check(study_result):
    reps = study_result.replicates.copy()
    n = len(reps)
    rng = np.random.default_rng(0)
    failed = rng.random(n) < 0.02
    reps["error"] = np.where(failed, "LinAlgError: singular matrix", "")
    reps["singular"] = rng.random(n) < 0.05
    reps["converged"] = rng.random(n) > 0.03
    reps["khat"] = rng.uniform(0, 1, n)
    reps["flagged"] = reps["khat"] > 0.9
    d = diagnostics(reps)
    assert d["replicates"].sum() == n
    assert d["failed"].sum() == failed.sum()
    assert d["singular fit"].sum() == reps["singular"].sum()
    assert d["not converged"].sum() == (~reps["converged"]).sum()
    # the analysis's flags with the study's threshold (0.9 here), never the report's own 0.7
    assert "Pareto k > 0.7" not in d
    assert d["flagged"].sum() == reps["flagged"].sum()
    marked = failed | reps["singular"] | ~reps["converged"] | reps["flagged"]
    assert d["any"].sum() == marked.sum()
    per_k = reps.assign(f=failed).groupby("k")["f"].sum()
    np.testing.assert_array_equal(d.set_index("k")["failed"].loc[per_k.index], per_k)
    t = diagnostics_table(reps)
    assert t.columns[:3] == ["k", "replicates", "failed"]
    assert f"{marked.sum()} of {n}" in t.notes[0]


def test_effects_figure_alt_lists_numbers(saved, context):
    fig = context["figures"]["effects"]
    o = saved["original"]
    assert f"{o.lower:.1f} to {o.upper:.1f}" in fig.alt
