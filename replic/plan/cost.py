"""``cheapest_design``: the least costly replication reaching a target probability.

A replication with ``k`` subjects, each scheduled for the observations of one candidate
schedule (e.g. 4, 6 or 10 sessions), costs

    ``k * (cost_subject + cost_observation * E[observations per subject])``

where, with per-observation missingness ``m`` and per-session dropout ``d``, ``E[observations]
= (1 - m) * sum_{t < T} (1 - d)^t`` (a subject lost after a session is neither observed nor
paid for afterwards).  For each schedule :func:`~replic.plan.find_k` finds the smallest k
reaching the target; the cheapest of them wins.  The confidence is split over the schedules
(Bonferroni), so with probability at least ``confidence`` every schedule's k is right (to
within the tolerance) and so is the choice.  A schedule is searched only over the k that could
still beat the cheapest design found so far, which costs nothing in correctness and skips
schedules that cannot win.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from replic.design import Design
from replic.errors import ReplicInputError
from replic.plan.find_k import KSearch, find_k
from replic.plan.sampler import Sampler
from replic.read import read_draws

__all__ = ["CANDIDATE_COLUMNS", "CheapestDesign", "cheapest_design", "expected_observations"]

CANDIDATE_COLUMNS = ["schedule", "sessions", "x", "observations", "unit_cost", "k_max", "k",
                     "cost", "probability", "mcse", "reps_used", "status"]


def expected_observations(sessions: int, *, missing: float = 0.0, dropout: float = 0.0) -> float:
    """Expected observations of one subject scheduled for ``sessions`` sessions."""
    return float((1 - missing) * np.sum((1 - dropout) ** np.arange(sessions)))


@dataclass(frozen=True, eq=False)
class CheapestDesign:
    """The outcome of :func:`cheapest_design`.

    Attributes
    ----------
    schedule : object or None
        The winning schedule's name (None when no schedule reaches the target).
    k : int or None
        Its number of new subjects.
    x : tuple of float or None
        Its observation values (one subject's schedule).
    cost : float
        Its expected cost (NaN when none reaches the target).
    design : Design or None
        The winning design (k, x, dropout, params).
    table : DataFrame
        One row per schedule (:data:`CANDIDATE_COLUMNS`), ``status`` "cheapest", "reached",
        "not reached" (by ``k_max``), "costs more" (not reached by the largest k that would
        be cheaper than the best design found before it) or "cannot be cheaper" (not searched:
        even ``k_min`` subjects cost more).
    points : DataFrame
        Every (schedule, k) evaluated, with its probability, MCSE and cost.
    searches : dict
        Schedule name -> :class:`~replic.plan.find_k.KSearch`.
    statement : str
        The answer in a sentence.
    info : dict
    """

    schedule: Any
    k: int | None
    x: tuple[float, ...] | None
    cost: float
    design: Design | None
    table: pd.DataFrame
    points: pd.DataFrame
    searches: dict = field(default_factory=dict)
    statement: str = ""
    info: dict = field(default_factory=dict)

    @property
    def reps_used(self) -> int:
        """Replicates drawn over every schedule."""
        return int(sum(s.reps_used for s in self.searches.values()))


def _schedules(schedules, base: Design) -> list[tuple[Any, Design]]:
    if not isinstance(schedules, Mapping) or not schedules:
        raise ReplicInputError(f"schedules={schedules!r}; expected a mapping of names to one "
                               "subject's observation values, e.g. {4: [0, 1, 2, 3], "
                               "10: range(10)}")
    out = []
    for name, x in schedules.items():
        if isinstance(x, Design):
            out.append((name, replace(x, k=2)))
            continue
        if isinstance(x, str) or not isinstance(x, Sequence | range | np.ndarray):
            raise ReplicInputError(f"schedules[{name!r}] = {x!r}; expected a sequence of "
                                   "observation values")
        try:
            out.append((name, replace(base, x=tuple(float(v) for v in x))))
        except (TypeError, ValueError):
            raise ReplicInputError(f"schedules[{name!r}] = {x!r}; expected numbers") from None
        except ReplicInputError as exc:
            raise ReplicInputError(f"schedules[{name!r}]: {exc}") from None
    return out


def _rows(name, d: Design) -> int:
    """Rows (sessions) of one subject of schedule ``name``: its ``x`` or its template."""
    if d.x is not None:
        return len(d.x)
    within = getattr(d, "within", None)
    if isinstance(within, int):
        return within
    if isinstance(within, tuple) and within:
        return len(within[0][1])
    raise ReplicInputError(f"schedules[{name!r}]: a cost search needs each schedule's rows "
                           "(x or a within-subject template), not the original's patterns")


def _cost(value, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and value >= 0):
        raise ReplicInputError(f"{name}={value!r}; expected a non-negative number")
    return float(value)


def cheapest_design(posterior, schedules: Mapping[Any, Sequence[float] | Design], *, term: str,
                    target: float = 0.8, cost_subject: float, cost_observation: float,
                    criterion: str = "sig_same_direction", analysis: str = "summary",
                    params: str | Mapping[str, float] = "posterior", dropout: float = 0.0,
                    missing: float = 0.0, k_min: int = 2, k_max: int = 100,
                    confidence: float = 0.95, tolerance: float = 0.02, batch: int = 250,
                    seed: int, n_jobs: int | None = 1, scheduler: Any = None,
                    options: Mapping | None = None,
                    exclude_unconverged: bool = False) -> CheapestDesign:
    """The cheapest replication design whose probability of ``criterion`` reaches ``target``.

    Parameters
    ----------
    posterior : Posterior, path or DataFrame
    schedules : mapping
        Name -> one subject's observation values (``{4: [0, 1, 2, 3], 10: range(10)}``), or
        name -> a :class:`~replic.design.Design` (its k ignored).
    term : str
    target : float
    cost_subject, cost_observation : float
        Cost of recruiting one subject, and of one observation.
    criterion, analysis : str
    params : str or mapping
        The design's parameters ("posterior": assurance; "mean", "median" or a mapping:
        conditional power).
    dropout : float
        Probability that a subject is lost after each session (monotone, at random).
    missing : float
        Probability that each observation is missing (completely at random).
    k_min, k_max : int
        Range of k searched per schedule.
    confidence, tolerance, batch, seed, n_jobs, scheduler, options, exclude_unconverged
        As in :func:`~replic.plan.find_k`; the confidence covers all schedules together.

    Returns
    -------
    CheapestDesign
        ``.k``, ``.x``, ``.cost``, ``.table`` (one row per schedule) and ``.points``.
    """
    started = time.time()
    cs, co = _cost(cost_subject, "cost_subject"), _cost(cost_observation, "cost_observation")
    if cs + co <= 0:
        raise ReplicInputError("cost_subject and cost_observation are both 0; nothing to "
                               "minimise")
    post = read_draws(posterior)
    post.fixed_index(term)
    base = Design(2, params=params, dropout=dropout, missing=missing)
    cands = _schedules(schedules, base)
    sampler = Sampler(post, term=term, analysis=analysis, criterion=criterion, seed=seed,
                      n_jobs=n_jobs, scheduler=scheduler, options=options,
                      exclude_unconverged=exclude_unconverged)
    for name, d in cands:  # every schedule checked before anything is simulated
        try:
            sampler.frame(replace(d, k=max(int(k_min), 2)))
        except ReplicInputError as exc:
            raise ReplicInputError(f"schedules[{name!r}]: {exc}") from None
    each = 1 - (1 - confidence) / len(cands)
    best: tuple[float, Any] | None = None
    rows, points, searches = [], [], {}
    for name, d in cands:
        rows_n = _rows(name, d)
        obs = expected_observations(rows_n, missing=d.missing, dropout=d.dropout)
        unit = cs + co * obs
        top = k_max if best is None else min(k_max, math.ceil(best[0] / unit) - 1)
        row = dict(schedule=name, sessions=rows_n,
                   x=" ".join(f"{v:g}" for v in d.x) if d.x is not None else d.label,
                   observations=obs, unit_cost=unit, k_max=top, k=np.nan, cost=np.nan,
                   probability=np.nan, mcse=np.nan, reps_used=0)
        if top < k_min:
            rows.append(row | {"status": "cannot be cheaper"})
            continue
        s: KSearch = find_k(post, d, term=term, target=target, criterion=criterion,
                            k_min=k_min, k_max=top, confidence=each, tolerance=tolerance,
                            batch=batch, seed=seed, sampler=sampler)
        searches[name] = s
        t = s.table.assign(schedule=name, sessions=rows_n, cost=s.table["k"] * unit)
        points.append(t)
        row |= {"reps_used": s.reps_used,
                "status": "reached" if s.reached else (
                    "not reached" if top == k_max else f"costs more (not reached by k = {top})")}
        if s.reached:
            at = s.table.loc[s.table["k"] == s.k].iloc[-1]
            row |= {"k": s.k, "cost": s.k * unit, "probability": at["probability"],
                    "mcse": at["mcse"]}
            if best is None or s.k * unit < best[0]:
                best = (s.k * unit, name)
        rows.append(row)
    table = pd.DataFrame(rows, columns=CANDIDATE_COLUMNS)
    pts = pd.concat(points, ignore_index=True) if points else pd.DataFrame()
    info = {"term": term, "analysis": analysis, "criterion": criterion, "target": target,
            "confidence": confidence, "tolerance": tolerance, "cost_subject": cs,
            "cost_observation": co, "dropout": float(dropout), "missing": float(missing),
            "params": base.params if isinstance(base.params, str) else dict(base.params),
            "seed": int(seed), "seconds": time.time() - started}
    if best is None:
        return CheapestDesign(None, None, None, math.nan, None, table, pts, searches,
                              f"No schedule reaches {target:.0%} with k <= {k_max}.", info)
    name = best[1]
    table.loc[table["schedule"] == name, "status"] = "cheapest"
    win = dict(cands)[name]
    k = searches[name].k
    statement = (f"Cheapest design reaching {target:.0%}: schedule {name!r} "
                 f"({_rows(name, win)} sessions) with k = {k} subjects, expected cost {best[0]:g} "
                 f"(with {confidence:.0%} confidence over all {len(cands)} schedules, to within "
                 f"{tolerance:g} in probability).")
    return CheapestDesign(name, k, win.x, best[0], replace(win, k=k), table, pts, searches,
                          statement, info)
