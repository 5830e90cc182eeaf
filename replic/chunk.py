"""One chunk of a study: simulate, analyse and judge replicates ``start <= r < stop`` of one design.

This is the replication science of a chunk; the runner (:mod:`replic.runner`) only schedules
chunks, opaque to it, and stores their rows.  Everything the chunks of a study share (the
simulation-only part of the posterior, designs, model frames, the prepared analysis, the
original estimate) travels once, as one :class:`Payload`.

The numbers of replicate ``r`` depend only on the root seed, the design and ``r``
(:mod:`replic.simulate`), so any partition into chunks gives bit-identical rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd

from replic.criteria import CRITERIA, Original, evaluate
from replic.design import Design
from replic.posterior import Posterior
from replic.simulate import ModelFrame, simulate
from replic.summarise import unconverged

__all__ = ["Payload", "Span", "analyse_chunk", "failed_columns", "slim_posterior"]


class Span(Protocol):
    """Replicates ``start <= r < stop`` of design number ``design`` (e.g. a runner task)."""

    design: int
    start: int
    stop: int


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


def failed_columns(n: int, message: str) -> dict[str, np.ndarray]:
    """Result columns for ``n`` replicates whose analysis failed with ``message``."""
    nan = np.full(n, np.nan)
    return {"estimate": nan, "se": nan.copy(), "lower": nan.copy(), "upper": nan.copy(),
            "p": nan.copy(), "error": np.full(n, message, dtype=object)}


def analyse_chunk(payload: Payload, task: Span) -> pd.DataFrame:
    """Simulate, analyse and judge the replicates of ``task`` (any :class:`Span`): one row per
    replicate.

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


def _one_by_one(payload: Payload, task: Span) -> dict[str, np.ndarray]:
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
