"""Custom criteria: user functions of the replicate table, summarised like the built-in ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import replic
from replic.errors import ReplicInputError

DESIGNS = [replic.Design(k, x=range(10)) for k in (4, 12)]
CRIT = {"narrow": lambda t: (t["upper"] - t["lower"]) < 12,
        "beyond_rope": lambda t: np.where(t["estimate"] > 0, t["lower"] > 2.0, np.nan)}


def test_summarised_with_mcse_and_k_needed(sleep_post):
    res = replic.run_study(sleep_post, DESIGNS, term="Days", reps=2000, seed=4, n_jobs=1,
                           criteria=CRIT)
    t = res.replicates
    s = res.summary.set_index(["design", "criterion"])
    for k in (4, 12):
        g = t[t["k"] == k]
        d = g["design"].iloc[0]
        narrow = ((g["upper"] - g["lower"]) < 12).to_numpy()
        row = s.loc[(d, "narrow")]
        assert row["n"] == 2000 and row["successes"] == narrow.sum()
        p = narrow.mean()
        assert row["probability"] == p and row["mcse"] == pytest.approx(np.sqrt(p * (1 - p) / 2000))
        pos = g["estimate"] > 0  # NaN verdicts leave the denominator
        assert s.loc[(d, "beyond_rope"), "n"] == pos.sum()
        assert np.array_equal(g["narrow"].to_numpy(), narrow.astype(float))
    # built-in criteria first, then the custom ones, design by design
    assert list(res.summary["criterion"][:10]) == [*replic.CRITERIA, "narrow", "beyond_rope"]
    assert {"narrow", "beyond_rope"} <= set(res.k_needed["criterion"])
    assert res.info["criteria"] == ["narrow", "beyond_rope"]


def test_stored_study_gives_the_same_summary(sleep_post, tmp_path):
    mem = replic.run_study(sleep_post, DESIGNS, term="Days", reps=3000, seed=4, n_jobs=1,
                           criteria=CRIT)
    disk = replic.run_study(sleep_post, DESIGNS, term="Days", reps=3000, seed=4, n_jobs=1,
                            criteria=CRIT, out=tmp_path / "s")
    pd.testing.assert_frame_equal(mem.summary, disk.summary)


def test_failed_fits_are_not_judged(sleep_post):
    res = replic.run_study(sleep_post, replic.Design(2, x=range(10), missing=0.6), term="Days",
                           reps=500, seed=1, n_jobs=1, criteria={"always": lambda t: t["k"] > 0})
    t = res.replicates
    failed = t["error"] != ""
    assert failed.any() and t.loc[failed, "always"].isna().all()
    assert (t.loc[~failed, "always"] == 1).all()


@pytest.mark.parametrize(("criteria", "message"), [
    ({"same_sign": lambda t: t["p"] < 0.05}, "taken by a column"),
    ({"bad name": lambda t: t["p"] < 0.05}, "expected an identifier"),
    ({"x": 3}, r"criteria\['x'\]: expected a function"),
    ({"x": lambda t: t["nope"] > 0}, r"criteria\['x'\] raised KeyError"),
    ({"x": lambda t: t["estimate"]}, "other than True/False"),
    ({"x": lambda t: [True]}, r"shape \(1,\)"),
    ([("x", len)], "expected a mapping"),
])
def test_bad_criteria(sleep_post, criteria, message):
    with pytest.raises(ReplicInputError, match=message):
        replic.run_study(sleep_post, replic.Design(3, x=range(10)), term="Days", reps=50,
                         seed=1, n_jobs=1, criteria=criteria)
