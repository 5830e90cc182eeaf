"""Replicates per second of designs that are not "every subject at the same x" (issue 11).

The same engine (``run_study``, ``n_jobs=1``, in process) on (a) a shared template (sleepstudy,
k = 16, Days 0..9: the balanced closed form / exact moment simulation) and (b) a two-group design
(Orthodont ``age:SexMale``, k = 16 allocated 8/8: two row patterns laid out on their union with a
presence mask, profiled REML), for the ``summary`` and ``reml`` analyses.  The ratio (b)/(a) is
the cost of per-subject patterns.  Timings are the best of 3 runs (the machine may be shared).

    python benchmarks/bench_designs.py [--reps 2000]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import pandas as pd

import replic
from replic import Design, run_study

REF = Path(__file__).resolve().parents[1] / "tests" / "data" / "brms"


def rate(post, design, term: str, analysis: str, reps: int) -> float:
    best = float("inf")
    for seed in range(3):
        t = time.perf_counter()
        run_study(post, [design], term=term, analysis=analysis, reps=reps, seed=seed, n_jobs=1)
        best = min(best, time.perf_counter() - t)
    return reps / best


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2000)
    reps = ap.parse_args().reps
    sleep = replic.read_draws("replic:sleepstudy_brms_draws.csv.gz")
    orth = dataclasses.replace(replic.read_draws(REF / "orthodont_draws.csv.gz"),
                               data=pd.read_csv(REF / "orthodont.csv"))
    shared = Design(16, x=range(10))
    groups = Design(16, between={"Sex": {"Female": 0.5, "Male": 0.5}})
    print(f"{'analysis':8} {'shared (rep/s)':>15} {'two groups (rep/s)':>19} {'ratio':>7}")
    for analysis in ("summary", "reml"):
        a = rate(sleep, shared, "Days", analysis, reps)
        b = rate(orth, groups, "age:SexMale", analysis, reps)
        print(f"{analysis:8} {a:15.0f} {b:19.0f} {b / a:7.2f}")


if __name__ == "__main__":
    main()
