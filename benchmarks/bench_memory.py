"""Peak memory of ``replic run`` for large streamed studies: 10^5, 10^6 and 10^7 replicates.

Each size runs ``python -m replic run STUDY --out DIR --jobs J --quiet`` in a child process (a
summary study, one design with k = 10 subjects x Days 0..9, the bundled sleepstudy posterior)
and reads the child's peak resident set size (``ru_maxrss`` of the waited-for process tree:
the largest single process, so with ``--jobs 1`` the whole run).  It also reports the wall
time, the size of the results directory on disk and the ratio of each peak to the 10^6 run's
(the goal: 10^7 below 1 GB and within 1.5x of 10^6).

Run: ``python benchmarks/bench_memory.py [--reps 100000 1000000 10000000] [--jobs 1]``.

Measured 2026-11-30 on the 2-core development machine (load average 15-24 from other jobs),
``--jobs 1``, main at the integration of issue #10's items 3, 4, 6 (diagnosands included):

===========  ========  =========  =======  ==============================================
replicates   peak RSS  wall time  on disk  before (chunks kept, report read every row)
===========  ========  =========  =======  ==============================================
10^5         299 MB    48 s       9.8 MB   309 MB, 18.9 MB
10^6         313 MB    89 s       91 MB    468 MB, 181 MB
10^7         319 MB    369 s      900 MB   2.1 GB, 1.8 GB (issue #10)
===========  ========  =========  =======  ==============================================

Peak RSS at 10^7 / at 10^6: 1.02x (goal: below 1 GB and within 1.5x).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STUDY = """\
name = "memory"
draws = "replic:sleepstudy_brms_draws.csv.gz"
data = "replic:sleepstudy.csv"
term = "Days"
analysis = "summary"
reps = {reps}
seed = 1

[design]
k = 10
x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
"""


def _disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def one(reps: int, jobs: int, root: Path) -> dict:
    """Run ``replic run`` for ``reps`` replicates in a child; its peak RSS, wall time, disk."""
    study = root / f"memory-{reps}.toml"
    study.write_text(STUDY.format(reps=reps))
    out = root / f"out-{reps}"
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[1]),
                        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    # a fresh interpreter per size: the wrapper's ru_maxrss (RUSAGE_CHILDREN) is this run's only
    code = ("import resource, subprocess, sys; "
            "rc = subprocess.call(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(rc)")
    cmd = [sys.executable, "-c", code, sys.executable, "-m", "replic", "run", str(study),
           "--out", str(out), "--jobs", str(jobs), "--quiet"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode:
        raise SystemExit(f"replic run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    rss_kb = int(proc.stdout.strip().splitlines()[-1])
    return {"reps": reps, "jobs": jobs, "wall_s": wall, "peak_rss_mb": rss_kb / 1024,
            "disk_mb": _disk(out) / 2**20}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--reps", type=int, nargs="+", default=[10**5, 10**6, 10**7])
    p.add_argument("--jobs", type=int, default=1)
    args = p.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        for reps in args.reps:
            rows.append(one(reps, args.jobs, Path(tmp)))
            r = rows[-1]
            print(f"{r['reps']:>10,} replicates, --jobs {r['jobs']}: peak RSS "
                  f"{r['peak_rss_mb']:7.0f} MB, wall {r['wall_s']:7.1f} s, results on disk "
                  f"{r['disk_mb']:7.1f} MB", flush=True)
            (Path(tmp) / f"out-{reps}").exists() and _rmtree(Path(tmp) / f"out-{reps}")
    ref = next((r for r in rows if r["reps"] == 10**6), None)
    if ref is not None:
        for r in rows:
            ratio = r["peak_rss_mb"] / ref["peak_rss_mb"]
            print(f"peak RSS at {r['reps']:,} / at 10^6: {ratio:.2f}x")


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path)


if __name__ == "__main__":
    main()
