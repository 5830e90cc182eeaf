"""Replicates drawn on demand, exactly as :func:`replic.run_study` draws them.

A search adds replicates to a design a batch at a time.  Replicate ``r`` of a design is the
same whether it is drawn by a search or by ``run_study`` with the same root seed (its numbers
depend only on the seed, the design and ``r``, see :mod:`replic.simulate`), so a search's
replicates are a prefix ``0 <= r < n`` of the study's, extended in place: nothing drawn is ever
thrown away or drawn twice, and the answer is the same for any ``n_jobs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from replic.analyses import get_analysis
from replic.chunk import Payload, slim_posterior
from replic.criteria import CRITERIA, Original
from replic.custom_criteria import apply_criteria
from replic.design import Design
from replic.errors import ReplicInputError
from replic.newsubjects import design_frame
from replic.posterior import Posterior
from replic.runner.backends import resolve_backend, run_tasks
from replic.runner.tasks import Task, chunk_size
from replic.simulate import ModelFrame

__all__ = ["Sampler"]


class Sampler:
    """Seeded replicates of any number of designs, drawn in growing prefixes and cached.

    Parameters
    ----------
    posterior : Posterior
    term : str
    analysis : str
        An analysis name (``replic.analyses``).
    criterion : str or (str, callable)
        A built-in criterion id, or a custom criterion ``(name, f)``
        (:mod:`replic.custom_criteria`).
    seed : int
        Root seed.
    n_jobs, scheduler
        As in :func:`replic.run_study`.
    options : mapping, optional
        Analysis options.
    exclude_unconverged : bool
        As in :func:`replic.run_study`.
    """

    def __init__(self, posterior: Posterior, *, term: str, analysis: str,
                 criterion: str | tuple[str, Callable], seed: int, n_jobs: int | None = 1,
                 scheduler: Any = None, options: Mapping | None = None,
                 exclude_unconverged: bool = False) -> None:
        self.posterior, self.term, self.seed = posterior, term, int(seed)
        self.analysis_name = analysis
        self.analysis = get_analysis(analysis)
        self.backend = resolve_backend(n_jobs=n_jobs, scheduler=scheduler)
        self.exclude_unconverged = bool(exclude_unconverged)
        if isinstance(criterion, str):
            if criterion not in CRITERIA:
                raise ReplicInputError(f"criterion={criterion!r}; expected one of "
                                       f"{', '.join(CRITERIA)} or a (name, function) pair")
            self.criterion, self.custom = criterion, {}
        else:
            self.criterion, self.custom = criterion[0], {criterion[0]: criterion[1]}
        self.original = Original(**{("se" if k == "sd" else k): v
                                    for k, v in posterior.term_summary(term).items()})
        self._slim = slim_posterior(posterior)
        self._frames: dict[Design, ModelFrame] = {}
        self._context: Any = None
        self._prepared = False
        self.options = dict(options or {})
        self._designs: list[Design] = []
        self._rows: dict[int, list[pd.DataFrame]] = {}

    def frame(self, design: Design) -> ModelFrame:
        """The new subjects' model matrices of ``design``, checked by the analysis (which
        refuses designs it cannot analyse, e.g. ``summary`` with a continuous covariate)."""
        if design not in self._frames:
            frame = design_frame(self.posterior, design, self.term)
            check = getattr(self.analysis, "check", None)
            if check is not None:
                check(frame, design)
            self._frames[design] = frame
        return self._frames[design]

    def _payload(self) -> Payload:
        if not self._prepared:
            self._context = self.analysis.prepare(self.posterior, self.frame(self._designs[0]),
                                                  self.options)
            self._prepared = True
        return Payload(posterior=self._slim, designs=tuple(self._designs),
                       frames=tuple(self.frame(d) for d in self._designs), seed=self.seed,
                       analysis_name=self.analysis_name, analysis=self.analysis,
                       context=self._context, original=self.original,
                       exclude_unconverged=self.exclude_unconverged)

    def index(self, design: Design) -> int:
        """The position of ``design`` (added on first use)."""
        for i, d in enumerate(self._designs):
            if d == design:
                return i
        self._designs.append(design)
        self._rows[len(self._designs) - 1] = []
        return len(self._designs) - 1

    def drawn(self, design: Design) -> int:
        """Replicates of ``design`` drawn so far."""
        return sum(len(r) for r in self._rows.get(self.index(design), []))

    def extend(self, designs: list[tuple[Design, int]]) -> None:
        """Draw replicates so that each ``(design, n)`` has at least ``n``, in one parallel
        batch of tasks (ranges of replicate indices, never depending on the workers)."""
        idx = [(self.index(d), n) for d, n in designs]
        tasks = []
        workers = max(1, self.backend.workers)
        for i, n in idx:
            have = self.drawn(self._designs[i])
            if n <= have:
                continue
            size = chunk_size(self.analysis, reps=n - have)
            size = max(1, min(size, -(-(n - have) // workers)))
            tasks += [Task(i, self._designs[i].key, lo, min(lo + size, n))
                      for lo in range(have, n, size)]
        if not tasks:
            return
        got: dict[tuple[int, int], pd.DataFrame] = {}
        for task, rows in run_tasks(self._payload(), tasks, self.backend):
            got[(task.design, task.start)] = rows
        for t in sorted(tasks, key=lambda t: (t.design, t.start)):
            rows = got[(t.design, t.start)]
            if self.custom:
                rows = apply_criteria(rows, self.custom,
                                      exclude_unconverged=self.exclude_unconverged)
            self._rows[t.design].append(rows)

    def rows(self, design: Design) -> pd.DataFrame:
        """Every replicate of ``design`` drawn so far, in replicate order."""
        parts = self._rows.get(self.index(design), [])
        return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()

    def verdicts(self, design: Design) -> np.ndarray:
        """The criterion's verdicts (1.0 / 0.0 / NaN) for the replicates drawn so far."""
        parts = self._rows.get(self.index(design), [])
        if not parts:
            return np.zeros(0)
        return np.concatenate([p[self.criterion].to_numpy(dtype=float) for p in parts])

    @property
    def reps_used(self) -> int:
        """Replicates drawn over every design."""
        return sum(len(r) for parts in self._rows.values() for r in parts)
