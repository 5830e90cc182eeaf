"""Replicates per second: bayes-fast vs the Stan analysis (issue 5), in the same run.

Sleepstudy-shaped replicates (18 subjects x Days 0..9 by default) simulated from the bundled
brms posterior of sleepstudy; both analyses are run through replic's analysis protocol
(``get_analysis(...).prepare/run``), so the timings include everything a study pays per
replicate.  bayes-fast: best of ``--repeat`` runs over ``--reps`` replicates (the machine may be
shared); Stan (4 chains x 1000 draws after 1000 warm-up, as brms): median seconds per replicate
over ``--stan`` replicates, model compilation excluded (it happens once per study).  Goal:
bayes-fast >= 500x faster than Stan.  The last lines compare the two analyses' posterior
summaries of Days on the replicates both fitted (in Stan posterior sds).

    python benchmarks/bench_bayes_fast.py [--reps 2000] [--k 18] [--draws 1000] [--stan 2]
"""

from __future__ import annotations

import argparse
import time
from importlib import resources

import numpy as np
import pandas as pd

from replic import Design, read_draws
from replic.analyses import get_analysis
from replic.simulate import model_frame, simulate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--k", type=int, default=18)
    ap.add_argument("--missing", type=float, default=0.0)
    ap.add_argument("--draws", type=int, default=1000, help="bayes-fast importance draws")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stan", type=int, default=2, help="replicates refitted by Stan (0: skip)")
    a = ap.parse_args()

    draws = resources.files("replic") / "datasets" / "sleepstudy_brms_draws.csv.gz"
    post = read_draws(pd.read_csv(str(draws)))
    x = tuple(range(10))
    design = Design(a.k, x=x, missing=a.missing)
    frame = model_frame(post, "Days", x)
    reps = simulate(post, design, frame, start=0, stop=a.reps, seed=1)

    bf = get_analysis("bayes-fast")
    ctx = bf.prepare(post, frame, {"draws": a.draws})
    best = 0.0
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        out = bf.run(reps, ctx)
        best = max(best, a.reps / (time.perf_counter() - t0))
    flagged = float(np.mean(out["flagged"]))
    print(f"bayes-fast: {best:,.0f} replicates/s ({1000 / best:.2f} ms per replicate; "
          f"k={a.k}, {a.draws} draws; k-hat > 0.7 in {flagged:.1%}; "
          f"median ESS {np.median(out['ess']):.0f})")
    if a.stan <= 0:
        return
    try:
        st = get_analysis("stan")
        sctx = st.prepare(post, frame, {})
    except Exception as exc:  # the Stan toolchain is optional
        print(f"stan: unavailable ({exc})")
        return
    sub = simulate(post, design, frame, start=0, stop=a.stan, seed=1)
    times, rows = [], []
    for i in range(a.stan):
        one = simulate(post, design, frame, start=i, stop=i + 1, seed=1)
        t0 = time.perf_counter()
        rows.append(st.run(one, sctx))
        times.append(time.perf_counter() - t0)
    per = float(np.median(times))
    print(f"stan: {per:.2f} s per replicate (median of {a.stan}); "
          f"bayes-fast is {per * best:,.0f}x faster")
    ref = {c: np.concatenate([r[c] for r in rows]) for c in ("estimate", "se", "lower", "upper",
                                                           "prob_positive")}
    fast = bf.run(sub, bf.prepare(post, frame, {"draws": 8000}))
    for c in ("estimate", "se", "lower", "upper"):
        d = np.abs(fast[c] - ref[c]) / ref["se"]
        print(f"  {c:>8}: max |bayes-fast - stan| = {d.max():.3f} Stan posterior sd")
    dp = np.abs(fast["prob_positive"] - ref["prob_positive"]).max()
    print(f"  P(Days > 0): max |diff| = {dp:.4f}")


if __name__ == "__main__":
    main()
