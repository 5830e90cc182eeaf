"""Tasks of a study: chunks of replicates of one design, and the pure computation of one chunk.

A study is split into :class:`Task` s, each a range ``start <= r < stop`` of one design's
replicates.  Everything the tasks share (the simulation-only part of the posterior, designs,
model frames, the prepared analysis, the original estimate) travels once, as one
:class:`Payload`, never inside every task (see :mod:`replic.runner.backends`).

The numbers of replicate ``r`` depend only on the root seed, the design and ``r``
(:mod:`replic.simulate`), so any partition into tasks gives bit-identical rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from replic.analyses import failed_columns
from replic.criteria import CRITERIA, Original, evaluate
from replic.design import Design
from replic.posterior import Posterior
from replic.simulate import BLOCK, ModelFrame, simulate
from replic.summarise import unconverged

__all__ = ["Payload", "Task", "analyse_chunk", "chunk_size", "plan_tasks", "slim_posterior"]

#: Default replicates per task by representation (multiples of ``BLOCK``): large enough that
#: scheduling overhead (~1 ms per task) stays negligible, small enough to checkpoint often.
DEFAULT_CHUNK = {"moments": 64 * BLOCK, "full": BLOCK}


@dataclass(frozen=True)
class Task:
    """Replicates ``start <= r < stop`` of design number ``design`` (its position in the study).

    Attributes
    ----------
    design : int
        Index of the design in :attr:`Payload.designs`.
    key : int
        The design's :attr:`~replic.design.Design.key` (names the chunk on disk).
    start, stop : int
        Replicate index range.
    """

    design: int
    key: int
    start: int
    stop: int

    @property
    def n(self) -> int:
        """Number of replicates in the task."""
        return self.stop - self.start

    @property
    def name(self) -> str:
        """A file-name-safe identifier, unique within a study and sortable in study order."""
        return f"{self.design:04d}-{self.key:08x}-{self.start:010d}-{self.stop:010d}"


@dataclass(frozen=True, eq=False)
class Payload:
    """What every task of a study needs, shipped once per worker.

    Attributes
    ----------
    posterior : Posterior
        The simulation-only part of the posterior (:func:`slim_posterior`).
    designs : tuple of Design
    frames : tuple of ModelFrame
        One per design.
    seed : int
        Root seed.
    analysis_name : str
    analysis : object
        The analysis object (``replic.analyses`` protocol), resolved in the parent.
    context : object
        The analysis's prepared context.
    original : Original
    exclude_unconverged : bool
        Judge no criterion (NaN) for replicates whose fit did not converge or was flagged
        (:func:`replic.summarise.unconverged`): they leave the denominators but are counted.
    """

    posterior: Posterior
    designs: tuple[Design, ...]
    frames: tuple[ModelFrame, ...]
    seed: int
    analysis_name: str
    analysis: Any
    context: Any
    original: Original
    exclude_unconverged: bool = False


def slim_posterior(posterior: Posterior) -> Posterior:
    """The posterior without what simulation never reads (fitted deviations ``r``, data).

    Simulation reads ``b``, ``sd``, ``cor``, ``sigma`` and the term names only.
    """
    return dataclasses.replace(posterior, r=None, levels=(), data=None, diagnostics={})


def chunk_size(analysis: Any, *, reps: int) -> int:
    """Replicates per task for ``analysis`` (never depends on the machine or the backend).

    The analysis's own ``chunk`` attribute wins (e.g. 1 for Stan refits); otherwise the
    representation's default, reduced to a multiple of ``BLOCK`` so that a design has about
    eight tasks when it is small enough to need it.
    """
    own = getattr(analysis, "chunk", None)
    if own:
        return int(own)
    size = DEFAULT_CHUNK[analysis.representation]
    want = -(-reps // 8)
    return int(max(BLOCK, min(size, -(-want // BLOCK) * BLOCK)))


def plan_tasks(designs: tuple[Design, ...], *, reps: int, size: int) -> list[Task]:
    """All tasks of a study, in study order (design, then replicate)."""
    return [Task(i, d.key, lo, min(lo + size, reps)) for i, d in enumerate(designs)
            for lo in range(0, reps, size)]


def analyse_chunk(payload: Payload, task: Task) -> pd.DataFrame:
    """Simulate, analyse and judge the replicates of ``task``: one row per replicate.

    A replicate whose analysis raises is re-run alone and recorded with its error text (and
    NaN estimates); the other replicates of the chunk are unaffected.  With
    ``payload.exclude_unconverged`` the criteria of unconverged or flagged fits are NaN.
    """
    design, frame = payload.designs[task.design], payload.frames[task.design]
    an, seed = payload.analysis, payload.seed
    reps = simulate(payload.posterior, design, frame, start=task.start, stop=task.stop,
                    seed=seed, representation=an.representation)
    try:
        res = an.run(reps, payload.context)
    except Exception:  # isolate the failing replicate(s) one by one
        res = _one_by_one(payload, task)
    crit = evaluate(payload.original, res["estimate"], res["se"], res["lower"], res["upper"],
                    res.get("df"))
    if payload.exclude_unconverged:
        drop = unconverged(res)
        crit |= {c: np.where(drop, np.nan, crit[c]) for c in CRITERIA}
    n = reps.n
    head = {
        "analysis": payload.analysis_name, "design": design.label, "family": design.family,
        "k": design.k,
        "missing": design.missing,
        "params": design.params if isinstance(design.params, str) else
        ",".join(f"{a}={b:g}" for a, b in design.params),
        "rep": reps.rep, "draw": reps.draw, "seed": np.full(n, seed),
        "design_key": np.full(n, design.key, dtype=np.int64),
        "true_effect": reps.true_effect, "realised_effect": reps.realised_effect,
    }
    return pd.DataFrame(head | res | crit)


def _one_by_one(payload: Payload, task: Task) -> dict[str, np.ndarray]:
    design, frame, an = payload.designs[task.design], payload.frames[task.design], payload.analysis
    parts = []
    for r in range(task.start, task.stop):
        one = simulate(payload.posterior, design, frame, start=r, stop=r + 1, seed=payload.seed,
                       representation=an.representation)
        try:
            parts.append(an.run(one, payload.context))
        except Exception as exc:  # recorded per replicate, never dropped
            parts.append(failed_columns(1, f"{type(exc).__name__}: {exc}"))
    keys = dict.fromkeys(k for p in parts for k in p)
    return {k: np.concatenate([np.asarray(p.get(k, np.full(1, np.nan)),
                                          dtype=object if k == "error" else None)
                               for p in parts])
            for k in keys}
