"""Replicates per second: bayes-fast vs the Stan analysis (issues 5 and 13), in the same run.

Sleepstudy-shaped replicates (18 subjects x Days 0..9 by default) simulated from the bundled
brms posterior of sleepstudy, complete and with 20% of observations missing at random; both
analyses are run through replic's analysis protocol (``get_analysis(...).prepare/run``), so the
timings include everything a study pays per replicate.  bayes-fast: best of ``--repeat`` runs
over ``--reps`` replicates (the machine may be shared), as wall-clock throughput and as CPU time
per replicate (``time.process_time``: less sensitive to other jobs); Stan (4 chains x 1000 draws
after 1000 warm-up, as brms): median wall seconds per replicate over ``--stan`` replicates
(its chains run in worker processes, whose CPU time this process does not see), model
compilation excluded (it happens once per study).  Goals: bayes-fast >= 500x
faster than Stan, >= 300 replicates/s with 20% missing.  The last lines of each case compare the
two analyses' posterior summaries of Days on the replicates both fitted (in Stan posterior sds).

    python benchmarks/bench_bayes_fast.py [--reps 2000] [--k 18] [--missing 0 0.2] [--draws 1000]
                                          [--stan 2]
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


def _timed(fn, *args):
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args)
    return out, time.perf_counter() - t0, time.process_time() - c0


def _case(post, frame, a, missing: float) -> None:
    design = Design(a.k, x=tuple(range(10)), missing=missing)
    reps = simulate(post, design, frame, start=0, stop=a.reps, seed=1)
    bf = get_analysis("bayes-fast")
    ctx = bf.prepare(post, frame, {"draws": a.draws})
    wall, cpu = np.inf, np.inf
    for _ in range(a.repeat):
        out, w, c = _timed(bf.run, reps, ctx)
        wall, cpu = min(wall, w / a.reps), min(cpu, c / a.reps)
    print(f"{missing:.0%} missing: bayes-fast {1 / wall:,.0f} replicates/s wall "
          f"({1000 * wall:.2f} ms each), {1000 * cpu:.2f} ms CPU each ({1 / cpu:,.0f}/s per "
          f"core); k={a.k}, {a.draws} draws; k-hat > 0.7 in {np.mean(out['flagged']):.1%}; "
          f"median ESS {np.median(out['ess']):.0f}")
    if a.stan <= 0:
        return
    try:
        st = get_analysis("stan")
        sctx = st.prepare(post, frame, {})
    except Exception as exc:  # the Stan toolchain is optional
        print(f"  stan: unavailable ({exc})")
        return
    walls, rows = [], []
    for i in range(a.stan):
        one = simulate(post, design, frame, start=i, stop=i + 1, seed=1)
        res, w, _ = _timed(st.run, one, sctx)
        rows.append(res)
        walls.append(w)
    sw = float(np.median(walls))
    # Stan's chains run in worker processes: this process's CPU time does not count them
    print(f"  stan: {sw:.2f} s wall per replicate (median of {a.stan}); bayes-fast is "
          f"{sw / wall:,.0f}x faster (wall, same run)")
    ref = {c: np.concatenate([r[c] for r in rows]) for c in ("estimate", "se", "lower", "upper",
                                                           "prob_positive")}
    sub = simulate(post, design, frame, start=0, stop=a.stan, seed=1)
    fast = bf.run(sub, bf.prepare(post, frame, {"draws": 8000}))
    diffs = ", ".join(f"{c} {np.max(np.abs(fast[c] - ref[c]) / ref['se']):.3f}"
                      for c in ("estimate", "se", "lower", "upper"))
    dp = np.abs(fast["prob_positive"] - ref["prob_positive"]).max()
    print(f"  max |bayes-fast - stan| in Stan posterior sds: {diffs}; P(Days > 0) {dp:.4f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=2000)
    ap.add_argument("--k", type=int, default=18)
    ap.add_argument("--missing", type=float, nargs="+", default=[0.0, 0.2])
    ap.add_argument("--draws", type=int, default=1000, help="bayes-fast importance draws")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--stan", type=int, default=2, help="replicates refitted by Stan (0: skip)")
    a = ap.parse_args()
    draws = resources.files("replic") / "datasets" / "sleepstudy_brms_draws.csv.gz"
    post = read_draws(pd.read_csv(str(draws)))
    frame = model_frame(post, "Days", tuple(range(10)))
    for missing in a.missing:
        _case(post, frame, a, missing)


if __name__ == "__main__":
    main()
