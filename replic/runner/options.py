"""The command line's execution flags, checked and turned into :func:`run_study` options.

``replic run`` passes its parsed ``--jobs``, ``--scheduler``, ``--cluster``, ``--resume`` and
``--quiet`` and ``--keep-chunks`` to :func:`execution_options` and forwards the result::

    run_study(..., **execution_options(jobs=args.jobs, scheduler=args.scheduler,
                                       cluster=args.cluster, resume=args.resume,
                                       quiet=args.quiet, out=out,
                                       keep_chunks=args.keep_chunks))
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from replic.errors import ReplicInputError

__all__ = ["execution_options"]


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
