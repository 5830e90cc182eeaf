"""Checkpointing: a study killed (SIGKILL) or interrupted (Ctrl-C) resumes to the same result."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest

import replic
from replic import Design, ReplicInputError
from replic.runner.store import ChunkStore

from .conftest import DESIGNS, DRAWS, HERE

SEED = 5
KILL_DESIGNS = (Design(3, x=range(10)), Design(6, x=range(10)))
KILL_REPS, KILL_CHUNK = 1024, 64  # 32 chunks of 50 ms each


def _killed_run(out, draws, *, sig: int = signal.SIGKILL, jobs: int = 1) -> int:
    """Start a study in a new process and send it ``sig`` once some (not all) chunks are
    stored; its exit status."""
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(HERE)!r})
        from replic.analyses import ANALYSES
        ANALYSES["flaky"] = "runner_flaky_analysis"
        import replic
        from replic import Design
        replic.run_study(replic.read_draws({str(draws)!r}),
                         [Design(3, x=range(10)), Design(6, x=range(10))], term="Days",
                         analysis="flaky", options={{"delay": 0.05}}, reps={KILL_REPS},
                         seed={SEED}, chunk_size={KILL_CHUNK}, n_jobs={jobs}, out={str(out)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            chunks = out / "chunks"
            if chunks.is_dir() and len(list(chunks.glob("*.parquet"))) >= 8:
                break
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.02)
        else:
            pytest.fail("the study stored no chunks within 60 s")
        os.kill(proc.pid, sig)
        proc.wait(timeout=60)
        err = proc.stderr.read().decode()
    finally:
        proc.kill()
        proc.stderr.close()
    assert proc.returncode != 0, err
    return proc.returncode


def test_sigkill_then_resume_equals_uninterrupted(flaky, tmp_path):
    """Kill a study in its own process mid-run, resume it here on 2 loky workers: the same
    summary and per-replicate table as an uninterrupted run, every replicate exactly once."""
    out = tmp_path / "killed"
    draws = DRAWS
    assert _killed_run(out, draws) == -signal.SIGKILL
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "running"  # killed outright: nothing could record it
    stored = len(list((out / "chunks").glob("*.parquet")))
    assert 8 <= stored < 2 * KILL_REPS // KILL_CHUNK
    assert manifest["chunks"] == {}  # written when the run started; the hashes are journalled
    assert len(ChunkStore(out).recorded()) >= stored

    post = replic.read_draws(draws)
    resumed = replic.run_study(post, KILL_DESIGNS, term="Days", analysis="flaky",
                               options={"delay": 0.05}, reps=KILL_REPS, seed=SEED, n_jobs=2,
                               out=out, resume=True)
    whole = replic.run_study(post, KILL_DESIGNS, term="Days", analysis="flaky",
                             options={"delay": 0.0}, reps=KILL_REPS, seed=SEED,
                             chunk_size=KILL_CHUNK, n_jobs=1, out=tmp_path / "whole")
    assert resumed.info["chunks_resumed"] >= stored
    pd.testing.assert_frame_equal(resumed.summary, whole.summary, check_exact=True)
    pd.testing.assert_frame_equal(resumed.type_sm, whole.type_sm, check_exact=True)
    table = resumed.replicates
    pd.testing.assert_frame_equal(table, whole.replicates, check_exact=True)
    for d in KILL_DESIGNS:
        reps = table.loc[table["design_key"] == d.key, "rep"].to_numpy()
        np.testing.assert_array_equal(reps, np.arange(KILL_REPS))  # none missing or twice
    runs = json.loads((out / "manifest.json").read_text())["runs"]
    assert [r["status"] for r in runs] == ["running", "complete"]
    assert runs[1]["chunks_resumed"] + runs[1]["chunks_run"] == 2 * KILL_REPS // KILL_CHUNK


def test_sigint_with_workers_leaves_a_resumable_study(flaky, tmp_path):
    """Ctrl-C (SIGINT) while 2 loky workers run: the manifest says so, the finished chunks are
    kept and the study resumes to the uninterrupted result."""
    out = tmp_path / "interrupted"
    _killed_run(out, DRAWS, sig=signal.SIGINT, jobs=2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert not (out / "replicates.parquet").exists()
    post = replic.read_draws(DRAWS)
    resumed = replic.run_study(post, KILL_DESIGNS, term="Days", analysis="flaky",
                               options={"delay": 0.05}, reps=KILL_REPS, seed=SEED, n_jobs=1,
                               out=out, resume=True)
    assert resumed.info["chunks_resumed"] >= 8
    whole = replic.run_study(post, KILL_DESIGNS, term="Days", reps=KILL_REPS, seed=SEED,
                             chunk_size=KILL_CHUNK, n_jobs=1)
    cols = ["rep", "draw", "estimate", "se", "p", "sig_same_direction"]
    pd.testing.assert_frame_equal(resumed.replicates[cols], whole.replicates[cols],
                                  check_exact=True)


def _study(post, out, **kw):
    kw = {"reps": 4000, "seed": SEED, "n_jobs": 1, "chunk_size": 1024} | kw
    return replic.run_study(post, DESIGNS, term="Days", analysis="flaky", out=out, **kw)


def test_ctrl_c_leaves_a_resumable_study(sleep_post, flaky, tmp_path):
    flaky.INTERRUPT_AT = 2500  # in the 3rd of 4 chunks of the first design
    with pytest.raises(KeyboardInterrupt):
        _study(sleep_post, tmp_path)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["status"] == "interrupted"
    assert manifest["runs"][-1]["chunks_run"] == 2
    assert not list((tmp_path / "chunks").glob(".*"))  # no half-written chunk
    assert not (tmp_path / "replicates.parquet").exists()

    flaky.INTERRUPT_AT = None
    resumed = _study(sleep_post, tmp_path, resume=True)
    whole = _study(sleep_post, None)
    assert resumed.info["chunks_resumed"] == 2
    pd.testing.assert_frame_equal(resumed.summary, whole.summary, check_exact=True)
    pd.testing.assert_frame_equal(resumed.replicates, whole.replicates, check_dtype=False,
                                  check_exact=True)


def test_unfinished_study_is_not_overwritten(sleep_post, flaky, tmp_path):
    flaky.INTERRUPT_AT = 1500
    with pytest.raises(KeyboardInterrupt):
        _study(sleep_post, tmp_path)
    flaky.INTERRUPT_AT = None
    with pytest.raises(ReplicInputError, match=r"unfinished study \(1 of 12 chunks done.*"
                                               r"--resume"):
        _study(sleep_post, tmp_path)


@pytest.mark.parametrize(("change", "message"), [
    ({"reps": 5000}, "reps: 4000 -> 5000"),
    ({"seed": 6}, "seed: 5 -> 6"),
    ({"options": {"fail_every": 9}}, 'options: {} -> {"fail_every": 9}'),
    ({"designs": DESIGNS[:2]}, "designs: [k=3, Days 0–9; k=8, Days 0–9; k=5, Days 0–9, "
     "missing=0.25] -> [k=3, Days 0–9; k=8, Days 0–9]"),
    ({"posterior": "ri"}, "the posterior draws or data differ"),
])
def test_resume_refuses_a_changed_study(sleep_post, ri_post, flaky, tmp_path, change, message):
    flaky.INTERRUPT_AT = 1500
    with pytest.raises(KeyboardInterrupt):
        _study(sleep_post, tmp_path)
    flaky.INTERRUPT_AT = None
    change = dict(change)
    post = ri_post if change.pop("posterior", None) else sleep_post
    designs = change.pop("designs", DESIGNS)
    with pytest.raises(ReplicInputError, match="cannot resume: the study changed") as err:
        replic.run_study(post, designs, term="Days", analysis="flaky", out=tmp_path,
                         resume=True, **({"reps": 4000, "seed": SEED, "n_jobs": 1} | change))
    assert message in str(err.value)
    assert str(tmp_path / "manifest.json") in str(err.value)
    assert len(list((tmp_path / "chunks").glob("*.parquet"))) == 1  # nothing touched


def test_resuming_a_complete_study_recomputes_nothing(sleep_post, flaky, tmp_path):
    first = _study(sleep_post, tmp_path)
    again = _study(sleep_post, tmp_path, resume=True, n_jobs=2)
    assert again.info["chunks_resumed"] == again.info["tasks"] == 12
    pd.testing.assert_frame_equal(first.summary, again.summary, check_exact=True)
    rerun = _study(sleep_post, tmp_path)  # a finished study may be rerun from scratch
    assert rerun.info["chunks_resumed"] == 0


def test_resume_needs_an_output_directory(sleep_post):
    with pytest.raises(ReplicInputError, match="resume=True needs out="):
        replic.run_study(sleep_post, DESIGNS, term="Days", reps=10, seed=1, resume=True)
