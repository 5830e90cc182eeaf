"""Refits per second: replic's batched ``glmm`` analysis vs lme4's glmer (issue 17).

A sleepstudy-sized binary design: 18 subjects x Days 0..9, ``y ~ Days + (Days | Subject)``
(Bernoulli, logit), replicates simulated from fixed parameters.  Both engines fit the same
replicates in the same run: glmer through ``Rscript`` (default control, timed inside R around the
fits only, so R's start-up and package loading do not count), replic's ``glmm`` analysis (best of
3 runs, as the machine may be shared) on a larger batch whose first replicates are those glmer
fits.  Printed: fits per second, the ratio (goal >= 100x), and the largest differences between
the two engines' estimates and SEs of Days over the replicates both fitted (glmer's own
optimiser stops within about 1e-4 of the optimum at its default tolerances).

    python benchmarks/bench_glmm.py [--batch 2000] [--glmer 40]
"""

from __future__ import annotations

import argparse
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd

from replic.analyses.glmm import ANALYSIS, GlmmContext

K, DAYS = 18, np.arange(10.0)
X = np.column_stack([np.ones(10), DAYS])
BETA, SD, COR = (-0.5, 0.2), (1.0, 0.15), 0.2

R_SCRIPT = r"""
suppressPackageStartupMessages(library(lme4))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
reps <- split(d, d$rep)
out <- data.frame(rep = integer(), estimate = numeric(), se = numeric())
t0 <- proc.time()
for (r in reps) {
  f <- suppressMessages(suppressWarnings(glmer(y ~ Days + (Days | Subject), data = r,
                                              family = binomial)))
  cf <- summary(f)$coefficients
  out[nrow(out) + 1, ] <- list(r$rep[1], cf["Days", 1], cf["Days", 2])
}
dt <- proc.time() - t0
write.csv(out, args[2], row.names = FALSE)
cat(sprintf("%.6f %.6f %s\n", dt[["elapsed"]], dt[["user.self"]] + dt[["sys.self"]],
            as.character(packageVersion("lme4"))))
"""


def simulate(n: int, *, seed: int) -> np.ndarray:
    """``n`` binary replicate data sets, shape (n, 18, 10)."""
    rng = np.random.default_rng(seed)
    c = COR * SD[0] * SD[1]
    u = rng.multivariate_normal([0, 0], [[SD[0] ** 2, c], [c, SD[1] ** 2]], size=(n, K))
    eta = (BETA[0] + u[..., :1]) + (BETA[1] + u[..., 1:]) * DAYS
    return (rng.random(eta.shape) < 1 / (1 + np.exp(-eta))).astype(float)


def time_replic(y: np.ndarray, *, repeat: int) -> tuple[float, float, dict]:
    """Best fits/s over ``repeat`` runs: by the wall clock and by CPU time."""
    reps = SimpleNamespace(y=y, observed=None, n=y.shape[0],
                           frame=SimpleNamespace(X=X, Z=X, t=1))
    wall, cpu, out = 0.0, 0.0, {}
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = ANALYSIS.run(reps, GlmmContext(family="bernoulli"))
        wall = max(wall, y.shape[0] / (time.perf_counter() - t0))
        cpu = max(cpu, y.shape[0] / (time.process_time() - c0))
    return wall, cpu, out


def time_glmer(y: np.ndarray) -> tuple[float, float, pd.DataFrame, str]:
    """glmer's fits/s by the wall clock and by CPU time (inside R, fits only)."""
    n = y.shape[0]
    d = pd.DataFrame({"rep": np.repeat(np.arange(n), K * DAYS.size), "y": y.ravel(),
                      "Days": np.tile(DAYS, n * K),
                      "Subject": np.tile(np.repeat(np.arange(K), DAYS.size), n)})
    with tempfile.TemporaryDirectory() as tmp:
        src, dst, script = Path(tmp, "y.csv"), Path(tmp, "fits.csv"), Path(tmp, "glmer.R")
        d.to_csv(src, index=False)
        script.write_text(R_SCRIPT)
        res = subprocess.run(["Rscript", str(script), str(src), str(dst)], capture_output=True,
                             text=True, timeout=1800, check=True)
        elapsed, cpu, version = res.stdout.split()[-3:]
        return n / float(elapsed), n / float(cpu), pd.read_csv(dst), version


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=2000, help="replicates for replic")
    ap.add_argument("--glmer", type=int, default=40, help="replicates for glmer")
    args = ap.parse_args()
    y = simulate(max(args.batch, args.glmer), seed=1)
    time_replic(y[:20], repeat=1)                                 # warm-up (imports)
    r_wall, r_cpu, out = time_replic(y[:args.batch], repeat=3)
    g_wall, g_cpu, g, version = time_glmer(y[:args.glmer])
    idx = g["rep"].to_numpy()
    ok = out["error"][idx] == ""
    d_est = np.abs(out["estimate"][idx][ok] - g["estimate"].to_numpy()[ok]).max()
    d_se = np.abs(out["se"][idx][ok] / g["se"].to_numpy()[ok] - 1).max()
    d_med = np.median(np.abs(out["estimate"][idx][ok] - g["estimate"].to_numpy()[ok]))
    print(f"binary design: {K} subjects x {DAYS.size} days, y ~ Days + (Days | Subject), "
          f"Laplace; glmer from lme4 {version}")
    print(f"{'clock':<7}{'replic fits/s':>14}{'glmer fits/s':>14}{'ratio':>9}{'goal':>7}")
    for clock, r, g_ in (("wall", r_wall, g_wall), ("cpu", r_cpu, g_cpu)):
        print(f"{clock:<7}{r:>14.1f}{g_:>14.2f}{r / g_:>8.0f}x{100:>6}x")
    print(f"replic: {out['converged'].mean():.1%} converged, {out['singular'].mean():.1%} "
          f"singular; vs glmer (default control) on {ok.sum()} replicates: max |diff| of the "
          f"Days estimate {d_est:.1e}, median {d_med:.1e}; max relative diff of its SE "
          f"{d_se:.1e}")


if __name__ == "__main__":
    main()
