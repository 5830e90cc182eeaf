"""The replic command line: output, exit codes, and no partial output on bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from replic.cli import main
from tests.conftest import DRAWS


def test_effects_prints_every_estimand(capsys):
    assert main(["effects", str(DRAWS), "--term", "Days", "--k", "3", "--k", "10"]) == 0
    out = capsys.readouterr().out
    for e in ("conditional", "fitted_mean", "new_gaussian", "new_uncertainty", "new_old_levels",
              "replication_mean"):
        assert e in out
    assert "k=3" in out and "k=10" in out and "P(<0)" in out and "10.344" in out


@pytest.mark.parametrize(("args", "message"), [
    (["effects", "absent.csv", "--term", "Days"], "absent.csv: no such draws file"),
    (["effects", str(DRAWS), "--term", "Dayz"], "term 'Dayz' is not a fixed effect"),
    (["effects", str(DRAWS), "--term", "Days", "--k", "0"], "k=0"),
])
def test_bad_input_exit_2(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("replic: error: ") and message in err and err.count("\n") == 1


def _study(tmp_path, k="{from = 2, to = 4}"):
    p = tmp_path / "mini.toml"
    p.write_text(f'name = "mini"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 300\nseed = 5\n'
                 f'[design]\nk = {k}\nx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n')
    return p


def test_run_writes_results(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(_study(tmp_path)), "--out", str(out), "--reps", "200"]) == 0
    printed = capsys.readouterr().out
    assert "P(replication significant in the original's direction)" in printed
    s = pd.read_csv(out / "summary.csv")
    assert set(s["k"]) == {2, 3, 4} and (s["n"] == 200).all()
    assert (out / "replicates.parquet").is_file() and (out / "report.html").is_file()


def test_run_bad_study_leaves_nothing(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(_study(tmp_path, k="1")), "--out", str(out)]) == 2
    assert "Design: k=1" in capsys.readouterr().err
    assert not out.exists() and list(tmp_path.iterdir()) == [tmp_path / "mini.toml"]


def test_console_script_exit_code(tmp_path):
    r = subprocess.run([sys.executable, "-m", "replic", "effects", str(tmp_path / "x.csv"),
                        "--term", "Days"], capture_output=True, text=True, cwd=tmp_path,
                       timeout=300)
    assert r.returncode == 2 and "no such draws file" in r.stderr and r.stdout == ""
    assert not list(Path(tmp_path).iterdir())
