"""Bad inputs to fit_lmm raise ReplicInputError naming the column or argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from replic.errors import ReplicInputError
from replic.lmm import fit_lmm, parse_formula


@pytest.fixture
def data() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    g = np.repeat(np.arange(6), 5)
    x = np.tile(np.arange(5.0), 6)
    y = 2 + 0.5 * x + rng.normal(size=6)[g] + rng.normal(size=30)
    return pd.DataFrame({"y": y, "x": x, "g": [f"s{i}" for i in g]})


@pytest.mark.parametrize(("formula", "match"), [
    ("y ~ x", "exactly one random-effects term"),
    ("y ~ x + (1 | g) + (0 + x | g)", "exactly one random-effects term"),
    ("y ~ x + (1 + x || g)", "'\\|\\|'"),
    ("y ~ x + (1 | g:h)", "grouping factor 'g:h'"),
    ("y + 1 ~ x + (1 | g)", "response"),
    ("y x (1 | g)", "formula="),
    ("y ~ x + ( | g)", "expected a term, found '|'"),  # the formula grammar
])
def test_bad_formula(data, formula, match):
    with pytest.raises(ReplicInputError, match=match):
        fit_lmm(data, formula)


def test_formula_variants():
    f = parse_formula("y ~ 1 + x + (1 + x | g)")
    assert (f.response, f.fixed, f.random, f.group) == ("y", "1 + x", "1 + x", "g")
    assert parse_formula("y ~ (1|g)").fixed == "1"
    assert parse_formula("y~(0 + x|g)+x").fixed == "x"


def test_missing_columns(data):
    with pytest.raises(ReplicInputError, match="column 'z'"):
        fit_lmm(data, "y ~ x + z + (1 | g)")
    with pytest.raises(ReplicInputError, match=r"column 'w'.*random"):
        fit_lmm(data, "y ~ x + (1 + w | g)")
    with pytest.raises(ReplicInputError, match="column 'h' \\(grouping factor\\)"):
        fit_lmm(data, "y ~ x + (1 | h)")
    with pytest.raises(ReplicInputError, match="column 'r' \\(response\\)"):
        fit_lmm(data, "r ~ x + (1 | g)")


def test_non_numeric_response(data):
    data["y"] = data["y"].astype(str)
    with pytest.raises(ReplicInputError, match="column 'y' \\(response\\): expected numbers"):
        fit_lmm(data, "y ~ x + (1 | g)")


@pytest.mark.parametrize("col", ["y", "x", "g"])
def test_nan_in_used_column_drops_the_row(data, col):
    data.loc[3, col] = np.nan
    fit = fit_lmm(data, "y ~ x + (1 | g)")
    ref = fit_lmm(data.drop(index=3), "y ~ x + (1 | g)")
    assert (fit.n_obs, fit.n_dropped, ref.n_dropped) == (29, 1, 0)
    assert fit.fixed.equals(ref.fixed)


def test_nan_in_unused_column_is_fine(data):
    data["other"] = np.nan
    assert fit_lmm(data, "y ~ x + (1 | g)").converged


def test_one_level(data):
    data["g"] = "only"
    with pytest.raises(ReplicInputError, match="column 'g' \\(grouping factor\\) has 1 level"):
        fit_lmm(data, "y ~ x + (1 | g)")


def test_too_few_observations(data):
    with pytest.raises(ReplicInputError, match="5 observations for 6 parameters"):
        fit_lmm(data.iloc[[0, 1, 5, 6, 10]], "y ~ x + (1 + x | g)")


def test_rank_deficient_fixed_design(data):
    data["x2"] = 2 * data["x"]
    with pytest.raises(ReplicInputError, match="rank deficient"):
        fit_lmm(data, "y ~ x + x2 + (1 | g)")


def test_not_a_data_frame(data):
    with pytest.raises(ReplicInputError, match="data: expected a pandas DataFrame"):
        fit_lmm(data.to_dict(), "y ~ x + (1 | g)")


def test_as_many_random_effects_as_observations(data):
    small = data.groupby("g").head(2)                  # 12 rows, 6 levels x 2 random effects
    with pytest.raises(ReplicInputError, match="12 observations for 12 random effects"):
        fit_lmm(small, "y ~ x + (1 + x | g)")


def test_exposed_at_top_level():
    import replic

    assert replic.fit_lmm is fit_lmm
