"""Level order as R gives it (tests/r/spec_reference.R)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from replic.spec.levels import level_label, r_levels, r_sort_key


def test_strings_sort_as_r_sorts_them(collation):
    shuffled = collation["value"].sample(frac=1.0, random_state=3).tolist()
    assert sorted(shuffled, key=r_sort_key) == collation["value"].tolist()


def test_numbers_sort_numerically_and_print_as_r():
    assert r_levels(pd.Series([10, 9, 100, np.nan, 9])) == (9.0, 10.0, 100.0)
    assert [level_label(v) for v in r_levels(pd.Series([10, 9, 100]))] == ["9", "10", "100"]
    assert r_levels(pd.Series([True, False])) == (False, True)
    assert level_label(True) == "TRUE" and level_label(2.5) == "2.5"


def test_categoricals_keep_their_order_and_drop_unused():
    col = pd.Series(pd.Categorical(["lo", "hi", "lo"], categories=["mid", "lo", "hi"]))
    assert r_levels(col) == ("lo", "hi")
