"""cheapest_design against a closed-form cost problem; dropout in the simulator."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

import replic
from replic.errors import ReplicInputError
from replic.plan import cheapest_design
from replic.plan.cost import expected_observations
from replic.simulate import model_frame, simulate
from tests.plan.closed_form import power

CS, CO, TARGET = 200.0, 20.0, 0.9
SESSIONS = range(3, 11)


def _exact_costs(post) -> dict[int, tuple[int, float]]:
    ks = np.arange(2, 101)
    out = {}
    for T in SESSIONS:
        p = power(post, ks, x=range(T))
        k = int(ks[np.argmax(p >= TARGET)])
        out[T] = (k, k * (CS + CO * T))
    return out


def test_closed_form_optimum_within_5_percent(sleep_post):
    exact = _exact_costs(sleep_post)
    best = min(c for _, c in exact.values())
    res = cheapest_design(sleep_post, {T: range(T) for T in SESSIONS}, term="Days",
                          target=TARGET, cost_subject=CS, cost_observation=CO, params="mean",
                          seed=3)
    assert res.cost <= 1.05 * best
    T = len(res.x)
    assert res.x == tuple(float(v) for v in range(T)) and res.schedule == T
    # the chosen design's exact power is at the target (to within the tolerance)
    assert power(sleep_post, res.k, x=range(T)) >= TARGET - 0.02
    assert res.cost == res.k * (CS + CO * T)
    t = res.table.set_index("schedule")
    assert (t["status"] == "cheapest").sum() == 1 and t.loc[T, "status"] == "cheapest"
    # a schedule searched in full finds its own closed-form k (or one off within tolerance)
    for s, row in t[t["status"].isin(["reached", "cheapest"])].iterrows():
        assert abs(row["k"] - exact[s][0]) <= 1
    assert res.reps_used == t["reps_used"].sum() and "Cheapest design" in res.statement
    assert set(res.points["schedule"]) <= set(SESSIONS)


def test_later_schedules_are_searched_only_where_they_could_win(sleep_post):
    # observations cost everything: the long schedule is searched only up to the k that would
    # still be cheaper than the short schedule's answer
    res = cheapest_design(sleep_post, {"short": range(4), "long": range(10), "huge": range(40)},
                          term="Days", target=0.5, cost_subject=0, cost_observation=1000,
                          params="mean", k_max=30, seed=2)
    t = res.table.set_index("schedule")
    best = t.loc[t["status"] == "cheapest", "cost"].iloc[0]
    assert t.loc["long", "k_max"] == -(-t.loc["short", "cost"] // 10_000) - 1
    # 2 subjects x 40 sessions cost 80000, more than the answer: never simulated
    assert best < 80_000 and t.loc["huge", "status"] == "cannot be cheaper"
    assert t.loc["huge", "reps_used"] == 0 and "huge" not in res.searches


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"schedules": {}}, "schedules="),
    ({"schedules": {3: "abc"}}, r"schedules\[3\]"),
    ({"schedules": {3: [1, 1]}}, r"schedules\[3\]"),
    ({"cost_subject": -1}, "cost_subject=-1"),
    ({"cost_subject": 0, "cost_observation": 0}, "both 0"),
    ({"dropout": 1.0}, "dropout=1.0"),
])
def test_bad_input(sleep_post, kwargs, message):
    args = {"schedules": {4: range(4)}, "cost_subject": 1, "cost_observation": 1} | kwargs
    with pytest.raises(ReplicInputError, match=message):
        cheapest_design(sleep_post, args.pop("schedules"), term="Days", seed=1, **args)


def test_dropout_is_monotone_geometric_and_seeded(sleep_post):
    d = replic.Design(5, x=range(10), dropout=0.2)
    frame = model_frame(sleep_post, "Days", d.x)
    reps = simulate(sleep_post, d, frame, start=0, stop=4000, seed=7)
    obs = reps.observed  # (n, k, T)
    # monotone: once lost, never observed again
    assert not (np.diff(obs.astype(int), axis=2) > 0).any()
    share = obs.mean(axis=(0, 1))
    expect = 0.8 ** np.arange(10)
    se = np.sqrt(expect * (1 - expect) / (4000 * 5))
    assert (np.abs(share - expect) < 4 * se + 1e-12).all()
    assert obs.sum(axis=2).mean() == pytest.approx(expected_observations(10, dropout=0.2),
                                                   abs=4 * obs.sum(axis=2).std() / np.sqrt(2e4))
    # the same replicates whatever the split into chunks
    part = simulate(sleep_post, d, frame, start=1500, stop=2600, seed=7)
    assert np.array_equal(part.observed, obs[1500:2600])
    assert np.array_equal(part.y, reps.y[1500:2600], equal_nan=True)


def test_dropout_keeps_other_designs_keys_and_costs_power(sleep_post):
    plain = replic.Design(8, x=range(10))
    spec = json.dumps([8, plain.x, 0.0, "posterior"], sort_keys=True)
    assert plain.key == int.from_bytes(hashlib.sha256(spec.encode()).digest()[:4], "little")
    lossy = replic.Design(8, x=range(10), dropout=0.3)
    assert lossy.key != plain.key and "dropout=0.3" in lossy.label and not lossy.balanced
    res = replic.run_study(sleep_post, [replic.Design(8, x=range(10), params="mean"),
                                        replic.Design(8, x=range(10), params="mean",
                                                      dropout=0.3)],
                           term="Days", analysis="reml", reps=1500, seed=1, n_jobs=1)
    s = res.summary[res.summary["criterion"] == "sig_same_direction"]
    lossy_rows = s["design"].str.contains("dropout=0.3")
    assert lossy_rows.sum() == 1
    full, lost = s[~lossy_rows].iloc[0], s[lossy_rows].iloc[0]
    assert full["probability"] - lost["probability"] > 4 * np.hypot(full["mcse"], lost["mcse"])
