"""Throughput of the ``summary`` analysis: replicates per second on one core.

Measures simulate + analyse + criteria (the whole per-replicate engine) for sleepstudy-shaped
designs (k = 10 new subjects x Days 0..9), balanced (sufficient-statistic simulation) and with
20% of observations missing (whole data sets), and, in the same run, the peer: a plain loop
that simulates each replicate and fits each subject's line with statsmodels OLS.

Run: ``python benchmarks/bench_summary.py [--reps N]``.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np
import statsmodels.api as sm

import replic
from replic.analyses.summary import ANALYSIS
from replic.criteria import Original, evaluate
from replic.simulate import model_frame, simulate

X = tuple(range(10))


def engine_rate(post, design, n: int, repeats: int = 3) -> float:
    frame = model_frame(post, "Days", design.x)
    o = Original(**{("se" if k == "sd" else k): v for k, v in post.term_summary("Days").items()})
    best = np.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        reps = simulate(post, design, frame, start=0, stop=n, seed=r, representation="moments")
        a = ANALYSIS.run(reps)
        evaluate(o, a["estimate"], a["se"], a["lower"], a["upper"], a["df"])
        best = min(best, time.perf_counter() - t0)
    return n / best


def peer_rate(post, n: int) -> float:
    """A straightforward script: per replicate, simulate 10 subjects and fit OLS per subject."""
    rng = np.random.default_rng(0)
    Xd = sm.add_constant(np.asarray(X, float))
    t0 = time.perf_counter()
    for _ in range(n):
        s = rng.integers(post.n_draws)
        v = rng.multivariate_normal(np.zeros(2), post.Sigma[s], size=10)
        slopes = []
        for j in range(10):
            y = Xd @ (post.b[s] + v[j]) + post.sigma[s] * rng.standard_normal(10)
            slopes.append(sm.OLS(y, Xd).fit().params[1])
        slopes = np.asarray(slopes)
        _ = slopes.mean(), slopes.std(ddof=1) / np.sqrt(10)
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=1 << 20)
    args = ap.parse_args()
    post = replic.read_draws("replic/datasets/sleepstudy_brms_draws.csv.gz")
    balanced = engine_rate(post, replic.Design(10, x=X), args.reps)
    missing = engine_rate(post, replic.Design(10, x=X, missing=0.2), args.reps // 16)
    peer = peer_rate(post, 300)
    t0 = time.perf_counter()
    replic.run_study(post, [replic.Design(k, x=X) for k in range(2, 31)], term="Days",
                     reps=2000, seed=1, n_jobs=1)
    study = time.perf_counter() - t0
    print(f"summary engine, balanced (k=10):      {balanced:14,.0f} replicates/s/core")
    print(f"summary engine, 20% missing (k=10):   {missing:14,.0f} replicates/s/core")
    print(f"peer: loop + statsmodels OLS (k=10):  {peer:14,.0f} replicates/s")
    print(f"ratio balanced / peer:                {balanced / peer:14,.0f}x")
    print(f"ratio 20% missing / peer:             {missing / peer:14,.0f}x")
    print(f"run_study, k = 2..30 x 2000 replicates (58,000), n_jobs=1: {study:.2f} s")


if __name__ == "__main__":
    main()
