"""``run_study``: simulate and analyse replicates of a grid of designs, then summarise.

Pure orchestration: tasks are (design, replicate range) chunks whose numbers depend only on the
root seed, the design and the replicate indices (see :mod:`replic.simulate`), so results are
bit-identical for any ``n_jobs`` and any joblib backend.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from replic.analyses import get_analysis
from replic.criteria import Original, evaluate
from replic.design import Design
from replic.errors import ReplicInputError
from replic.posterior import Posterior
from replic.read import read_draws
from replic.simulate import ModelFrame, model_frame, simulate
from replic.summarise import criteria_summary, k_needed, type_sm

__all__ = ["StudyResult", "run_study", "resolve_designs", "run_chunk"]

_CHUNK = {"moments": 1 << 16, "full": 1 << 10}


@dataclass(frozen=True, eq=False)
class StudyResult:
    """The outcome of :func:`run_study`.

    Attributes
    ----------
    replicates : DataFrame
        One row per (design, replicate): draw, seed, true and realised effect, the analysis's
        estimate, se, df, interval, p and diagnostics, ``error`` ("" when the fit succeeded),
        and each criterion (1.0 / 0.0, NaN for failed fits).
    summary : DataFrame
        Per (design, criterion): ``probability``, ``mcse``, 95% ``lower``/``upper``, counts.
    k_needed : DataFrame
        Smallest k reaching the target probability per criterion.
    type_sm : DataFrame
        Type S and Type M rates among significant replicates per design.
    original : Original
        The original's estimate of the term (posterior mean, sd, 95% interval).
    info : dict
        Study settings, provenance and timing.
    """

    replicates: pd.DataFrame
    summary: pd.DataFrame
    k_needed: pd.DataFrame
    type_sm: pd.DataFrame
    original: Original
    info: dict = field(default_factory=dict)
    posterior: Posterior | None = None

    def write(self, directory: str | Path, *, report: bool = True) -> Path:
        """Write tables (and the HTML report) to ``directory``; see :mod:`replic.results_io`."""
        from replic.results_io import write_results

        return write_results(self, directory, report=report)


def resolve_designs(posterior: Posterior, designs, term: str) -> list[Design]:
    """Normalise ``designs`` (a Design, an int k, or a sequence of either) and fill in x."""
    if isinstance(designs, Design | int | np.integer):
        designs = [designs]
    if isinstance(designs, str) or not isinstance(designs, Iterable):
        raise ReplicInputError(f"designs={designs!r}; expected Design objects or integers k")
    out = []
    for d in designs:
        d = d if isinstance(d, Design) else Design(d)
        if d.x is None:
            data = posterior.data
            if data is None or term not in data:
                raise ReplicInputError(f"Design(k={d.k}): x is required (the values of {term!r} "
                                       "each new subject is observed at) because the posterior "
                                       "does not carry its data")
            d = d.with_x(np.unique(data[term].to_numpy(dtype=float)))
        out.append(d)
    if not out:
        raise ReplicInputError("designs: expected at least one design")
    if len({d.key for d in out}) < len(out):
        raise ReplicInputError("designs: the same design is listed twice")
    return out


def run_chunk(posterior: Posterior, design: Design, frame: ModelFrame, start: int, stop: int,
              *, seed: int, analysis: str, context, original: Original) -> pd.DataFrame:
    """Simulate, analyse and judge replicates ``start <= r < stop`` of one design."""
    an = get_analysis(analysis)
    reps = simulate(posterior, design, frame, start=start, stop=stop, seed=seed,
                    representation=an.representation)
    try:
        res = an.run(reps, context)
    except Exception:  # noqa: BLE001 - isolate the failing replicate(s) one by one
        res = _one_by_one(an, posterior, design, frame, start, stop, seed, context)
    crit = evaluate(original, res["estimate"], res["se"], res["lower"], res["upper"],
                    res.get("df"))
    n = reps.n
    head = {
        "analysis": analysis, "design": design.label, "k": design.k, "missing": design.missing,
        "params": design.params if isinstance(design.params, str) else
        ",".join(f"{a}={b:g}" for a, b in design.params),
        "rep": reps.rep, "draw": reps.draw, "seed": np.full(n, seed),
        "design_key": np.full(n, design.key, dtype=np.int64),
        "true_effect": reps.true_effect, "realised_effect": reps.realised_effect,
    }
    return pd.DataFrame(head | res | crit)


def _one_by_one(an, posterior, design, frame, start, stop, seed, context) -> dict:
    from replic.analyses import failed_columns

    parts = []
    for r in range(start, stop):
        one = simulate(posterior, design, frame, start=r, stop=r + 1, seed=seed,
                       representation=an.representation)
        try:
            parts.append(an.run(one, context))
        except Exception as exc:  # noqa: BLE001 - recorded per replicate, never dropped
            parts.append(failed_columns(1, f"{type(exc).__name__}: {exc}"))
    keys = dict.fromkeys(k for p in parts for k in p)
    return {k: np.concatenate([np.asarray(p.get(k, np.full(1, np.nan)), dtype=object
                                          if k == "error" else None) for p in parts])
            for k in keys}


def run_study(posterior: Posterior | str | Path | pd.DataFrame, designs: Design | int | Sequence,
              *, term: str, analysis: str = "summary", reps: int, seed: int, n_jobs: int = 1,
              options: Mapping | None = None, target: float = 0.8,
              chunk_size: int | None = None) -> StudyResult:
    """Simulate ``reps`` replication experiments per design and summarise how often they match.

    Parameters
    ----------
    posterior : Posterior, path or DataFrame
        The original fit's posterior draws.
    designs : Design, int or sequence
        The replication designs (an int k means ``Design(k)``).
    term : str
        The term whose effect is compared (``"Days"``).
    analysis : {"summary", "reml", "stan", "bayes-fast"}
        How each replicate is analysed.
    reps : int
        Replicates per design.
    seed : int
        Root seed; results depend only on it, the designs and the replicate indices.
    n_jobs : int
        joblib workers (``-1``: all cores).
    options : mapping, optional
        Options for the analysis (e.g. Stan's ``chains``).
    target : float
        Probability for :attr:`StudyResult.k_needed`.
    chunk_size : int, optional
        Replicates per task (default depends on the analysis; never changes the numbers).

    Returns
    -------
    StudyResult
    """
    started = time.time()
    if not isinstance(reps, int | np.integer) or isinstance(reps, bool) or reps < 1:
        raise ReplicInputError(f"reps={reps!r}; expected a positive integer")
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool) or seed < 0:
        raise ReplicInputError(f"seed={seed!r}; expected a non-negative integer")
    if not 0 < target < 1:
        raise ReplicInputError(f"target={target!r}; expected a probability in (0, 1)")
    post = read_draws(posterior)
    post.fixed_index(term)
    ds = resolve_designs(post, designs, term)
    frames = [model_frame(post, term, d.x) for d in ds]
    an = get_analysis(analysis)
    context = an.prepare(post, frames[0], dict(options or {}))
    original = Original(**{("se" if k == "sd" else k): v
                           for k, v in post.term_summary(term).items()})
    size = chunk_size or getattr(an, "chunk", None) or _CHUNK[an.representation]
    tasks = [(i, lo, min(lo + size, reps)) for i in range(len(ds)) for lo in range(0, reps, size)]
    jobs = (delayed(run_chunk)(post, ds[i], frames[i], lo, hi, seed=int(seed), analysis=analysis,
                               context=context, original=original) for i, lo, hi in tasks)
    parts = list(Parallel(n_jobs=n_jobs, return_as="generator_unordered")(jobs)) \
        if n_jobs != 1 else list(jobs_serial(tasks, post, ds, frames, seed, analysis, context,
                                             original))
    table = _order(pd.concat(parts, ignore_index=True), ds)
    summary = criteria_summary(table)
    info = {"term": term, "analysis": analysis, "reps": int(reps), "seed": int(seed),
            "n_jobs": n_jobs, "target": target, "options": dict(options or {}),
            "designs": [d.label for d in ds], "x": list(ds[0].x), "source": post.source,
            "formula": post.formula, "started": started, "seconds": time.time() - started}
    return StudyResult(replicates=table, summary=summary, k_needed=k_needed(summary, target=target),
                       type_sm=type_sm(table), original=original, info=info, posterior=post)


def jobs_serial(tasks, post, ds, frames, seed, analysis, context, original):
    """The tasks run in this process (``n_jobs=1``), in order."""
    for i, lo, hi in tasks:
        yield run_chunk(post, ds[i], frames[i], lo, hi, seed=int(seed), analysis=analysis,
                        context=context, original=original)


def _order(table: pd.DataFrame, designs: list[Design]) -> pd.DataFrame:
    rank = {d.key: i for i, d in enumerate(designs)}
    return (table.assign(_d=table["design_key"].map(rank))
            .sort_values(["_d", "rep"], kind="stable").drop(columns="_d").reset_index(drop=True))
