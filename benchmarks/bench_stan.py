"""Benchmark the ``stan`` analysis on both backends: compile once, seconds per replicate refit.

Each replicate is a sleepstudy-sized data set (k = 18 new subjects x Days 0..9) refitted with
brms's model, priors and settings (4 chains x 1000 draws after 1000 warm-up) through
``run_study(analysis="stan")``, exactly as a study runs it, on PyStan and on CmdStan (cmdstanpy)
side by side.  Reference: brms 2.18's ``update(fit, newdata = ...)`` loop takes 6.8 s per
replicate on the same model (measured by the project; R, rstan 2.21, chains run one after
another).

Per backend: the compile-once time (``compile_model``: a real build with ``--fresh``, for CmdStan
into an empty cache; else the load from the backend's cache), then three runs -- 1 worker with
its chains side by side (``n_jobs=1``, the default), 1 worker with chains one at a time
(``parallel_chains=1``, as brms), 2 workers (chains one at a time in each, the default in
workers) -- and the CPU time per refit.  All runs of both backends give the same results (the
same sampler and seeds); the script checks it.

Run: ``python benchmarks/bench_stan.py [--reps 6] [--backend pystan --backend cmdstan]
[--chains 4 --warmup 1000 --draws 1000] [--fresh]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import subprocess
import sys
import tempfile
import time
from importlib import resources
from pathlib import Path

import numpy as np
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


def compile_seconds(backend: str, fresh: bool) -> float:
    """Seconds of ``compile_model`` in a fresh process (``fresh``: CmdStan into an empty cache)."""
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="bench-stan-cache-") as cache:
        if fresh and backend == "cmdstan":
            env["XDG_CACHE_HOME"] = cache
        code = ("import time; from replic.stan.backends import compile_model; "
                f"t = time.perf_counter(); compile_model(backend={backend!r}); "
                "print(time.perf_counter() - t)")
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                             text=True, env=env).stdout
    return float(out.split()[-1])


def cpu_seconds(reps: int, options: dict) -> float:
    """Marginal CPU seconds (all processes, user + system) per refit, chains one at a time.

    Wall time depends on what else the machine runs; CPU time much less.  Two child processes
    run studies of 1 and ``reps + 1`` replicates; the difference of their CPU time divided by
    ``reps`` leaves out Python start-up and compiling/loading.  CmdStan's chains are child
    processes and PyStan's run in a pool that is shut down (and waited for) before counting.
    brms's 6.8 s runs its 4 chains one after another, so its wall time is its CPU time.
    """
    used = []
    for n in (1, reps + 1):
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


def bench_backend(backend: str, args: argparse.Namespace, options: dict) -> tuple[dict, list]:
    """Compile time, per-replicate wall time of the three runs and CPU time of ``backend``."""
    options = options | {"backend": backend}
    row = {"backend": backend, "compile_s": compile_seconds(backend, args.fresh)}
    how = "fresh build" if args.fresh and backend == "cmdstan" else "load from cache"
    print(f"[{backend}] compile_model ({how}): {row['compile_s']:.1f} s", flush=True)
    tables = []
    for n_jobs, width, key, label in (
            (1, None, "w1_side_by_side", "1 worker, chains side by side"),
            (1, 1, "w1_one_at_a_time", "1 worker, chains one at a time"),
            (2, None, "w2", "2 workers, chains one at a time in each")):
        seconds, table = run(args.reps, n_jobs, options | {"parallel_chains": width})
        per = seconds / args.reps
        row[key] = per
        tables.append(table.sort_values(["design", "rep"]).reset_index(drop=True))
        bad = int((table["error"] != "").sum()), int((~table["converged"].astype(bool)).sum())
        print(f"[{backend}] {label}: {seconds:.1f} s, "
              f"{per:.2f} s per replicate (brms update(): {BRMS_UPDATE_SECONDS} s; ratio "
              f"{BRMS_UPDATE_SECONDS / per:.2f}x); failed {bad[0]}, not converged {bad[1]}",
              flush=True)
    row["cpu_s"] = cpu_seconds(max(2, args.reps // 2), options | {"parallel_chains": 1})
    print(f"[{backend}] CPU per refit (chains one at a time): {row['cpu_s']:.2f} s "
          f"(brms: {BRMS_UPDATE_SECONDS} s; ratio {BRMS_UPDATE_SECONDS / row['cpu_s']:.2f}x)",
          flush=True)
    return row, tables


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--reps", type=int, default=6)
    p.add_argument("--backend", action="append", choices=["pystan", "cmdstan"])
    p.add_argument("--chains", type=int, default=4)
    p.add_argument("--warmup", type=int, default=1000)
    p.add_argument("--draws", type=int, default=1000)
    p.add_argument("--fresh", action="store_true", help="time a real CmdStan build")
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING)
    options = {"chains": args.chains, "warmup": args.warmup, "draws": args.draws}
    print(f"{args.reps} replicates, k = 18 subjects x 10 days, {args.chains} chains x "
          f"{args.draws} draws after {args.warmup} warm-up; {os.cpu_count()} CPUs, load "
          f"average {os.getloadavg()[0]:.1f}", flush=True)
    rows, results = [], []
    for backend in args.backend or ["pystan", "cmdstan"]:
        row, tables = bench_backend(backend, args, options)
        rows.append(row)
        results.extend(tables)
    cols = ["estimate", "se", "lower", "upper", "prob_positive", "rhat", "ess_bulk"]
    diff = max(float(np.max(np.abs(t[cols].to_numpy(float) - results[0][cols].to_numpy(float))))
               for t in results)
    print(f"largest difference between any two runs (all backends, any n_jobs): {diff:.3g}")
    table = pd.DataFrame(rows).set_index("backend")
    table["speedup_1_to_2_workers"] = table["w1_one_at_a_time"] / table["w2"]
    table["brms_ratio_2_workers"] = BRMS_UPDATE_SECONDS / table["w2"]
    print("seconds per replicate refit (compile: once per study):")
    print(table.T.to_string(float_format="{:.2f}".format))
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
