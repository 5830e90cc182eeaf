"""New subjects' data sets: templates, original patterns, allocation, covariates, union layout."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import replic
from replic.design import ORIGINAL, Design
from replic.errors import ReplicInputError
from replic.newsubjects import design_frame
from replic.study import resolve_designs

REF = Path(__file__).parent / "data" / "brms"


@pytest.fixture(scope="module")
def orthodont():
    post = replic.read_draws(REF / "orthodont_draws.csv.gz")
    return dataclasses.replace(post, data=pd.read_csv(REF / "orthodont.csv"))


def _with_data(post, data):
    return dataclasses.replace(post, data=data)


def test_default_keeps_repeated_observations(sleep_post):
    """Trial-level data: 20 trials per condition per subject stay 40 rows (never unique(x))."""
    data = pd.DataFrame({"Subject": np.repeat(np.arange(6), 40),
                         "Days": np.tile([0.0] * 20 + [1.0] * 20, 6), "Reaction": 0.0})
    (d,) = resolve_designs(_with_data(sleep_post, data), [8], "Days")
    assert d.x == (0.0,) * 20 + (1.0,) * 20 and d.label == "k=8, Days 0,1 ×20"
    frame = design_frame(sleep_post, d, "Days")
    assert frame.X.shape == (40, 2) and frame.present is None


def test_differing_subjects_are_resampled_whole(sleep_post):
    """Subjects observed on different days: each new subject is one original subject's pattern,
    drawn once per design (seeded by its key), laid out on the union of distinct patterns."""
    days = {0: [0, 1, 2], 1: [0, 2, 4, 6], 2: [1, 3], 3: [0, 1, 2]}
    data = pd.DataFrame([(s, float(x)) for s, xs in days.items() for x in xs],
                        columns=["Subject", "Days"]).assign(Reaction=0.0)
    post = _with_data(sleep_post, data)
    (d,) = resolve_designs(post, [Design(12)], "Days")
    assert d.within == ORIGINAL and d.label == "k=12, original patterns"
    f = design_frame(post, d, "Days")
    rows = [tuple(f.X[f.present[i], 1]) for i in range(12)]
    assert set(rows) <= {(0, 1, 2), (0, 2, 4, 6), (1, 3)} and len(set(rows)) > 1
    assert f.X.shape[0] == sum(len(r) for r in set(rows))
    again = design_frame(post, d, "Days")
    assert np.array_equal(again.present, f.present)  # the design's key fixes its subjects
    other = design_frame(post, dataclasses.replace(d, k=13), "Days")
    assert other.present.shape == (13, other.X.shape[0])


def test_between_allocation_and_interaction_columns(orthodont):
    (d,) = resolve_designs(orthodont, [Design(9, between={"Sex": {"Female": 0.5,
                                                                  "Male": 0.5}})], "age:SexMale")
    assert d.label == "k=9, age 8,10,12,14, Sex 50/50"
    f = design_frame(orthodont, d, "age:SexMale")
    assert list(f.subjects["Sex"]) == ["Female"] * 5 + ["Male"] * 4  # largest remainder
    assert f.X.shape == (8, 4) and f.present.sum(axis=1).tolist() == [4] * 9
    male = f.present[-1]
    assert np.array_equal(f.X[male], np.column_stack([np.ones(4), [8, 10, 12, 14], np.ones(4),
                                                      [8, 10, 12, 14]]))
    # the realised effect of the interaction: mean Male minus mean Female age deviation
    assert np.allclose(f.realised[:, 1], [-1 / 5] * 5 + [1 / 4] * 4)
    assert np.allclose(f.realised[:, 0], 0, atol=1e-12)


def test_subject_level_covariates_resampled_or_drawn(sleep_post):
    post = dataclasses.replace(sleep_post, fixed=("Intercept", "Days", "base"),
                               b=np.column_stack([sleep_post.b, np.zeros(sleep_post.n_draws)]))
    data = pd.DataFrame({"Subject": np.repeat(np.arange(5), 3), "Days": np.tile([0.0, 1, 2], 5),
                         "base": np.repeat([10.0, 20, 30, 40, 50], 3), "Reaction": 0.0})
    post = _with_data(post, data)
    f = design_frame(post, Design(20, x=[0, 1, 2]), "Days")
    assert set(f.subjects["base"]) <= {10, 20, 30, 40, 50} and f.subjects["base"].nunique() > 1
    g = design_frame(post, Design(20, x=[0, 1, 2], covariates={"base": ("normal", 100, 5)}),
                     "Days")
    assert abs(g.subjects["base"].mean() - 100) < 5
    with pytest.raises(ReplicInputError, match=r"needs variable 'base'"):
        design_frame(dataclasses.replace(post, data=None), Design(4, x=[0, 1]), "Days")


def test_errors(orthodont, sleep_post):
    with pytest.raises(ReplicInputError, match=r"'age' varies within subjects"):
        design_frame(orthodont, Design(4, within={"Sex": ["Male"]}), "age")
    with pytest.raises(ReplicInputError, match=r"not variables of the model"):
        design_frame(sleep_post, Design(4, within={"Days": [0, 1], "Trial": [1, 2]}), "Days")
    with pytest.raises(ReplicInputError, match=r"rank deficient"):
        design_frame(orthodont, Design(4, x=[8, 10], between={"Sex": {"Female": 1.0,
                                                                      "Male": 0.0}}), "age")
    with pytest.raises(ReplicInputError, match=r"level\(s\) Femal are not levels of 'Sex'"):
        design_frame(orthodont, Design(4, between={"Sex": {"Femal": 0.5, "Male": 0.5}}), "age")
    with pytest.raises(ReplicInputError, match=r"factor level such as SexMale"):
        design_frame(dataclasses.replace(orthodont, data=None), Design(4, x=[8, 10]), "age")
    f = design_frame(dataclasses.replace(orthodont, data=None),
                     Design(4, x=[8, 10], between={"Sex": {"Female": 0.5, "Male": 0.5}}), "age")
    assert f.X.shape == (4, 4)


def test_model_spec_and_name_decoder_build_the_same_matrices():
    """A fit with its formula and data builds new subjects through the model specification;
    the same posterior without them through the brms-name decoder: identical matrices."""
    import warnings

    data = pd.read_csv(REF / "orthodont.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", replic.ReplicWarning)  # this fit's k-hat is ~0.76
        post = replic.fit_bayes_fast(data, "distance ~ age * Sex + (age | Subject)", draws=200)
    from replic.newsubjects import model_spec

    assert model_spec(post) is not None
    bare = dataclasses.replace(post, formula=None, spec=None)
    assert model_spec(bare) is None
    d = Design(9, x=[8, 10, 12, 14], between={"Sex": {"Female": 0.5, "Male": 0.5}})
    a, b = design_frame(post, d, "age:SexMale"), design_frame(bare, d, "age:SexMale")
    for name in ("X", "Z", "present", "realised"):
        assert np.array_equal(getattr(a, name), getattr(b, name))
