"""Several analyses of one study, stacked for comparison."""

from __future__ import annotations

import pandas as pd
import pytest

import replic
from replic import Design, ReplicInputError
from replic.cli import main
from replic.combine import combine_results
from tests.conftest import DRAWS

X10 = tuple(range(10))


def test_combine_summary_and_reml(sleep_post):
    designs = [Design(k, x=X10) for k in (3, 6)]
    runs = [replic.run_study(sleep_post, designs, term="Days", analysis=a, reps=200, seed=3,
                             n_jobs=1) for a in ("summary", "reml")]
    both = combine_results(runs)
    assert set(both.summary["analysis"]) == {"summary", "reml"}
    assert len(both.replicates) == 2 * 2 * 200
    assert both.info["analysis"] == "summary, reml"
    pd.testing.assert_frame_equal(both.summary.query("analysis == 'reml'")
                                  .reset_index(drop=True), runs[1].summary)
    # every analysis sees the same posterior draw for replicate r
    d = both.replicates.pivot_table(index=["k", "rep"], columns="analysis", values="draw")
    assert (d["summary"] == d["reml"]).all()
    with pytest.raises(ReplicInputError, match=r"runs differ in reps"):
        combine_results([runs[0], replic.run_study(sleep_post, designs, term="Days",
                                                   analysis="reml", reps=100, seed=3, n_jobs=1)])
    with pytest.raises(ReplicInputError, match=r"analyses listed twice"):
        combine_results([runs[0], runs[0]])


def test_cli_several_analyses(tmp_path, capsys):
    study = tmp_path / "s.toml"
    study.write_text(f'name = "s"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 100\nseed = 1\n'
                     'analysis = ["summary", "reml"]\n[design]\nk = [3, 5]\nx = [0, 1, 2, 3, 4]\n')
    out = tmp_path / "out"
    assert main(["run", str(study), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    printed = capsys.readouterr().out
    assert "Smallest k reaching 80% (reml)" in printed
    s = pd.read_csv(out / "summary.csv")
    assert set(s["analysis"]) == {"summary", "reml"} and (s["n"] == 100).all()
    assert (out / "report.html").is_file()
