"""Tallies, chunk store, progress bar, planning and the command line's execution options."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

import replic
from replic import ReplicInputError
from replic.runner import execution_options
from replic.runner.progress import progress, shows_progress
from replic.runner.store import ChunkStore
from replic.runner.tasks import Task, chunk_size, plan_tasks
from replic.simulate import BLOCK
from replic.summarise import (
    combine,
    criteria_summary,
    summary_from_tallies,
    tally,
    type_sm,
    type_sm_from_tallies,
)

from .conftest import DESIGNS


@pytest.fixture(scope="module")
def table(sleep_post):
    return replic.run_study(sleep_post, DESIGNS, term="Days", reps=2000, seed=4,
                            n_jobs=1).replicates


def test_tallies_equal_the_full_table_summaries(table):
    chunks = [g.iloc[lo:lo + 300] for _, g in table.groupby("design_key", sort=False)
              for lo in range(0, len(g), 300)]
    tallies = [tally(c) for c in chunks]
    pd.testing.assert_frame_equal(summary_from_tallies(tallies), criteria_summary(table),
                                  check_exact=True)
    pd.testing.assert_frame_equal(type_sm_from_tallies(tallies), type_sm(table), rtol=1e-12)


def test_combine_is_exact_for_counts_and_stable_for_moments(table):
    g = table[table["design_key"] == DESIGNS[0].key]
    whole = tally(g)
    parts = [tally(g.iloc[i:i + 7]) for i in range(0, len(g), 7)]
    acc = parts[0]
    for p in parts[1:]:
        acc = combine(acc, p)
    np.testing.assert_array_equal(acc.successes, whole.successes)
    assert (acc.ok, acc.failed, acc.significant, acc.wrong_sign) == (
        whole.ok, whole.failed, whole.significant, whole.wrong_sign)
    assert acc.ratio_mean == pytest.approx(whole.ratio_mean, rel=1e-13)
    assert acc.ratio_m2 == pytest.approx(whole.ratio_m2, rel=1e-11)


def test_store_is_atomic_and_merges_in_study_order(table, tmp_path):
    store = ChunkStore(tmp_path)
    store.open()
    tasks = [Task(0, 1, 0, 5), Task(0, 1, 5, 9)]
    stale = store.chunks / f".{tasks[0].name}.parquet.123.tmp"  # a killed run's half a file
    stale.write_bytes(b"half a file")
    users = [store.chunks / ".stale.parquet.123.tmp", store.chunks / "notes.parquet",
             store.chunks / "mine"]  # not named by replic: never removed
    for p in users[:2]:
        p.write_bytes(b"mine")
    users[2].mkdir()
    store.open()
    assert not stale.exists() and all(p.exists() for p in users)
    store.write(tasks[1], table.iloc[5:9].drop(columns=["df"]))
    store.write(tasks[0], table.iloc[0:5])
    assert store.finished() == {t.name for t in tasks}
    merged = pd.read_parquet(store.merge(tasks, tmp_path / "all.parquet"))
    assert merged["rep"].tolist() == list(range(9))
    assert merged["df"].iloc[5:].isna().all() and merged["df"].iloc[:5].notna().all()
    store.clear()
    assert store.finished() == set()
    assert all(p.exists() for p in users)


def test_planning_covers_every_replicate_once():
    tasks = plan_tasks(DESIGNS, reps=2500, size=1024)
    assert [(t.design, t.start, t.stop) for t in tasks[:3]] == [(0, 0, 1024), (0, 1024, 2048),
                                                                 (0, 2048, 2500)]
    assert sum(t.n for t in tasks) == 3 * 2500
    assert len({t.name for t in tasks}) == len(tasks) and [t.name for t in tasks] == sorted(
        t.name for t in tasks)


def test_chunk_size_follows_the_analysis_not_the_machine():
    from replic.analyses import get_analysis

    summary = get_analysis("summary")
    assert chunk_size(summary, reps=10**6) == 64 * BLOCK
    assert chunk_size(summary, reps=20_000) == 3 * BLOCK
    assert chunk_size(summary, reps=100) == BLOCK
    assert chunk_size(get_analysis("reml"), reps=10**6) == BLOCK

    class OneAtATime:
        chunk = 1
        representation = "full"

    assert chunk_size(OneAtATime(), reps=500) == 1


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_only_on_a_terminal_and_not_quiet():
    assert not shows_progress(quiet=False, stream=io.StringIO())
    assert not shows_progress(quiet=True, stream=_Terminal())
    tty = _Terminal()
    with progress(5000, initial=1000, quiet=False, stream=tty) as bar:
        bar.update(2000)
    text = tty.getvalue()
    assert "3.00k/5.00k" in text and "rep/s" in text
    silent = _Terminal()
    with progress(5000, quiet=True, stream=silent) as bar:
        bar.update(5000)
    assert silent.getvalue() == ""


def test_execution_options_for_the_command_line(tmp_path):
    assert execution_options(jobs=4, out=tmp_path) == {
        "n_jobs": 4, "scheduler": None, "out": tmp_path, "resume": False, "quiet": False,
        "keep_chunks": False}
    assert execution_options(out=tmp_path, keep_chunks=True)["keep_chunks"] is True
    assert execution_options(cluster="local", jobs=2, resume=True, quiet=True,
                             out=tmp_path)["scheduler"] == "local"
    assert execution_options(scheduler="tcp://10.0.0.1:8786")["scheduler"] == \
        "tcp://10.0.0.1:8786"


@pytest.mark.parametrize(("kw", "match"), [
    ({"scheduler": "tcp://h:8786", "cluster": "local"}, "give one of them"),
    ({"cluster": "slurm"}, "--cluster slurm: expected 'local'"),
    ({"scheduler": "local"}, "use --cluster local"),
    ({"jobs": 0}, "--jobs 0"),
    ({"resume": True}, "--resume: needs the results directory"),
])
def test_execution_options_refuse_bad_flags(kw, match):
    with pytest.raises(ReplicInputError, match=match):
        execution_options(**kw)
