"""Writing results of stored runs without loading their replicate tables whole."""

from __future__ import annotations

import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

import replic
from replic import Design
from replic.cli import main
from replic.combine import combine_results
from replic.report.data import REPLICATE_COLUMNS
from replic.results_io import read_results
from tests.conftest import DRAWS

DESIGNS = [Design(k, x=range(10)) for k in (3, 6)]


def _stored(post, out, analysis="summary", **kw):
    return replic.run_study(post, DESIGNS, term="Days", analysis=analysis, reps=300, seed=2,
                            n_jobs=1, chunk_size=128, out=out, **kw)


@pytest.fixture
def parquet_reads(monkeypatch):
    """Every ``pd.read_parquet`` call: (file name, columns)."""
    calls = []
    real = pd.read_parquet

    def spy(path, *args, **kw):
        calls.append((os.path.basename(str(path)), kw.get("columns")))
        return real(path, *args, **kw)

    monkeypatch.setattr(pd, "read_parquet", spy)
    return calls


def _replicate_reads(calls):
    return [cols for name, cols in calls if name.endswith(".parquet") and "effect" not in name]


def test_stored_run_written_elsewhere_is_copied(sleep_post, tmp_path, parquet_reads):
    res = _stored(sleep_post, tmp_path / "run")
    source = res.replicates_file
    parquet_reads.clear()
    res.write(tmp_path / "results")
    assert _replicate_reads(parquet_reads) == []  # the report streams it, k from the summary
    assert (tmp_path / "results" / "report.html").is_file()
    written = tmp_path / "results" / "replicates.parquet"
    assert written.read_bytes() == source.read_bytes() and source.is_file()


def test_stored_run_written_in_place_is_left(sleep_post, tmp_path, parquet_reads):
    out = tmp_path / "run"
    res = _stored(sleep_post, out)
    before = os.stat(res.replicates_file)
    parquet_reads.clear()
    res.write(out)
    assert _replicate_reads(parquet_reads) == []
    after = os.stat(out / "replicates.parquet")
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not (out / "replicates.parquet").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no temporary directory left
    assert (out / "report.html").is_file() and (out / "summary.csv").is_file()
    back = read_results(out)
    assert len(back["replicates"]) == 2 * 300


def test_read_results_columns(sleep_post, tmp_path):
    out = tmp_path / "run"
    _stored(sleep_post, out).write(out, report=False)
    reps = read_results(out, replicate_columns=[*REPLICATE_COLUMNS, "nope"])["replicates"]
    assert list(reps.columns) == [c for c in REPLICATE_COLUMNS if c in set(
        pq.read_schema(out / "replicates.parquet").names)]
    assert "estimate" not in reps and "k" in reps and "error" in reps


def test_combine_stored_runs_on_disk(sleep_post, tmp_path):
    runs = [_stored(sleep_post, tmp_path / "runs" / a, analysis=a) for a in ("summary", "reml")]
    both = combine_results(runs)
    f = both.replicates_file
    assert f is not None and f.parent == tmp_path / "runs" and f.name.startswith(".combined-")
    # one row group per run chunk (3 chunks per design, 2 designs, 2 runs)
    assert pq.ParquetFile(f).num_row_groups == 12
    memory = combine_results([replic.run_study(sleep_post, DESIGNS, term="Days", analysis=a,
                                               reps=300, seed=2, n_jobs=1)
                              for a in ("summary", "reml")])
    assert memory.replicates_file is None
    table = both.replicates
    pd.testing.assert_frame_equal(table[memory.replicates.columns], memory.replicates,
                                  check_dtype=False, check_exact=True)
    pd.testing.assert_frame_equal(both.summary, memory.summary, check_exact=True)


def test_cli_several_analyses_leaves_no_combined_file(tmp_path):
    study = tmp_path / "s.toml"
    study.write_text(f'name = "s"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 100\nseed = 1\n'
                     'analysis = ["summary", "reml"]\n[design]\nk = [3, 5]\nx = [0, 1, 2, 3, 4]\n')
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    assert not list((out / "runs").glob(".combined-*"))
    reps = pd.read_parquet(out / "replicates.parquet", columns=["analysis"])
    assert reps["analysis"].value_counts().to_dict() == {"summary": 200, "reml": 200}


def test_stale_combined_files_are_removed_by_the_next_write(sleep_post, tmp_path):
    """A ``runs/.combined-*.parquet`` left by a killed multi-analysis run goes on the next
    write; the one being written out, and files not named by replic, stay."""
    runs = [_stored(sleep_post, tmp_path / "runs" / a, analysis=a) for a in ("summary", "reml")]
    stale = tmp_path / "runs" / ".combined-k1ll3d_x.parquet"
    stale.write_bytes(b"half")
    mine = tmp_path / "runs" / ".combined-notes.parquet.bak"
    mine.write_bytes(b"mine")
    both = combine_results(runs)
    both.write(tmp_path, report=False)
    assert not stale.exists() and mine.exists() and both.replicates_file.is_file()
    assert (tmp_path / "replicates.parquet").read_bytes() == both.replicates_file.read_bytes()
