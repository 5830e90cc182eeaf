"""Seeded, vectorised simulation: seeding rule, parameters, and the full-data model."""

from __future__ import annotations

import numpy as np
import pytest

from replic import Design, ReplicInputError
from replic.simulate import BLOCK, model_frame, simulate

X10 = tuple(range(10))


@pytest.fixture(scope="module")
def frame(sleep_post):
    return model_frame(sleep_post, "Days", X10)


def test_any_partition_same_numbers(sleep_post, frame):
    d = Design(6, x=X10, missing=0.1)
    whole = simulate(sleep_post, d, frame, start=0, stop=2 * BLOCK + 10, seed=5)
    parts = [simulate(sleep_post, d, frame, start=a, stop=b, seed=5)
             for a, b in ((0, 7), (7, BLOCK + 3), (BLOCK + 3, 2 * BLOCK + 10))]
    y = np.concatenate([p.y for p in parts])
    assert np.array_equal(np.isnan(whole.y), np.isnan(y))
    assert np.array_equal(np.nan_to_num(whole.y), np.nan_to_num(y))
    assert np.array_equal(whole.draw, np.concatenate([p.draw for p in parts]))
    assert np.array_equal(whole.rep, np.arange(2 * BLOCK + 10))


def test_prefix_stable_and_seed_sensitive(sleep_post, frame):
    d = Design(4, x=X10)
    a = simulate(sleep_post, d, frame, start=0, stop=50, seed=1)
    b = simulate(sleep_post, d, frame, start=0, stop=20, seed=1)
    c = simulate(sleep_post, d, frame, start=0, stop=20, seed=2)
    assert np.array_equal(a.y[:20], b.y)
    assert not np.array_equal(b.y, c.y)


def test_draw_shared_across_representations(sleep_post, frame):
    d = Design(4, x=X10)
    full = simulate(sleep_post, d, frame, start=0, stop=300, seed=1)
    mom = simulate(sleep_post, d, frame, start=0, stop=300, seed=1, representation="moments")
    assert np.array_equal(full.draw, mom.draw)
    assert np.array_equal(full.beta, sleep_post.b[full.draw])


def test_design_key_independent_of_others(sleep_post, frame):
    d = Design(5, x=X10)
    assert d.key == Design(5, x=list(X10)).key != Design(6, x=X10).key
    a = simulate(sleep_post, d, frame, start=0, stop=10, seed=0)
    b = simulate(sleep_post, d, frame, start=0, stop=10, seed=0)
    assert np.array_equal(a.y, b.y)


def test_full_data_moments(sleep_post, frame):
    """y = X beta + Z v + e: check the implied per-subject covariance at fixed parameters."""
    d = Design(3, x=X10, params="mean")
    r = simulate(sleep_post, d, frame, start=0, stop=40_000, seed=9)
    p = sleep_post.point("mean")
    Sigma = p["sd"][:, None] * p["cor"] * p["sd"][None, :]
    want = frame.Z @ Sigma @ frame.Z.T + float(p["sigma"]) ** 2 * np.eye(10)
    y = r.y.reshape(-1, 10)
    got = np.cov(y, rowvar=False)
    assert np.allclose(got, want, rtol=0.05, atol=0.03 * want.max())
    assert np.allclose(y.mean(axis=0), frame.X @ p["b"], atol=0.05 * np.sqrt(np.diag(want)).max())
    assert (r.draw == -1).all()


def test_missingness_rate(sleep_post, frame):
    r = simulate(sleep_post, Design(10, x=X10, missing=0.2), frame, start=0, stop=2000, seed=3)
    assert r.observed.mean() == pytest.approx(0.8, abs=0.005)
    assert np.isnan(r.y[~r.observed]).all() and np.isfinite(r.y[r.observed]).all()


def test_explicit_params(sleep_post, frame):
    d = Design(5, x=X10, params={"b_Days": 3.0, "sd_Subject__Days": 2.0})
    r = simulate(sleep_post, d, frame, start=0, stop=5, seed=0)
    assert np.all(r.beta[:, 1] == 3.0) and np.allclose(r.Sigma[:, 1, 1], 4.0)
    with pytest.raises(ReplicInputError, match=r"unknown parameter 'b_Nope'"):
        simulate(sleep_post, Design(5, x=X10, params={"b_Nope": 1}), frame, start=0, stop=2,
                 seed=0)


def test_design_validation():
    for bad in (1, 0, -3, 2.5, True):
        with pytest.raises(ReplicInputError, match=r"Design: k="):
            Design(bad)
    with pytest.raises(ReplicInputError, match=r"missing=1.2"):
        Design(3, missing=1.2)
    with pytest.raises(ReplicInputError, match=r"x="):
        Design(3, x=[])
    with pytest.raises(ReplicInputError, match=r"params='bogus'"):
        Design(3, params="bogus")


def test_model_frame_needs_every_variable(sleep_post):
    import dataclasses

    post = dataclasses.replace(sleep_post, varying=("Intercept", "Age"))
    with pytest.raises(ReplicInputError, match=r"needs variable 'Age'"):
        model_frame(post, "Days", X10)
    with pytest.raises(ReplicInputError, match=r"rank deficient"):
        model_frame(sleep_post, "Days", [1, 1, 1])
