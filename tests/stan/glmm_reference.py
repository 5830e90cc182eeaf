"""The GLMM references of tests/r/brms_glmm_reference.R and replic's agreement with them.

Shared by tests/stan/test_glmm.py and benchmarks/bench_stan_glmm.py.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DATA = Path(__file__).resolve().parents[1] / "data" / "brms_glmm"
MODELS = {
    "bacteria": ("y ~ week + (week | ID)", "bernoulli"),
    "cbpp": ("incidence | trials(size) ~ period + (1 | herd)", "binomial"),
    "epilepsy": ("count ~ zAge + zBase * Trt + (1 | patient)", "poisson"),
}


def load(dataset: str) -> pd.DataFrame:
    """The data set as brms fitted it (grouping factors and factor columns as strings)."""
    d = pd.read_csv(DATA / f"{dataset}.csv")
    for col in ("ID", "herd", "period", "patient"):
        if col in d:
            d[col] = d[col].astype(str)
    return d


def agreement(table: pd.DataFrame, ref: pd.DataFrame) -> pd.DataFrame:
    """Per parameter and statistic: replic's value, brms's, the difference in reference sds and
    in combined MCSEs."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning)
        import arviz as az

    rows = []
    for _, r in ref.iterrows():
        x = table[r["parameter"]].to_numpy(dtype=float)
        by = np.stack([x[table[".chain"].to_numpy() == c] for c in np.unique(table[".chain"])])
        ds = az.convert_to_dataset({"p": by})

        def mcse(ds=ds, **kw):
            return float(az.mcse(ds, **kw)["p"])

        ess = float(az.ess(ds, method="bulk")["p"])
        ours = {"mean": (x.mean(), mcse(method="mean"), r["mcse_mean"]),
                "sd": (x.std(ddof=1), mcse(method="sd"),
                       mcse(method="sd") * np.sqrt(ess / r["ess_bulk"])),
                "q025": (np.quantile(x, 0.025), mcse(method="quantile", prob=0.025),
                         r["mcse_q025"]),
                "q975": (np.quantile(x, 0.975), mcse(method="quantile", prob=0.975),
                         r["mcse_q975"])}
        for stat, (value, m_ours, m_ref) in ours.items():
            diff = value - r[stat]
            rows.append({"parameter": r["parameter"], "stat": stat, "replic": value,
                         "brms": r[stat], "diff_sd": diff / r["sd"],
                         "diff_mcse": diff / np.hypot(m_ours, m_ref)})
    return pd.DataFrame(rows)
