"""``run_study``: simulate and analyse replicates of a grid of designs, then summarise.

Validation and preparation happen here; execution is delegated to :mod:`replic.runner`
(joblib/loky or dask workers, results streamed to disk, resume, progress).  Tasks are
(design, replicate range) chunks whose numbers depend only on the root seed, the design and the
replicate indices (see :mod:`replic.simulate`), so results are bit-identical for any ``n_jobs``
and any backend.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from replic.analyses import check_family, get_analysis
from replic.chunk import Payload, slim_posterior
from replic.criteria import CRITERIA, Original
from replic.custom_criteria import apply_criteria, check_criteria, summary_from_file
from replic.design import Design
from replic.diagnosands import diagnosands, diagnosands_from_file
from replic.errors import ReplicInputError
from replic.flagged import warn_flagged
from replic.newsubjects import design_frame, x_variable
from replic.observations import default_observations
from replic.outdir import check_out_dir
from replic.posterior import Posterior
from replic.read import read_draws
from replic.runner.backends import resolve_backend
from replic.runner.engine import execute
from replic.runner.manifest import fingerprint
from replic.runner.tasks import chunk_size as default_chunk_size
from replic.summarise import criteria_summary, k_needed, type_s_bound, type_sm
from replic.terms import variable_kinds

__all__ = ["StudyResult", "resolve_designs", "run_study"]

#: Memory one task may use for its simulated data (bytes); larger tasks are split.
TASK_BYTES = 1 << 30
#: Most new subjects one design may have.
MAX_K = 1_000_000
#: Most tasks one study may plan.
MAX_TASKS = 2_000_000


class _Replicates:
    """The replicate table: a DataFrame held in memory, or a parquet file read on each access.

    A data descriptor used as the default of :attr:`StudyResult.replicates`, so that studies
    run with ``out=DIR`` never hold every row in memory unless asked to.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> pd.DataFrame:
        if obj is None:
            raise AttributeError("replicates")  # no class-level default: the field is required
        value = obj.__dict__[self.slot]
        return pd.read_parquet(value) if isinstance(value, Path) else value

    def __set__(self, obj: Any, value: pd.DataFrame | Path) -> None:
        if not isinstance(value, pd.DataFrame | Path):
            raise TypeError(f"replicates: expected a DataFrame or a parquet Path, got "
                            f"{type(value).__name__}")
        obj.__dict__[self.slot] = value


