"""Designs: identity (key), labels, allocation rule, canonical templates, validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic.design import Design, allocate
from replic.errors import ReplicInputError


def test_keys_of_k_and_x_designs_are_unchanged():
    """Designs given by k and x keep the keys (seeds) they had before templates existed."""
    assert Design(8, x=range(4)).key == 1091867941
    assert Design(8, x=range(10)).key == 236616960


def test_everything_that_defines_a_design_changes_its_key_and_label():
    base = Design(8, x=[0, 1] * 20)
    others = [Design(9, x=[0, 1] * 20), Design(8, x=[0, 1] * 10),
              Design(8, within={"cond": [0, 1] * 20}),
              Design(8, x=[0, 1] * 20, between={"Sex": {"Female": 0.5, "Male": 0.5}}),
              Design(8, x=[0, 1] * 20, between={"Sex": {"Female": 0.25, "Male": 0.75}}),
              Design(8, x=[0, 1] * 20, covariates={"base": ("normal", 0, 1)}),
              Design(8, x=[0, 1] * 20, missing=0.1), Design(8, x=[0, 1] * 20, params="mean"),
              Design(8, within="original"), Design(8, within=3)]
    assert len({d.key for d in [base, *others]}) == 1 + len(others)
    assert len({d.label for d in [base, *others]}) == 1 + len(others)
    # not part of the identity: the name shown, row order of a template
    assert Design(8, x=[0, 1] * 20, name="trials").key == base.key
    assert Design(8, within={"a": [1, 0], "b": [2, 3]}).key == \
        Design(8, within=pd.DataFrame({"b": [3, 2], "a": [0, 1]})).key


def test_labels():
    assert Design(8, x=range(4)).with_x_name("Days").label == "k=8, Days 0–3"
    assert Design(16, x=range(4), between={"Sex": {"Male": 0.5, "Female": 0.5}}
                  ).with_x_name("Days").label == "k=16, Days 0–3, Sex 50/50"
    assert Design(10, x=[0] * 20 + [1] * 20).with_x_name("cond").family == "cond 0,1 ×20"
    assert Design(10, x=[0, 0, 1]).with_x_name("cond").family == "cond 0,1 (3 rows)"
    assert Design(4, between={"G": {"a": 0.25, "b": 0.75}}, within=2).family == \
        "2 obs, G a 0.25/b 0.75"
    assert Design(4, x=[1, 2], name="pilot").label == "pilot"


@pytest.mark.parametrize(("k", "p", "want"), [
    (9, [0.5, 0.5], [5, 4]), (10, [0.5, 0.5], [5, 5]), (10, [1 / 3] * 3, [4, 3, 3]),
    (7, [0.2, 0.3, 0.5], [1, 2, 4]), (5, [0.1, 0.9], [1, 4]), (3, [0.0, 1.0], [0, 3])])
def test_largest_remainder_allocation(k, p, want):
    got = allocate(k, p)
    assert list(got) == want and got.sum() == k


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"x": [1, 2], "within": {"a": [1]}}, "not both"),
    ({"within": {"a": [1, 2], "b": [1]}}, "different lengths"),
    ({"within": {"a": [1, "x"]}}, "mixes numbers and text"),
    ({"within": 0}, "positive number"),
    ({"between": {"Sex": {"F": 0.6, "M": 0.6}}}, "summing to 1"),
    ({"between": {"Sex": {"F": 1.0}}}, "at least two levels"),
    ({"covariates": {"b": ("normal", 0, -1)}}, "expected \\('normal'"),
    ({"covariates": {"b": ("normal", 0, 1)}, "between": {"b": {"x": .5, "y": .5}}}, "both"),
])
def test_validation(kwargs, match):
    with pytest.raises(ReplicInputError, match=match):
        Design(4, **kwargs)


def test_canonical_forms_round_trip():
    import dataclasses

    d = Design(6, within={"a": [2, 1]}, between={"G": {"x": 0.5, "y": 0.5}},
               covariates={"c": {"uniform": [0, 1]}}, params={"b_x": 1.0})
    again = dataclasses.replace(d, k=7)
    assert (again.within, again.between, again.covariates, again.params) == \
        (d.within, d.between, d.covariates, d.params)
    assert np.isclose(dict(dict(d.between)["G"])["x"], 0.5)
