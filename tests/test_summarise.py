"""Monte Carlo summaries: probability, MCSE, Wilson interval, k needed, Type S / M."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from replic.criteria import CRITERIA
from replic.summarise import criteria_summary, k_needed, type_sm, unconverged, wilson


def _table(k, values, errors=None):
    n = len(values)
    d = {"analysis": "summary", "design": f"k={k}", "k": k, "missing": 0.0,
         "params": "posterior", "error": errors or [""] * n,
         "estimate": np.ones(n), "lower": np.ones(n), "upper": np.ones(n),
         "true_effect": np.ones(n)}
    return pd.DataFrame(d | {c: values for c in CRITERIA})


def test_probability_mcse_and_failures():
    vals = [1.0] * 30 + [0.0] * 70 + [np.nan] * 5
    s = criteria_summary(_table(4, vals, [""] * 100 + ["boom"] * 5))
    row = s[s["criterion"] == "sig_same_direction"].iloc[0]
    assert row["probability"] == 0.3 and row["n"] == 100 and row["n_failed"] == 5
    assert row["mcse"] == pytest.approx(np.sqrt(0.3 * 0.7 / 100))
    lo, hi = wilson(30, 100)
    assert (row["lower"], row["upper"]) == (pytest.approx(lo), pytest.approx(hi))
    assert lo == pytest.approx(0.2189, abs=1e-4) and hi == pytest.approx(0.3958, abs=1e-4)


def test_k_needed():
    t = pd.concat([_table(k, [1.0] * p + [0.0] * (100 - p))
                   for k, p in ((2, 50), (3, 79), (4, 85), (5, 99))])
    kn = k_needed(criteria_summary(t), target=0.8).set_index("criterion")
    assert kn.loc["sig_same_direction", "k"] == 4
    assert kn.loc["sig_same_direction", "k_confident"] == 5  # Wilson lower of 85/100 < 0.8
    never = k_needed(criteria_summary(t), target=0.995)
    assert never["k"].isna().all()


def test_type_s_and_m():
    t = _table(3, [1.0] * 4)
    t["estimate"] = [4.0, -2.0, 0.5, 6.0]
    t["lower"] = [1.0, -3.0, -1.0, 5.0]
    t["upper"] = [7.0, -1.0, 2.0, 7.0]
    t["true_effect"] = 2.0
    r = type_sm(t).iloc[0]
    assert r["n_significant"] == 3  # the third interval includes 0
    assert r["type_s"] == pytest.approx(1 / 3)
    assert r["type_m"] == pytest.approx(np.mean([2.0, 1.0, 3.0]))
    assert r["power"] == pytest.approx(0.75)


def test_unconverged_fits_are_counted():
    """``converged`` False or ``flagged`` True among successful fits: ``n_unconverged``;
    failed fits are not counted there, and tables without the columns count none."""
    vals = [1.0] * 6 + [np.nan] * 2
    t = _table(3, vals, [""] * 6 + ["boom"] * 2)
    assert (criteria_summary(t)["n_unconverged"] == 0).all()
    t["converged"] = [True, False, True, None, True, True, False, False]
    t["flagged"] = [False, False, True, False, None, True, True, False]
    s = criteria_summary(t)
    assert (s["n_unconverged"] == 3).all() and (s["n"] == 6).all() and (s["n_failed"] == 2).all()
    assert unconverged(t).tolist() == [False, True, True, False, False, True, False, False]


def test_k_needed_falling_and_never():
    # reaches the target at small k and falls below it from k = 5 on (orig_in_rep_ci-like)
    t = pd.concat([_table(k, [1.0] * p + [0.0] * (100 - p))
                   for k, p in ((2, 95), (3, 90), (4, 85), (5, 70), (6, 60))])
    kn = k_needed(criteria_summary(t), target=0.8).set_index("criterion")
    row = kn.loc["sig_same_direction"]
    assert np.isnan(row["k"]) and row["k_last"] == 4
    assert row["answer"].startswith("falls below the target after k = 4")
    never = k_needed(criteria_summary(t), target=0.99).set_index("criterion")
    assert never.loc["sig_same_direction", "answer"] == "not reached for k <= 6"
    # dips back below after reaching it: only the k from which it stays counts
    t = pd.concat([_table(k, [1.0] * p + [0.0] * (100 - p))
                   for k, p in ((2, 50), (3, 85), (4, 75), (5, 90), (6, 95))])
    kn = k_needed(criteria_summary(t), target=0.8).set_index("criterion")
    assert kn.loc["sig_same_direction", "k"] == 5
    assert kn.loc["sig_same_direction", "answer"] == "k = 5"


def test_type_s_upper_bound():
    from replic.summarise import type_s_bound

    t = pd.DataFrame({"n_significant": [0, 100, 100], "type_s": [np.nan, 0.0, 0.02]})
    b = type_s_bound(t)["type_s_upper"].to_numpy()
    assert np.isnan(b[0])
    assert b[1] == pytest.approx(1 - 0.05 ** (1 / 100))  # about 3 / n: the rule of three
    assert b[2] == pytest.approx(stats.beta.ppf(0.95, 3, 98))
