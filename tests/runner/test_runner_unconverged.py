"""Unconverged or flagged fits: counted in ``n_unconverged``, optionally left out of criteria."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import replic
from replic import ReplicInputError
from replic.cli import main
from replic.criteria import CRITERIA

from .conftest import DESIGNS, DRAWS

REPS = 700
OPTIONS = {"unconverged_every": 5, "flagged_every": 7, "fail_every": 11}


def _run(post, out=None, **kw):
    kw = {"n_jobs": 1, "chunk_size": 128} | kw
    with warnings.catch_warnings():             # test_warns_with_counts checks the warning
        warnings.simplefilter("ignore", replic.FlaggedReplicatesWarning)
        return replic.run_study(post, DESIGNS, term="Days", analysis="flaky", reps=REPS,
                                seed=4, options=OPTIONS, out=out, **kw)


def _expected(rep: pd.Series) -> np.ndarray:
    """Successful replicates (not ``r % 11 == 3``) that are unconverged or flagged."""
    return ((rep % 5 == 1) | (rep % 7 == 2)).to_numpy() & (rep % 11 != 3).to_numpy()


@pytest.mark.parametrize("exclude", [False, True])
def test_counted_and_optionally_excluded(sleep_post, flaky, tmp_path, exclude):
    memory = _run(sleep_post, exclude_unconverged=exclude)
    stored = _run(sleep_post, tmp_path, exclude_unconverged=exclude, n_jobs=2)
    # the tally path equals the in-memory summary, bit for bit
    pd.testing.assert_frame_equal(stored.summary, memory.summary, check_exact=True)
    pd.testing.assert_frame_equal(stored.replicates, memory.replicates, check_exact=True,
                                  check_dtype=False)
    table = memory.replicates
    bad = _expected(table["rep"])
    per_design = int(bad.sum()) // len(DESIGNS)
    failed = int((table["rep"] % 11 == 3).sum()) // len(DESIGNS)
    s = memory.summary
    assert (s["n_unconverged"] == per_design).all() and (s["n_failed"] == failed).all()
    assert (s["n"] == REPS - failed - (per_design if exclude else 0)).all()
    crit = table.loc[bad, list(CRITERIA)]
    assert crit.isna().all().all() if exclude else crit.notna().all().all()
    assert table.loc[bad, "estimate"].notna().all()  # the fit itself is kept
    assert memory.info["exclude_unconverged"] is exclude
    # the diagnosands (bias, RMSE, coverage) leave out the same fits as the criteria
    d = memory.diagnosands
    assert (d["n"] == REPS - failed - (per_design if exclude else 0)).all()
    pd.testing.assert_frame_equal(stored.diagnosands, d, check_exact=False, rtol=1e-12)


def test_excluding_changes_only_the_unconverged(sleep_post, flaky):
    kept, dropped = _run(sleep_post), _run(sleep_post, exclude_unconverged=True)
    bad = _expected(kept.replicates["rep"])
    cols = [c for c in kept.replicates if c not in CRITERIA]
    pd.testing.assert_frame_equal(kept.replicates[cols], dropped.replicates[cols],
                                  check_exact=True)
    pd.testing.assert_frame_equal(kept.replicates.loc[~bad, list(CRITERIA)],
                                  dropped.replicates.loc[~bad, list(CRITERIA)], check_exact=True)


def test_warns_with_counts(sleep_post, flaky):
    """run_study warns once, with the unconverged count of every design."""
    with pytest.warns(replic.FlaggedReplicatesWarning) as caught:
        res = replic.run_study(sleep_post, DESIGNS, term="Days", analysis="flaky", reps=REPS,
                               seed=4, options=OPTIONS, n_jobs=1, chunk_size=128)
    (w,) = [c for c in caught if c.category is replic.FlaggedReplicatesWarning]
    per_design = int(_expected(res.replicates["rep"]).sum()) // len(DESIGNS)
    labels = list(dict.fromkeys(res.summary["design"]))
    assert w.message.counts == {("flaky", d): (per_design, REPS) for d in labels}
    text = str(w.message)
    assert f"flaky: {per_design * len(DESIGNS)} of {REPS * len(DESIGNS)} replicate fits" in text
    for d in labels:
        assert f"{d}: {per_design} of {REPS}" in text
    assert "exclude_unconverged=True" in text
    assert w.filename == __file__                  # points at the caller's line


def test_summary_analysis_has_none(sleep_post):
    with warnings.catch_warnings():
        warnings.simplefilter("error")             # no FlaggedReplicatesWarning either
        res = replic.run_study(sleep_post, DESIGNS[:1], term="Days", reps=100, seed=1,
                               n_jobs=1, exclude_unconverged=True)
    assert (res.summary["n_unconverged"] == 0).all() and (res.summary["n"] == 100).all()


def test_bad_value(sleep_post):
    with pytest.raises(ReplicInputError, match="exclude_unconverged='yes'"):
        replic.run_study(sleep_post, DESIGNS[:1], term="Days", reps=10, seed=1,
                         exclude_unconverged="yes")


def test_resume_refuses_another_setting(sleep_post, flaky, tmp_path):
    flaky.INTERRUPT_AT = 300
    with pytest.raises(KeyboardInterrupt):
        _run(sleep_post, tmp_path)
    flaky.INTERRUPT_AT = None
    with pytest.raises(ReplicInputError, match="exclude_unconverged: false -> true"):
        _run(sleep_post, tmp_path, resume=True, exclude_unconverged=True)
    resumed = _run(sleep_post, tmp_path, resume=True)
    assert resumed.info["chunks_resumed"] == 2
    pd.testing.assert_frame_equal(resumed.summary, _run(sleep_post).summary, check_exact=True)


STUDY = f"""
name = "unconverged"
draws = "{DRAWS}"
term = "Days"
analysis = "flaky"
reps = 200
seed = 3
{{exclude}}
[design]
k = [3, 6]
x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]
[options]
unconverged_every = 4
"""


@pytest.mark.parametrize(("in_file", "flag"), [(False, False), (True, False), (False, True)])
def test_cli(flaky, tmp_path, capsys, in_file, flag):
    study = tmp_path / "study.toml"
    study.write_text(STUDY.replace("{exclude}", "exclude_unconverged = true" if in_file else ""))
    out = tmp_path / "out"
    args = ["run", str(study), "--out", str(out), "--jobs", "1", "--quiet"]
    assert main(args + (["--exclude-unconverged"] if flag else [])) == 0
    assert "n_unconverged" in capsys.readouterr().out
    excluded = in_file or flag
    assert json.loads((out / "study.json").read_text())["exclude_unconverged"] is excluded
    s = pd.read_csv(out / "summary.csv")
    assert (s["n_unconverged"] == 50).all()
    assert (s["n"] == (150 if excluded else 200)).all()
