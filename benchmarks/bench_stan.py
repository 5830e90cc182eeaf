"""Benchmark the ``stan`` analysis: seconds per replicate refit, 1 vs 2 workers.

Each replicate is a sleepstudy-sized data set (k = 18 new subjects x Days 0..9) refitted with
brms's model, priors and settings (4 chains x 1000 draws after 1000 warm-up) through
``run_study(analysis="stan")``, exactly as a study runs it.  Reference: brms 2.18's
``update(fit, newdata = ...)`` loop takes 6.8 s per replicate on the same model (measured by
the project; R, rstan 2.21, chains run one after another).

Run: ``python benchmarks/bench_stan.py [--reps 6] [--chains 4 --warmup 1000 --draws 1000]``.
The first run compiles the Stan program (~90 s, then cached by httpstan).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import resource
import subprocess
import sys
import time
from importlib import resources
from pathlib import Path

import pandas as pd

BRMS_UPDATE_SECONDS = 6.8
FORMULA = "Reaction ~ 1 + Days + (1 + Days | Subject)"


def _posterior():
    import replic

    data_dir = Path(str(resources.files("replic") / "datasets"))
    post = replic.read_draws(data_dir / "sleepstudy_brms_draws.csv.gz")
    data = pd.read_csv(data_dir / "sleepstudy.csv")
    return dataclasses.replace(post, data=data, response="Reaction", formula=FORMULA)


def run(reps: int, n_jobs: int, options: dict) -> tuple[float, pd.DataFrame]:
    """Wall seconds of a ``stan`` study of ``reps`` replicates with ``n_jobs`` workers."""
    from replic import Design
    from replic.study import run_study

    post = _posterior()
    started = time.perf_counter()
    res = run_study(post, [Design(18)], term="Days", analysis="stan", reps=reps, seed=1,
                    n_jobs=n_jobs, options=options)
    return time.perf_counter() - started, res.replicates


def cpu_seconds(reps: int, options: dict) -> float:
    """CPU seconds (all chain processes, user + system) per refit, from a child process.

    Wall time depends on what else the machine runs; CPU time much less.  brms's 6.8 s runs
    its 4 chains one after another, so its wall time is its CPU time.
    """
    code = (f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
            f"import bench_stan; bench_stan.run({reps}, 1, {options!r})")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return used / reps


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=6)
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--draws", type=int, default=1000)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = {"chains": args.chains, "warmup": args.warmup, "draws": args.draws}

    from replic.stan.backends import compile_model

    t0 = time.perf_counter()
    compile_model(backend="pystan")
    print(f"compile (or load from httpstan's cache): {time.perf_counter() - t0:.1f} s")
    print(f"{args.reps} replicates, k = 18 subjects x 10 days, {args.chains} chains x "
          f"{args.draws} draws after {args.warmup} warm-up; {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.1f}")
    rows = []
    for n_jobs in (1, 2):
        seconds, table = run(args.reps, n_jobs, options)
        per = seconds / args.reps
        rows.append({"workers": n_jobs, "seconds": seconds, "per_replicate": per,
                     "failed": int((table["error"] != "").sum()),
                     "not_converged": int((~table["converged"].astype(bool)).sum())})
        print(f"{n_jobs} worker(s): {seconds:.1f} s total, {per:.2f} s per replicate refit "
              f"(brms update(): {BRMS_UPDATE_SECONDS} s; ratio {BRMS_UPDATE_SECONDS / per:.2f}x)")
    speedup = rows[0]["seconds"] / rows[1]["seconds"]
    print(f"speed-up 1 -> 2 workers: {speedup:.2f}x")
    print(pd.DataFrame(rows).to_string(index=False, float_format="{:.2f}".format))
    cpu = cpu_seconds(args.reps, options)
    print(f"CPU time per replicate refit (all chains, incl. Python start-up amortised over "
          f"{args.reps}): {cpu:.2f} s (brms update(): {BRMS_UPDATE_SECONDS} s, chains "
          "sequential)")


if __name__ == "__main__":
    main()
