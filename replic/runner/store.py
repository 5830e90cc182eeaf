"""Chunk files on disk: one parquet file per finished task, written atomically.

Layout under a study's output directory ``DIR``::

    manifest.json                      the run manifest (:mod:`replic.runner.manifest`)
    chunks/<task name>.parquet         the rows of one finished task
    replicates.parquet                 all rows in study order, merged from the chunks

A chunk file exists only once complete (written to a hidden temporary name, flushed to disk,
then renamed), so after a crash — even ``SIGKILL`` — the files present are exactly the
finished tasks.  Merging streams one chunk at a time, so memory stays bounded however many
replicates a study has.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from replic.runner.tally import Tally, tally
from replic.runner.tasks import Payload, Task, analyse_chunk

__all__ = ["FAILURE_COLUMNS", "ChunkStore", "Stored", "analyse_and_store", "concat_parquet"]

#: The columns kept for a failed replicate in a :class:`Stored` receipt.
FAILURE_COLUMNS = ["design", "rep", "draw", "seed", "design_key", "error"]


@dataclass(frozen=True, eq=False)
class Stored:
    """Receipt for a chunk written by the worker that computed it.

    Attributes
    ----------
    tally : Tally
        The chunk's partial counts.
    failed : DataFrame
        The chunk's failed replicates (:data:`FAILURE_COLUMNS`).
    """

    tally: Tally
    failed: pd.DataFrame


def analyse_and_store(payload: Payload, task: Task, directory: str | Path) -> Stored:
    """Compute ``task`` and store its chunk under ``directory`` (run in a worker that sees
    the study's output directory, so rows never travel back to the parent)."""
    rows = analyse_chunk(payload, task)
    ChunkStore(directory).write(task, rows)
    bad = rows[rows["error"].astype(str) != ""]
    return Stored(tally=tally(rows), failed=bad[[c for c in FAILURE_COLUMNS if c in bad]])


class ChunkStore:
    """The chunk files of one study's output directory.

    Parameters
    ----------
    directory : path
        The study's output directory (``chunks/`` is created below it).
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        self.chunks = self.directory / "chunks"

    def path(self, task: Task) -> Path:
        """Where ``task``'s rows are stored."""
        return self.chunks / f"{task.name}.parquet"

    def open(self) -> None:
        """Create the directories and remove temporary files left by a killed run."""
        self.chunks.mkdir(parents=True, exist_ok=True)
        for stale in self.chunks.glob(".*.tmp"):
            stale.unlink(missing_ok=True)

    def finished(self) -> set[str]:
        """Names of the tasks whose chunk file exists."""
        if not self.chunks.is_dir():
            return set()
        return {p.stem for p in self.chunks.glob("*.parquet")}

    def clear(self) -> None:
        """Remove every chunk file (a fresh start)."""
        if self.chunks.is_dir():
            for p in self.chunks.iterdir():
                p.unlink()

    def write(self, task: Task, rows: pd.DataFrame) -> Path:
        """Store ``rows`` as ``task``'s chunk, atomically and durably."""
        dest = self.path(task)
        tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
        table = pa.Table.from_pandas(rows, preserve_index=False)
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, use_dictionary=_text_columns(table.schema))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, dest)
        return dest

    def read(self, task: Task, *, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """``task``'s rows (only ``columns`` when given and present)."""
        path = self.path(task)
        if columns is not None:
            have = set(pq.read_schema(path).names)
            columns = [c for c in columns if c in have]
        return pq.read_table(path, columns=columns).to_pandas()

    def merge(self, tasks: Iterable[Task], dest: str | Path) -> Path:
        """Write the chunks of ``tasks``, in that order, into one parquet file ``dest``.

        Chunks whose columns differ (e.g. one where every fit failed lacks the optional
        columns) are aligned to the union of columns, missing values as nulls.  One chunk is in
        memory at a time.
        """
        return concat_parquet([self.path(t) for t in tasks], dest)


def concat_parquet(sources: Sequence[str | Path], dest: str | Path) -> Path:
    """Concatenate parquet files, in order, into ``dest`` (written atomically).

    Columns are aligned to the union of the sources' columns (missing values as nulls).  Each
    source row group is read and written as one row group, so one row group is in memory at a
    time.
    """
    sources, dest = [Path(p) for p in sources], Path(dest)
    schemas = [pq.read_schema(p).remove_metadata() for p in sources]
    schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else \
        pa.schema([])
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    try:
        with pq.ParquetWriter(tmp, schema, use_dictionary=_text_columns(schema)) as writer:
            for path in sources:
                with pq.ParquetFile(path) as source:
                    for i in range(source.num_row_groups):
                        table = source.read_row_group(i).replace_schema_metadata(None)
                        writer.write_table(_align(table, schema))
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return dest


def _text_columns(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary-encoding: text (labels, error messages), never numbers."""
    return [f.name for f in schema if pa.types.is_string(f.type) or
            pa.types.is_large_string(f.type)]


def _align(table: pa.Table, schema: pa.Schema) -> pa.Table:
    cols = [table.column(f.name).cast(f.type) if f.name in table.column_names
            else pa.nulls(table.num_rows, type=f.type) for f in schema]
    return pa.Table.from_arrays(cols, schema=schema)
