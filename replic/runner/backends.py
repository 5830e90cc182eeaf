"""Where tasks run: in this process, on local loky workers (joblib), or on a dask cluster.

:func:`run_tasks` yields ``(task, rows)`` (or a receipt for a chunk the worker stored itself)
as tasks finish, in completion order.  The shared
:class:`~replic.chunk.Payload` (posterior, designs, prepared analysis) reaches each
worker once:

- loky: pickled once to a temporary file; each worker process loads it on its first task and
  keeps it (tasks carry only the file's path and digest);
- dask: ``Client.scatter(payload, broadcast=True)``; tasks carry the future.

Closing the generator (``KeyboardInterrupt``, an error, or the caller stopping early) cancels
what has not run and releases workers and clusters this module started.  When this process is
killed outright, the workers on this machine end themselves (:mod:`replic.runner.watchdog`),
and the next loky run removes the payload files such a run left in the temporary directory.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from joblib import Parallel, cpu_count, delayed

from replic.chunk import Payload, analyse_chunk
from replic.errors import ReplicInputError
from replic.runner import watchdog
from replic.runner.store import Stored, analyse_and_store
from replic.runner.tasks import Task

__all__ = ["Backend", "resolve_backend", "run_tasks", "shares_disk"]


@dataclass(frozen=True)
class Backend:
    """A resolved execution backend.

    Attributes
    ----------
    kind : {"serial", "loky", "dask"}
    workers : int
        Parallel workers (for dask with an existing scheduler: 0, meaning "the cluster's").
    scheduler : dask.distributed.Client, str or None
        ``"local"``, a scheduler address, or a client (dask only).
    """

    kind: str
    workers: int
    scheduler: Any = None

    @property
    def label(self) -> str:
        """A short description for provenance, e.g. ``loky x 8``."""
        if self.kind == "dask":
            where = "LocalCluster" if self.scheduler == "local" else (
                self.scheduler if isinstance(self.scheduler, str) else "Client")
            return f"dask {where}" + (f" x {self.workers}" if self.workers else "")
        return self.kind if self.kind == "serial" else f"{self.kind} x {self.workers}"


def _workers(n_jobs: int | None) -> int:
    if n_jobs is None:
        return cpu_count()
    if isinstance(n_jobs, bool) or not isinstance(n_jobs, int) or n_jobs == 0:
        raise ReplicInputError(f"n_jobs={n_jobs!r}; expected a positive number of workers, "
                               "-1 for all cores (or -2 for all but one), or None")
    return n_jobs if n_jobs > 0 else max(1, cpu_count() + 1 + n_jobs)


def resolve_backend(*, n_jobs: int | None, scheduler: Any = None) -> Backend:
    """The backend for ``n_jobs`` workers and an optional dask ``scheduler``.

    Parameters
    ----------
    n_jobs : int or None
        Workers; None (or -1) means all cores.  With a dask ``scheduler`` it sets the number of
        workers of a LocalCluster (``"local"``) and is otherwise ignored.
    scheduler : dask.distributed.Client, str or None
        None: joblib (loky processes, or this process when ``n_jobs == 1``); ``"local"``: start
        a dask LocalCluster; any other string: the address of a running dask scheduler
        (``tcp://host:8786``); a ``Client``: use it.

    Returns
    -------
    Backend
    """
    if scheduler is None:
        n = _workers(n_jobs)
        return Backend("serial", 1) if n == 1 else Backend("loky", n)
    if isinstance(scheduler, str):
        if not scheduler.strip():
            raise ReplicInputError("scheduler=''; expected 'local' or a dask scheduler address "
                                   "such as tcp://host:8786")
        workers = _workers(n_jobs) if scheduler == "local" else 0
        return Backend("dask", workers, scheduler)
    try:
        from distributed import Client
    except ModuleNotFoundError:  # pragma: no cover - dask is an optional dependency
        raise ReplicInputError("scheduler: a dask Client needs dask.distributed "
                               "(pip install 'replic[dask]')") from None
    if not isinstance(scheduler, Client):
        raise ReplicInputError(f"scheduler={scheduler!r}; expected None, 'local', a dask "
                               "scheduler address or a dask.distributed.Client")
    return Backend("dask", 0, scheduler)


Result = pd.DataFrame | Stored


def _work(payload: Payload, task: Task, sink: str | None,
          owner: int | None = None) -> tuple[Task, Result]:
    watchdog.guard(owner)
    if sink is None:
        return task, analyse_chunk(payload, task)
    return task, analyse_and_store(payload, task, sink)


def run_tasks(payload: Payload, tasks: list[Task], backend: Backend, *,
              sink: str | None = None) -> Iterator[tuple[Task, Result]]:
    """Run ``tasks`` on ``backend``; yield ``(task, result)`` as each finishes.

    ``result`` is the task's rows, or — when ``sink`` names a study's output directory that
    the workers can write to — a :class:`~replic.runner.store.Stored` receipt: the worker
    stored the chunk itself, so rows never travel back to this process.
    """
    if not tasks:
        return
    if backend.kind == "serial" or (backend.kind == "loky" and len(tasks) == 1):
        for task in tasks:
            yield _work(payload, task, sink)
    elif backend.kind == "loky":
        yield from _loky(payload, tasks, backend.workers, sink)
    else:
        yield from _dask(payload, tasks, backend, sink)


def shares_disk(backend: Backend) -> bool:
    """Whether the workers of ``backend`` see this machine's files (they can store chunks)."""
    return backend.kind in ("serial", "loky") or backend.scheduler == "local"


# --- loky -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _PayloadFile:
    path: str
    digest: str


@lru_cache(maxsize=2)
def _load(path: str, digest: str) -> Payload:
    """Read the payload once per worker process (cached by path and content digest)."""
    return pickle.loads(Path(path).read_bytes())


def _loky_task(ref: _PayloadFile, task: Task, sink: str | None,
               owner: int) -> tuple[Task, Result]:
    watchdog.guard(owner)
    return _work(_load(ref.path, ref.digest), task, sink, owner)


_PAYLOAD_DIR = re.compile(r"replic-payload-(\d+)-[A-Za-z0-9_]+")


def _remove_stale_payloads() -> None:
    """Remove payload directories of runs whose process is gone (killed outright)."""
    root = Path(tempfile.gettempdir())
    for p in root.glob("replic-payload-*"):
        m = _PAYLOAD_DIR.fullmatch(p.name)
        if m and p.is_dir() and not p.is_symlink() and int(m[1]) != os.getpid() and \
                not watchdog.alive(int(m[1])):
            shutil.rmtree(p, ignore_errors=True)


def _loky(payload: Payload, tasks: list[Task], workers: int, sink: str | None) -> Iterator[
        tuple[Task, Result]]:
    _remove_stale_payloads()
    with tempfile.TemporaryDirectory(prefix=f"replic-payload-{os.getpid()}-") as tmp:
        blob = pickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        path = Path(tmp) / "payload.pkl"
        path.write_bytes(blob)
        ref = _PayloadFile(str(path), hashlib.sha256(blob).hexdigest())
        parallel = Parallel(n_jobs=workers, backend="loky", return_as="generator_unordered")
        results = parallel(delayed(_loky_task)(ref, t, sink, os.getpid()) for t in tasks)
        try:
            yield from results
        finally:
            results.close()


# --- dask -----------------------------------------------------------------------------------

def _dask_task(task: Task, payload: Payload, sink: str | None,
               owner: int | None) -> tuple[Task, Result]:
    return _work(payload, task, sink, owner)


def _connect(backend: Backend):
    """``(client, ours, cluster)``: clients and clusters started here are closed after use."""
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:  # pragma: no cover - dask is an optional dependency
        raise ReplicInputError("a dask scheduler needs dask.distributed "
                               "(pip install 'replic[dask]')") from None
    if not isinstance(backend.scheduler, str):
        return backend.scheduler, False, None
    if backend.scheduler == "local":
        cluster = LocalCluster(n_workers=backend.workers, threads_per_worker=1, processes=True,
                               host="127.0.0.1", dashboard_address=":0")
        return Client(cluster), True, cluster
    try:
        return Client(backend.scheduler), True, None
    except (OSError, TimeoutError, ValueError) as exc:
        raise ReplicInputError(f"scheduler={backend.scheduler!r}: cannot connect to a dask "
                               f"scheduler there ({exc})") from None


def _dask(payload: Payload, tasks: list[Task], backend: Backend, sink: str | None) -> Iterator[
        tuple[Task, Result]]:
    from distributed import as_completed

    client, ours, cluster = _connect(backend)
    pending = None
    try:
        shared = client.scatter(payload, broadcast=True, hash=False)
        owner = os.getpid() if backend.scheduler == "local" else None  # workers we started
        # loop=: without it as_completed tracks the futures on the *default* client's loop,
        # which is another client's when the caller holds one as a context manager (a
        # ``with Client(...)`` block sets the current client) -- then it can wait forever.
        pending = as_completed(client.map(_dask_task, tasks, payload=shared, sink=sink,
                                          owner=owner, pure=False), with_results=True,
                               loop=client.loop)
        for _future, result in pending:  # finished futures are dropped: workers free them
            yield result
    finally:
        if pending is not None and pending.futures:
            client.cancel(list(pending.futures))
        if ours:
            client.close()
        if cluster is not None:
            cluster.close()
