"""The Stan program's data block (``StanData.to_stan``) against the same block built by hand
from the data's columns: every key, in order, with its type, dtype, shape and bytes.

References: the response, trials and design columns read straight from the CSV (factors coded
by hand with R's level order and treatment contrasts, the grouping factor's levels as lme4
prints them), rows with a missing value in a used column dropped; the priors are brms's defaults
(:func:`replic.priors.default_priors`, tested against brms in ``tests/test_priors.py``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from replic import Design, read_draws
from replic.priors import Priors, StudentT, default_priors
from replic.simulate import model_frame, simulate
from replic.stan.data import stan_data

TESTS = Path(__file__).resolve().parents[1]
ROOT = TESTS.parent
GLMM = TESTS / "data" / "brms_glmm"
SPEC = TESTS / "data" / "spec"


def block(*, family: int, y: np.ndarray, X: np.ndarray, Z: np.ndarray, levels: list,
          group: np.ndarray, priors: Priors, trials: np.ndarray | None = None) -> dict:
    """The data block of ``lmm.stan`` for a model with an intercept, written out by hand."""
    gaussian = family == 0
    sigma = priors.sigma if priors.sigma is not None else priors.sd
    codes = np.array([levels.index(v) for v in group], dtype=np.int64)
    return {
        "family": family, "N": len(y),
        "Y": np.asarray(y, dtype=np.float64) if gaussian else np.zeros(0),
        "Y_int": np.zeros(0, dtype=np.int64) if gaussian else np.asarray(y, dtype=np.int64),
        "trials": np.zeros(0, dtype=np.int64) if trials is None else
        np.asarray(trials, dtype=np.int64),
        "K": X.shape[1], "X": np.ascontiguousarray(X, dtype=np.float64), "has_intercept": 1,
        "J": len(levels), "M": Z.shape[1], "g": codes + 1,
        "Z": np.ascontiguousarray(Z, dtype=np.float64), "intercept_flat": 0,
        "prior_intercept": [priors.intercept.df, priors.intercept.location,
                            priors.intercept.scale],
        "prior_sd": [priors.sd.df, priors.sd.location, priors.sd.scale],
        "prior_sigma": [sigma.df, sigma.location, sigma.scale], "lkj_eta": 1.0,
        "prior_only": 0,
    }


def assert_identical(got: dict, want: dict) -> None:
    """Same keys in the same order; each value of the same type, and arrays byte-identical."""
    assert list(got) == list(want)
    for key, w in want.items():
        g = got[key]
        assert type(g) is type(w), key
        if isinstance(w, np.ndarray):
            assert (g.dtype, g.shape) == (w.dtype, w.shape), key
            assert g.tobytes() == w.tobytes(), key
        else:
            assert g == w, key


def column(d: pd.DataFrame, name: str) -> np.ndarray:
    return d[name].to_numpy(dtype=float)


def dummies(values: pd.Series, levels: list[str]) -> np.ndarray:
    """Treatment-coded columns of ``levels`` (the first level of the factor is the baseline)."""
    return np.column_stack([(values == lv).to_numpy(dtype=float) for lv in levels])


def test_gaussian_sleepstudy():
    d = pd.read_csv(ROOT / "replic" / "datasets" / "sleepstudy.csv")
    y, days = column(d, "Reaction"), column(d, "Days")
    want = block(family=0, y=y, X=days[:, None], Z=np.column_stack([np.ones(len(d)), days]),
                 levels=sorted(d["Subject"].unique()), group=d["Subject"],
                 priors=default_priors(y))
    assert_identical(stan_data(d, "Reaction ~ 1 + Days + (1 + Days | Subject)").to_stan(), want)


def test_binomial_with_trials_and_cbind():
    d = pd.read_csv(GLMM / "cbpp.csv").assign(period=lambda f: f["period"].astype(str))
    logit = StudentT(3.0, 0.0, 2.5)
    want = block(family=2, y=d["incidence"].to_numpy(), trials=d["size"].to_numpy(),
                 X=dummies(d["period"], ["2", "3", "4"]), Z=np.ones((len(d), 1)),
                 levels=sorted(d["herd"].unique()), group=d["herd"],
                 priors=Priors(intercept=logit, sd=logit, lkj=1.0))
    assert_identical(stan_data(d, "incidence | trials(size) ~ period + (1 | herd)").to_stan(),
                     want)
    cb = d.assign(failures=d["size"] - d["incidence"])
    assert_identical(stan_data(cb, "cbind(incidence, failures) ~ period + (1 | herd)")
                     .to_stan(), want)
    # a fixed number of trials
    few = d.assign(s=np.minimum(d["incidence"], 8))
    want8 = want | {"Y_int": few["s"].to_numpy(dtype=np.int64),
                    "trials": np.full(len(d), 30, dtype=np.int64)}
    assert_identical(stan_data(few, "s | trials(30) ~ period + (1 | herd)").to_stan(), want8)


def test_bernoulli():
    d = pd.read_csv(GLMM / "bacteria.csv")
    week = column(d, "week")
    logit = StudentT(3.0, 0.0, 2.5)
    want = block(family=1, y=d["y"].to_numpy(), X=week[:, None],
                 Z=np.column_stack([np.ones(len(d)), week]), levels=sorted(d["ID"].unique()),
                 group=d["ID"], priors=Priors(intercept=logit, sd=logit, lkj=1.0))
    assert_identical(stan_data(d, "y ~ week + (week | ID)", family="bernoulli").to_stan(), want)


def test_factors_and_dropped_rows():
    d = pd.read_csv(SPEC / "factors.csv")
    levels = pd.read_csv(SPEC / "factors_groups.csv").query("model == 'both'")["level"].tolist()
    kept = d.dropna(subset=["y", "x", "Sex", "Type", "g"])  # not "other": unused
    x, male = column(kept, "x"), (kept["Sex"] == "Male").to_numpy(dtype=float)
    X = np.column_stack([x, male, dummies(kept["Type"], ["high", "Low", "mid-dose"]), x * male])
    y = column(kept, "y")
    want = block(family=0, y=y, X=X, Z=np.column_stack([np.ones(len(kept)), x]), levels=levels,
                 group=kept["g"], priors=default_priors(y))
    sd = stan_data(d, "y ~ x * Sex + Type + (1 + x | g)")
    assert sd.data.n_dropped == len(d) - len(kept) == 7
    assert np.array_equal(sd.data.rows, kept.index.to_numpy())
    assert_identical(sd.to_stan(), want)


@pytest.mark.parametrize("missing", [0.0, 0.3])
def test_replicate_data_drops_unobserved_rows(missing):
    """A replicate's block: subject ``i`` is level ``i``, its observed rows in order."""
    from replic.analyses.stan import StanContext, replicate_data

    post = read_draws(ROOT / "replic" / "datasets" / "sleepstudy_brms_draws.csv.gz")
    design = Design(6, x=(0.0, 1.0, 2.0, 3.0), missing=missing)
    frame = model_frame(post, "Days", design)
    reps = simulate(post, design, frame, start=0, stop=2, seed=5)
    context = StanContext(model=None, fixed=tuple(post.fixed), varying=tuple(post.varying),
                          priors=None, chains=1, warmup=1, draws=1, seed=0, rhat_max=1.01,
                          ess_min=1.0, quiet=True)
    for i in range(reps.n):
        rows = [(s, t) for s in range(6) for t in range(4) if np.isfinite(reps.y[i, s, t])]
        assert (len(rows) < 24) == (missing > 0)
        y = np.array([reps.y[i, s, t] for s, t in rows])
        want = block(family=0, y=y, X=np.array([frame.X[t, 1:] for _, t in rows]),
                     Z=np.array([frame.Z[t] for _, t in rows]), levels=list(range(6)),
                     group=[s for s, _ in rows], priors=default_priors(y))
        assert_identical(replicate_data(reps, i, context).to_stan(), want)


