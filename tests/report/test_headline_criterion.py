"""The headline follows ``replic run --criterion``: sentence, fine print and curve are about
the chosen criterion (recorded in study.json), not always significance."""

from __future__ import annotations

import dataclasses
import json

import pytest

from replic.cli import main
from replic.errors import ReplicInputError
from replic.report import build_context
from replic.results_io import read_results
from tests.conftest import DRAWS


def _context(study_result, tmp_path, criterion):
    res = dataclasses.replace(study_result, info=study_result.info | {"criterion": criterion})
    results = read_results(res.write(tmp_path / criterion, report=False))
    return results, build_context(results)


@pytest.mark.parametrize("criterion", ["same_sign", "rep_in_pi"])
def test_headline_uses_the_chosen_criterion(study_result, tmp_path, criterion):
    res, ctx = _context(study_result, tmp_path, criterion)
    s, kn = res["summary"], res["k_needed"].set_index("criterion")
    k = kn.loc[criterion, "k"]
    mine = s[s["criterion"] == criterion]
    at = mine[mine["k"] == k] if k == k else mine[mine["k"] == mine["k"].max()]
    p = float(at["probability"].iloc[0])
    (h,) = ctx["headlines"]
    phrase = {"same_sign": "find an effect of Days with the original's sign (positive)",
              "rep_in_pi": "estimate the effect of Days inside the 95% prediction interval"}
    assert phrase[criterion] in h["text"] and f"{100 * p:.0f}%" in h["text"]
    assert "significant" not in h["text"] and "'significant' means" not in h["detail"]
    curve = ctx["figures"]["curve"].data
    assert list(curve["probability"]) == list(mine["probability"])
    assert "significant" not in ctx["figures"]["curve"].alt


def test_default_and_unknown_criterion(study_result, tmp_path):
    _, ctx = _context(study_result, tmp_path, "sig_same_direction")
    assert "significant positive effect of Days" in ctx["headlines"][0]["text"]
    d = study_result.write(tmp_path / "edited", report=False)
    info = json.loads((d / "study.json").read_text())
    (d / "study.json").write_text(json.dumps(info | {"criterion": "nonsense"}))
    with pytest.raises(ReplicInputError, match=r"study\.json: criterion 'nonsense' is not "
                       r"one of the criteria of summary\.csv"):
        build_context(read_results(d))


def test_replic_run_criterion_reaches_the_report(tmp_path, capsys):
    study = tmp_path / "mini.toml"
    study.write_text(f'name = "mini"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 200\nseed = 5\n'
                     '[design]\nk = [3, 6]\nx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n')
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--jobs", "1", "--quiet",
                 "--criterion", "same_sign"]) == 0
    assert "P(same_sign)" in capsys.readouterr().out
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "with the original&#39;s sign (positive)" in html
