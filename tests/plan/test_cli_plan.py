"""``replic plan`` and ``replic run --target --criterion`` on a small study file."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest

from replic.cli import main
from tests.conftest import DRAWS


def _study(tmp_path, extra: str = "") -> str:
    p = tmp_path / "mini.toml"
    p.write_text(f'name = "mini"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 300\nseed = 5\n'
                 f'[design]\nk = {{from = 2, to = 20}}\nx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n'
                 f'params = "mean"\n{extra}')
    return str(p)


def test_plan_prints_the_answer_and_writes_its_table(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["plan", _study(tmp_path), "--target", "0.85", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("k = 7 new subjects: with 95% confidence")
    info = json.loads((out / "plan.json").read_text())
    assert info["k"] == 7 and info["kind"] == "find_k" and info["written_by"] == "replic plan"
    t = pd.read_csv(out / "plan.csv")
    assert 7 in set(t["k"]) and t["replicates"].sum() == info["reps_used"]
    assert not (out / "report.html").exists()  # no study results here to report on


def test_plan_beside_a_run_adds_a_report_section(tmp_path, capsys):
    out = tmp_path / "out"
    study = _study(tmp_path)
    assert main(["run", study, "--out", str(out), "--reps", "200", "--target", "0.9",
                 "--criterion", "same_sign", "--quiet", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "P(same_sign)" in printed and "Smallest k reaching 90%" in printed
    kn = pd.read_csv(out / "k_needed.csv")
    assert (kn["target"] == 0.9).all() and kn["answer"].notna().all()
    assert (out / "diagnosands.csv").is_file()
    assert main(["plan", study, "--out", str(out), "--cost-subject", "200",
                 "--cost-observation", "20", "--sessions", "4,6,10", "--target", "0.9"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("Cheapest design reaching 90%") and "(with the plan)" in printed
    html = (out / "report.html").read_text()
    assert 'id="plan"' in html and 'id="figure-plan-cost"' in html
    assert 'id="diagnosands-table"' in html
    c = pd.read_csv(out / "plan_candidates.csv")
    assert list(c["sessions"]) == [4, 6, 10] and (c["status"] == "cheapest").sum() == 1
    # a later find_k replaces the cost search's files (its candidates no longer apply)
    assert main(["plan", study, "--out", str(out), "--target", "0.8"]) == 0
    assert not (out / "plan_candidates.csv").exists()
    assert 'id="figure-plan-curve"' in (out / "report.html").read_text()
    # a new run into the same directory keeps the saved plan's section in its report
    assert main(["run", study, "--out", str(out), "--reps", "100", "--quiet", "--jobs", "1"]) == 0
    assert 'id="figure-plan-curve"' in (out / "report.html").read_text()


def test_plan_never_overwrites_files_it_did_not_write(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "plan.csv").write_text("mine\n")
    assert main(["plan", _study(tmp_path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("replic: error: ") and "not written by replic" in err
    assert (out / "plan.csv").read_text() == "mine\n" and sorted(out.iterdir()) == [
        out / "plan.csv"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("keep\n")
    assert main(["plan", _study(tmp_path), "--out", str(other)]) == 2
    assert "non-empty directory that replic did not write" in capsys.readouterr().err
    assert sorted(other.iterdir()) == [other / "notes.txt"]


@pytest.mark.parametrize(("args", "message"), [
    (["--target", "1.5"], "--target 1.5"),
    (["--cost-subject", "3"], "give both"),
    (["--sessions", "4,6"], "only with --cost-subject"),
    (["--cost-subject", "1", "--cost-observation", "1"], "give --sessions"),
    (["--cost-subject", "1", "--cost-observation", "1", "--sessions", "4,x"], "--sessions"),
    (["--cost-subject", "1", "--cost-observation", "1", "--sessions", "4,12"], "between 2"),
    (["--cost-subject", "1", "--cost-observation", "1", "--sessions", "4",
      "--dropout", "1.5"], "dropout=1.5"),
])
def test_plan_bad_input(tmp_path, capsys, args, message):
    out = tmp_path / "out"
    assert main(["plan", _study(tmp_path), "--out", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("replic: error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_plan_subprocess(tmp_path):
    r = subprocess.run([sys.executable, "-m", "replic", "plan", _study(tmp_path), "--target",
                        "0.6", "--out", str(tmp_path / "o")], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0 and r.stdout.startswith("k = 5 new subjects")


def test_study_file_dropout(tmp_path):
    from replic.studyfile import load_study

    spec = load_study(_study(tmp_path, "dropout = 0.1\n"))
    assert {d.dropout for d in spec.designs} == {0.1}
    with pytest.raises(Exception, match="dropout=2"):
        load_study(_study(tmp_path, "dropout = 2\n"))
