"""``run_study``: simulate and analyse replicates of a grid of designs with one analysis or
several, then summarise.

Everything is validated and prepared here, for every analysis and every design, before the
first analysis runs and before anything is written; execution is delegated to
:mod:`replic.runner` (joblib/loky or dask workers, results streamed to disk, resume, progress).
Tasks are (design, replicate range) chunks whose numbers depend only on the root seed, the
design and the replicate indices (see :mod:`replic.simulate`), so results are bit-identical for
any ``n_jobs`` and any backend, and every analysis of a study sees the same replicates.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from replic.analyses import ANALYSES, check_family, get_analysis
from replic.chunk import Payload, slim_posterior
from replic.combine import combine_results
from replic.criteria import CRITERIA, Original
from replic.custom_criteria import apply_criteria, check_criteria, summary_from_file
from replic.design import Design
from replic.diagnosands import diagnosands, diagnosands_from_file
from replic.errors import ReplicInputError
from replic.flagged import warn_flagged
from replic.newsubjects import design_frame
from replic.outdir import check_out_dir, locked_out_dir
from replic.posterior import Posterior
from replic.read import read_draws
from replic.runner.backends import Backend, resolve_backend
from replic.runner.engine import execute
from replic.runner.manifest import fingerprint
from replic.runner.resume import hand_over
from replic.simulate import replicate_params
from replic.study_designs import feasible_chunk, resolve_designs
from replic.study_result import StudyResult
from replic.summarise import criteria_summary, k_needed, type_s_bound, type_sm

__all__ = ["StudyResult", "resolve_designs", "run_study"]


@dataclass(frozen=True, eq=False)
class _Study:
    """What every analysis of one study shares (validated)."""

    post: Posterior
    designs: tuple[Design, ...]
    frames: tuple
    term: str
    reps: int
    seed: int
    target: float
    exclude: bool
    custom: dict
    original: Original
    n_jobs: int | None


@dataclass(frozen=True, eq=False)
class _Prepared:
    """One analysis of the study, checked against every design and prepared."""

    name: str
    options: dict
    analysis: Any
    context: Any
    chunk_size: int


def run_study(posterior: Posterior | str | Path | pd.DataFrame, designs: Design | int | Sequence,
              *, term: str, analysis: str | Sequence[str] | Mapping[str, Mapping | None] =
              "summary", reps: int, seed: int, n_jobs: int | None = None,
              options: Mapping | None = None, target: float = 0.8,
              chunk_size: int | None = None, scheduler: Any = None,
              out: str | Path | None = None, resume: bool = False,
              exclude_unconverged: bool = False, quiet: bool = False,
              keep_chunks: bool = False,
              criteria: Mapping[str, Callable] | None = None) -> StudyResult:
    """Simulate ``reps`` replication experiments per design and summarise how often they match.

    Parameters
    ----------
    posterior : Posterior, path or DataFrame
        The original fit's posterior draws.
    designs : Design, int or sequence
        The replication designs (an int k means ``Design(k)``).
    term : str
        The term whose effect is compared (``"Days"``).
    analysis : str, sequence of str, or mapping of str to mapping
        How each replicate is analysed: ``"summary"``, ``"reml"``, ``"stan"``,
        ``"bayes-fast"`` or ``"glmm"``; several (``["summary", "reml"]``) to compare them
        on the same replicates (same designs, seeds and draws: only the analysis differs),
        or a mapping ``{name: options}`` giving each its options.  Everything (every
        analysis's options, and every design for every analysis) is checked before the first
        analysis runs and before anything is written.
    reps : int
        Replicates per design.
    seed : int
        Root seed; results depend only on it, the designs and the replicate indices.
    n_jobs : int or None
        Workers: 1 runs in this process; None or -1 uses all cores (joblib's loky processes,
        or the workers of a LocalCluster with ``scheduler="local"``).
    options : mapping, optional
        Options for the analysis (e.g. Stan's ``chains``: ``{"chains": 2}``).  With a list of
        analyses, a mapping keyed by analysis names (``{"stan": {"chains": 2}}``; analyses
        not named get their defaults).
    target : float
        Probability for :attr:`StudyResult.k_needed`.
    chunk_size : int, optional
        Replicates per task (default depends on the analysis; never changes the numbers).  A
        resumed study keeps the chunk size it was started with.
    scheduler : dask.distributed.Client, str, optional
        Run on dask: a ``Client``, a scheduler address (``"tcp://host:8786"``) or ``"local"``
        to start a LocalCluster of ``n_jobs`` single-threaded worker processes.
    out : path, optional
        Stream each finished chunk to ``out/chunks/`` with a run manifest (which records each
        chunk's SHA-256), and keep the replicate table on disk (``out/replicates.parquet``,
        merged from the chunks, which are then removed); summaries are computed from
        per-chunk counts, so memory stays bounded however many replicates.  With several
        analyses each streams to its own ``out/runs/<analysis>/`` and their replicates are
        combined into ``out/replicates.parquet`` (the runs' own files are then removed,
        unless ``keep_chunks``: their manifests record where their rows are, so ``resume``
        restores them from the combined file instead of recomputing).
    resume : bool
        Continue the interrupted study in ``out``, skipping finished chunks; refused with a
        :class:`~replic.errors.ReplicInputError` when the study or its data changed.
    exclude_unconverged : bool
        Leave replicates whose fit succeeded but did not converge (``converged`` False) or was
        flagged (``flagged`` True, e.g. bayes-fast's Pareto k > 0.7) out of every criterion
        (NaN, so out of ``n``).  Either way they are counted in the summary's
        ``n_unconverged``.  Part of the study's fingerprint: a resumed study keeps it.
    quiet : bool
        No progress bar.  Otherwise one is drawn on stderr when that is a terminal, and as
        tqdm's notebook widget in Jupyter; it is labelled with the analysis.
    keep_chunks : bool
        With ``out``: keep ``out/chunks/`` beside the merged ``out/replicates.parquet``
        (the replicates are then on disk twice).
    criteria : mapping of str to callable, optional
        Custom criteria (:mod:`replic.custom_criteria`): ``{name: f}`` with ``f(table)``
        returning one boolean (or NaN) per row of the replicate table, vectorised.  They are
        summarised beside the built-in criteria (probability, MCSE, interval, k needed) and,
        for studies kept in memory, added as columns of :attr:`StudyResult.replicates`.

    Returns
    -------
    StudyResult
        With several analyses, their tables stacked (:func:`replic.combine.combine_results`;
        the ``analysis`` column tells them apart, ``info["analyses"]`` keeps each run's info).

    Warns
    -----
    FlaggedReplicatesWarning
        When any replicate fit was flagged (bayes-fast: Pareto k-hat > 0.7) or did not converge,
        with the counts per analysis and design (also in the summary's ``n_unconverged``);
        once per call, for every analysis.
    """
    started = time.time()
    _check_settings(reps=reps, seed=seed, target=target, chunk_size=chunk_size,
                    exclude_unconverged=exclude_unconverged)
    custom = check_criteria(criteria)
    routed = _route(analysis, options)
    if out is not None:
        check_out_dir(out, where="out")
        for name in routed if len(routed) > 1 else ():
            check_out_dir(Path(out) / "runs" / name, where="out")
    backend = resolve_backend(n_jobs=n_jobs, scheduler=scheduler)
    post = read_draws(posterior)
    post.fixed_index(term)
    for name in routed:
        get_analysis(name)
        check_family(name, post.family)
    ds = resolve_designs(post, designs, term)
    frames = [design_frame(post, d, term) for d in ds]  # built once, for every analysis
    for d in ds:
        if d.params != "posterior":  # a parameter table naming unknown terms is refused now
            replicate_params(post, d, np.full(1, -1))
    prepared = [_prepare(name, opts, post, ds, frames, reps=int(reps), chunk_size=chunk_size)
                for name, opts in routed.items()]
    original = Original(**{("se" if k == "sd" else k): v
                           for k, v in post.term_summary(term).items()})
    study = _Study(post=post, designs=tuple(ds), frames=tuple(frames), term=term,
                   reps=int(reps), seed=int(seed), target=target,
                   exclude=bool(exclude_unconverged), custom=custom, original=original,
                   n_jobs=n_jobs)
    run = dict(backend=backend, quiet=quiet, resume=resume, keep_chunks=bool(keep_chunks))
    if out is None:
        results = [_run_one(p, study, out=None, started=started if i == 0 else time.time(),
                            **run) for i, p in enumerate(prepared)]
        result = results[0] if len(results) == 1 else combine_results(results)
    else:
        out = Path(out)
        with locked_out_dir(out, where="out"):  # one run at a time writes into out/
            if len(prepared) == 1:
                result = _run_one(prepared[0], study, out=out, started=started, **run)
            else:
                results = [_run_one(p, study, out=out / "runs" / p.name, started=started
                                    if i == 0 else time.time(), **run)
                           for i, p in enumerate(prepared)]
                result = combine_results(results, into=out / "replicates.parquet")
                if not keep_chunks:  # the replicates on disk once: the runs' manifests say
                    hand_over([r.replicates_file for r in results],  # where their rows are
                              out / "replicates.parquet")
    warn_flagged(result.summary, reps=int(reps), stacklevel=2)
    return result


def _check_settings(*, reps: Any, seed: Any, target: Any, chunk_size: Any,
                    exclude_unconverged: Any) -> None:
    """Refuse (:class:`ReplicInputError`) settings of the wrong type or out of range."""
    if not isinstance(reps, int | np.integer) or isinstance(reps, bool) or reps < 1:
        raise ReplicInputError(f"reps={reps!r}; expected a positive integer")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or not \
            0 <= seed < 2**63:
        raise ReplicInputError(f"seed={seed!r}; expected an integer from 0 to 2^63 - 1")
    if isinstance(target, bool) or not isinstance(target, int | float | np.floating) or \
            not 0 < target < 1:
        raise ReplicInputError(f"target={target!r}; expected a probability in (0, 1)")
    if chunk_size is not None and (isinstance(chunk_size, bool) or
                                   not isinstance(chunk_size, int | np.integer) or chunk_size < 1):
        raise ReplicInputError(f"chunk_size={chunk_size!r}; expected a positive integer")
    if not isinstance(exclude_unconverged, bool | np.bool_):
        raise ReplicInputError(f"exclude_unconverged={exclude_unconverged!r}; expected True or "
                               "False")


def _route(analysis: Any, options: Any) -> dict[str, dict]:
    """``{analysis name: its options}``, in the given order, from ``run_study``'s ``analysis``
    (a name, a sequence of names, or a mapping of names to options) and ``options`` (the one
    analysis's options, or a mapping keyed by the analyses' names)."""
    if isinstance(analysis, str):
        if not isinstance(options, Mapping | None):
            raise ReplicInputError(f"options={options!r}; expected a mapping of option names "
                                   "to values")
        return {analysis: dict(options or {})}
    if isinstance(analysis, Mapping):
        if options is not None:
            raise ReplicInputError("options: with analysis={name: options} the options are "
                                   "given there; expected options=None")
        names, given, where = list(analysis), dict(analysis), "analysis"
    elif isinstance(analysis, Sequence):
        if not isinstance(options, Mapping | None):
            raise ReplicInputError(f"options={options!r}; expected a mapping keyed by analysis "
                                   "names")
        names, given, where = list(analysis), dict(options or {}), "options"
    else:
        raise ReplicInputError(f"analysis={analysis!r}; expected an analysis name, a list of "
                               "names or a mapping {name: options}")
    if not names or not all(isinstance(n, str) for n in names):
        raise ReplicInputError(f"analysis={analysis!r}; expected one or more analysis names "
                               f"from {', '.join(ANALYSES)}")
    if len(set(names)) < len(names):
        raise ReplicInputError(f"analysis={names!r}: each analysis at most once")
    unknown = [k for k in given if k not in names]
    if unknown and not any(k in ANALYSES for k in given):  # one analysis's flat options
        key = names[-1] if len(names) > 1 else names[0]
        raise ReplicInputError(f"options={given!r} with analysis={names!r}: expected a mapping "
                               f"keyed by analysis names, e.g. options={{{key!r}: {given!r}}}")
    if unknown:
        raise ReplicInputError(f"options: {unknown[0]!r} is not one of the analyses run "
                               f"({', '.join(names)}); expected options keyed by those names")
    for k, v in given.items():
        if not isinstance(v, Mapping | None):
            raise ReplicInputError(f"{where}[{k!r}]={v!r}; expected a mapping of option names "
                                   "to values")
    return {n: dict(given.get(n) or {}) for n in names}


def _prepare(name: str, options: dict, post: Posterior, designs: list[Design], frames: list, *,
             reps: int, chunk_size: int | None) -> _Prepared:
    """Check analysis ``name`` against every design (and its options), and prepare it."""
    an = get_analysis(name)
    check = getattr(an, "check", None)
    for d, f in zip(designs, frames, strict=True):
        if check is not None:
            check(f, d)
    size = feasible_chunk(an, designs, frames, reps=reps, chunk_size=chunk_size)
    return _Prepared(name=name, options=options, analysis=an,
                     context=an.prepare(post, frames[0], dict(options)), chunk_size=size)


def _run_one(p: _Prepared, s: _Study, *, out: str | Path | None, backend: Backend, quiet: bool,
             resume: bool, keep_chunks: bool, started: float) -> StudyResult:
    """Run the prepared analysis ``p`` of study ``s`` and summarise it (no warning)."""
    payload = Payload(posterior=slim_posterior(s.post), designs=s.designs, frames=s.frames,
                      seed=s.seed, analysis_name=p.name, analysis=p.analysis,
                      context=p.context, original=s.original, exclude_unconverged=s.exclude)
    run = execute(payload, reps=s.reps, chunk_size=p.chunk_size, backend=backend, quiet=quiet,
                  out=out, resume=resume, keep_chunks=keep_chunks,
                  fingerprint=fingerprint(s.post, s.designs, term=s.term, analysis=p.name,
                                          options=p.options, reps=s.reps, seed=s.seed,
                                          exclude_unconverged=s.exclude))
    if run.replicates is not None:
        table = apply_criteria(run.replicates, s.custom, exclude_unconverged=s.exclude)
        summary, tsm = criteria_summary(table, [*CRITERIA, *s.custom]), type_sm(table)
        diag = diagnosands(table, exclude_unconverged=s.exclude)
    else:
        table, summary, tsm = run.replicates_file, run.summary, run.type_sm
        if s.custom:
            summary = _in_design_order(pd.concat([summary, summary_from_file(
                table, s.custom, exclude_unconverged=s.exclude)], ignore_index=True))
        diag = diagnosands_from_file(table, exclude_unconverged=s.exclude)
    d0, f0 = s.designs[0], s.frames[0]
    info = {"term": s.term, "analysis": p.name, "reps": s.reps, "seed": s.seed,
            "n_jobs": s.n_jobs, "target": s.target, "options": dict(p.options),
            "exclude_unconverged": s.exclude, "criteria": list(s.custom),
            "designs": [d.label for d in s.designs],
            "x": list(d0.x) if d0.x is not None else sorted(set(f0.x.tolist())),
            "x_name": d0.x_name if d0.x is not None and d0.x_name != "x" else s.term,
            "source": s.post.source, "formula": s.post.formula, "started": started,
            **run.info, "seconds": time.time() - started}
    return StudyResult(replicates=table, summary=summary,
                       k_needed=k_needed(summary, target=s.target), type_sm=type_s_bound(tsm),
                       original=s.original, info=info, posterior=s.post, diagnosands=diag)


def _in_design_order(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by design (in order of first appearance), criteria in their given order."""
    rank = {d: i for i, d in enumerate(dict.fromkeys(summary["design"]))}
    return (summary.assign(_d=summary["design"].map(rank)).sort_values("_d", kind="stable")
            .drop(columns="_d").reset_index(drop=True))
