"""Run a study's tasks: in memory, or streamed to disk with a manifest, resumable.

:func:`execute` is what :func:`replic.study.run_study` delegates to once it has validated its
inputs and prepared the analysis.

- ``out=None``: chunks are gathered in memory and concatenated in study order.
- ``out=DIR``: each finished chunk goes to ``DIR/chunks/`` at once and is reduced to a
  :class:`~replic.summarise.Tally`; the summaries come from the tallies and
  ``DIR/replicates.parquet`` is merged chunk by chunk, so memory stays bounded; the chunks
  are then removed (unless ``keep_chunks``), so the replicates are on disk once.
  ``DIR/manifest.json`` records the study's fingerprint, every run and the SHA-256 of every
  chunk and of the merged file.  It is written (atomically) when a run starts and when it
  ends or stops; in between, each chunk's hash goes to the journal ``DIR/chunks/SHA256SUMS``
  (by this process, before the file is moved into place), which a resumed run reads too.
  With ``resume=True`` verified chunks (or a verified merged file) are reused after checking
  the fingerprint, and damaged ones recomputed
  (:mod:`replic.runner.resume`); without it, a directory holding an unfinished study is
  refused rather than overwritten.

Any interruption — ``KeyboardInterrupt``, an error, ``SIGKILL`` — leaves the finished chunks
on disk, so the study can be resumed; temporary files a killed run left are removed by the
next run.
"""

from __future__ import annotations

import sys
import time
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from replic.chunk import Payload
from replic.errors import ReplicInputError
from replic.outdir import locked_out_dir
from replic.runner.backends import Backend, run_tasks, shares_disk
from replic.runner.manifest import (
    FORMAT,
    MANIFEST,
    check_resumable,
    now,
    read_manifest,
    write_manifest,
)
from replic.runner.progress import progress
from replic.runner.resume import Found, read_tasks, verify
from replic.runner.store import FAILURE_COLUMNS, ChunkStore, Stored, file_digest, remove_temporary
from replic.runner.tasks import Task, plan_tasks
from replic.summarise import TALLY_COLUMNS, summary_from_tallies, tally, type_sm_from_tallies
from replic.versions import package_versions

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
            quiet: bool = True, keep_chunks: bool = False) -> Execution:
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
    keep_chunks : bool
        Keep ``DIR/chunks/`` after merging them into ``DIR/replicates.parquet`` (by default the
        chunks are removed once merged, so the replicates are on disk once).

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
    with locked_out_dir(out, where="out"):  # refused while another run writes there
        return _stored(payload, Path(out), reps=reps, chunk_size=chunk_size, backend=backend,
                       fingerprint=fingerprint, resume=resume, quiet=quiet,
                       keep_chunks=keep_chunks)


def _in_memory(payload: Payload, tasks: list[Task], backend: Backend, quiet: bool) -> Execution:
    parts: dict[str, pd.DataFrame] = {}
    failures = _Failures()
    with progress(sum(t.n for t in tasks), quiet=quiet, desc=payload.analysis_name) as bar, \
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


def _adopt(store: ChunkStore, todo: list[Task], manifest: dict, *, since: float) -> None:
    """Record the hashes of chunks that workers of this run stored but whose receipts never
    arrived (the run was interrupted while they finished), so that a resume reuses them."""
    for t in todo:
        path = store.path(t)
        if t.name in manifest["chunks"] or not path.is_file():
            continue
        try:
            if path.stat().st_mtime >= since - 1:
                manifest["chunks"][t.name] = file_digest(path)
        except OSError:
            continue


