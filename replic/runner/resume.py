"""What a previous run left in a study's output directory, checked before it is trusted.

A resumed study reuses a chunk file only when its SHA-256 equals the one the manifest recorded
when the chunk was written, and a finished study's ``replicates.parquet`` only when its hash
equals the recorded one.  Anything else — a flipped byte, a truncated, empty or unreadable file,
a chunk finished after the manifest was last saved — is computed again (the numbers of a
replicate depend only on the seed, the design and its index, so the result is identical to an
undamaged run), and each damaged file is named in one line on stderr.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from replic.runner.store import ChunkStore, file_digest
from replic.runner.tasks import Task

__all__ = ["Found", "read_tasks", "verify"]

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
    """

    done: list[Task] = field(default_factory=list)
    merged: bool = False
    notes: list[str] = field(default_factory=list)


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
