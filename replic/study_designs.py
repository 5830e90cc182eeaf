"""A study's designs: normalised, labelled, and checked against what this machine can compute.

:func:`resolve_designs` turns what the user gave (a :class:`~replic.design.Design`, an int k or
a sequence of either) into resolved designs with distinct labels; :func:`feasible_chunk` refuses
a study whose replicates would not fit in memory or would make too many tasks, and picks the
chunk size.  Both run before anything is simulated or written.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable
from typing import Any

import numpy as np

from replic.design import Design
from replic.errors import ReplicInputError
from replic.newsubjects import x_variable
from replic.observations import default_observations
from replic.posterior import Posterior
from replic.runner.tasks import chunk_size as default_chunk_size
from replic.terms import variable_kinds

__all__ = ["MAX_K", "MAX_TASKS", "TASK_BYTES", "feasible_chunk", "resolve_designs"]

#: Memory one task may use for its simulated data (bytes); larger tasks are split.
TASK_BYTES = 1 << 30
#: Most new subjects one design may have.
MAX_K = 1_000_000
#: Most tasks one study may plan.
MAX_TASKS = 2_000_000


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


def feasible_chunk(an: Any, designs: list[Design], frames: list, *, reps: int,
                   chunk_size: int | None) -> int:
    """The chunk size (replicates per task) analysis ``an`` runs with, after refusing what
    cannot be computed.

    Whole data sets (the ``full`` representation) take about 16 arrays of k x T numbers per
    replicate while simulated and refitted: a replicate larger than half this machine's memory
    is refused; the default chunk is cut so that one task stays under :data:`TASK_BYTES`.

    Parameters
    ----------
    an : Analysis
        The analysis (its ``name`` and ``representation``).
    designs, frames : list
        The resolved designs and their new-subject frames (:func:`replic.newsubjects.design_frame`).
    reps : int
        Replicates per design.
    chunk_size : int or None
        The user's chunk size (kept as given), or None for the analysis's default.

    Returns
    -------
    int

    Raises
    ------
    ReplicInputError
        When one replicate needs more than half this machine's memory, or the study would
        make more than :data:`MAX_TASKS` tasks.
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
    return int(size)
