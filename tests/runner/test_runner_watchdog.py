"""``replic run`` killed outright (SIGKILL): its worker processes end within seconds and write
no chunk after the kill; the next run removes what the killed one left in the temporary
directory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from replic.runner import watchdog

from .conftest import DRAWS, HERE

STUDY = f"""
name = "slow"
draws = "{DRAWS}"
term = "Days"
analysis = "flaky"
reps = 1024
seed = 3
[design]
k = [3, 6]
x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
[options]
delay = 1.0
"""


def _stopped(proc: subprocess.Popen) -> tuple[str, str]:
    """The output of ``proc`` for an assertion message: killed first, so that a run which
    hangs cannot hang the test as well."""
    proc.kill()
    return proc.communicate(timeout=30)


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                stat = (d / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                out.append(int(d.name))
    return out


@pytest.mark.parametrize("backend", [[], ["--cluster", "local"]], ids=["loky", "dask"])
def test_workers_stop_when_replic_run_is_killed(tmp_path, backend):
    if backend:
        pytest.importorskip("distributed")
    study = tmp_path / "study.toml"
    study.write_text(STUDY)
    out = tmp_path / "out"
    args = ["run", str(study), "--out", str(out), "--jobs", "2", "--quiet", *backend]
    script = (f"import sys; sys.path.insert(0, {str(HERE)!r}); "
              "from replic.analyses import ANALYSES; ANALYSES['flaky'] = 'runner_flaky_chunked'; "
              f"from replic.cli import main; sys.exit(main({args!r}))")
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    chunks = out / "chunks"
    deadline = time.monotonic() + 120
    try:
        while len(list(chunks.glob("*.parquet"))) < 2:  # both workers busy with 1 s chunks
            assert proc.poll() is None and time.monotonic() < deadline, _stopped(proc)
            time.sleep(0.02)
        workers = [p for p in _children(proc.pid) if watchdog.alive(p)]
        assert len(workers) >= 2
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        proc.kill()
        proc.stderr.close()
    stored = sorted(chunks.glob("*.parquet"))
    gone_by = time.monotonic() + 5
    while any(watchdog.alive(p) for p in workers):
        assert time.monotonic() < gone_by, "workers still running 5 s after the kill"
        time.sleep(0.05)
    time.sleep(2.5)  # more than two chunks' time: a surviving worker would have stored one
    assert sorted(chunks.glob("*.parquet")) == stored
    assert len(stored) < 32


def test_payload_files_of_a_killed_run_are_removed(sleep_post):
    """Payload directories of runs whose process is gone are removed by the next loky run;
    those of running processes (and anything not named by replic) are left."""
    import replic
    from replic import Design

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True, timeout=60).stdout.strip()
    root = Path(tempfile.gettempdir())
    stale = Path(tempfile.mkdtemp(prefix=f"replic-payload-{dead}-", dir=root))
    live = Path(tempfile.mkdtemp(prefix=f"replic-payload-{os.getppid()}-", dir=root))
    other = Path(tempfile.mkdtemp(prefix="replic-payload-mine-", dir=root))
    (stale / "payload.pkl").write_bytes(b"x" * 100)
    try:
        replic.run_study(sleep_post, [Design(3, x=range(10))], term="Days", reps=2048, seed=1,
                         n_jobs=2, chunk_size=1024)
        assert not stale.exists() and live.is_dir() and other.is_dir()
    finally:
        for p in (stale, live, other):
            if p.exists():
                import shutil

                shutil.rmtree(p)