@dataclass(frozen=True, eq=False)
class StudyResult:
    """The outcome of :func:`run_study`.

    Attributes
    ----------
    replicates : DataFrame
        One row per (design, replicate): draw, seed, true and realised effect, the analysis's
        estimate, se, df, interval, p and diagnostics, ``error`` ("" when the fit succeeded),
        and each criterion (1.0 / 0.0, NaN for failed fits).  Constructed from a DataFrame or
        from the Path of a parquet file; in the latter case (studies run with ``out=DIR``)
        every access reads the file, so keep the frame if you need it repeatedly, or read
        only the columns you need from :attr:`replicates_file`.
    summary : DataFrame
        Per (design, criterion): ``probability``, ``mcse``, 95% ``lower``/``upper``, counts.
    k_needed : DataFrame
        Smallest k reaching the target probability per criterion.
    type_sm : DataFrame
        Type S and Type M rates among significant replicates per design, with
        ``type_s_upper``, the one-sided 95% Clopper-Pearson bound of Type S.
    original : Original
        The original's estimate of the term (posterior mean, sd, 95% interval).
    info : dict
        Study settings, provenance and timing.
    posterior : Posterior or None
        The original's posterior.
    diagnosands : DataFrame or None
        Per (design, target) the analysis's bias, RMSE, 95% interval coverage and mean
        interval width against each replicate's truth, each with its MCSE
        (:func:`replic.diagnosands.diagnosands`); targets ``"beta"`` (the drawn population
        effect) and ``"replication_mean"`` (beta + the mean of the k new subjects' deviations).
    """

    replicates: pd.DataFrame = _Replicates()  # type: ignore[assignment]
    summary: pd.DataFrame
    k_needed: pd.DataFrame
    type_sm: pd.DataFrame
    original: Original
    info: dict = field(default_factory=dict)
    posterior: Posterior | None = None
    diagnosands: pd.DataFrame | None = None

    @property
    def replicates_file(self) -> Path | None:
        """The parquet file holding :attr:`replicates`, or None when they are in memory."""
        value = self.__dict__["_replicates"]
        return value if isinstance(value, Path) else None

    def __repr__(self) -> str:
        from replic.display import study_text

        return study_text(self)

    def _repr_html_(self) -> str:
        from replic.display import study_html

        return study_html(self)

    def plot(self, *, criterion: str = "sig_same_direction", ax=None):
        """The curve over k of ``criterion`` (default: significant in the original's
        direction) per design family, with 95% Monte Carlo bands and the target.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from replic.display import plot_study

        return plot_study(self, criterion=criterion, ax=ax)

    def write(self, directory: str | Path, *, report: bool = True) -> Path:
        """Write tables (and the HTML report) to ``directory``; see :mod:`replic.results_io`."""
        from replic.report import render_report
        from replic.results_io import write_results

        return write_results(self, directory, render=render_report if report else None)


def resolve_designs(posterior: Posterior, designs, term: str) -> list[Design]:
    """Normalise ``designs`` (a Design, an int k, or a sequence of either) and fill in how
    subjects are observed.

    A design that says neither ``x`` nor ``within`` gets the original subjects' observation
    patterns (every row, repeats included) when the posterior carries its data: the one pattern
    all original subjects share, or ``within="original"`` (whole subjects resampled) when they
    differ.  Labels are made distinct: designs that would share a label get their key appended.
    """
    if isinstance(designs, Design | int | np.integer):
        designs = [designs]
    if isinstance(designs, str) or not isinstance(designs, Iterable):
        raise ReplicInputError(f"designs={designs!r}; expected Design objects or integers k")
    out = []
    for d in designs:
        d = d if isinstance(d, Design) else Design(d)
        if d.k > MAX_K:  # new subjects' matrices are built k rows at a time
            raise ReplicInputError(f"Design(k={d.k}): expected at most {MAX_K} new subjects")
        if not d.resolved:
            d = default_observations(posterior, d, term)
        _check_memory(d, posterior)
        if d.x is not None:
            _, factors = variable_kinds(posterior.data, levels={
                v: [lv for lv, _ in levels] for v, levels in d.between})
            given = {v for v, _ in d.between} | {v for v, _ in d.covariates}
            d = d.with_x_name(x_variable(posterior, term, factors=factors, exclude=given)
                              or "rows")
        out.append(d)
    if not out:
        raise ReplicInputError("designs: expected at least one design")
    if len({d.key for d in out}) < len(out):
        raise ReplicInputError("designs: the same design is listed twice")
    families = {}
    for d in out:
        families.setdefault(d.family, set()).add(dataclasses.replace(d, k=2).key)
    out = [d.tagged(f"{dataclasses.replace(d, k=2).key:08x}") if len(families[d.family]) > 1
           else d for d in out]
    labels = [d.label for d in out]
    if len(set(labels)) < len(labels):
        raise ReplicInputError(f"designs: two designs are labelled alike ({labels}); give them "
                               "distinct names")
    return out


def _memory() -> int:
    """This machine's physical memory in bytes (16 GiB where it cannot be read)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 16 << 30


def _check_memory(d: Design, posterior: Posterior) -> None:
    """Refuse a design whose new subjects' matrices alone would not fit in memory (about 16
    arrays of k x rows x coefficients numbers), before they are built."""
    w = d.within
    rows = len(d.x) if d.x is not None else (w if isinstance(w, int) else len(w[0][1])
                                             if isinstance(w, tuple) and w else 1)
    need = 16 * 8 * d.k * rows * max(1, len(posterior.fixed))
    if need > _memory() // 2:
        raise ReplicInputError(f"Design(k={d.k}): {d.k} subjects x {rows} rows need about "
                               f"{need / 2**30:.1f} GiB of memory; this machine has "
                               f"{_memory() / 2**30:.1f} GiB; expected fewer subjects or rows")


