"""What a previous run left in a study's output directory, checked before it is trusted.

A resumed study reuses a chunk file only when its SHA-256 equals the one the manifest recorded
when the chunk was written, and a finished study's ``replicates.parquet`` only when its hash
equals the recorded one.  Anything else — a flipped byte, a truncated, empty or unreadable file,
a chunk finished after the manifest was last saved — is computed again (the numbers of a
replicate depend only on the seed, the design and its index, so the result is identical to an
undamaged run), and each damaged file is named in one line on stderr.

A study of several analyses (``replic run`` with two or more) keeps each analysis's rows once,
in the combined ``OUT/replicates.parquet``: :func:`hand_over` records in each run's manifest
which rows of that file are its own (with the file's hash and the run's exact schema) before
removing the run's own ``replicates.parquet``; resuming the finished study restores that file
from the combined one (after checking its hash) instead of recomputing it.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from replic.runner.manifest import read_manifest, write_manifest
from replic.runner.store import ChunkStore, _text_columns, file_digest, temporary
from replic.runner.tasks import Task

__all__ = ["Found", "hand_over", "read_tasks", "verify"]

_MISMATCH = "its content hash differs from the one recorded when it was written"


@dataclass(frozen=True)
class Found:
    """The verified work of previous runs.

    Attributes
    ----------
    done : list of Task
        Tasks whose rows can be reused (in study order).
    merged : bool
        ``replicates.parquet`` holds every task's rows and matches its recorded hash.
    notes : list of str
        One line per damaged or unusable file (printed on stderr).
    restored : str or None
        SHA-256 of ``replicates.parquet`` when it was restored from a study's combined file.
    """

    done: list[Task] = field(default_factory=list)
    merged: bool = False
    notes: list[str] = field(default_factory=list)
    restored: str | None = None


def _digest(path: Path) -> str | None:
    try:
        return file_digest(path)
    except OSError:
        return None


def verify(store: ChunkStore, manifest: Mapping[str, Any], tasks: Sequence[Task], *,
           replicates: Path) -> Found:
    """Check the chunk files (and the merged file) of ``store`` against ``manifest``.

    Parameters
    ----------
    store : ChunkStore
    manifest : mapping
        The run manifest (checked by :func:`~replic.runner.manifest.check_manifest`).
    tasks : sequence of Task
        The study's tasks, in study order.
    replicates : Path
        ``DIR/replicates.parquet``.

    Returns
    -------
    Found
    """
    notes = []
    merged = manifest.get("merged")
    if merged is not None and manifest.get("status") == "complete":
        rows = sum(t.n for t in tasks)
        if replicates.is_file() and merged.get("rows") == rows and \
                _digest(replicates) == merged["sha256"]:
            return Found(done=list(tasks), merged=True)
        if not replicates.exists() and merged.get("combined") is not None:
            restored = _restore(replicates, merged["combined"], rows)
            if restored is not None:
                return Found(done=list(tasks), merged=True, restored=restored)
        why = "missing" if not replicates.exists() else f"damaged ({_MISMATCH})"
        notes.append(f"{replicates}: {why}; recomputing the replicates it held")
    recorded, finished = manifest.get("chunks", {}), store.finished()
    done, unrecorded = [], 0
    for t in tasks:
        if t.name not in finished:
            continue
        want = recorded.get(t.name)
        if want is None:
            unrecorded += 1
        elif store.digest(t) != want:
            notes.append(f"{store.path(t)}: damaged ({_MISMATCH}); recomputing it")
        else:
            done.append(t)
    if unrecorded:
        notes.append(f"{store.chunks}: {unrecorded} chunk file(s) finished after the manifest "
                     "was last saved (no recorded hash); recomputing them")
    return Found(done=done, merged=False, notes=notes)


def read_tasks(path: str | Path, tasks: Sequence[Task], *,
               columns: Sequence[str]) -> Iterator[tuple[Task, pd.DataFrame]]:
    """The rows of each of ``tasks`` from a merged file holding them in that order.

    Row groups are read one after the other, so one task's rows (and at most one row group
    more) are in memory at a time.
    """
    with pq.ParquetFile(path) as f:
        have = set(f.schema_arrow.names)
        cols = [c for c in columns if c in have]
        groups = iter(range(f.num_row_groups))
        pending: list[pa.Table] = []
        held = 0
        for t in tasks:
            while held < t.n:
                i = next(groups, None)
                if i is None:
                    raise ValueError(f"{path}: fewer rows than the study's replicates")
                pending.append(f.read_row_group(i, columns=cols))
                held += pending[-1].num_rows
            table = pa.concat_tables(pending) if len(pending) > 1 else pending[0]
            yield t, table.slice(0, t.n).to_pandas()
            rest = table.slice(t.n)
            pending, held = ([rest] if rest.num_rows else []), rest.num_rows


def _combined_of(replicates: Path) -> Path:
    """``OUT/replicates.parquet`` for a run stored in ``OUT/runs/<analysis>/``."""
    return replicates.parent.parent.parent / replicates.name


def hand_over(files: Sequence[Path], combined: Path) -> None:
    """Record that the runs' ``files`` (``OUT/runs/<analysis>/replicates.parquet``, in the
    order they were concatenated) live on in ``combined`` (``OUT/replicates.parquet``), then
    remove them: one copy of the replicates on disk, and a resume restores them (:func:`verify`).

    Each run's manifest gets ``merged["combined"]``: the combined file's SHA-256, the run's row
    range in it and the run's exact schema.  Nothing is removed unless the row counts agree.
    """
    files, combined = [Path(f) for f in files], Path(combined)
    counts = [pq.ParquetFile(f).metadata.num_rows for f in files]
    if pq.ParquetFile(combined).metadata.num_rows != sum(counts) or any(
            _combined_of(f).resolve() != combined.resolve() for f in files):
        return  # not the concatenation this expects: keep every file
    digest, start = file_digest(combined), 0
    for f, n in zip(files, counts, strict=True):
        manifest = read_manifest(f.parent)
        if manifest is None or manifest.get("merged") is None:
            start += n
            continue
        schema = pq.read_schema(f)
        manifest["merged"]["combined"] = {
            "sha256": digest, "rows": [start, start + n],
            "schema": base64.b64encode(schema.serialize().to_pybytes()).decode("ascii")}
        write_manifest(f.parent, manifest)
        f.unlink()
        start += n


def _restore(dest: Path, record: Any, rows: int) -> str | None:
    """Write ``dest`` from its rows in the study's combined file; its SHA-256, or None when
    the combined file is missing, changed or not as recorded (the caller recomputes)."""
    combined = _combined_of(dest)
    try:
        start, stop = (int(v) for v in record["rows"])
        schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(record["schema"])))
        if stop - start != rows or not combined.is_file() or \
                _digest(combined) != record["sha256"]:
            return None
        tmp = temporary(dest)
        try:
            with pq.ParquetFile(combined) as f, pq.ParquetWriter(
                    tmp, schema, use_dictionary=_text_columns(schema)) as out:
                at = 0
                for i in range(f.num_row_groups):
                    n = f.metadata.row_group(i).num_rows
                    lo, hi = max(start, at), min(stop, at + n)
                    if lo < hi:
                        part = f.read_row_group(i, columns=schema.names).slice(lo - at, hi - lo)
                        out.write_table(part.replace_schema_metadata(None).cast(schema))
                    at += n
            if pq.ParquetFile(tmp).metadata.num_rows != rows:
                raise ValueError("row count")
            os.replace(tmp, dest)
        finally:
            tmp.unlink(missing_ok=True)
    except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
        return None
    return _digest(dest)
