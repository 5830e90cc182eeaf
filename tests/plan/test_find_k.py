"""find_k: the closed-form answer at a fraction of a grid's replicates, seeded like run_study."""

from __future__ import annotations

import numpy as np
import pytest

import replic
from replic.errors import ReplicInputError
from replic.plan import find_k
from replic.plan.find_k import clopper_pearson, search_plan
from tests.plan.closed_form import orig_in_rep_ci, power, smallest_k

GRID = 29 * 2000  # a 2000-per-k grid over k = 2..30
KS = np.arange(2, 31)


@pytest.mark.parametrize(("params", "beta", "target"), [
    ("mean", None, 0.6), ("mean", None, 0.85),
    ({"b_Days": 8.0}, 8.0, 0.5), ({"b_Days": 8.0}, 8.0, 0.8)])
def test_closed_form_answer_at_a_third_of_the_grid(sleep_post, params, beta, target):
    exact, gap = smallest_k(power(sleep_post, KS, beta=beta), KS, target)
    assert gap > 0.02  # the closed-form answer is outside the default tolerance: well posed
    res = find_k(sleep_post, replic.Design(2, x=range(10), params=params), term="Days",
                 target=target, k_max=30, seed=11)
    assert res.k == exact
    assert res.reps_used <= GRID / 3
    assert res.reps_used == res.table["replicates"].sum()
    assert res.table["k"].is_unique  # bisection never probes a k twice
    assert f"k = {exact}" in res.statement and "95% confidence" in res.statement
    # every probed k's decision agrees with the exact power
    truth = power(sleep_post, res.table["k"].to_numpy(), beta=beta) >= target
    assert (res.table["decision"].str.startswith("above").to_numpy() == truth).all()


def test_same_answer_for_any_n_jobs_and_replicates_of_run_study(sleep_post):
    d = replic.Design(2, x=range(10), params="mean")
    one = find_k(sleep_post, d, term="Days", target=0.85, k_max=30, seed=3, n_jobs=1)
    two = find_k(sleep_post, d, term="Days", target=0.85, k_max=30, seed=3, n_jobs=2)
    assert one.k == two.k and one.table.equals(two.table)
    # the replicates at the answer are run_study's first n replicates of that design
    row = one.table.set_index("k").loc[one.k]
    study = replic.run_study(sleep_post, replic.Design(one.k, x=range(10), params="mean"),
                             term="Days", reps=int(row["replicates"]), seed=3, n_jobs=1)
    s = study.summary.set_index("criterion").loc["sig_same_direction"]
    assert (s["successes"], s["n"]) == (row["successes"], row["n"])


def test_falling_criterion_finds_the_largest_k(sleep_post):
    # true effect 5 while the original's estimate is 10.3: the original leaves the
    # replicate's interval as k grows
    probs = orig_in_rep_ci(sleep_post, KS, beta=5.0)
    assert (np.diff(probs) < 0).all()
    target = 0.65
    last = int(KS[probs >= target].max())
    gap = min(probs[last - 2] - target, target - probs[last - 1])
    assert gap > 0.02
    res = find_k(sleep_post, replic.Design(2, x=range(10), params={"b_Days": 5.0}),
                 term="Days", target=target, criterion="orig_in_rep_ci", k_max=30, seed=4)
    assert res.direction == "decreasing" and res.k == last
    assert "largest" in res.statement and res.reps_used <= GRID / 3


def test_not_reached(sleep_post):
    res = find_k(sleep_post, replic.Design(2, x=range(10), params={"b_Days": 1.0}),
                 term="Days", target=0.8, k_max=12, seed=1)
    assert res.k is None and not res.reached
    assert res.table["k"].max() == 12 and "No k up to 12" in res.statement


def test_custom_criterion_needs_a_direction(sleep_post):
    def narrow(t):
        return (t["upper"] - t["lower"]) < 8

    d = replic.Design(2, x=range(10), params="mean")
    with pytest.raises(ReplicInputError, match="rises or falls"):
        find_k(sleep_post, d, term="Days", criterion=narrow, seed=1)
    res = find_k(sleep_post, d, term="Days", criterion=narrow, direction="increasing",
                 target=0.5, k_max=40, seed=1)
    assert res.criterion == "narrow" and 2 < res.k < 40


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"criterion": "rep_in_pi"}, "calibrated"),
    ({"criterion": "nope"}, "criterion='nope'"),
    ({"target": 1.2}, "target=1.2"),
    ({"k_max": 1}, "k_max=1"),
    ({"k_min": 10, "k_max": 5}, "below k_min"),
    ({"direction": "up"}, "direction='up'"),
    ({"tolerance": 0}, "tolerance=0"),
    ({"confidence": 1.0}, "confidence=1.0"),
])
def test_bad_input(sleep_post, kwargs, message):
    with pytest.raises(ReplicInputError, match=message.replace("(", r"\(")):
        find_k(sleep_post, replic.Design(2, x=range(10)), term="Days", seed=1, **kwargs)


def test_search_plan_and_intervals():
    steps, looks, alpha = search_plan(29, confidence=0.95, tolerance=0.02, batch=250)
    assert steps == 5 and looks[0] == 250 and looks == [250 * 2**j for j in range(len(looks))]
    assert alpha == pytest.approx(0.05 / (steps * len(looks)))
    lo, hi = clopper_pearson(looks[-1] // 2, looks[-1], alpha)
    assert (hi - lo) / 2 <= 0.02  # the last batch always decides
    lo, hi = clopper_pearson(0, 10, 0.05)
    assert lo == 0 and hi == pytest.approx(1 - 0.025 ** (1 / 10))