def _feasible_chunk(an: Any, designs: list[Design], frames: list, *, reps: int,
                    chunk_size: int | None) -> int | None:
    """The chunk size to use, after refusing what cannot be computed.

    Whole data sets (the ``full`` representation) take about 16 arrays of k x T numbers per
    replicate while simulated and refitted: a replicate larger than half this machine's memory
    is refused; the default chunk is cut so that one task stays under :data:`TASK_BYTES`.
    """
    full = an.representation == "full" or any(not d.balanced for d in designs)
    per_rep = max(16 * 8 * d.k * f.x.size * max(1, f.X.shape[1]) for d, f in zip(
        designs, frames, strict=True)) if full else 1024
    memory = _memory()
    if per_rep > memory // 2:
        worst = max(designs, key=lambda d: d.k)
        raise ReplicInputError(f"Design(k={worst.k}): one replicate of the '{an.name}' analysis "
                               f"needs about {per_rep / 2**30:.1f} GiB of memory; this machine "
                               f"has {memory / 2**30:.1f} GiB; expected a smaller k")
    size = chunk_size or default_chunk_size(an, reps=reps)
    if chunk_size is None and full and size * per_rep > TASK_BYTES:
        size = max(1, TASK_BYTES // per_rep)
    tasks = len(designs) * -(-reps // size)
    if tasks > MAX_TASKS:
        raise ReplicInputError(f"reps={reps} x {len(designs)} designs in chunks of {size} is "
                               f"{tasks} tasks; expected at most {MAX_TASKS} (fewer replicates "
                               "or designs)")
    return size if chunk_size is None and size != default_chunk_size(an, reps=reps) else \
        chunk_size


def run_study(posterior: Posterior | str | Path | pd.DataFrame, designs: Design | int | Sequence,
              *, term: str, analysis: str = "summary", reps: int, seed: int,
              n_jobs: int | None = None, options: Mapping | None = None, target: float = 0.8,
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
    analysis : {"summary", "reml", "stan", "bayes-fast", "glmm"}
        How each replicate is analysed.
    reps : int
        Replicates per design.
    seed : int
        Root seed; results depend only on it, the designs and the replicate indices.
    n_jobs : int or None
        Workers: 1 runs in this process; None or -1 uses all cores (joblib's loky processes,
        or the workers of a LocalCluster with ``scheduler="local"``).
    options : mapping, optional
        Options for the analysis (e.g. Stan's ``chains``).
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
        per-chunk counts, so memory stays bounded however many replicates.
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

    Warns
    -----
    FlaggedReplicatesWarning
        When any replicate fit was flagged (bayes-fast: Pareto k-hat > 0.7) or did not converge,
        with the counts per analysis and design (also in the summary's ``n_unconverged``).
    """
    started = time.time()
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
    custom = check_criteria(criteria)
    if out is not None:
        check_out_dir(out, where="out")
    backend = resolve_backend(n_jobs=n_jobs, scheduler=scheduler)
    post = read_draws(posterior)
    post.fixed_index(term)
    get_analysis(analysis)
    check_family(analysis, post.family)
    ds = resolve_designs(post, designs, term)
    frames = [design_frame(post, d, term) for d in ds]
    an = get_analysis(analysis)
    check = getattr(an, "check", None)
    for d, f in zip(ds, frames, strict=True):
        if check is not None:
            check(f, d)
    if not isinstance(options, Mapping | None):
        raise ReplicInputError(f"options={options!r}; expected a mapping of option names to "
                               "values")
    chunk_size = _feasible_chunk(an, ds, frames, reps=int(reps), chunk_size=chunk_size)
    context = an.prepare(post, frames[0], dict(options or {}))
    original = Original(**{("se" if k == "sd" else k): v
                           for k, v in post.term_summary(term).items()})
    payload = Payload(posterior=slim_posterior(post), designs=tuple(ds), frames=tuple(frames),
                      seed=int(seed), analysis_name=analysis, analysis=an, context=context,
                      original=original, exclude_unconverged=bool(exclude_unconverged))
    run = execute(payload, reps=int(reps),
                  chunk_size=int(chunk_size or default_chunk_size(an, reps=int(reps))),
                  backend=backend, quiet=quiet, out=out, resume=resume,
                  keep_chunks=bool(keep_chunks),
                  fingerprint=fingerprint(post, ds, term=term, analysis=analysis,
                                          options=dict(options or {}), reps=int(reps),
                                          seed=int(seed),
                                          exclude_unconverged=bool(exclude_unconverged)))
    if run.replicates is not None:
        table = apply_criteria(run.replicates, custom,
                               exclude_unconverged=bool(exclude_unconverged))
        summary, tsm = criteria_summary(table, [*CRITERIA, *custom]), type_sm(table)
        diag = diagnosands(table, exclude_unconverged=bool(exclude_unconverged))
    else:
        table, summary, tsm = run.replicates_file, run.summary, run.type_sm
        if custom:
            summary = _in_design_order(pd.concat([summary, summary_from_file(
                table, custom, exclude_unconverged=bool(exclude_unconverged))],
                ignore_index=True))
        diag = diagnosands_from_file(table, exclude_unconverged=bool(exclude_unconverged))
    info = {"term": term, "analysis": analysis, "reps": int(reps), "seed": int(seed),
            "n_jobs": n_jobs, "target": target, "options": dict(options or {}),
            "exclude_unconverged": bool(exclude_unconverged), "criteria": list(custom),
            "designs": [d.label for d in ds],
            "x": list(ds[0].x) if ds[0].x is not None else sorted(set(frames[0].x.tolist())),
            "x_name": ds[0].x_name if ds[0].x is not None and ds[0].x_name != "x" else term,
            "source": post.source,
            "formula": post.formula, "started": started, **run.info,
            "seconds": time.time() - started}
    warn_flagged(summary, reps=int(reps), stacklevel=2)
    return StudyResult(replicates=table, summary=summary, k_needed=k_needed(summary, target=target),
                       type_sm=type_s_bound(tsm), original=original, info=info, posterior=post,
                       diagnosands=diag)


def _in_design_order(summary: pd.DataFrame) -> pd.DataFrame:
    """Rows grouped by design (in order of first appearance), criteria in their given order."""
    rank = {d: i for i, d in enumerate(dict.fromkeys(summary["design"]))}
    return (summary.assign(_d=summary["design"].map(rank)).sort_values("_d", kind="stable")
            .drop(columns="_d").reset_index(drop=True))

