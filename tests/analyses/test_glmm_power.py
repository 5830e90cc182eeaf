"""Conditional power of a binary replication design: replic's ``glmm`` analysis against
glmer-based simulation (simr-style, ``tests/r/glmer_power_reference.R``).

Both simulate k = 20 new subjects observed at x = 0..9 from the same fixed parameters
(``y ~ Bernoulli(logit^-1((b0 + u0) + (b1 + u1) x))``, b0 = -0.5, b1 = 0.12, sd(u0) = 1,
sd(u1) = 0.1, cor 0.2), refit ``y ~ x + (x | g)`` by Laplace (glmer; replic's ``glmm``) and
count significant replicates (Wald p < 0.05) in the positive direction.  replic gets the
parameters as a design's fixed parameter set (``Design(params=...)``, its conditional-power
mechanism) over a posterior of two draws around them (the "original": b_x 0.12 +- 0.02, which
sets the direction; the criteria divide by its sd, so the draws may not coincide).  replic's
power must agree within 3 combined Monte Carlo standard errors with glmer's at default control
(``power_reference.csv``, 1000 simulations, simr's way) and at glmer's optimum
(``power_reference_tight.csv``, 500 simulations, when present).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from replic import Design, read_draws, run_study

DATA = Path(__file__).parents[1] / "data" / "glmer"
#: glmer with default control (simr's way) and glmer at its optimum (tight control).
REFS = [p for p in (DATA / "power_reference.csv", DATA / "power_reference_tight.csv")
        if p.exists()]
#: One parameter set, brms's names.
DRAW = {"b_Intercept": -0.5, "b_x": 0.12, "sd_g__Intercept": 1.0, "sd_g__x": 0.1,
        "cor_g__Intercept__x": 0.2}


def test_conditional_power_matches_glmer_simulation():
    refs = [pd.read_csv(p).iloc[0] for p in REFS]
    assert refs, "no glmer power reference"
    ref = refs[0]
    post = read_draws(pd.DataFrame([{**DRAW, "b_x": 0.10}, {**DRAW, "b_x": 0.14}]),
                      family="bernoulli")
    design = Design(int(ref["k"]), x=tuple(float(v) for v in range(10)), params=DRAW)
    res = run_study(post, [design],
                    term="x", analysis="glmm", reps=800, seed=20261130, n_jobs=1, quiet=True)
    row = res.summary.query("criterion == 'sig_same_direction'").iloc[0]
    for r in refs:
        combined = np.hypot(row["mcse"], r["mcse"])
        assert abs(row["probability"] - r["power"]) < 3 * combined, (row["probability"],
                                                                       r["power"], combined)
    # the refits themselves: almost all converge, and the mean estimate of b_x is glmer's
    reps = res.replicates
    ok = reps["error"] == ""
    assert ok.mean() > 0.99 and reps.loc[ok, "converged"].mean() > 0.97
    est = reps.loc[ok, "estimate"]
    assert abs(est.mean() - ref["mean_estimate"]) < 3 * np.hypot(
        est.std() / np.sqrt(ok.sum()), est.std() / np.sqrt(ref["reps"]))
