"""Run a study's tasks: in memory, or streamed to disk with a manifest, resumable.

:func:`execute` is what :func:`replic.study.run_study` delegates to once it has validated its
inputs and prepared the analysis.

- ``out=None``: chunks are gathered in memory and concatenated in study order.
- ``out=DIR``: each finished chunk goes to ``DIR/chunks/`` at once and is reduced to a
  :class:`~replic.runner.tally.Tally`; the summaries come from the tallies and
  ``DIR/replicates.parquet`` is merged chunk by chunk, so memory stays bounded.
  ``DIR/manifest.json`` records the study's fingerprint and every run.  With ``resume=True``
  finished chunks are skipped (after checking the fingerprint); without it, a directory
  holding an unfinished study is refused rather than overwritten.

Any interruption — ``KeyboardInterrupt``, an error, ``SIGKILL`` — leaves the finished chunks
on disk, so the study can be resumed.
"""

from __future__ import annotations

from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from replic.errors import ReplicInputError
from replic.results_io import package_versions
from replic.runner.backends import Backend, run_tasks, shares_disk
from replic.runner.manifest import FORMAT, check_resumable, now, read_manifest, write_manifest
from replic.runner.progress import progress
from replic.runner.store import FAILURE_COLUMNS, ChunkStore, Stored
from replic.runner.tally import TALLY_COLUMNS, summary_from_tallies, tally, type_sm_from_tallies
from replic.runner.tasks import Payload, Task, plan_tasks

__all__ = ["MAX_FAILURES_LISTED", "REPLICATES_FILE", "Execution", "execute"]

REPLICATES_FILE = "replicates.parquet"
#: Failed replicates listed in ``info["failures"]`` (all are counted and kept in the table).
MAX_FAILURES_LISTED = 100


@dataclass(frozen=True, eq=False)
class Execution:
    """What running a study's tasks produced.

    Attributes
    ----------
    replicates : DataFrame or None
        All rows in study order (``out=None``).
    replicates_file : Path or None
        ``DIR/replicates.parquet`` (``out=DIR``).
    summary, type_sm : DataFrame or None
        Computed from per-chunk tallies (``out=DIR``); None in memory.
    info : dict
        Backend, chunking, resumed chunks, failures.
    """

    replicates: pd.DataFrame | None
    replicates_file: Path | None
    summary: pd.DataFrame | None
    type_sm: pd.DataFrame | None
    info: dict = field(default_factory=dict)


class _Failures:
    """Counts failed replicates and keeps the first few, in study order, whatever order the
    chunks finish in."""

    def __init__(self) -> None:
        self.count = 0
        self.by_task: dict[str, list[dict]] = {}

    def add(self, task: Task, rows: pd.DataFrame) -> None:
        bad = rows[rows["error"].astype(str) != ""]
        self.count += len(bad)
        cols = [c for c in FAILURE_COLUMNS if c in bad]
        self.by_task[task.name] = bad[cols].head(MAX_FAILURES_LISTED).to_dict("records")

    def listed(self, tasks: list[Task]) -> list[dict]:
        """The first ``MAX_FAILURES_LISTED`` failures in study order."""
        out: list[dict] = []
        for t in tasks:
            out += self.by_task.get(t.name, [])[:MAX_FAILURES_LISTED - len(out)]
        return out


def execute(payload: Payload, *, reps: int, chunk_size: int, backend: Backend,
            fingerprint: dict[str, Any], out: str | Path | None = None, resume: bool = False,
            quiet: bool = True) -> Execution:
    """Run every task of a study on ``backend``.

    Parameters
    ----------
    payload : Payload
        What the tasks share.
    reps : int
        Replicates per design.
    chunk_size : int
        Replicates per task (a resumed study keeps the size it was started with).
    backend : Backend
    fingerprint : dict
        :func:`replic.runner.manifest.fingerprint` of the study.
    out : path, optional
        Output directory for chunks, manifest and ``replicates.parquet``.
    resume : bool
        Continue the unfinished study in ``out``.
    quiet : bool
        No progress bar.

    Returns
    -------
    Execution
    """
    if out is None:
        if resume:
            raise ReplicInputError("resume=True needs out= (the directory of the study to "
                                   "resume)")
        return _in_memory(payload, plan_tasks(payload.designs, reps=reps, size=chunk_size),
                          backend, quiet)
    return _stored(payload, Path(out), reps=reps, chunk_size=chunk_size, backend=backend,
                   fingerprint=fingerprint, resume=resume, quiet=quiet)


