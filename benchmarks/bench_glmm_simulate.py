"""Simulated GLMM replicates per second, beside the Gaussian simulation of the same design, and
the quantile functions behind them beside scipy's ``ppf`` (issue 17).

(a) ``simulate`` of k = 30 subjects x 5 rows, ``full`` representation, for a Gaussian posterior
(sleepstudy, the peer) and bernoulli (bacteria), poisson (epil) and binomial (cbpp, 20 trials)
posteriors (tests/data/glmm); (b) ``replic.kernel.discrete`` against ``scipy.stats``'s ``ppf`` on
the same uniforms and parameters.  Timings are the best of 3 runs (the machine may be shared).

    python benchmarks/bench_glmm_simulate.py [--reps 4096]
"""

from __future__ import annotations

import argparse
import dataclasses
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import special, stats

import replic
from replic import Design
from replic.kernel.discrete import binomial_quantile, poisson_quantile
from replic.simulate import model_frame, simulate

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "glmm"


def best(f, n: int = 3) -> float:
    out = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        f()
        out = min(out, time.perf_counter() - t)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=4096)
    reps = ap.parse_args().reps
    cbpp = dataclasses.replace(
        replic.read_draws(DATA / "cbpp_brms_draws.csv.gz", family="binomial"),
        data=pd.read_csv(DATA / "cbpp.csv", dtype={"period": str}))
    cases = [
        ("gaussian", replic.read_draws("replic:sleepstudy_brms_draws.csv.gz"), "Days",
         Design(30, x=[0, 2, 4, 6, 9])),
        ("bernoulli", replic.read_draws("replic:bacteria_brms_draws.csv.gz", family="bernoulli"),
         "week", Design(30, x=[0, 2, 4, 6, 11])),
        ("poisson", replic.read_draws(DATA / "epil_brms_draws.csv.gz", family="poisson"),
         "visit", Design(30, within={"visit": [-1.5, -0.5, 0.5, 1.5, 1.5],
                                     "trtprogabide": [0, 0, 0, 0, 1]})),
        ("binomial", cbpp, "period2",
         Design(30, within={"period": ["1", "2", "3", "4", "4"]}, trials=20)),
    ]
    print(f"simulate, k = 30 x 5 rows, {reps} replicates (full data sets)")
    print(f"{'family':10} {'rep/s':>10} {'vs gaussian':>12}")
    peer = None
    for name, post, term, design in cases:
        frame = model_frame(post, term, design)
        t = best(lambda p=post, d=design, f=frame: simulate(p, d, f, start=0, stop=reps, seed=1))
        rate = reps / t
        peer = peer or rate
        print(f"{name:10} {rate:10.0f} {rate / peer:12.2f}")
    rng = np.random.default_rng(0)
    n = 300_000
    u = rng.random(n)
    mu = np.exp(rng.normal(1.5, 1.0, n))
    size = rng.integers(1, 40, n).astype(float)
    p = special.expit(rng.normal(-1.0, 1.5, n))
    print(f"\nquantile functions, {n} values (million/s)")
    print(f"{'':10} {'replic':>10} {'scipy ppf':>10} {'ratio':>7}")
    for name, ours, theirs in (
            ("poisson", lambda: poisson_quantile(u, mu), lambda: stats.poisson.ppf(u, mu)),
            ("binomial", lambda: binomial_quantile(u, size, p),
             lambda: stats.binom.ppf(u, size, p))):
        a, b = best(ours), best(theirs)
        print(f"{name:10} {n / a / 1e6:10.2f} {n / b / 1e6:10.2f} {b / a:7.2f}")


if __name__ == "__main__":
    main()
