"""Single fits per second: ``fit_lmm`` (formula and data to lme4-style report) vs statsmodels
MixedLM on the same data, timed in the same run.

Two data sets: sleepstudy (``Reaction ~ 1 + Days + (1 + Days | Subject)``, 180 rows) and the
model-specification test data (a two- and a four-level factor, an interaction and missing values:
``y ~ x * Sex + Type + (1 + x | g)``).  Each fit is timed ``--repeat`` times and the best time
kept (the machine may be shared); the ratio is statsmodels' time over replic's.

    python benchmarks/bench_fit_lmm.py [--repeat 30]
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

from replic.lmm import fit_lmm

ROOT = Path(__file__).resolve().parents[1]
CASES = (
    ("sleepstudy", ROOT / "replic" / "datasets" / "sleepstudy.csv",
     "Reaction ~ 1 + Days + (1 + Days | Subject)", ("Reaction ~ Days", "~Days", "Subject")),
    ("factors+NA", ROOT / "tests" / "data" / "spec" / "factors.csv",
     "y ~ x * Sex + Type + (1 + x | g)", ("y ~ x * Sex + Type", "~x", "g")),
)


def best_time(f, *args, repeat: int) -> float:
    """Best wall time of ``repeat`` calls of ``f(*args)``."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def statsmodels_fit(data: pd.DataFrame, fixed: str, re: str, group: str) -> None:
    import statsmodels.formula.api as smf

    d = data.dropna(subset=[c for c in data.columns if c != "other"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        smf.mixedlm(fixed, d, groups=d[group], re_formula=re).fit(reml=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=30, help="timed fits per engine and data set")
    args = ap.parse_args()
    print(f"{'data':<12} {'replic fits/s':>14} {'statsmodels fits/s':>19} {'ratio':>7}")
    for name, path, formula, (fixed, re, group) in CASES:
        data = pd.read_csv(path)
        fit_lmm(data, formula)  # warm caches (imports, formulaic)
        t_rep = best_time(fit_lmm, data, formula, repeat=args.repeat)
        t_sm = best_time(statsmodels_fit, data, fixed, re, group,
                         repeat=max(3, args.repeat // 5))
        print(f"{name:<12} {1 / t_rep:>14.1f} {1 / t_sm:>19.1f} {t_sm / t_rep:>6.1f}x")


if __name__ == "__main__":
    main()