def _in_memory(payload: Payload, tasks: list[Task], backend: Backend, quiet: bool) -> Execution:
    parts: dict[str, pd.DataFrame] = {}
    failures = _Failures()
    with progress(sum(t.n for t in tasks), quiet=quiet) as bar, \
            closing(run_tasks(payload, tasks, backend)) as results:
        for task, rows in results:
            parts[task.name] = rows
            failures.add(task, rows)
            bar.update(task.n)
    table = pd.concat([parts.pop(t.name) for t in tasks], ignore_index=True)
    info = {"backend": backend.label, "chunk_size": tasks[0].n, "tasks": len(tasks),
            "n_failed": failures.count, "failures": failures.listed(tasks)}
    return Execution(replicates=table, replicates_file=None, summary=None, type_sm=None,
                     info=info)


def _open_manifest(store: ChunkStore, fingerprint: dict, *, resume: bool,
                   chunk_size: int) -> tuple[dict | None, int]:
    """The manifest to continue (or None for a fresh start) and the chunk size to use."""
    manifest = read_manifest(store.directory)
    if manifest is not None and resume:
        check_resumable(manifest, fingerprint, store.directory)
        return manifest, int(manifest["chunk_size"])
    done = store.finished()
    if manifest is not None and manifest.get("status") != "complete" and done:
        raise ReplicInputError(
            f"{store.directory}: holds an unfinished study ({len(done)} of {manifest['tasks']} "
            "chunks done, status "
            f"{manifest.get('status')!r}); pass --resume (resume=True) to continue it, or "
            "choose another output directory")
    store.clear()
    return None, chunk_size


def _stored(payload: Payload, out: Path, *, reps: int, chunk_size: int, backend: Backend,
            fingerprint: dict, resume: bool, quiet: bool) -> Execution:
    store = ChunkStore(out)
    manifest, size = _open_manifest(store, fingerprint, resume=resume, chunk_size=chunk_size)
    store.open()
    tasks = plan_tasks(payload.designs, reps=reps, size=size)
    finished = store.finished()
    done = [t for t in tasks if t.name in finished]
    todo = [t for t in tasks if t.name not in finished]
    versions = package_versions()
    if manifest is None:
        manifest = {"format": FORMAT, "fingerprint": fingerprint,
                    "seed": fingerprint["spec"]["seed"], "chunk_size": size,
                    "tasks": len(tasks), "replicates": sum(t.n for t in tasks),
                    "versions": versions, "started": now(), "runs": []}
    run = {"started": now(), "finished": None, "status": "running", "backend": backend.label,
           "chunks_resumed": len(done), "chunks_run": 0}
    if versions != manifest["versions"]:  # resumed under other package versions: say so
        run["versions"] = versions
    manifest |= {"status": "running", "finished": None}
    manifest["runs"].append(run)
    write_manifest(out, manifest)

    sink = str(out) if shares_disk(backend) else None
    tallies, failures = {}, _Failures()
    for t in done:
        rows = store.read(t, columns=list(dict.fromkeys(TALLY_COLUMNS + FAILURE_COLUMNS)))
        tallies[t.name] = tally(rows)
        failures.add(t, rows)
    try:
        with progress(sum(t.n for t in tasks), initial=sum(t.n for t in done),
                      quiet=quiet) as bar, \
                closing(run_tasks(payload, todo, backend, sink=sink)) as results:
            for task, rows in results:
                if isinstance(rows, Stored):  # the worker wrote the chunk
                    tallies[task.name] = rows.tally
                    failures.add(task, rows.failed)
                else:
                    store.write(task, rows)
                    tallies[task.name] = tally(rows)
                    failures.add(task, rows)
                run["chunks_run"] += 1
                bar.update(task.n)
        path = store.merge(tasks, out / REPLICATES_FILE)
    except BaseException as exc:
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        run |= {"status": status, "finished": now()}
        manifest["status"] = status
        write_manifest(out, manifest)
        raise
    ordered = [tallies[t.name] for t in tasks]
    run |= {"status": "complete", "finished": now()}
    manifest |= {"status": "complete", "finished": run["finished"]}
    write_manifest(out, manifest)
    info = {"backend": backend.label, "chunk_size": size, "tasks": len(tasks),
            "chunks_resumed": len(done), "n_failed": failures.count,
            "failures": failures.listed(tasks), "out": str(out),
            "manifest": str(out / "manifest.json")}
    return Execution(replicates=None, replicates_file=path, summary=summary_from_tallies(ordered),
                     type_sm=type_sm_from_tallies(ordered), info=info)
