"""The command line's execution flags, checked and turned into :func:`run_study` options.

``replic run`` passes its parsed ``--jobs``, ``--scheduler``, ``--cluster``, ``--resume`` and
``--quiet`` and ``--keep-chunks`` to :func:`execution_options` and forwards the result::

    run_study(..., **execution_options(jobs=args.jobs, scheduler=args.scheduler,
                                       cluster=args.cluster, resume=args.resume,
                                       quiet=args.quiet, out=out,
                                       keep_chunks=args.keep_chunks))

and, before anything starts, :func:`check_scheduler` refuses a malformed or unreachable
``--scheduler`` address (and keeps dask's own log lines off stderr).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from replic.errors import ReplicInputError

__all__ = ["check_scheduler", "execution_options"]


def execution_options(*, jobs: int | None = None, scheduler: str | None = None,
                      cluster: str | None = None, resume: bool = False, quiet: bool = False,
                      out: str | Path | None = None, keep_chunks: bool = False) -> dict[str, Any]:
    """Keyword arguments of :func:`replic.study.run_study` for the command line's flags.

    Parameters
    ----------
    jobs : int, optional
        ``--jobs N``: workers (None: all cores; with ``--cluster local`` the cluster's workers).
    scheduler : str, optional
        ``--scheduler ADDR``: address of a running dask scheduler (``tcp://host:8786``).
    cluster : {"local"}, optional
        ``--cluster local``: start a dask LocalCluster for the run.
    resume : bool
        ``--resume``: continue the interrupted study in ``out``.
    quiet : bool
        ``--quiet``: no progress bar.
    out : path, optional
        The results directory (chunks and the manifest are kept there).
    keep_chunks : bool
        ``--keep-chunks``: keep ``DIR/chunks/`` after merging them into
        ``DIR/replicates.parquet``.

    Returns
    -------
    dict
        ``n_jobs``, ``scheduler``, ``out``, ``resume``, ``quiet`` and ``keep_chunks``.
    """
    if scheduler is not None and cluster is not None:
        raise ReplicInputError("--scheduler and --cluster: give one of them (an address of a "
                               "running dask scheduler, or --cluster local to start one)")
    if cluster is not None and cluster != "local":
        raise ReplicInputError(f"--cluster {cluster}: expected 'local' (for a remote cluster, "
                               "pass its scheduler's address with --scheduler)")
    if scheduler is not None and (not scheduler.strip() or scheduler == "local"):
        raise ReplicInputError(f"--scheduler {scheduler!r}: expected a dask scheduler address "
                               "such as tcp://host:8786 (use --cluster local for a local one)")
    if jobs is not None and (jobs == 0 or jobs < -1):
        raise ReplicInputError(f"--jobs {jobs}: expected a positive number of workers or -1 "
                               "(all cores)")
    if resume and out is None:
        raise ReplicInputError("--resume: needs the results directory of the study (--out)")
    return {"n_jobs": jobs, "scheduler": scheduler if scheduler is not None else cluster,
            "out": out, "resume": bool(resume), "quiet": bool(quiet),
            "keep_chunks": bool(keep_chunks)}


def check_scheduler(options: dict[str, Any]) -> None:
    """Before a study runs on dask (``options`` from :func:`execution_options`): keep dask's own
    log lines (workers starting and stopping) off stderr, and refuse a scheduler address that
    is malformed or where no scheduler answers within 5 seconds.

    Raises
    ------
    ReplicInputError
        ``--scheduler ADDR: expected a dask scheduler address tcp://HOST:PORT`` or
        ``--scheduler ADDR: cannot connect to a dask scheduler there``.
    """
    address = options.get("scheduler")
    if address is None:
        return
    _quiet_dask()
    if address == "local":
        return
    import re
    import socket

    m = re.fullmatch(r"(?:tcp|tls)://(\[[0-9A-Fa-f:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})", address)
    if m is None or not 0 < int(m[2]) < 65536:
        raise ReplicInputError(f"--scheduler {address!r}: expected a dask scheduler address "
                               "tcp://HOST:PORT (or tls://HOST:PORT)")
    try:
        socket.create_connection((m[1].strip("[]"), int(m[2])), timeout=5).close()
    except OSError as exc:
        raise ReplicInputError(f"--scheduler {address}: cannot connect to a dask scheduler "
                               f"there ({exc.strerror or exc})") from None


def _quiet_dask() -> None:
    """dask's own log lines stay off stderr: replic prints one line per error.  Set before
    dask starts, so LocalCluster workers inherit it."""
    import logging
    import os

    os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "error")
    logging.getLogger("distributed").setLevel(logging.ERROR)
