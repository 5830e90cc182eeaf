"""Tasks of a study: chunks of replicates of one design, scheduled by the runner.

A study is split into :class:`Task` s, each a range ``start <= r < stop`` of one design's
replicates.  What a chunk computes (simulate, analyse, judge) is replication science
(:func:`replic.chunk.analyse_chunk`); to the runner a task is opaque.  Everything the tasks share
travels once, as one :class:`~replic.chunk.Payload`, never inside every task (see
:mod:`replic.runner.backends`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from replic.design import Design
from replic.simulate import BLOCK

__all__ = ["DEFAULT_CHUNK", "Task", "chunk_size", "plan_tasks"]

#: Default replicates per task by representation (multiples of ``BLOCK``): large enough that
#: scheduling overhead (~1 ms per task) stays negligible, small enough to checkpoint often.
DEFAULT_CHUNK = {"moments": 64 * BLOCK, "full": BLOCK}


@dataclass(frozen=True)
class Task:
    """Replicates ``start <= r < stop`` of design number ``design`` (its position in the study).

    Attributes
    ----------
    design : int
        Index of the design in :attr:`replic.chunk.Payload.designs`.
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
