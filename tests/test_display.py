"""Notebook displays: compact reprs, HTML that parses and stays small, the figure, reopening
a saved study without reading its replicate table."""

from __future__ import annotations

import html5lib
import numpy as np
import pytest
from matplotlib.figure import Figure

import replic
from replic import ReplicInputError
from replic.runner.progress import in_notebook, progress
from tests.conftest import DATA

HTML_LIMIT = 60_000  # bytes: the inline SVG curve plus a few lines


@pytest.fixture(scope="module")
def result(sleep_post) -> replic.StudyResult:
    designs = [replic.Design(k, x=range(10)) for k in range(2, 13)]
    designs += [replic.Design(k, x=range(10), params={"b_Days": 4.0}) for k in (5, 10)]
    return replic.run_study(sleep_post, designs, term="Days", reps=400, seed=3, n_jobs=1)


@pytest.fixture(scope="module")
def saved(result, tmp_path_factory):
    """The study written and reopened, with its replicate table deleted: every display below
    must work without it (a stored study's displays never read the replicates)."""
    d = result.write(tmp_path_factory.mktemp("saved") / "study", report=False)
    (d / "replicates.parquet").unlink()
    return replic.read_results(d)


def _parse(fragment: str) -> None:
    html5lib.HTMLParser(strict=True).parseFragment(fragment)  # raises on any parse error


def test_study_repr_is_short_and_says_the_answer(result):
    text = repr(result)
    assert len(text) < 800 and text.count("\n") <= 6
    kn = result.k_needed.set_index(["params", "criterion"])
    k = int(kn.loc[("posterior", "sig_same_direction"), "k"])
    assert f"assurance: significant in the original's direction with 80% probability: k = {k}" \
        in text
    assert "new subjects observed at Days 0–9" in text and "k = 2..12" in text
    assert "rows in memory" in text


def test_not_reached_is_said_in_words(sleep_post):
    res = replic.run_study(sleep_post, [replic.Design(k, x=range(10)) for k in (2, 3)],
                           term="Days", reps=200, seed=1, n_jobs=1)
    assert "not reached for k <= 3" in repr(res)
    assert "not reached for k &lt;= 3" in res._repr_html_()


def test_saved_study_displays_without_its_replicates(saved, result):
    assert not saved.replicates_file.exists()
    text = repr(saved)
    assert "(on disk)" in text and text.splitlines()[1:3] == repr(result).splitlines()[1:3]
    page = saved._repr_html_()
    _parse(page)
    assert saved.plot() is not None
    with pytest.raises(FileNotFoundError):
        saved.replicates  # noqa: B018 -- reading is what fails, not displaying


def test_study_html_parses_and_is_bounded(result):
    page = result._repr_html_()
    _parse(page)
    assert len(page.encode()) < HTML_LIMIT
    assert page.count("<svg") == 1 and "<table>" in page and "Replicating the effect of Days" \
        in page
    assert "conditional power at b_Days = 4" in page and "assurance" in page


def test_plot_draws_the_summary(result):
    fig = result.plot()
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    s = result.summary[(result.summary["criterion"] == "sig_same_direction")
                       & (result.summary["params"] == "posterior")].sort_values("k")
    line = ax.get_lines()[0]
    np.testing.assert_array_equal(line.get_ydata(), s["probability"])
    assert any(abs(h.get_ydata()[0] - 0.8) < 1e-12 for h in ax.get_lines()[2:])  # the target
    fig2 = result.plot(criterion="same_sign")
    assert fig2.axes[0].get_ylabel() == "P(same_sign)"
    with pytest.raises(ReplicInputError, match="criterion='nope'"):
        result.plot(criterion="nope")


def test_read_results(saved, result):
    assert isinstance(saved, replic.StudyResult)
    assert saved.summary[["k", "criterion", "probability"]].equals(
        result.summary[["k", "criterion", "probability"]])
    assert saved.original == result.original and saved.info["term"] == "Days"
    assert "versions" in saved.info
    with pytest.raises(ReplicInputError, match="not a replic results directory"):
        replic.read_results(DATA)


def test_posterior_repr_and_html(sleep_post):
    text = repr(sleep_post)
    assert text.splitlines()[0].startswith("Posterior: 4000 draws (4 chains) from ")
    assert "varying by Subject (18 levels): Intercept, Days" in text
    assert "array(" not in text and len(text) < 400
    page = sleep_post._repr_html_()
    _parse(page)
    assert len(page) < 5000 and "b_Days" in page and "r_Subject[" not in page


def test_posterior_to_frame_round_trips(sleep_post, sleep_df):
    frame = sleep_post.to_frame()
    cols = [c for c in sleep_df.columns if c not in ("lprior", "lp__")]
    assert list(frame.columns) == cols  # brms's names and order
    np.testing.assert_array_equal(frame[cols[:-3]].to_numpy(), sleep_df[cols[:-3]].to_numpy())
    np.testing.assert_array_equal(frame[[".chain", ".iteration"]], sleep_df[[".chain",
                                                                              ".iteration"]])
    back = replic.read_draws(frame)
    np.testing.assert_array_equal(back.r, sleep_post.r)
    assert "r_Subject[308,Days]" not in sleep_post.to_frame(group_level=False)


class _Terminal:
    """A text stream that says it is a terminal, so tqdm draws."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, s: str) -> None:
        self.text += s

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_progress_is_labelled_and_not_in_a_notebook_here():
    assert not in_notebook()
    term = _Terminal()
    with progress(10, desc="reml", stream=term, quiet=False) as bar:
        bar.update(10)
    assert "reml: 100%" in term.text
    quiet = _Terminal()
    with progress(10, desc="reml", stream=quiet, quiet=True) as bar:
        bar.update(10)
    assert quiet.text == ""


def test_two_groups_say_where_subjects_are_observed():
    """A two-group design: observed at the variable's values (age), families in words."""
    import dataclasses

    import pandas as pd

    post = replic.read_draws(DATA / "brms" / "orthodont_draws.csv.gz")
    post = dataclasses.replace(post, data=pd.read_csv(DATA / "brms" / "orthodont.csv"))
    designs = [replic.Design(k, x=[8, 10, 12, 14], between={"Sex": p}) for k in (24, 48)
               for p in ({"Female": 0.5, "Male": 0.5}, {"Female": 0.75, "Male": 0.25})]
    res = replic.run_study(post, designs, term="age:SexMale", reps=200, seed=3, n_jobs=1)
    text = repr(res)
    assert "new subjects observed at age = 8, 10, 12, 14" in text
    assert "age 8,10,12,14, Sex 50/50: significant" in text
    assert "Sex Female 0.75/Male 0.25: significant" in text
