"""One run at a time per results directory: ``OUT/.replic.lock``, held with ``flock``.

A second ``replic run`` into a directory another run is writing is refused at once (exit 2, one
line naming the directory) and changes nothing there; the lock file goes when the run ends, and
one left by a killed run (no holder) does not block the next run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from replic import ReplicInputError
from replic.outdir import LOCK, check_out_dir, locked_out_dir
from tests.conftest import DRAWS

ROOT = Path(__file__).resolve().parents[1]
ENV = os.environ | {"PYTHONPATH": str(ROOT)}


def _study(tmp_path: Path) -> Path:
    p = tmp_path / "mini.toml"
    p.write_text(f'name = "mini"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 100\nseed = 5\n'
                 '[design]\nk = [3]\nx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n')
    return p


def _run(tmp_path: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "replic", "run", str(_study(tmp_path)),
                           "--out", str(out), "--jobs", "1", "--quiet"],
                          capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=300)


def _listing(d: Path) -> dict[str, int]:
    return {str(p.relative_to(d)): p.stat().st_mtime_ns for p in sorted(d.rglob("*"))}


def test_second_run_into_a_locked_directory_is_refused(tmp_path):
    out = tmp_path / "out"
    first = _run(tmp_path, out)
    assert first.returncode == 0, first.stderr
    assert not (out / LOCK).exists()  # removed when the run ended
    before = _listing(out)
    with locked_out_dir(out):  # another run (here: this process) is writing into out/
        second = _run(tmp_path, out)
        assert (out / LOCK).read_text().strip() == str(os.getpid())
    assert second.returncode == 2
    assert second.stderr == (f"replic: error: --out {out}: another replic run is writing into "
                             f"this directory (it holds {out / LOCK} (process {os.getpid()})); "
                             "wait for it to finish or choose another directory\n")
    assert _listing(out) == before  # nothing written, nothing removed
    assert not (out / LOCK).exists()


def test_lock_left_by_a_killed_run_does_not_block(tmp_path):
    """kill -9 leaves the file but no holder (the kernel drops a dead process's flock)."""
    out = tmp_path / "fresh"
    out.mkdir()
    (out / LOCK).write_text("999999\n")
    assert check_out_dir(out) == out  # the lock file alone is replic's, not a stranger's file
    proc = _run(tmp_path, out)
    assert proc.returncode == 0, proc.stderr
    assert (out / "summary.csv").is_file() and not (out / LOCK).exists()


def test_lock_is_reentrant_in_one_thread_and_exclusive_across_threads(tmp_path):
    out = tmp_path / "d"
    errors: list[BaseException] = []

    def other() -> None:
        try:
            with locked_out_dir(out):
                pass
        except ReplicInputError as exc:
            errors.append(exc)

    with locked_out_dir(out, where="out"):
        with locked_out_dir(out, where="out"):  # the CLI's lock, then the study's
            assert (out / LOCK).is_file()
        assert (out / LOCK).is_file()  # still held by the outer block
        t = threading.Thread(target=other)
        t.start()
        t.join(timeout=30)
    assert len(errors) == 1 and "another replic run is writing" in str(errors[0])
    assert not out.exists()  # created for the lock, nothing written: removed again


def test_nothing_written_when_the_study_is_refused_before_the_lock(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(f'name = "bad"\ndraws = "{DRAWS}"\nterm = "Nope"\nreps = 10\nseed = 1\n'
                   '[design]\nk = [3]\n')
    proc = subprocess.run([sys.executable, "-m", "replic", "run", str(bad), "--out",
                           str(tmp_path / "o"), "--quiet"], capture_output=True, text=True,
                          env=ENV, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("command", [
    ["effects", str(DRAWS), "--term", "Days", "--by-level"],
    ["run", "STUDY", "--out", "OUT", "--jobs", "1", "--quiet"],
])
def test_closed_stdout_exits_quietly(tmp_path, command):
    """``replic ... | head``: the reader is gone before replic prints; no traceback, no error
    line, SIGPIPE's exit status (141), and a run's results are written all the same."""
    command = [str(_study(tmp_path)) if c == "STUDY" else str(tmp_path / "out") if c == "OUT"
               else c for c in command]
    read, write = os.pipe()
    os.close(read)  # as head does once it has its lines
    try:
        proc = subprocess.run([sys.executable, "-m", "replic", *command], stdout=write,
                              stderr=subprocess.PIPE, text=True, env=ENV, cwd=tmp_path,
                              timeout=300)
    finally:
        os.close(write)
    assert proc.stderr == ""
    assert proc.returncode == 141
    if command[0] == "run":
        assert (tmp_path / "out" / "summary.csv").is_file()


@pytest.mark.parametrize("analysis", ["summary", ["summary", "reml"]])
def test_run_study_into_a_locked_directory_is_refused(tmp_path, analysis):
    """The Python API takes the same lock as ``replic run``, for one analysis or several."""
    out = tmp_path / "out"
    code = ("from replic import Design, run_study\nfrom tests.conftest import DRAWS\n"
            f"run_study(DRAWS, [Design(3, x=[0, 1, 2])], term='Days', analysis={analysis!r}, "
            f"reps=20, seed=1, n_jobs=1, quiet=True, out={str(out)!r})\n")
    with locked_out_dir(out):
        r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           env=ENV, cwd=ROOT, timeout=300)
        before = _listing(out)
    assert r.returncode == 1
    assert f"ReplicInputError: out {out}: another replic run is writing" in r.stderr
    assert before == {LOCK: before[LOCK]}   # nothing but the lock was there