def _stored(payload: Payload, out: Path, *, reps: int, chunk_size: int, backend: Backend,
            fingerprint: dict, resume: bool, quiet: bool, keep_chunks: bool) -> Execution:
    store = ChunkStore(out)
    store.check([REPLICATES_FILE])
    manifest, size = _open_manifest(store, fingerprint, resume=resume, chunk_size=chunk_size)
    store.open()
    remove_temporary(out, [MANIFEST, REPLICATES_FILE])
    merged_path = out / REPLICATES_FILE
    tasks = plan_tasks(payload.designs, reps=reps, size=size)
    if manifest is not None:  # hashes a killed run journalled after its manifest was saved
        manifest["chunks"] = manifest.get("chunks", {}) | store.recorded()
    found = Found() if manifest is None else verify(store, manifest, tasks,
                                                     replicates=merged_path)
    for line in found.notes:
        print(f"replic: {line}", file=sys.stderr)
    done_names = {t.name for t in found.done}
    done = found.done
    todo = [t for t in tasks if t.name not in done_names]
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
    recorded = manifest.get("chunks", {})
    manifest["chunks"] = {} if found.merged else {t.name: recorded[t.name] for t in done}
    if not found.merged:
        manifest.pop("merged", None)
    elif found.restored is not None:  # its rows were restored from the study's combined file
        manifest["merged"] = {"file": REPLICATES_FILE, "sha256": found.restored,
                              "rows": sum(t.n for t in tasks)}
    manifest |= {"status": "running", "finished": None}
    manifest["runs"].append(run)
    write_manifest(out, manifest)
    store.forget()  # the manifest holds every verified hash now

    # workers store their own chunks; this process stores its own (serial) and the chunks of
    # workers that cannot see this disk
    sink = str(out) if shares_disk(backend) and backend.kind != "serial" else None

    def record(name: str, digest: str) -> None:
        manifest["chunks"][name] = digest
        store.record(name, digest)

    tallies, failures = {}, _Failures()
    columns = list(dict.fromkeys(TALLY_COLUMNS + FAILURE_COLUMNS))
    previous = read_tasks(merged_path, done, columns=columns) if found.merged else \
        ((t, store.read(t, columns=columns)) for t in done)
    started = time.time()
    try:
        for t, rows in previous:
            tallies[t.name] = tally(rows)
            failures.add(t, rows)
        with progress(sum(t.n for t in tasks), initial=sum(t.n for t in done),
                      quiet=quiet, desc=payload.analysis_name) as bar, \
                closing(run_tasks(payload, todo, backend, sink=sink)) as results:
            for task, rows in results:
                run["chunks_run"] += 1
                if isinstance(rows, Stored):  # the worker wrote the chunk
                    tallies[task.name] = rows.tally
                    failures.add(task, rows.failed)
                    record(task.name, rows.digest)
                else:
                    store.write(task, rows, before_commit=lambda d, n=task.name: record(n, d))
                    tallies[task.name] = tally(rows)
                    failures.add(task, rows)
                bar.update(task.n)
        if not found.merged:
            store.merge(tasks, merged_path)
            manifest["merged"] = {"file": REPLICATES_FILE, "sha256": file_digest(merged_path),
                                  "rows": sum(t.n for t in tasks)}
    except BaseException as exc:
        _adopt(store, todo, manifest, since=started)
        status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        run |= {"status": status, "finished": now()}
        manifest["status"] = status
        write_manifest(out, manifest)
        store.forget()
        raise
    ordered = [tallies[t.name] for t in tasks]
    if not keep_chunks:  # one copy of the replicates: the merged file
        manifest["chunks"] = {}
    run |= {"status": "complete", "finished": now()}
    manifest |= {"status": "complete", "finished": run["finished"]}
    write_manifest(out, manifest)
    store.forget()
    if not keep_chunks:
        store.remove(tasks)
    info = {"backend": backend.label, "chunk_size": size, "tasks": len(tasks),
            "chunks_resumed": len(done), "n_failed": failures.count,
            "failures": failures.listed(tasks), "out": str(out),
            "manifest": str(out / "manifest.json")}
    return Execution(replicates=None, replicates_file=merged_path,
                     summary=summary_from_tallies(ordered), type_sm=type_sm_from_tallies(ordered),
                     info=info)
