"""The report's plan section, diagnosands table and Type S bound, from real searches."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd

import replic
from replic.plan.io import read_plan, write_plan
from replic.report import render_report
from tests.report.test_html import cells, parse


def test_plan_curve_section(study_dir, posterior, tmp_path):
    d = tmp_path / "study"
    shutil.copytree(study_dir, d)
    res = replic.find_k(posterior, replic.Design(2), term="Days", target=0.9, k_max=16,
                        seed=7)
    write_plan(res, d)
    plan = read_plan(d)
    assert plan["info"]["k"] == res.k and plan["candidates"] is None
    doc = parse(render_report(d))
    section = doc.find(".//section[@id='plan']")
    text = "".join(section.itertext())
    assert res.statement in text
    rows = cells(doc, "plan-table")
    assert [int(r[1]) for r in rows] == list(res.table["k"])
    assert [r[5] for r in rows] == list(res.table["decision"])
    assert doc.find(".//figure[@id='figure-plan-curve']") is not None


def test_cost_section_and_figure_data(study_dir, posterior, tmp_path):
    from replic.report.plan import cost_figure

    d = tmp_path / "study"
    shutil.copytree(study_dir, d)
    res = replic.cheapest_design(posterior, {4: range(4), 10: range(10)}, term="Days",
                                 target=0.8, cost_subject=100, cost_observation=10, seed=2)
    write_plan(res, d)
    fig = cost_figure(read_plan(d))
    pd.testing.assert_series_equal(fig.data["cost"], res.points["cost"], check_names=False)
    doc = parse(render_report(d))
    rows = cells(doc, "plan-table")
    assert [r[-1] for r in rows] == list(res.table["status"])
    assert doc.find(".//figure[@id='figure-plan-cost']") is not None


def test_diagnosands_table_and_type_s_bound(study_dir):
    doc = parse((study_dir / "report.html").read_text(encoding="utf-8"))
    diag = pd.read_csv(study_dir / "diagnosands.csv")
    rows = cells(doc, "diagnosands-table")
    assert len(rows) == len(diag) and {r[1].split(" ")[0] for r in rows} == {
        "average", "replication"}
    first = diag.iloc[0]
    assert rows[0][3].startswith(f"{first['bias']:.3f} ± {first['bias_mcse']:.3f}")
    tsm = pd.read_csv(study_dir / "type_sm.csv")
    zero = tsm[tsm["type_s"] == 0]
    assert len(zero)  # large k: no significant replicate has the wrong sign
    srows = {int(r[0]): r for r in cells(doc, "type-sm-table")}
    for r in zero.itertuples():
        assert srows[r.k][4] == (f"0 of {r.n_significant} (95% upper bound "
                                 f"{r.type_s_upper:.4f})")
        assert np.isclose(r.type_s_upper, 1 - 0.05 ** (1 / r.n_significant))
