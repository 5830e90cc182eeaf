"""Refits per second: replic's batched REML engine vs statsmodels MixedLM (issue 3).

Sleepstudy-shaped replicates (18 subjects x Days 0..9) simulated from lme4's REML fit of
sleepstudy, (a) balanced and complete, (b) with 20% of observations missing at random; both
engines are timed in the same run and the ratio printed.  Goals: (a) >= 1000x, (b) >= 100x.

    python benchmarks/bench_reml.py [--batch 20000] [--sm 12]
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from replic.lmm import fit_replicates

K, DAYS = 18, np.arange(10.0)
X = np.column_stack([np.ones(10), DAYS])
# lme4's REML fit of sleepstudy
BETA, SD, COR, SIGMA = (251.405, 10.467), (24.741, 5.922), 0.066, 25.592


def simulate(n: int, *, missing: float, seed: int) -> np.ndarray:
    """``n`` replicate data sets, shape (n, 18, 10), NaN where missing."""
    rng = np.random.default_rng(seed)
    c = COR * SD[0] * SD[1]
    u = rng.multivariate_normal([0, 0], [[SD[0] ** 2, c], [c, SD[1] ** 2]], size=(n, K))
    y = (BETA[0] + u[..., :1]) + (BETA[1] + u[..., 1:]) * DAYS + rng.normal(0, SIGMA, (n, K, 10))
    if missing:
        y = np.where(rng.random(y.shape) < missing, np.nan, y)
    return y


def time_batched(y: np.ndarray) -> tuple[float, np.ndarray]:
    t0 = time.perf_counter()
    fit = fit_replicates(y, X, X)
    elapsed = time.perf_counter() - t0
    assert (fit.error == "").all(), "batched fits failed"
    return y.shape[0] / elapsed, fit.beta[:, 1]


def time_statsmodels(y: np.ndarray) -> tuple[float, np.ndarray]:
    import statsmodels.formula.api as smf

    est = []
    t0 = time.perf_counter()
    for yi in y:
        d = pd.DataFrame({"y": yi.ravel(), "Days": np.tile(DAYS, K),
                          "Subject": np.repeat(np.arange(K), 10)}).dropna()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = smf.mixedlm("y ~ Days", d, groups=d["Subject"], re_formula="~Days").fit(reml=True)
        est.append(m.fe_params["Days"])
    return y.shape[0] / (time.perf_counter() - t0), np.array(est)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=20000, help="replicates for the batched engine")
    ap.add_argument("--sm", type=int, default=12, help="replicates for statsmodels")
    args = ap.parse_args()
    fit_replicates(simulate(50, missing=0.2, seed=0), X, X)      # warm-up (imports, caches)
    print(f"sleepstudy-shaped replicates: {K} subjects x {DAYS.size} days, REML, "
          "Satterthwaite df included")
    print(f"{'case':<22}{'replic /s':>12}{'statsmodels /s':>16}{'ratio':>10}{'goal':>8}"
          f"{'max |diff| Days':>18}")
    for label, missing, n, goal in (("(a) balanced", 0.0, args.batch, 1000),
                                    ("(b) 20% missing", 0.2, args.batch // 4, 100)):
        y = simulate(n, missing=missing, seed=1)
        rate, est = time_batched(y)
        sm_rate, sm_est = time_statsmodels(y[:args.sm])
        diff = np.abs(est[:args.sm] - sm_est).max()
        ratio = rate / sm_rate
        flag = "ok" if ratio >= goal else "MISSED"
        print(f"{label:<22}{rate:>12.0f}{sm_rate:>16.2f}{ratio:>9.0f}x{goal:>7}x {flag:<6}"
              f"{diff:>11.1e}")


if __name__ == "__main__":
    main()
