"""The report's replicate counts streamed from ``replicates.parquet`` in batches equal the
counts over the whole table, and a re-rendered report is byte-identical."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import replic.report.data as data
from replic import ReplicInputError
from replic.cli import main
from replic.report.data import diagnostics, error_messages, replicate_batches
from tests.conftest import DRAWS


@pytest.fixture(scope="module")
def marked(study_result) -> pd.DataFrame:
    """Two analyses' replicates with failures (several messages) and diagnostic marks."""
    reps = study_result.replicates.copy()
    rng = np.random.default_rng(1)
    n = len(reps)
    reps["error"] = rng.choice(["", "", "", "", "LinAlgError: singular", "ValueError: nan",
                                "RuntimeError: no"], n)
    reps["singular"] = pd.array(np.where(rng.random(n) < 0.1, None, rng.random(n) < 0.05),
                                dtype="boolean")
    reps["converged"] = rng.random(n) > 0.03
    reps["rhat"] = rng.uniform(1, 1.02, n)
    other = reps.assign(analysis="reml")
    return pd.concat([reps, other], ignore_index=True)


@pytest.fixture
def parquet(marked, tmp_path, monkeypatch) -> str:
    path = tmp_path / "replicates.parquet"
    table = pa.Table.from_pandas(marked, preserve_index=False)
    pq.write_table(table, path, row_group_size=1000)  # row groups cut designs
    monkeypatch.setattr(data, "BATCH_ROWS", 777)  # and batches cut row groups
    return str(path)


def test_streamed_diagnostics_equal_the_whole_table(marked, parquet):
    sizes = [len(b) for b in replicate_batches(parquet, ["k"])]
    assert sum(sizes) == len(marked) and max(sizes) == 777 and len(sizes) > len(marked) // 1000
    streamed, whole = diagnostics(parquet), diagnostics(marked)
    pd.testing.assert_frame_equal(streamed, whole, check_exact=True)
    assert streamed["replicates"].sum() == len(marked)
    assert list(streamed["series"].unique()) == ["summary", "reml"]
    # the analyses' verdicts, never a threshold of the report's own on raw R-hat
    assert "R-hat > 1.01" not in streamed
    assert streamed["not converged"].sum() == (~marked["converged"].astype(bool)).sum()
    per_design = marked.groupby(["analysis", "k"], sort=False)["error"].apply(
        lambda e: (e != "").sum())
    np.testing.assert_array_equal(streamed["failed"], per_design.to_numpy())


def test_streamed_error_messages_equal_the_whole_table(marked, parquet):
    streamed = error_messages(parquet, top=2)
    pd.testing.assert_frame_equal(streamed, error_messages(marked, top=2), check_exact=True)
    counts = marked.loc[marked["error"] != "", "error"].value_counts()
    assert streamed["count"].tolist() == sorted(counts, reverse=True)[:2]
    assert set(streamed["message"]) <= set(counts.index)


@pytest.mark.parametrize("analyses", [["summary"], ["summary", "reml"]])
def test_report_rerender_is_byte_identical(tmp_path, analyses):
    study = tmp_path / "s.toml"
    study.write_text(f'name = "s"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 3000\nseed = 1\n'
                     f'analysis = {analyses!r}\n[design]\nk = [3, 5]\n'
                     'x = [0, 1, 2, 3, 4]\n'.replace("'", '"'))
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    first = (out / "report.html").read_bytes()
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").read_bytes() == first
    # the replicates are on disk once: the runs' own merged files and chunks are gone
    assert not list(out.rglob("chunks")) and not list((out / "runs").rglob("*.parquet"))
    assert len(pd.read_parquet(out / "replicates.parquet", columns=["k"])) == \
        len(analyses) * 2 * 3000


@pytest.mark.parametrize("damage", [lambda b: b[: len(b) // 2], lambda b: b"", lambda b: b"x" * 99])
def test_damaged_replicate_file_is_one_clear_error(parquet, capsys, damage, tmp_path):
    from pathlib import Path

    path = Path(parquet)
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(ReplicInputError, match="unreadable replicate table"):
        diagnostics(parquet)
    with pytest.raises(ReplicInputError, match=str(path)):
        error_messages(parquet)
