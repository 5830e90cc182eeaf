"""``find_k`` against the grid it replaces: replicates and seconds for the same question.

The question: the smallest k in 2..30 whose replication is significant in the original's
direction with probability >= target, sleepstudy posterior, Days 0..9.  The peer, measured in
the same run: ``run_study`` over the grid k = 2..30 with 2000 replicates per k (58,000
replicates) and its ``k_needed`` table.  For conditional power (``params="mean"``) the exact
answer is known (noncentral t) and printed beside both.

Run: ``python benchmarks/bench_plan.py [--analysis summary|reml] [--seeds 3]``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
from scipy import stats

import replic

KS = range(2, 31)


def exact_k(post, target: float) -> int:
    """Smallest k whose exact power (summary analysis, posterior-mean parameters) >= target."""
    p = post.point("mean")
    x = np.arange(10.0)
    sd = np.sqrt(p["sd"][1] ** 2 + float(p["sigma"]) ** 2 / ((x - x.mean()) ** 2).sum())
    ks = np.arange(2, 200)
    pw = stats.nct.sf(stats.t.isf(0.025, ks - 1), ks - 1, p["b"][1] / sd * np.sqrt(ks))
    return int(ks[np.argmax(pw >= target)])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--analysis", default="summary")
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--reps", type=int, default=2000, help="grid replicates per k")
    args = ap.parse_args()
    post = replic.read_draws(os.path.join(os.path.dirname(replic.__file__), "datasets",
                                          "sleepstudy_brms_draws.csv.gz"))
    print(f"analysis {args.analysis}; grid k = 2..30 x {args.reps} = {29 * args.reps} "
          "replicates")
    print(f"{'params':>9} {'target':>6} {'seed':>4} | {'exact':>5} | {'grid k':>6} "
          f"{'grid s':>7} | {'find_k':>6} {'reps':>6} {'s':>6} | {'reps ratio':>10} "
          f"{'time ratio':>10}")
    for params, target in (("mean", 0.85), ("mean", 0.9), ("posterior", 0.8),
                           ("posterior", 0.9)):
        exact = exact_k(post, target) if params == "mean" and args.analysis == "summary" \
            else None
        for seed in range(1, args.seeds + 1):
            designs = [replic.Design(k, x=range(10), params=params) for k in KS]
            t0 = time.perf_counter()
            grid = replic.run_study(post, designs, term="Days", analysis=args.analysis,
                                    reps=args.reps, seed=seed, n_jobs=1, target=target)
            t_grid = time.perf_counter() - t0
            kn = grid.k_needed.set_index("criterion").loc["sig_same_direction", "k"]
            t0 = time.perf_counter()
            fk = replic.find_k(post, replic.Design(2, x=range(10), params=params), term="Days",
                               target=target, analysis=args.analysis, k_max=30, seed=seed)
            t_fk = time.perf_counter() - t0
            print(f"{params:>9} {target:>6} {seed:>4} | {exact if exact else '-':>5} | "
                  f"{kn:>6g} {t_grid:>7.2f} | {fk.k:>6} {fk.reps_used:>6} {t_fk:>6.2f} | "
                  f"{29 * args.reps / fk.reps_used:>9.1f}x {t_grid / t_fk:>9.1f}x")


if __name__ == "__main__":
    main()
