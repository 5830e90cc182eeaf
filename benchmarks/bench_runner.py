"""The execution path at scale: 10^6 summary replicates (wall time, peak RSS) and the ``reml``
analysis on 1 vs 2 workers (speed-up).

Every configuration runs in a fresh Python process, so its peak resident set size
(``ru_maxrss`` of that process: the parent, where an in-memory table would accumulate; the
loky/dask workers each hold one chunk at a time) is its own.  Configurations:

- ``stream``: ``run_study(..., reps=10**6, out=DIR)`` — chunks streamed to disk, summaries from
  per-chunk counts, ``DIR/replicates.parquet`` merged chunk by chunk (1 and 2 workers);
- ``memory``: the same study held in memory (``out=None``), for comparison;
- ``reml``: sleepstudy-shaped replicates (k = 10 x Days 0..9) refitted by REML, 1 vs 2 loky
  workers (the worker pool is started before timing).

Run: ``python benchmarks/bench_runner.py [--reps N] [--reml-reps N]``.

Measured 2026-11-25 on the 2-core development machine (load average 3.3-4.7 from other jobs,
so the 2-worker figures are pessimistic), ``--reml-reps 200000``:

=======================================  ==========  ===============
configuration                            wall time   peak RSS parent
=======================================  ==========  ===============
summary, 10^6 reps, streamed, 1 worker   2.34 s      284 MB
summary, 10^6 reps, streamed, 2 workers  1.56 s      285 MB
summary, 10^6 reps, in memory, 1 worker  1.59 s      678 MB
reml, 200,000 reps, 1 worker             3.23 s      302 MB
reml, 200,000 reps, 2 workers            1.90 s      307 MB  (speed-up 1.70x)
=======================================  ==========  ===============

(Importing replic, pandas, scipy and pyarrow alone takes ~170 MB; the streamed replicate table
is a 90 MB parquet file.)
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

X = tuple(range(10))
DRAWS = "replic:sleepstudy_brms_draws.csv.gz"


def _posterior():
    from importlib import resources

    import replic

    return replic.read_draws(str(resources.files("replic") / "datasets" /
                                 DRAWS.removeprefix("replic:")))


def one(mode: str, reps: int, jobs: int) -> dict:
    """Run one configuration in this process; wall time and this process's peak RSS."""
    import replic
    from replic import Design

    post = _posterior()
    analysis = "reml" if mode == "reml" else "summary"
    if jobs > 1:  # start the worker pool before timing
        replic.run_study(post, [Design(10, x=X)], term="Days", analysis=analysis, reps=4096,
                         seed=0, n_jobs=jobs, chunk_size=1024)
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "study") if mode == "stream" else None
        t0 = time.perf_counter()
        res = replic.run_study(post, [Design(10, x=X)], term="Days", analysis=analysis,
                               reps=reps, seed=1, n_jobs=jobs, out=out)
        wall = time.perf_counter() - t0
        head = res.summary.query("criterion == 'sig_same_direction'")["probability"].iloc[0]
        size = os.path.getsize(res.replicates_file) if res.replicates_file else 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"mode": mode, "reps": reps, "jobs": jobs, "wall_s": round(wall, 2),
            "peak_rss_mb": round(rss), "p_sig": round(float(head), 4),
            "parquet_mb": round(size / 2**20, 1), "backend": res.info["backend"],
            "tasks": res.info["tasks"]}


def _spawn(mode: str, reps: int, jobs: int) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--one", mode, "--reps", str(reps),
                           "--jobs", str(jobs)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, default=10**6)
    p.add_argument("--reml-reps", type=int, default=20_000)
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--one", choices=["stream", "memory", "reml"])
    args = p.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.reps, args.jobs)))
        return
    rows = [_spawn("stream", args.reps, 1), _spawn("stream", args.reps, 2),
            _spawn("memory", args.reps, 1),
            _spawn("reml", args.reml_reps, 1), _spawn("reml", args.reml_reps, 2)]
    for r in rows:
        print(json.dumps(r))
    reml1, reml2 = rows[3]["wall_s"], rows[4]["wall_s"]
    print(f"summary, {args.reps:,} replicates streamed to disk: {rows[0]['wall_s']} s "
          f"(1 worker), {rows[1]['wall_s']} s (2 workers); peak RSS {rows[0]['peak_rss_mb']} / "
          f"{rows[1]['peak_rss_mb']} MB; in memory: {rows[2]['wall_s']} s, peak RSS "
          f"{rows[2]['peak_rss_mb']} MB")
    print(f"reml, {args.reml_reps:,} replicates: {reml1} s on 1 worker, {reml2} s on 2 "
          f"(speed-up {reml1 / reml2:.2f}x)")


if __name__ == "__main__":
    main()