def test_stan_checks_what_only_stan_needs():
    from replic import ReplicInputError
    from replic.family import Family
    from replic.spec import ModelData
    from replic.stan.data import StanData

    y, X = np.array([1.0, 0.0, 2.0, 1.0]), np.ones((4, 1))
    args = {"fixed": ("Intercept",), "varying": ("Intercept",), "levels": ("a", "b")}
    codes = np.array([0, 0, 1, 1])
    logit = StudentT(3.0, 0.0, 2.5)
    with pytest.raises(ReplicInputError, match="binomial model needs each observation's trials"):
        StanData(data=ModelData.of_arrays(y, X, X, codes, family=Family("binomial"), **args),
                 priors=Priors(intercept=logit, sd=logit))
    with pytest.raises(ReplicInputError, match=r"bernoulli\(probit\)"):
        StanData(data=ModelData.of_arrays(y.clip(0, 1), X, X, codes, **args,
                                          family=Family("bernoulli", "probit")),
                 priors=Priors(intercept=logit, sd=logit))
    with pytest.raises(ReplicInputError, match="needs a prior for sigma"):
        StanData(data=ModelData.of_arrays(y, X, X, codes, **args),
                 priors=Priors(intercept=logit, sd=logit))
    with pytest.raises(ReplicInputError, match="at least one varying term"):
        StanData(data=ModelData.of_arrays(y, X, X[:, :0], codes, **args | {"varying": ()}),
                 priors=default_priors(y))
    sd = StanData(data=ModelData.of_arrays(y, X, X, codes, family=Family("binomial"), **args,
                                           trials=np.full(4, 3.0)),
                  priors=Priors(intercept=logit, sd=logit))
    assert sd.family == "binomial" and sd.to_stan()["trials"].tolist() == [3, 3, 3, 3]
