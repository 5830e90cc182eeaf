"""The report's four questions for a binary example (MASS::bacteria, bernoulli brms fit of
tests/r/brms_glmm.R): the table and curves written with the results and rendered in HTML.

No analysis of GLMM replicates is on this branch yet, so the results directory is the
sleepstudy study's (``study_result``) with the bacteria posterior and term in its place: the
section depends on the posterior only.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy import special

import replic
from replic.questions import four_questions, response_trajectories
from replic.report import build_context, render_html
from replic.response_effects import population_average
from replic.results_io import read_results

WEEKS = [0.0, 2.0, 4.0, 6.0, 11.0]


@pytest.fixture(scope="module")
def bacteria():
    return replic.read_draws("replic:bacteria_brms_draws.csv.gz", family="bernoulli")


def test_four_questions_differ_as_they_should(bacteria):
    q = four_questions(bacteria, "week", k=[5, 50], seed=1)
    assert list(q["estimand"]) == ["conditional", "population_averaged", "new_gaussian",
                                   "replication_mean", "replication_mean"]
    assert list(q["k"]) == ["", "", "", "5", "50"]
    m = q.set_index(q["estimand"] + q["k"])
    # the average subject is near the ceiling (P ~ 0.9 at week 0): its probability barely
    # moves, the population's (subjects spread over the logit scale) moves four times as much
    pa, cond = m.loc["population_averaged", "mean"], m.loc["conditional", "mean"]
    assert abs(pa) > 2 * abs(cond)
    # uncertainty: a new subject > a replication of 5 > a replication of 50
    assert m.loc["new_gaussian", "sd"] > m.loc["replication_mean5", "sd"] > \
        m.loc["replication_mean50", "sd"]
    assert np.allclose(m["mcse"], m["sd"] / np.sqrt(bacteria.n_draws))
    bands = response_trajectories(bacteria, "week", x=WEEKS)
    pop = bands[bands["band"] == "population"]["mean"].to_numpy()
    avg = bands[bands["band"] == "average_subject"]["mean"].to_numpy()
    X = np.column_stack([np.ones(5), WEEKS])
    np.testing.assert_allclose(pop, population_average(bacteria, X, X).mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(avg, special.expit(bacteria.b @ X.T).mean(axis=0), rtol=1e-12)
    assert np.all((bands["lower"] >= 0) & (bands["upper"] <= 1))


def test_report_answers_the_four_questions(study_result, bacteria, tmp_path):
    res = dataclasses.replace(study_result, posterior=bacteria,
                              info=study_result.info | {"term": "week", "x": WEEKS})
    d = res.write(tmp_path / "bacteria", report=False)
    results = read_results(d)
    q = results["questions"]
    assert q is not None and results["trajectories_response"] is not None
    want = four_questions(bacteria, "week", k=sorted({int(v) for v in q["k"] if v == v and
                                                      str(v) != ""}), seed=res.info["seed"])
    np.testing.assert_allclose(q["mean"], want["mean"], rtol=1e-12)
    traj = results["trajectories"]  # the trajectories section shows probabilities too
    assert set(traj["band"]) == {"conditional", "new_subject"}
    assert traj["lower"].min() >= 0 and traj["upper"].max() <= 1
    ctx = build_context(results)
    html = render_html(ctx)
    assert "Four answers on the probability scale" in html
    assert 'id="questions-table"' in html and 'id="questions"' in html
    assert ctx["figures"]["questions"].data.equals(results["trajectories_response"])
    for sentence in ctx["question_sentences"]:
        assert sentence.split(":")[0] in html
