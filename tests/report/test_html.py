"""The HTML file: valid HTML5, self-contained, holding every figure and the summary's numbers,
and re-rendered identically from the saved results."""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET

import html5lib
import pandas as pd
import pytest

from replic.errors import ReplicInputError
from replic.report import render_report, write_report
from replic.results_io import read_results

FIGURES = ("effects", "trajectories", "curve", "criteria", "type_sm")
SVG = "{http://www.w3.org/2000/svg}svg"


def parse(text: str):
    """Parse with html5lib's strict parser (raises on any HTML5 parse error)."""
    return html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(text)


@pytest.fixture(scope="module")
def html(study_dir) -> str:
    return (study_dir / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def doc(html):
    return parse(html)


def cells(doc, table_id: str) -> list[list[str]]:
    table = doc.find(f".//table[@id='{table_id}']")
    assert table is not None, table_id
    return [["".join(td.itertext()) for td in tr.findall("td")]
            for tr in table.find("tbody").findall("tr")]


def test_parses_as_html5_with_sections(doc):
    assert doc.find("head/meta[@charset='utf-8']") is not None
    assert doc.get("lang") == "en"
    ids = {s.get("id") for s in doc.iter("section")}
    assert {"guide", "study", "effect", "trajectories", "curves", "criteria", "type-sm",
            "diagnostics"} <= ids


def test_every_figure_is_embedded_with_alt_text(doc):
    for name in FIGURES:
        fig = doc.find(f".//figure[@id='figure-{name}']")
        assert fig is not None, name
        img = fig.find("img")
        assert len(img.get("alt", "")) > 80, name
        src = img.get("src")
        assert src.startswith("data:image/svg+xml;base64,")
        svg = ET.fromstring(base64.b64decode(src.split(",", 1)[1]))
        assert svg.tag == SVG
        assert "".join(fig.find("figcaption").itertext()).strip()
    assert all(img.get("alt") for img in doc.iter("img"))


def test_self_contained(doc, html):
    for el in doc.iter():
        for attr in ("src", "href"):
            v = el.get(attr)
            if v is not None:
                assert v.startswith(("data:", "#")), (el.tag, v[:60])
    assert doc.find(".//link") is None and doc.find(".//script") is None
    assert not re.search(r"url\(|@import|https?://", html)
    assert "@media print" in html


def test_criteria_table_holds_the_summary(doc, study_dir):
    summary = pd.read_csv(study_dir / "summary.csv")
    table = doc.find(".//table[@id='criteria-table']")
    head = ["".join(th.itertext()) for th in table.iter("th")]
    rows = {r[0]: r for r in cells(doc, "criteria-table")}
    assert head[0] == "k" and "fits" not in head  # every design has all its replicates
    notes = "".join(doc.find(".//section[@id='criteria']").itertext())
    assert "Every design: 400 replicates, none failed." in notes
    short = dict(zip(["sig_same_direction", "same_sign", "orig_in_rep_ci", "rep_in_orig_ci",
                      "rep_in_pi", "small_telescopes", "bf_rep", "sceptical_p"], head[1:],
                     strict=True))
    for r in summary.to_dict("records"):
        assert r["n"] == 400 and r["n_failed"] == 0
        cell = rows[str(r["k"])][head.index(short[r["criterion"]])]
        assert cell == f"{r['probability']:.3f} ±\u00a0{r['mcse']:.3f}"  # no break after ±
    assert len(rows) == summary["k"].nunique()


def test_effects_and_k_needed_tables(doc, study_dir):
    eff = pd.read_csv(study_dir / "effects.csv")
    rows = cells(doc, "effects-table")
    assert [r[1] for r in rows] == list(eff["estimand"])
    for row, r in zip(rows, eff.to_dict("records"), strict=True):
        assert row[2:7] == [f"{r[c]:.2f}" for c in ("mean", "sd", "q2.5", "q50", "q97.5")]
    kn = pd.read_csv(study_dir / "k_needed.csv")
    krows = cells(doc, "k-needed-table")
    for row, r in zip(krows, kn.to_dict("records"), strict=True):
        assert row[1] == (str(int(r["k"])) if pd.notna(r["k"]) else f"> {int(r['k_max'])}")


def test_headline_and_study(doc, study_dir):
    res = read_results(study_dir)
    s = res["summary"]
    k = int(res["k_needed"].set_index("criterion").loc["sig_same_direction", "k"])
    p = s[(s["criterion"] == "sig_same_direction") & (s["k"] == k)]["probability"].iloc[0]
    big = "".join(doc.find(".//section[@class='headline']/p[@class='big']").itertext())
    assert big == (f"With {k} new subjects observed at Days 0–9, {100 * p:.0f}% of "
                   "replications find a significant positive effect of Days.")
    fine = "".join(doc.find(".//section[@class='headline']/p[@class='fine']").itertext())
    assert fine.startswith("Assurance (parameters drawn from the posterior).")
    study = dict(zip(["".join(e.itertext()) for e in doc.iter("dt")],
                     ["".join(e.itertext()) for e in doc.iter("dd")], strict=True))
    o = res["original"]
    assert study["Original estimate"].startswith(f"{o.estimate:.2f}")
    assert f"{o.lower:.2f} to {o.upper:.2f}" in study["Original estimate"]
    assert study["Root seed"] == "7" and study["Replicates per design"] == "400"
    assert study["Design grid"] == ("k = 2 to 16 (15 designs); complete data; parameters drawn "
                                    "from the posterior (assurance)")
    assert study["Model"] == "Reaction ~ 1 + Days + (1 + Days | Subject)"
    guide = "".join(doc.find(".//section[@id='guide']").itertext())
    for phrase in ("The average subject", "A subject of the study", "A new subject",
                   "A new experiment with k subjects", "Reaction"):
        assert phrase in guide
    assert "person" not in guide and "people" not in guide
    assert "The study's subjects" not in guide  # fitted_mean's name, which the guide omits
    new = res["effects"].set_index("estimand").loc["new_gaussian"]
    card = next(a for a in doc.iter("article") if a.find("h3").text == "A new subject")
    paras = {p.get("class"): "".join(p.itertext()) for p in card.iter("p")}
    assert paras["n"] == f"{new['q50']:.1f} [{new['q2.5']:.1f}, {new['q97.5']:.1f}]"
    assert paras["chance"] == f"Chance the effect is negative: {100 * new['P(<0)']:.1f}%"


def test_report_is_reproduced_from_saved_results(study_dir, tmp_path, html):
    """``replic report DIR`` (a new process, through :func:`write_report`) gives the same
    bytes as the report written with the results."""
    copy = tmp_path / "saved"
    shutil.copytree(study_dir, copy)
    (copy / "report.html").unlink()
    proc = subprocess.run([sys.executable, "-m", "replic", "report", str(copy)],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    assert (copy / "report.html").read_text(encoding="utf-8") == html
    assert sorted(p.name for p in copy.iterdir() if p.name.startswith(".")) == []


def test_write_report_needs_a_results_directory(tmp_path):
    with pytest.raises(ReplicInputError, match="not a replic results directory"):
        write_report(tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_renders_without_optional_tables(study_dir, tmp_path):
    """A directory without draws, trajectories or replicates still renders, saying so."""
    copy = tmp_path / "bare"
    shutil.copytree(study_dir, copy)
    for name in ("effect_draws.parquet", "effects.csv", "trajectories.csv", "data.csv",
                 "replicates.parquet", "report.html"):
        (copy / name).unlink()
    path = write_report(copy)
    assert path == copy / "report.html"
    assert sorted(p.name for p in copy.iterdir() if p.name.startswith(".")) == []
    doc = parse(path.read_text(encoding="utf-8"))
    text = "".join(doc.itertext())
    assert "effect distributions cannot be shown" in text
    assert "Trajectory bands were not saved" in text
    assert "fit diagnostics cannot be shown" in text
    assert doc.find(".//figure[@id='figure-curve']") is not None


def test_missing_data_is_said(nodata_dir):
    text = render_report(nodata_dir)
    doc = parse(text)
    assert "Observed data: not available" in "".join(doc.itertext())
    assert doc.find(".//figure[@id='figure-trajectories']") is not None


def test_several_analyses_overlaid(multi_dir):
    doc = parse((multi_dir / "report.html").read_text(encoding="utf-8"))
    heads = [s for s in doc.iter("section") if "headline" in s.get("class", "").split()]
    assert [h.get("class") for h in heads] == ["headline", "headline secondary"]
    assert [h.get("aria-label") for h in heads] == ["headline: summary", "headline: reml"]
    rows = cells(doc, "criteria-table")
    assert {r[0] for r in rows} == {"summary", "reml"}
    kn = pd.read_csv(multi_dir / "k_needed.csv").set_index(["criterion", "analysis"])
    krows = {r[0]: r for r in cells(doc, "k-needed-table")}
    head = ["".join(th.itertext()) for th in doc.find(".//table[@id='k-needed-table']").iter("th")]
    assert head == ["criterion", "summary", "reml"]
    for col, name in ((1, "summary"), (2, "reml")):
        k, kc, kmax = kn.loc[("sig_same_direction", name), ["k", "k_confident", "k_max"]]
        cell = krows["Significant, same direction"][col]
        main = str(int(k)) if pd.notna(k) else f"> {int(kmax)}"
        assert cell.split(" (")[0] == main
        if pd.notna(kc) and kc != k:
            assert cell == f"{main} ({int(kc)})"
    study = "".join(doc.find(".//section[@id='study']").itertext())
    assert "REML refit" in study and "summary (no refit" in study
    diag = "".join(doc.find(".//section[@id='diagnostics']").itertext())
    assert "singular fit" in diag and "not converged" in diag


def test_failed_fits_are_counted_and_shown(study_result, tmp_path):
    """Every fit at k = 2 failed and a few at k = 3: the report renders and says so."""
    from replic.criteria import CRITERIA
    from replic.study import StudyResult
    from replic.summarise import criteria_summary, k_needed, type_sm

    reps = study_result.replicates.copy()
    bad = (reps["k"] == 2) | ((reps["k"] == 3) & (reps["rep"] < 10))
    reps["error"] = reps["error"].where(~bad, "LinAlgError: Singular matrix")
    for c in [*CRITERIA, "estimate", "se", "lower", "upper"]:
        reps.loc[bad, c] = float("nan")
    s = criteria_summary(reps)
    res = StudyResult(reps, s, k_needed(s), type_sm(reps), study_result.original,
                      study_result.info, study_result.posterior)
    d = res.write(tmp_path / "failed")
    doc = parse((d / "report.html").read_text(encoding="utf-8"))
    head = ["".join(th.itertext()) for th in doc.find(".//table[@id='criteria-table']").iter("th")]
    assert head[:3] == ["k", "fits", "failed"]
    rows = {r[0]: r for r in cells(doc, "criteria-table")}
    assert rows["2"][1:4] == ["0", "400", "–"]
    assert rows["3"][1:3] == ["390", "10"]
    diag = {r[0]: r for r in cells(doc, "diagnostics-table")}
    assert set(diag) == {"2", "3"} and diag["2"][2] == "400" and diag["3"][2] == "10"
    text = "".join(doc.find(".//section[@id='diagnostics']").itertext())
    assert "LinAlgError: Singular matrix (410 fits)" in text


def test_type_sm_and_diagnostics_tables(doc, study_dir):
    t = pd.read_csv(study_dir / "type_sm.csv")
    rows = cells(doc, "type-sm-table")
    assert len(rows) == len(t)
    for row, r in zip(rows, t.to_dict("records"), strict=True):
        assert row[:4] == [str(r["k"]), str(r["n"]), str(r["n_significant"]),
                           f"{r['power']:.3f}"]
        assert row[5] == f"{r['type_m']:.3f} ±\u00a0{r['type_m_mcse']:.3f}"
    assert doc.find(".//table[@id='diagnostics-table']") is None  # empty: omitted
    text = "".join(doc.find(".//section[@id='diagnostics']").itertext())
    assert "None of the 6000 replicate fits failed or was flagged (failed)." in text
