"""``replic plan STUDY.toml --target 0.9 [--criterion ID] [--cost-subject C --cost-observation
C [--sessions 4,6,8,10] [--dropout D]]``: answer the planning question of a study file.

Without costs: the smallest k (between the study's smallest and largest k, or ``--k-max``) of
the study's first design family reaching the target (:func:`replic.plan.find_k`).  With costs:
the cheapest design over schedules (:func:`replic.plan.cheapest_design`): the first ``T``
values of the study's ``x`` for each ``T`` of ``--sessions``, or else the distinct ``x`` of
the study's design tables.  The answer is printed in a sentence; its table goes to the study's
results directory (``--out``, default ``reports/<study name>/``), whose report, if it holds a
study's results, is re-rendered with a plan section.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from replic.criteria import CRITERIA
from replic.errors import ReplicInputError

__all__ = ["plan_command", "register"]


def _sessions(text: str, x: tuple[float, ...]) -> dict[int, tuple[float, ...]]:
    try:
        ts = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ReplicInputError(f"--sessions {text!r}: expected comma-separated integers, e.g. "
                               "4,6,8,10") from None
    bad = [t for t in ts if not 2 <= t <= len(x)]
    if not ts or bad:
        raise ReplicInputError(f"--sessions {text!r}: expected numbers of sessions between 2 "
                               f"and {len(x)} (the study's x has {len(x)} values)")
    return {t: x[:t] for t in dict.fromkeys(ts)}


def plan_command(args: argparse.Namespace) -> int:
    """Handler of ``replic plan``."""
    from replic.plan import cheapest_design, find_k
    from replic.plan.io import check_plan_dir, write_plan
    from replic.study_designs import resolve_designs
    from replic.studyfile import BUILTIN_STUDY, load_study

    spec = load_study(args.study or BUILTIN_STUDY)
    out = check_plan_dir(Path(args.out) if args.out else Path("reports") / spec.name)
    target = args.target if args.target is not None else spec.target
    if not 0 < target < 1:
        raise ReplicInputError(f"--target {target}: expected a probability in (0, 1)")
    costs = (args.cost_subject, args.cost_observation)
    if (costs[0] is None) != (costs[1] is None):
        raise ReplicInputError("--cost-subject and --cost-observation: give both (or neither)")
    post = spec.posterior()
    designs = resolve_designs(post, list(spec.designs), spec.term)
    first = designs[0]
    ks = [d.k for d in designs if (d.x, d.missing, d.params) == (first.x, first.missing,
                                                                  first.params)]
    k_min, k_max = min(ks), args.k_max or max(ks)
    analysis = args.analysis or spec.analysis[0]
    seed = args.seed if args.seed is not None else spec.seed
    common = dict(term=spec.term, target=target, criterion=args.criterion, analysis=analysis,
                  k_min=k_min, k_max=k_max, confidence=args.confidence,
                  tolerance=args.tolerance, seed=seed, n_jobs=args.jobs,
                  exclude_unconverged=spec.exclude_unconverged)
    opts = spec.options_of(analysis)
    if costs[0] is None:
        if args.sessions or args.dropout:
            raise ReplicInputError("--sessions/--dropout: only with --cost-subject and "
                                   "--cost-observation")
        plan = find_k(post, first, options=opts, **common)
        print(plan.statement)
        print(plan.table[["k", "probability", "mcse", "replicates", "decision"]].to_string(
            index=False, float_format="{:.3f}".format))
        print(f"{plan.reps_used} replicates ({analysis}, seed {seed}).")
    else:
        if args.sessions:
            schedules = _sessions(args.sessions, first.x)
        else:
            xs = list(dict.fromkeys(d.x for d in designs))
            if len(xs) < 2:
                raise ReplicInputError("a cost search compares schedules: give --sessions "
                                       "(e.g. 4,6,8,10: the first 4, 6, ... values of the "
                                       "study's x) or several [[design]] tables with different x")
            schedules = {len(x) if len({len(v) for v in xs}) == len(xs) else i + 1: x
                         for i, x in enumerate(xs)}
        plan = cheapest_design(post, schedules, cost_subject=costs[0],
                               cost_observation=costs[1], params=first.params,
                               dropout=args.dropout or first.dropout, missing=first.missing,
                               options=opts, **common)
        print(plan.statement)
        cols = ["schedule", "sessions", "unit_cost", "k", "cost", "probability", "reps_used",
                "status"]
        with pd.option_context("display.width", 120):
            print(plan.table[cols].to_string(index=False, float_format="{:.3f}".format))
    files = write_plan(plan, out)
    print("wrote " + ", ".join(str(f) for f in files))
    if (out / "study.json").is_file() and (out / "summary.csv").is_file():
        from replic.report import write_report

        print(f"wrote {write_report(out)} (with the plan)")
    return 0


def register(subparsers) -> argparse.ArgumentParser:
    """Add the ``plan`` command to the ``replic`` CLI's subparsers."""
    p = subparsers.add_parser(
        "plan", help="the smallest k (or cheapest design) reaching a target probability",
        description="Answer the planning question of a study by a sequential search (a "
        "fraction of a grid's replicates), with a stated confidence.")
    p.add_argument("study", nargs="?", help="study TOML file (default: the bundled sleepstudy)")
    p.add_argument("--target", type=float, help="probability to reach (default: the study's)")
    p.add_argument("--criterion", default="sig_same_direction", choices=list(CRITERIA),
                   help="criterion (default: significant in the original's direction)")
    p.add_argument("--analysis", choices=["summary", "reml", "stan", "bayes-fast", "glmm"],
                   help="analysis (default: the study's first)")
    p.add_argument("--k-max", type=int, help="largest k searched (default: the study's)")
    p.add_argument("--confidence", type=float, default=0.95,
                   help="probability that every decision of the search is right")
    p.add_argument("--tolerance", type=float, default=0.02,
                   help="indifference zone around the target")
    p.add_argument("--cost-subject", type=float, help="cost of one subject")
    p.add_argument("--cost-observation", type=float, help="cost of one observation")
    p.add_argument("--sessions", help="schedules for a cost search: numbers of sessions, "
                   "e.g. 4,6,8,10 (the first T values of the study's x)")
    p.add_argument("--dropout", type=float, help="probability a subject is lost after each "
                   "session (cost searches)")
    p.add_argument("--seed", type=int, help="root seed (overrides the study)")
    p.add_argument("--jobs", type=int, default=1, help="parallel workers (default 1; the "
                   "answer does not depend on it)")
    p.add_argument("--out", help="results directory (default: reports/<study name>/)")
    p.set_defaults(func=plan_command)
    return p
