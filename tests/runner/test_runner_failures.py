"""A replicate whose analysis raises is recorded with its seed; the others are unaffected."""

from __future__ import annotations

import pandas as pd
import pytest

import replic
from replic.simulate import simulate

from .conftest import DESIGNS

REPS = 600
ESTIMATES = ["estimate", "se", "df", "lower", "upper", "p", "sig_same_direction"]


@pytest.fixture(scope="module")
def clean(sleep_post):
    return replic.run_study(sleep_post, DESIGNS, term="Days", reps=REPS, seed=3, n_jobs=1)


@pytest.mark.parametrize("where", ["memory-serial", "disk-loky"])
def test_failed_replicates_are_kept_with_their_seed(sleep_post, flaky, clean, tmp_path, where):
    res = replic.run_study(sleep_post, DESIGNS, term="Days", analysis="flaky", reps=REPS,
                           seed=3, options={"fail_every": 7},
                           n_jobs=1 if where == "memory-serial" else 2,
                           out=tmp_path if where == "disk-loky" else None)
    table = res.replicates
    bad = table["rep"] % 7 == 3
    assert len(table) == 3 * REPS
    assert (table.loc[bad, "error"] == table.loc[bad, "rep"].map(
        lambda r: f"ValueError: forced failure at replicate {r}")).all()
    assert (table.loc[~bad, "error"] == "").all()
    assert table.loc[bad, "estimate"].isna().all()
    assert (table["seed"] == 3).all()
    # every other replicate is what the summary analysis gives without failures: exactly for
    # the moments designs; for whole data sets (missingness) up to LAPACK's batch-size
    # dependent rounding, since a failing chunk is re-analysed one replicate at a time
    full = (table["missing"] > 0).to_numpy()
    for rows, exact in ((~bad & ~full, True), (~bad & full, False)):
        pd.testing.assert_frame_equal(table.loc[rows, ESTIMATES].reset_index(drop=True),
                                      clean.replicates.loc[rows, ESTIMATES].reset_index(
                                          drop=True), check_exact=exact, rtol=1e-12)
    # counted in the summary, excluded from the denominators
    n_bad = int(bad.sum()) // 3
    assert (res.summary["n_failed"] == n_bad).all()
    assert (res.summary["n"] == REPS - n_bad).all()
    # listed with what reproduces them: root seed, design key, replicate index
    assert res.info["n_failed"] == 3 * n_bad
    first = res.info["failures"][0]
    assert first["rep"] == 3 and first["seed"] == 3 and first["design_key"] == DESIGNS[0].key
    assert first["error"] == "ValueError: forced failure at replicate 3"
    assert len(res.info["failures"]) == 100  # the first 100; all are in the table


def test_a_failure_reproduces_from_its_seed(sleep_post, flaky):
    """The recorded (seed, design, rep) regenerates the failing replicate's data alone."""
    res = replic.run_study(sleep_post, DESIGNS[:1], term="Days", analysis="flaky", reps=20,
                           seed=9, options={"fail_every": 7}, n_jobs=1)
    row = res.replicates.query("error != ''").iloc[0]
    post = replic.read_draws(sleep_post)
    frame = replic.simulate.model_frame(post, "Days", DESIGNS[0].x)
    one = simulate(post, DESIGNS[0], frame, start=int(row["rep"]), stop=int(row["rep"]) + 1,
                   seed=int(row["seed"]), representation="moments")
    assert one.draw[0] == row["draw"]
    assert one.realised_effect[0] == row["realised_effect"]
    with pytest.raises(ValueError, match=f"replicate {int(row['rep'])}"):
        flaky.ANALYSIS.run(one, flaky.ANALYSIS.prepare(post, frame, {"fail_every": 7}))


def test_a_chunk_where_every_replicate_fails(sleep_post, flaky, tmp_path):
    """A chunk without the optional columns still merges with the others (NaN there)."""
    res = replic.run_study(sleep_post, DESIGNS[:1], term="Days", analysis="flaky", reps=1030,
                           seed=1, options={"fail_from": 1024}, chunk_size=1024, n_jobs=1,
                           out=tmp_path)
    table = res.replicates
    assert len(table) == 1030
    failed = table["rep"] >= 1024
    assert (table.loc[failed, "error"] != "").all() and (table.loc[~failed, "error"] == "").all()
    assert table.loc[failed, "subjects"].isna().all()
    assert (table.loc[~failed, "subjects"] == 3).all()
    assert (res.summary["n"] == 1024).all() and (res.summary["n_failed"] == 6).all()
