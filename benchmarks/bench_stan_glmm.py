"""``fit_posterior`` on bernoulli, binomial and poisson GLMMs against brms: agreement and mixing.

Data and references from ``tests/r/brms_glmm_reference.R`` (brms 2.18, rstan 2.21):
``bacteria`` (MASS, ``y ~ week + (week | ID)``, bernoulli), ``cbpp`` (lme4, ``incidence |
trials(size) ~ period + (1 | herd)``, binomial), ``epilepsy`` (brms, ``count ~ zAge + zBase * Trt +
(1 | patient)``, poisson).  For every data set and seed, replic's fit with brms's settings
(4 chains x 1000 draws after 1000 warm-up) is compared with the long brms run (4 x 5000 draws):
mean, sd, 2.5% and 97.5% quantile of every b, sd and cor parameter, as a difference in reference
posterior sds and in combined Monte Carlo standard errors (replic's from arviz, brms's from
posterior; brms's sd MCSE scaled from replic's by the ESS ratio); then replic's mixing (max
R-hat, min bulk and tail ESS, divergences, seconds) beside brms's own runs at the same seeds
(``mixing.csv``).

Run: ``python benchmarks/bench_stan_glmm.py [--backend cmdstan] [--seeds 0 1 2 3 4]
[--dataset bacteria ...]``.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository's tests package
from tests.stan.glmm_reference import DATA, MODELS, agreement, load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    ap.add_argument("--dataset", nargs="+", default=list(MODELS))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from replic.stan.fit import fit_draws

    ref = pd.read_csv(DATA / "reference.csv")
    mixing = DATA / "mixing.csv"
    brms_mix = pd.read_csv(mixing) if mixing.is_file() else None
    for dataset in args.dataset:
        formula, family = MODELS[dataset]
        data = load(dataset)
        mix, worst = [], []
        for seed in args.seeds:
            started = time.perf_counter()
            table, info = fit_draws(data, formula, family=family, seed=seed,
                                    backend=args.backend, quiet=True)
            seconds = time.perf_counter() - started
            agree = agreement(table, ref[ref["dataset"] == dataset])
            worst.append(agree.assign(seed=seed))
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", category=FutureWarning)
                import arviz as az
            cols = [c for c in table.columns if c.startswith(("b_", "sd_", "cor_"))]
            arr = np.stack([np.stack([table.loc[table[".chain"] == c, col].to_numpy()
                                      for c in sorted(table[".chain"].unique())])
                            for col in cols], axis=-1)
            tail = float(np.min(az.ess(az.convert_to_dataset({"p": arr}),
                                       method="tail")["p"].to_numpy()))
            mix.append({"seed": seed, "max_rhat": info["rhat"], "min_ess_bulk": info["ess_bulk"],
                        "min_ess_tail": tail, "divergences": info["divergences"],
                        "seconds": seconds})
        agree = pd.concat(worst)
        print(f"\n== {dataset}: {formula}, family {family} ({info['backend']})")
        print("agreement with brms (4 x 5000), worst over seeds, per statistic:")
        print(agree.assign(abs_sd=agree["diff_sd"].abs(), abs_mcse=agree["diff_mcse"].abs())
              .groupby("stat")[["abs_sd", "abs_mcse"]].max().round(3).to_string())
        print(f"largest |diff| in reference sds: {agree['diff_sd'].abs().max():.3f}; in "
              f"combined MCSEs: {agree['diff_mcse'].abs().max():.2f}")
        ours = pd.DataFrame(mix)
        print("mixing, replic:")
        print(ours.round(3).to_string(index=False))
        if brms_mix is None:
            continue
        theirs = brms_mix[(brms_mix["dataset"] == dataset) & brms_mix["seed"].isin(args.seeds)]
        print("mixing, brms (same seeds):")
        print(theirs.drop(columns="dataset").round(3).to_string(index=False))
        a, b = ours["seconds"].mean(), theirs["seconds"].mean()
        print(f"seconds per fit: replic {a:.1f}, brms {b:.1f} (ratio {a / b:.2f}; brms ran "
              "in another process and time, so the ratio depends on the machine's load)")


if __name__ == "__main__":
    main()
