"""``replic run`` killed with SIGKILL mid-run, then ``--resume``: the uninterrupted result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

import replic
from replic import Design
from replic.analyses import ANALYSES
from replic.cli import _parser, main

from .conftest import DRAWS, HERE


def _has_resume() -> bool:
    try:
        _parser().parse_args(["run", "--resume", "--quiet"])
    except SystemExit:
        return False
    return True


pytestmark = pytest.mark.skipif(not _has_resume(), reason="replic run has no --resume flag")

STUDY = f"""
name = "killed"
draws = "{DRAWS}"
term = "Days"
analysis = "flaky"
reps = 1024
seed = 8
[design]
k = [3, 6]
x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
[options]
delay = 0.05
"""
N_CHUNKS = 2 * 1024 // 64


def _replic_run(*args: str) -> subprocess.Popen:
    """``replic run ARGS`` in a new process, with the test analysis registered."""
    script = (f"import sys; sys.path.insert(0, {str(HERE)!r}); "
              "from replic.analyses import ANALYSES; ANALYSES['flaky'] = 'runner_flaky_chunked'; "
              f"from replic.cli import main; sys.exit(main({list(args)!r}))")
    return subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _stopped(proc: subprocess.Popen) -> tuple[str, str]:
    """The output of ``proc`` for an assertion message: killed first, so that a run which
    hangs cannot hang the test as well."""
    proc.kill()
    return proc.communicate(timeout=30)


def test_replic_run_killed_then_resumed(tmp_path, monkeypatch, capsys):
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    out = tmp_path / "out"
    proc = _replic_run("run", str(study), "--out", str(out), "--jobs", "1")
    deadline = time.monotonic() + 60
    while len(list((out / "chunks").glob("*.parquet"))) < 6:
        assert proc.poll() is None and time.monotonic() < deadline, _stopped(proc)
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert 6 <= len(list((out / "chunks").glob("*.parquet"))) < N_CHUNKS
    assert not (out / "summary.csv").exists()

    monkeypatch.setitem(ANALYSES, "flaky", "runner_flaky_chunked")
    assert main(["run", str(study), "--out", str(out), "--reps", "2048", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "cannot resume: the study changed" in err and "reps: 1024 -> 2048" in err

    resumed = _replic_run("run", str(study), "--out", str(out), "--resume", "--quiet")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    whole = replic.run_study(replic.read_draws(DRAWS), [Design(k, x=range(10)) for k in (3, 6)],
                             term="Days", analysis="flaky", reps=1024, seed=8, n_jobs=1,
                             out=tmp_path / "whole")
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"),
                                  _csv_round_trip(whole.summary, tmp_path), check_exact=True)
    rows = pd.read_parquet(out / "replicates.parquet")
    pd.testing.assert_frame_equal(rows, whole.replicates, check_exact=True)
    assert not rows.duplicated(["design_key", "rep"]).any() and len(rows) == 2 * 1024
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    assert [r["status"] for r in runs] == ["running", "complete"]


def _csv_round_trip(table: pd.DataFrame, tmp_path) -> pd.DataFrame:
    """``table`` as ``replic run`` writes it to summary.csv and pandas reads it back."""
    path = tmp_path / "summary_whole.csv"
    table.to_csv(path, index=False)
    return pd.read_csv(path)


def test_replic_run_ctrl_c_says_how_to_resume(tmp_path):
    """SIGINT (Ctrl-C) mid-run: one line on stderr naming --resume, exit status 130, no
    traceback; the same command with --resume then completes the study."""
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    out = tmp_path / "out"
    args = ("run", str(study), "--out", str(out), "--jobs", "1", "--quiet")
    proc = _replic_run(*args)
    deadline = time.monotonic() + 60
    while len(list((out / "chunks").glob("*.parquet"))) < 4:
        assert proc.poll() is None and time.monotonic() < deadline, _stopped(proc)
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert err == "replic: interrupted; rerun the same command with --resume to continue\n"
    assert json.loads((out / "manifest.json").read_text())["status"] == "interrupted"

    resumed = _replic_run(*args, "--resume")
    _, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert (out / "summary.csv").is_file()


def test_ctrl_c_outside_run_does_not_mention_resume(monkeypatch, capsys, tmp_path):
    import replic.report

    def interrupted(results_dir, **options):
        raise KeyboardInterrupt

    monkeypatch.setattr(replic.report, "write_report", interrupted)
    (tmp_path / "manifest.json").write_text('{"format": "replic-run/1"}')  # a results dir
    assert main(["report", str(tmp_path)]) == 130
    assert capsys.readouterr().err == "replic: interrupted\n"


MULTI = f"""
name = "two"
draws = "{DRAWS}"
term = "Days"
analysis = ["summary", "reml"]
reps = 200
seed = 3
[design]
k = [3, 5]
x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
"""


def test_resuming_a_finished_multi_analysis_run_recomputes_nothing(tmp_path, capsys):
    """The runs' own replicate files are removed once combined into out/replicates.parquet;
    --resume restores them from it (hash checked) instead of recomputing, and a damaged
    combined file is recomputed to the same result."""
    study = tmp_path / "two.toml"
    study.write_text(MULTI)
    out = tmp_path / "out"
    args = ["run", str(study), "--out", str(out), "--jobs", "1", "--quiet"]
    assert main(args) == 0
    first_out = capsys.readouterr().out
    rows = pd.read_parquet(out / "replicates.parquet")
    summary = (out / "summary.csv").read_bytes()
    assert sorted(p.name for p in (out / "runs" / "reml").iterdir()) == ["manifest.json"]

    assert main([*args, "--resume"]) == 0
    cap = capsys.readouterr()
    assert cap.err == "" and cap.out == first_out
    for name in ("summary", "reml"):
        last = json.loads((out / "runs" / name / "manifest.json").read_text())["runs"][-1]
        assert (last["status"], last["chunks_run"]) == ("complete", 0)
        assert sorted(p.name for p in (out / "runs" / name).iterdir()) == ["manifest.json"]
    pd.testing.assert_frame_equal(pd.read_parquet(out / "replicates.parquet"), rows,
                                  check_exact=True)
    assert (out / "summary.csv").read_bytes() == summary

    combined = out / "replicates.parquet"  # damaged: its hash no longer matches
    data = bytearray(combined.read_bytes())
    data[len(data) // 2] ^= 0xFF
    combined.write_bytes(bytes(data))
    assert main([*args, "--resume"]) == 0
    err = capsys.readouterr().err
    assert err.count("recomputing the replicates it held") == 2
    pd.testing.assert_frame_equal(pd.read_parquet(out / "replicates.parquet"), rows,
                                  check_exact=True)
    assert (out / "summary.csv").read_bytes() == summary
