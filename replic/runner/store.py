"""Chunk files on disk: one parquet file per finished task, written atomically, with its hash.

Layout under a study's output directory ``DIR``::

    manifest.json                      the run manifest (:mod:`replic.runner.manifest`)
    chunks/<task name>.parquet         the rows of one finished task (while the study runs)
    chunks/SHA256SUMS                  hashes of chunks finished since the manifest was saved
    replicates.parquet                 all rows in study order, merged from the chunks

A chunk file exists only once complete (written to a hidden temporary name
``.<file>.<pid>.tmp``, flushed to disk, then renamed), so after a crash — even ``SIGKILL`` —
the files present are the finished tasks; :meth:`ChunkStore.write` returns the SHA-256 of the
bytes it wrote, which the manifest records so that a resumed study can tell a damaged chunk.
The manifest is written when a run starts and ends; in between, each chunk's hash is appended
to ``chunks/SHA256SUMS`` (``sha256sum`` format, one line per chunk, before the chunk is moved
into place), so recording a chunk costs one short write however many chunks came before.
Merging streams one row group at a time, so memory stays bounded however many replicates a
study has.  Only files named the way replic names them are ever removed.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from replic.chunk import Payload, analyse_chunk
from replic.errors import ReplicInputError
from replic.runner import watchdog
from replic.runner.tasks import Task
from replic.summarise import Tally, tally

__all__ = ["CHUNK_NAME", "FAILURE_COLUMNS", "JOURNAL", "ChunkStore", "Stored", "analyse_and_store",
           "concat_parquet", "file_digest", "remove_temporary", "temporary"]

#: The columns kept for a failed replicate in a :class:`Stored` receipt.
FAILURE_COLUMNS = ["design", "rep", "draw", "seed", "design_key", "error"]
#: The stem of a chunk file (:attr:`~replic.runner.tasks.Task.name`).
CHUNK_NAME = re.compile(r"\d{4,}-[0-9a-f]{8,}-\d{10,}-\d{10,}")
_TEMPORARY = re.compile(r"\.(?P<dest>.+)\.\d+\.tmp")
#: The journal of chunk hashes recorded since the manifest was last written.
JOURNAL = "SHA256SUMS"
_JOURNAL_LINE = re.compile(r"(?P<sha>[0-9a-f]{64})  (?P<name>" + CHUNK_NAME.pattern +
                           r")\.parquet")


def temporary(dest: Path) -> Path:
    """The hidden name ``dest`` is written under before it is moved into place."""
    return dest.with_name(f".{dest.name}.{os.getpid()}.tmp")


def remove_temporary(directory: Path, names: Iterable[str]) -> list[Path]:
    """Remove the temporary files replic left in ``directory`` (a killed run's) for files
    named ``names`` (exact names, or a compiled pattern's full matches); nothing else."""
    if not directory.is_dir():
        return []
    wanted = [n for n in names if isinstance(n, str)]
    patterns = [n for n in names if isinstance(n, re.Pattern)]
    gone = []
    for p in directory.iterdir():
        m = _TEMPORARY.fullmatch(p.name)
        if m is None or not p.is_file() or p.is_symlink():
            continue
        dest = m["dest"]
        if dest in wanted or any(pat.fullmatch(dest) for pat in patterns):
            p.unlink(missing_ok=True)
            gone.append(p)
    return gone


def file_digest(path: str | Path) -> str:
    """SHA-256 (hex) of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


@dataclass(frozen=True, eq=False)
class Stored:
    """Receipt for a chunk written by the worker that computed it.

    Attributes
    ----------
    tally : Tally
        The chunk's partial counts.
    failed : DataFrame
        The chunk's failed replicates (:data:`FAILURE_COLUMNS`).
    digest : str
        SHA-256 of the chunk file.
    """

    tally: Tally
    failed: pd.DataFrame
    digest: str


def analyse_and_store(payload: Payload, task: Task, directory: str | Path) -> Stored:
    """Compute ``task`` and store its chunk under ``directory`` (run in a worker that sees
    the study's output directory, so rows never travel back to the parent)."""
    rows = analyse_chunk(payload, task)
    digest = ChunkStore(directory).write(task, rows)
    bad = rows[rows["error"].astype(str) != ""]
    return Stored(tally=tally(rows), failed=bad[[c for c in FAILURE_COLUMNS if c in bad]],
                  digest=digest)


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

    def check(self, files: Iterable[str] = ()) -> None:
        """Refuse (``ReplicInputError``) a directory where replic's files cannot go: the
        directory or ``chunks/`` is a file, or ``files`` (and chunk names) are not files."""
        if self.directory.exists() and not self.directory.is_dir():
            raise ReplicInputError(f"{self.directory}: expected an output directory, found a "
                                   "file; choose another output directory")
        if self.chunks.exists() and not self.chunks.is_dir():
            raise ReplicInputError(f"{self.chunks}: expected the directory of the run's chunk "
                                   "files, found a file; remove it or choose another output "
                                   "directory")
        paths = [self.directory / f for f in files]
        if self.chunks.is_dir():
            paths += [p for p in self.chunks.iterdir()
                      if p.suffix == ".parquet" and CHUNK_NAME.fullmatch(p.stem)]
        for p in paths:
            if p.exists() and not p.is_file():
                raise ReplicInputError(f"{p}: expected a file written by replic, found a "
                                       "directory or special file; remove it or choose another "
                                       "output directory")

    def open(self) -> None:
        """Create the directories and remove the temporary chunk files of a killed run."""
        self.chunks.mkdir(parents=True, exist_ok=True)
        remove_temporary(self.chunks, [re.compile(CHUNK_NAME.pattern + r"\.parquet")])

    def finished(self) -> set[str]:
        """Names of the tasks whose chunk file exists."""
        if not self.chunks.is_dir():
            return set()
        return {p.stem for p in self.chunks.glob("*.parquet")
                if CHUNK_NAME.fullmatch(p.stem) and p.is_file()}

    def record(self, name: str, digest: str) -> None:
        """Append chunk ``name``'s hash to the journal (``chunks/SHA256SUMS``)."""
        with open(self.chunks / JOURNAL, "a", encoding="ascii") as fh:
            fh.write(f"{digest}  {name}.parquet\n")

    def recorded(self) -> dict[str, str]:
        """The hashes in the journal (name -> SHA-256; the last line of a name wins).  A line
        cut short by a kill, or anything not written by :meth:`record`, is ignored."""
        path = self.chunks / JOURNAL
        if not path.is_file() or path.is_symlink():
            return {}
        try:
            text = path.read_bytes().decode("ascii", errors="replace")
        except OSError:
            return {}
        return {m["name"]: m["sha"] for m in map(_JOURNAL_LINE.fullmatch, text.split("\n"))
                if m is not None}

    def forget(self) -> None:
        """Remove the journal (once the manifest holds what it recorded)."""
        (self.chunks / JOURNAL).unlink(missing_ok=True)

    def clear(self) -> None:
        """Remove every chunk file replic wrote (a fresh start); other files are left."""
        for name in self.finished():
            (self.chunks / f"{name}.parquet").unlink(missing_ok=True)
        self.forget()
        remove_temporary(self.chunks, [re.compile(CHUNK_NAME.pattern + r"\.parquet")])
        self.prune()

    def prune(self) -> None:
        """Remove ``chunks/`` once it is empty."""
        try:
            self.chunks.rmdir()
        except OSError:  # absent, or holds something
            pass

    def remove(self, tasks: Iterable[Task]) -> None:
        """Remove the chunk files of ``tasks`` (after they were merged)."""
        for t in tasks:
            self.path(t).unlink(missing_ok=True)
        self.forget()
        self.prune()

    def write(self, task: Task, rows: pd.DataFrame, *,
              before_commit: Callable[[str], None] | None = None) -> str:
        """Store ``rows`` as ``task``'s chunk, atomically and durably; the file's SHA-256.

        ``before_commit(digest)`` runs once the bytes are on disk under the temporary name and
        before they are moved into place (the study process records the hash first, so a chunk
        file never exists without its recorded hash).  In a worker whose study process is gone
        (killed), nothing is written: the worker exits (:mod:`replic.runner.watchdog`).
        """
        dest = self.path(task)
        tmp = temporary(dest)
        table = pa.Table.from_pandas(rows, preserve_index=False)
        sink = pa.BufferOutputStream()
        pq.write_table(table, sink, use_dictionary=_text_columns(table.schema))
        data = sink.getvalue()
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            digest = hashlib.sha256(data).hexdigest()
            if before_commit is not None:
                before_commit(digest)
            watchdog.check()
            os.replace(tmp, dest)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        return digest

    def digest(self, task: Task) -> str | None:
        """SHA-256 of ``task``'s chunk file, or None when it cannot be read."""
        try:
            return file_digest(self.path(task))
        except OSError:
            return None

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
    tmp = temporary(dest)
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
