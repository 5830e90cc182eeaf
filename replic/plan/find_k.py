"""``find_k``: the smallest number of new subjects whose replication reaches a target
probability, found by sequential bisection with a stated confidence.

Method
------
The probability ``p(k)`` that a replication with ``k`` new subjects meets a criterion is
monotone in ``k`` for every criterion replic searches over (rising for significance, same sign,
the replicate inside the original's interval, small telescopes, the replication Bayes factor
and the sceptical p-value; falling for the original inside the replicate's interval).  The
answer is the root of ``p(k) - target`` on the integers ``k_min..k_max``, so:

1. **Bisection over k** (``ceil(log2(k_max - k_min + 2))`` steps at most): each step asks one
   question of one k, "is ``p(k)`` at or above the target?", and halves the candidates.
2. **A sequential test at each probed k.**  Replicates are added in doubling batches
   (``batch, 2 batch, 4 batch, ...``; those already drawn are kept) until the exact
   (Clopper-Pearson 1934) interval of ``p(k)`` decides: wholly at or above the target, wholly
   below it, or wholly inside the indifference zone ``target +/- tolerance`` (then the point
   estimate decides, and the answer is only claimed to within the tolerance).  The last
   batch is large enough for the interval to fit inside the zone at any ``p``.
3. **Confidence.**  The error budget ``1 - confidence`` is split evenly (Bonferroni) over
   every interval the search could compute (steps x batches).  By the union bound, with
   probability at least ``confidence`` every interval covers its ``p(k)``, and then every
   decision is right: the reported ``k`` has ``p(k) >= target`` and ``p(k - 1) < target``
   (or ``>= target - tolerance`` and ``< target + tolerance`` where a decision fell in the
   indifference zone).

Why not the alternatives: probabilistic bisection (Horstein 1963; Waeber, Frazier & Henderson
2013, "Bisection search with noisy responses", SIAM J. Control Optim. 51:2261) and
Robbins-Monro stochastic approximation (Robbins & Monro 1951; SimDesign's ``SimSolve`` uses
probabilistic bisection with interpolation, Chalmers 2024) converge to the root but need the
probability that each noisy answer is right (unknown here, and tiny near the root), and give no
finite-sample statement for an integer answer.  A sequential test per question gives one, costs
few replicates far from the root (a few hundred decide ``p = 0.3`` vs 0.8), spends them only
where the curve is near the target, and keeps each replicate identical to ``run_study``'s.
Its cost grows like ``1 / gap^2`` where ``gap = |p(k) - target|`` near the answer, capped by
the tolerance.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from replic.criteria import CRITERIA
from replic.design import Design
from replic.errors import ReplicInputError
from replic.plan.sampler import Sampler
from replic.posterior import Posterior
from replic.read import read_draws
from replic.study_designs import resolve_designs
from replic.summarise import wilson

__all__ = ["DIRECTIONS", "KSearch", "clopper_pearson", "find_k", "search_plan"]

#: How each built-in criterion's probability moves with k (``rep_in_pi`` is calibrated near
#: 95% at every k, so it has no direction to search along).
DIRECTIONS = {"sig_same_direction": "increasing", "same_sign": "increasing",
              "rep_in_orig_ci": "increasing", "small_telescopes": "increasing",
              "bf_rep": "increasing", "sceptical_p": "increasing",
              "orig_in_rep_ci": "decreasing"}
TABLE_COLUMNS = ["step", "k", "probability", "mcse", "lower", "upper", "successes", "n",
                 "replicates", "test_lower", "test_upper", "decision"]


def clopper_pearson(successes, n, alpha: float) -> tuple[np.ndarray, np.ndarray]:
    """Exact two-sided ``1 - alpha`` interval of a binomial proportion."""
    s, n = np.asarray(successes, float), np.asarray(n, float)
    with np.errstate(invalid="ignore"):
        lo = np.where(s > 0, stats.beta.ppf(alpha / 2, s, n - s + 1), 0.0)
        hi = np.where(s < n, stats.beta.ppf(1 - alpha / 2, s + 1, n - s), 1.0)
    return lo, hi


def search_plan(n_candidates: int, *, confidence: float, tolerance: float,
                batch: int) -> tuple[int, list[int], float]:
    """Steps, the cumulative batch sizes and the level of each interval of a search.

    The batches double from ``batch`` until the last one's Clopper-Pearson interval (at the
    Bonferroni level over steps x batches) fits inside ``target +/- tolerance`` at ``p = 1/2``.
    """
    steps = max(1, math.ceil(math.log2(n_candidates + 1)))
    looks = 1
    while True:
        alpha = (1 - confidence) / (steps * looks)
        n = batch * 2 ** (looks - 1)
        lo, hi = clopper_pearson(n // 2, n, alpha)
        if (hi - lo) / 2 <= tolerance * 0.98 or looks > 20:
            return steps, [batch * 2**j for j in range(looks)], alpha
        looks += 1


@dataclass(frozen=True, eq=False)
class KSearch:
    """The outcome of :func:`find_k`.

    Attributes
    ----------
    k : int or None
        Increasing criteria: the smallest k in ``k_min..k_max`` whose probability reaches the
        target; decreasing criteria: the largest k still reaching it.  None when no k does.
    target, confidence, tolerance : float
    criterion, direction : str
    k_min, k_max : int
    table : DataFrame
        Every k evaluated, in the order probed: ``probability`` (with ``mcse`` and 95% Wilson
        ``lower``/``upper``), ``successes``, ``n`` (judged replicates), ``replicates`` (drawn),
        the test interval at the search's level (``test_lower``, ``test_upper``) and
        ``decision`` ("above", "below", "above (within tolerance)", ...).
    reps_used : int
        Replicates drawn in all.
    exact : bool
        True when no decision fell in the indifference zone (the answer is then exact with
        the stated confidence, not only within the tolerance).
    statement : str
        The answer and its confidence in a sentence.
    info : dict
        Term, analysis, design, seed, steps, batches, per-test level, seconds.
    """

    k: int | None
    target: float
    confidence: float
    tolerance: float
    criterion: str
    direction: str
    k_min: int
    k_max: int
    table: pd.DataFrame
    reps_used: int
    exact: bool
    statement: str
    info: dict = field(default_factory=dict)

    @property
    def reached(self) -> bool:
        """Whether some k in the range reaches the target."""
        return self.k is not None


def _decide(s: int, n: int, *, target: float, tolerance: float, alpha: float,
            last: bool) -> tuple[str | None, float, float]:
    """Above or below the target, or None (draw more).

    Exact when the interval excludes the target.  Otherwise, once the interval excludes one
    side of the indifference zone (``lower >= target - tolerance``: not far below; ``upper <
    target + tolerance``: not far above), that side decides; when it excludes both, the point
    estimate does.
    """
    lo, hi = (float(v) for v in clopper_pearson(s, n, alpha)) if n else (0.0, 1.0)
    if n and lo >= target:
        return "above", lo, hi
    if n and hi < target:
        return "below", lo, hi
    near_above, near_below = n and lo >= target - tolerance, n and hi < target + tolerance
    if near_above or near_below:
        up = s / n >= target if (near_above and near_below) else bool(near_above)
        return ("above" if up else "below") + " (within tolerance)", lo, hi
    if last:
        if not n:
            return "below (no successful fits)", lo, hi
        return ("above" if s / n >= target else "below") + " (undecided)", lo, hi
    return None, lo, hi


def _criterion(criterion: str | Callable, name: str | None) -> str | tuple[str, Callable]:
    if callable(criterion):
        return (name or getattr(criterion, "__name__", "custom")), criterion
    if not isinstance(criterion, str) or criterion not in CRITERIA:
        raise ReplicInputError(f"criterion={criterion!r}; expected one of {', '.join(CRITERIA)} "
                               "or a function of the replicate table")
    return criterion


def _direction(criterion: str | tuple, direction: str | None) -> str:
    if direction is not None:
        if direction not in ("increasing", "decreasing"):
            raise ReplicInputError(f"direction={direction!r}; expected 'increasing' or "
                                   "'decreasing'")
        return direction
    name = criterion if isinstance(criterion, str) else criterion[0]
    if name in DIRECTIONS:
        return DIRECTIONS[name]
    if name == "rep_in_pi":
        raise ReplicInputError("criterion='rep_in_pi': its probability stays near 95% at every "
                               "k (the prediction interval is calibrated), so there is no "
                               "smallest k to search for; pass direction= if your setting "
                               "makes it monotone")
    raise ReplicInputError(f"criterion {name!r}: find_k needs to know whether its probability "
                           "rises or falls with k; pass direction='increasing' or "
                           "'decreasing'")


def _check(target: float, confidence: float, tolerance: float, k_min: int, k_max: int,
           batch: int) -> None:
    if not (isinstance(target, int | float) and 0 < target < 1):
        raise ReplicInputError(f"target={target!r}; expected a probability in (0, 1)")
    if not (isinstance(confidence, int | float) and 0.5 <= confidence < 1):
        raise ReplicInputError(f"confidence={confidence!r}; expected a probability in "
                               "[0.5, 1)")
    if not (isinstance(tolerance, int | float) and 0.001 <= tolerance < 0.5):
        raise ReplicInputError(f"tolerance={tolerance!r}; expected a number in [0.001, 0.5)")
    for name, v, lo in (("k_min", k_min, 2), ("k_max", k_max, 2), ("batch", batch, 10)):
        if isinstance(v, bool) or not isinstance(v, int | np.integer) or v < lo:
            raise ReplicInputError(f"{name}={v!r}; expected an integer >= {lo}")
    if k_max < k_min:
        raise ReplicInputError(f"k_max={k_max} is below k_min={k_min}")


def find_k(posterior: Posterior | Any, design: Design | None = None, *, term: str,
           target: float = 0.8, criterion: str | Callable = "sig_same_direction",
           analysis: str = "summary", k_min: int = 2, k_max: int = 100,
           confidence: float = 0.95, tolerance: float = 0.02, direction: str | None = None,
           batch: int = 250, seed: int, n_jobs: int | None = 1, scheduler: Any = None,
           options: Mapping | None = None, exclude_unconverged: bool = False,
           criterion_name: str | None = None, sampler: Sampler | None = None) -> KSearch:
    """The smallest k whose replication meets ``criterion`` with probability ``target``.

    Parameters
    ----------
    posterior : Posterior, path or DataFrame
        The original fit's posterior draws.
    design : Design, optional
        Everything about the replication but k (``x``, ``missing``, ``dropout``, ``params``);
        its k is ignored.  Default ``Design(2)`` at the original's values of the term.
    term : str
        The term whose effect is compared.
    target : float
        The probability to reach.
    criterion : str or callable
        A criterion id (default: significant in the original's direction) or a custom
        criterion, a function of the replicate table (:mod:`replic.custom_criteria`; give
        ``direction``).
    analysis : str
        How each replicate is analysed (``summary``, ``reml``, ``stan``, ``bayes-fast``).
    k_min, k_max : int
        The range searched.
    confidence : float
        Probability that every decision of the search is right (see the module notes).
    tolerance : float
        Indifference zone: a k whose probability is within ``tolerance`` of the target may be
        called either way (this caps the replicates spent at one k).
    direction : {"increasing", "decreasing"}, optional
        How the criterion's probability moves with k (known for the built-in criteria).  For
        a decreasing one the answer is the largest k still reaching the target.
    batch : int
        First batch of replicates at each k (then doubled).
    seed : int
        Root seed: replicate r of a design is the one ``run_study`` draws with this seed.
    n_jobs, scheduler, options, exclude_unconverged
        As in :func:`replic.run_study`; the answer does not depend on ``n_jobs``.
    criterion_name : str, optional
        Name of a custom criterion (default: the function's name).
    sampler : Sampler, optional
        Share replicates with other searches (used by :func:`replic.cheapest_design`).

    Returns
    -------
    KSearch
        ``.k``, ``.table`` (every k evaluated), ``.reps_used``, ``.statement``.

    Notes
    -----
    Estimand: ``p(k) = P(criterion | k new subjects)`` under the design's parameters
    (posterior draws: assurance; a point: conditional power); the search finds
    ``min {k : p(k) >= target}`` (``max {k : p(k) >= target}`` for a falling criterion).
    """
    started = time.time()
    _check(target, confidence, tolerance, k_min, k_max, batch)
    crit = _criterion(criterion, criterion_name)
    way = _direction(crit, direction)
    post = read_draws(posterior) if sampler is None else sampler.posterior
    post.fixed_index(term)
    base = resolve_designs(post, design if design is not None else Design(2), term)[0]
    if sampler is None:
        sampler = Sampler(post, term=term, analysis=analysis, criterion=crit, seed=seed,
                          n_jobs=n_jobs, scheduler=scheduler, options=options,
                          exclude_unconverged=exclude_unconverged)
    steps, looks, alpha = search_plan(k_max - k_min + 1, confidence=confidence,
                                      tolerance=tolerance, batch=batch)
    rising = way == "increasing"
    lo, hi = k_min - 1, k_max + 1  # virtual ends: rising: p(lo) < t <= p(hi); falling: reverse
    rows, exact = [], True
    step = 0
    while hi - lo > 1:
        step += 1
        k = (lo + hi) // 2
        d = replace(base, k=k)
        for j, n_look in enumerate(looks):
            sampler.extend([(d, n_look)])
            v = sampler.verdicts(d)
            v = v[np.isfinite(v)]
            s, n = int(v.sum()), int(v.size)
            decision, tlo, thi = _decide(s, n, target=target, tolerance=tolerance, alpha=alpha,
                                         last=j == len(looks) - 1)
            if decision is not None:
                break
        exact &= "(" not in decision
        p = s / n if n else np.nan
        wlo, whi = wilson(s, n)
        rows.append((step, k, p, math.sqrt(p * (1 - p) / n) if n else np.nan, float(wlo),
                     float(whi), s, n, sampler.drawn(d), tlo, thi, decision))
        above = decision.startswith("above")
        if above == rising:
            hi = k
        else:
            lo = k
    answer = hi if rising else lo
    k_found = answer if k_min <= answer <= k_max else None
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    name = crit if isinstance(crit, str) else crit[0]
    statement = _statement(k_found, name, way, target, confidence, tolerance, exact, k_min,
                           k_max, base)
    if table["decision"].str.contains("undecided|no successful").any():
        statement += (" Caution: a test ended undecided at its largest batch (failed fits?), "
                      "so that decision rests on the point estimate alone.")
    info = {"term": term, "analysis": sampler.analysis_name, "design": base.label,
            "x": list(base.x) if base.x is not None else None, "seed": int(sampler.seed),
            "steps": steps, "batches": looks,
            "test_level": 1 - alpha, "seconds": time.time() - started}
    return KSearch(k=k_found, target=float(target), confidence=float(confidence),
                   tolerance=float(tolerance), criterion=name, direction=way, k_min=int(k_min),
                   k_max=int(k_max), table=table, reps_used=int(table["replicates"].sum()),
                   exact=bool(exact), statement=statement, info=info)


def _statement(k: int | None, criterion: str, way: str, target: float, confidence: float,
               tolerance: float, exact: bool, k_min: int, k_max: int, design: Design) -> str:
    t = f"{target:.0%}" if round(target * 100) == target * 100 else f"{target:g}"
    band = "" if exact else f" (to within {tolerance:g})"
    conf = f"with {confidence:.0%} confidence{band}"
    what = f"P({criterion})"
    if way == "increasing":
        if k is None:
            return (f"No k up to {k_max} reaches {t}: {conf}, {what} < {t} at k = {k_max}.")
        below = f" and < {t} at k = {k - 1}" if k > k_min else ""
        return (f"k = {k} new subjects: {conf}, {what} >= {t} at k = {k}{below}.")
    if k is None:
        return f"No k from {k_min} reaches {t}: {conf}, {what} < {t} at k = {k_min}."
    above = f" and < {t} at k = {k + 1}" if k < k_max else ""
    return (f"k = {k} is the largest number of new subjects reaching {t} ({what} falls with "
            f"k): {conf}, {what} >= {t} at k = {k}{above}.")
