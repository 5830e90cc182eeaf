"""Flagged replicates are reported: bayes-fast replicates with Pareto k-hat > 0.7 are counted in
the CLI's summary lines, in the report's headline and in run_study's FlaggedReplicatesWarning,
and the count is the replicate table's."""

from __future__ import annotations

import pytest

from replic import Design, FlaggedReplicatesWarning, ReplicWarning
from replic.cli import _print_headline, flagged_lines
from replic.priors import Priors, StudentT
from replic.report.render import headlines
from replic.study import run_study

# A sharp intercept prior far from the data: the importance weights over beta's conditional
# normal degenerate, so bayes-fast flags (some or all) replicates -- a real flagged study.
HARD = Priors(intercept=StudentT(3.0, 400.0, 0.5), sd=StudentT(3.0, 0.0, 60.0),
              sigma=StudentT(3.0, 0.0, 60.0))


@pytest.fixture(scope="module")
def flagged_run(sleep_post):
    x = tuple(range(10))
    with pytest.warns(FlaggedReplicatesWarning) as caught:
        res = run_study(sleep_post, [Design(4, x=x), Design(6, x=x)], term="Days",
                        analysis="bayes-fast", reps=5, seed=3, n_jobs=1,
                        options={"draws": 300, "priors": HARD})
    return res, [w for w in caught if w.category is FlaggedReplicatesWarning]


@pytest.fixture(scope="module")
def flagged_study(flagged_run):
    return flagged_run[0]


def test_run_study_warns_with_counts_per_design(flagged_run):
    res, (w, *more) = flagged_run
    assert not more
    per = res.replicates.groupby("design", sort=False)["flagged"].sum()
    assert w.message.counts == {("bayes-fast", d): (int(n), 5) for d, n in per.items() if n}
    assert str(w.message).startswith(f"bayes-fast: {int(per.sum())} of 10 replicate fits "
                                     "flagged (Pareto k-hat > 0.7")
    for d, n in per.items():
        assert (f"{d}: {int(n)} of 5" in str(w.message)) is bool(n)
    assert issubclass(FlaggedReplicatesWarning, ReplicWarning)   # one filter silences all


def test_cli_prints_the_flagged_count(flagged_study, capsys):
    n_flagged = int(flagged_study.replicates["flagged"].sum())
    assert n_flagged > 0
    _print_headline(flagged_study)
    out = capsys.readouterr().out
    assert (f"Warning: bayes-fast: {n_flagged} of 10 replicate fits flagged (Pareto k-hat > 0.7"
            in out)


def test_report_headline_mentions_flagged(flagged_study):
    n_flagged = int(flagged_study.replicates["flagged"].sum())
    (h,) = headlines(flagged_study.summary, flagged_study.k_needed, term="Days", target=0.8,
                     direction=1.0, reps=5)
    assert (f"Warning: {n_flagged} of the 10 replicate fits were flagged by bayes-fast's "
            "Pareto k-hat check") in h["detail"]


def test_no_line_without_flags(flagged_study):
    head = flagged_study.summary
    head = head[head["criterion"] == "sig_same_direction"].assign(n_unconverged=0)
    assert flagged_lines(head, 5) == []
