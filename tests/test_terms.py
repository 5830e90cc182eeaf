"""brms-named coefficients decoded into columns of new subjects' rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic.errors import ReplicInputError
from replic.terms import TermMap, variable_kinds

NAMES = ("Intercept", "age", "SexMale", "age:SexMale")


def _map(names=NAMES, **levels):
    numeric, factors = variable_kinds(pd.DataFrame({"age": [8.0]}),
                                      levels=levels or {"Sex": ["Female", "Male"]})
    return TermMap.build(names, numeric=numeric, factors=factors)


def test_matrix_matches_treatment_contrasts():
    rows = pd.DataFrame({"age": [8.0, 10.0, 8.0, 14.0], "Sex": ["Female", "Female", "Male",
                                                                "Male"]})
    X = _map().matrix(rows)
    want = np.column_stack([np.ones(4), rows["age"], [0, 0, 1, 1], rows["age"] * [0, 0, 1, 1]])
    assert np.array_equal(X, want)
    assert _map().variables == ("age", "Sex")


def test_weights_of_a_term_at_covariate_values():
    m = _map()
    assert list(m.weights("age")) == [0, 1, 0, 0]
    assert list(m.weights("age", {"Sex": "Male"})) == [0, 1, 0, 1]
    assert list(m.weights("SexMale", {"age": 12})) == [0, 0, 1, 12]
    assert list(m.weights("Intercept", {"Sex": "Male", "age": 2})) == [1, 2, 1, 2]
    assert list(m.weights("age:SexMale")) == [0, 0, 0, 1]
    assert m.depends_on("age") == ("Sex",)


def test_level_names_as_brms_writes_them():
    numeric, factors = variable_kinds(pd.DataFrame({"Type": ["T 1", "T 2"]}))
    m = TermMap.build(("Intercept", "TypeT2"), numeric=numeric, factors=factors)
    assert np.array_equal(m.matrix(pd.DataFrame({"Type": ["T 1", "T 2"]}))[:, 1], [0, 1])


def test_errors_name_the_term():
    with pytest.raises(ReplicInputError, match=r"'Sx'"):
        _map().weights("age", {"Sx": "Male"})
    with pytest.raises(ReplicInputError, match=r"term 'agex' is not a coefficient"):
        _map().weights("agex")
    with pytest.raises(ReplicInputError, match=r"needs variable 'Sex'"):
        _map().matrix(pd.DataFrame({"age": [1.0]}))
    with pytest.raises(ReplicInputError, match=r"'age'.*expected finite numbers"):
        _map().matrix(pd.DataFrame({"age": ["old"], "Sex": ["Male"]}))
    numeric, factors = variable_kinds(levels={"Sex": ["Female", "Male"], "Se": ["xMale"]})
    with pytest.raises(ReplicInputError, match=r"could be"):
        TermMap.build(("SexMale",), numeric=numeric, factors=factors)
