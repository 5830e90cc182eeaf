"""Benchmark the ``stan`` analysis: seconds per replicate refit, 1 vs 2 workers.

Each replicate is a sleepstudy-sized data set (k = 18 new subjects x Days 0..9) refitted with
brms's model, priors and settings (4 chains x 1000 draws after 1000 warm-up) through
``run_study(analysis="stan")``, exactly as a study runs it.  Reference: brms 2.18's
``update(fit, newdata = ...)`` loop takes 6.8 s per replicate on the same model (measured by
the project; R, rstan 2.21, chains run one after another).

Three runs: 1 worker with its chains side by side (``n_jobs=1``, the default), 1 worker with
chains one at a time (``parallel_chains=1``, as brms and CmdStan workers), and 2 workers (chains
one at a time in each, the default in workers).  All three give identical results.

Run: ``python benchmarks/bench_stan.py [--reps 6] [--chains 4 --warmup 1000 --draws 1000]``.
The first run compiles the Stan program (~90 s, then cached by httpstan).
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
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
    """Marginal CPU seconds (all processes, user + system) per refit, chains one at a time.

    Wall time depends on what else the machine runs; CPU time much less.  Two child processes
    run studies of 1 and ``reps + 1`` replicates; the difference of their CPU time divided by
    ``reps`` leaves out Python start-up.  brms's 6.8 s runs its 4 chains one after another, so
    its wall time is its CPU time.
    """
    used = []
    for n in (1, reps + 1):
        # the child shuts its chain pool down (waiting for the processes, so that their CPU time
        # is counted) and prints its own CPU time and its children's
        code = (f"import sys, resource; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                f"import bench_stan; bench_stan.run({n}, 1, {options!r}); "
                "from replic.stan import pystan_backend as b; "
                "b._POOL['executor'] and b._POOL['executor'].shutdown(wait=True); "
                "u = [resource.getrusage(w) for w in (resource.RUSAGE_SELF, "
                "resource.RUSAGE_CHILDREN)]; print(sum(x.ru_utime + x.ru_stime for x in u))")
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True).stdout
        used.append(float(out.split()[-1]))
    return (used[1] - used[0]) / reps


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
    for n_jobs, width in ((1, None), (1, 1), (2, None)):
        seconds, table = run(args.reps, n_jobs, options | {"parallel_chains": width})
        per = seconds / args.reps
        chains = "side by side" if width is None and n_jobs == 1 else "one at a time"
        rows.append({"workers": n_jobs, "chains": chains, "seconds": seconds,
                     "per_replicate": per, "failed": int((table["error"] != "").sum()),
                     "not_converged": int((~table["converged"].astype(bool)).sum())})
        print(f"{n_jobs} worker(s), chains {chains}: {seconds:.1f} s total, {per:.2f} s per "
              f"replicate refit (brms update(): {BRMS_UPDATE_SECONDS} s; ratio "
              f"{BRMS_UPDATE_SECONDS / per:.2f}x)", flush=True)
    print(f"speed-up 1 -> 2 workers: {rows[0]['seconds'] / rows[2]['seconds']:.2f}x "
          f"(1 worker with chains side by side), {rows[1]['seconds'] / rows[2]['seconds']:.2f}x "
          "(1 worker with chains one at a time)")
    print(pd.DataFrame(rows).to_string(index=False, float_format="{:.2f}".format))
    cpu = cpu_seconds(max(2, args.reps // 2), options | {"parallel_chains": 1})
    print(f"CPU time per replicate refit (4 chains one at a time, Python start-up excluded): "
          f"{cpu:.2f} s (brms update(): {BRMS_UPDATE_SECONDS} s); load average "
          f"{os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
