"""Factor levels in the order R gives them, and their labels as R prints them.

R (``factor()``, and lme4/brms on character columns) sorts the distinct values of a column:
numbers numerically, strings by the collation of the locale.  R 4.2 collates with ICU in every
locale except ``C``/``POSIX``; the ICU root order (what a UTF-8 R session uses for ASCII labels)
compares, character by character, whitespace < punctuation < symbols < digits < letters, letters
case-insensitively first (``a A b B``) and only then lower case before upper case, digits as
characters (``T10 < T2``), accents after the letter (``e < é < f``).  :func:`r_sort_key` is that
order; ``tests/r/spec_reference.R`` checks it against R.  A pandas ``Categorical`` keeps its own
category order (an R factor with explicit levels); unused categories are dropped as lme4 does.
:func:`as_factors` gives a data set's factors a model's levels, refusing levels it did not have.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.formula_grammar import factor_calls

__all__ = ["as_factors", "called_factors", "is_categorical", "level_label", "r_levels",
           "r_sort_key"]

# ICU root (CLDR) primary order of the ASCII whitespace, punctuation and symbols
_ASCII_ORDER = "\t\n\v\f\r " + "_-,;:!?.'\"()[]{}@*/\\&#%`^+<=>|~$"
_RANK = {c: i for i, c in enumerate(_ASCII_ORDER)}


def _primary(c: str) -> tuple[int, int]:
    if c in _RANK:
        return (0, _RANK[c])
    if c.isdigit():
        return (2, int(unicodedata.digit(c, 0)))
    base = unicodedata.normalize("NFD", c)[0]
    if base.isalpha():
        return (3, ord(base.casefold()[0]))
    if unicodedata.category(c).startswith(("Z", "P", "S")):
        return (1, ord(c))
    return (4, ord(c))


def r_sort_key(text: str) -> tuple:
    """Sort key giving R's (ICU root) collation order of strings.

    Primary: base characters, case-insensitive; secondary: accents; tertiary: lower case
    before upper case.
    """
    chars = list(str(text))
    primary = tuple(_primary(c) for c in chars)
    secondary = tuple(len(unicodedata.normalize("NFD", c)) for c in chars)
    tertiary = tuple(0 if not c.isupper() else 1 for c in chars)
    return (primary, secondary, tertiary)


def is_categorical(col: pd.Series) -> bool:
    """True for columns R treats as factors: character, factor (categorical) and logical."""
    return not pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col)


def level_label(value: object) -> str:
    """A level as R prints it: ``1`` for 1.0, ``TRUE``/``FALSE`` for booleans."""
    if isinstance(value, bool | np.bool_):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def r_levels(col: pd.Series) -> tuple:
    """The distinct non-missing values of ``col`` in R's factor order (original values).

    Categorical columns keep their category order (unused categories dropped); numbers and
    booleans sort numerically (``FALSE < TRUE``); everything else sorts as R collates strings.
    """
    present = col.dropna()
    if isinstance(col.dtype, pd.CategoricalDtype):
        used = set(present.unique())
        return tuple(c for c in col.cat.categories if c in used)
    values = list(pd.unique(present))
    if pd.api.types.is_numeric_dtype(col) or pd.api.types.is_bool_dtype(col):
        return tuple(sorted(values))
    return tuple(sorted(values, key=lambda v: r_sort_key(level_label(v))))


def as_factors(df: pd.DataFrame, factors: tuple[tuple[str, tuple], ...], *,
               where: str = "data") -> pd.DataFrame:
    """A copy of ``df`` with each variable of ``factors`` (name, levels in R's order) as a
    Categorical of those levels (booleans as ``TRUE``/``FALSE``).

    Raises
    ------
    ReplicInputError
        A value of a factor that is not one of its levels, naming ``where`` and the column.
    """
    out = df.copy()
    for var, levels in factors:
        col = out[var]
        if pd.api.types.is_bool_dtype(col):
            col = col.map(level_label)
            levels = tuple(level_label(v) for v in levels)
        unknown = set(col.unique()) - set(levels)
        if unknown:
            raise ReplicInputError(f"{where}: column {var!r} has level(s) "
                                   f"{', '.join(sorted(map(str, unknown)))} that the model's "
                                   f"data did not have (levels: {', '.join(map(str, levels))})")
        out[var] = pd.Categorical(col, categories=list(levels))
    return out


def called_factors(df: pd.DataFrame, rhs: str) -> pd.DataFrame:
    """``df`` with the numeric columns that ``rhs`` wraps in ``factor()``/``C()`` as integers
    where every value is a whole number, so their levels are labelled as R labels them (``2``,
    not ``2.0``: a column read with a missing value is float until its rows are dropped)."""
    out = df
    for var in dict.fromkeys(v.strip("`") for _, v in factor_calls(rhs)):
        col = df[var] if var in df.columns else None
        if col is not None and pd.api.types.is_float_dtype(col) and col.notna().all() and \
                np.all(np.mod(col.to_numpy(), 1) == 0) and np.all(np.abs(col) < 2**53):
            out = out.copy() if out is df else out
            out[var] = col.astype(np.int64)
    return out
