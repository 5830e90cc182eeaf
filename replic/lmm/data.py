"""Model arrays of a one-factor LMM from a data frame, with input checks.

The fixed part and the left-hand side of the random-effects term go through formulaic, so
``y ~ 1 + x + (1 + x | g)`` gives the same columns as lme4 (``Intercept`` for ``(Intercept)``).
Every problem the user can fix is a :class:`~replic.errors.ReplicInputError` naming the column or
argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.lmm.formula import LmmFormula

__all__ = ["LmmArrays", "model_arrays"]


@dataclass(frozen=True, eq=False)
class LmmArrays:
    """Numeric arrays of one data set.

    Attributes
    ----------
    y : ndarray, shape (N,)
    X : ndarray, shape (N, P)
    Z : ndarray, shape (N, q)
    group : ndarray of int, shape (N,)
        Code of each row's level in ``levels``.
    levels : tuple of str
    fixed_names, random_names : tuple of str
    """

    y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    group: np.ndarray
    levels: tuple[str, ...]
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]


def _matrix(rhs: str, data: pd.DataFrame, what: str, formula: str) -> tuple[np.ndarray, tuple]:
    import formulaic

    try:
        spec = formulaic.Formula(rhs)
        for var in sorted(spec.required_variables):
            if var not in data.columns:
                raise ReplicInputError(f"formula={formula!r}: column {var!r} ({what}) is not in "
                                       f"the data; columns are {', '.join(map(str, data.columns))}")
        mm = formulaic.model_matrix(rhs, data, na_action="raise")
    except ReplicInputError:
        raise
    except Exception as exc:  # formulaic's own errors: report them as input errors
        raise ReplicInputError(f"formula={formula!r}: cannot build the {what} design from "
                               f"{rhs!r}: {exc}") from None
    return np.asarray(mm, dtype=float), tuple(str(c) for c in mm.columns)


def model_arrays(data: pd.DataFrame, spec: LmmFormula) -> LmmArrays:
    """Build and check the arrays of ``spec`` on ``data``.

    Raises
    ------
    ReplicInputError
        ``data`` not a DataFrame; a missing column; a non-numeric response; a missing value in
        a used column; a grouping factor with fewer than two levels; fewer observations than
        parameters; a rank-deficient fixed-effect design.
    """
    if not isinstance(data, pd.DataFrame):
        raise ReplicInputError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    for col, role in ((spec.response, "response"), (spec.group, "grouping factor")):
        if col not in data.columns:
            raise ReplicInputError(f"formula={spec.text!r}: column {col!r} ({role}) is not in "
                                   f"the data; columns are {', '.join(map(str, data.columns))}")
    import formulaic

    used = {spec.response, spec.group}
    for rhs in (spec.fixed, spec.random):
        try:
            used |= {v for v in formulaic.Formula(rhs).required_variables if v in data.columns}
        except Exception:  # unparsable: _matrix reports it
            pass
    for col in sorted(used):
        if data[col].isna().any():
            raise ReplicInputError(f"column {col!r} has {int(data[col].isna().sum())} missing "
                                   "value(s); drop or impute them before fitting")
    if not pd.api.types.is_numeric_dtype(data[spec.response]) or pd.api.types.is_bool_dtype(
            data[spec.response]):
        raise ReplicInputError(f"column {spec.response!r} (response): expected numbers, got "
                               f"dtype {data[spec.response].dtype}")
    y = data[spec.response].to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise ReplicInputError(f"column {spec.response!r} (response) has non-finite values")
    X, fixed_names = _matrix(spec.fixed, data, "fixed-effect", spec.text)
    Z, random_names = _matrix(spec.random, data, "random-effect", spec.text)
    codes, levels = pd.factorize(data[spec.group], sort=True)
    if len(levels) < 2:
        raise ReplicInputError(f"column {spec.group!r} (grouping factor) has {len(levels)} "
                               "level(s); a mixed model needs at least 2")
    n_par = X.shape[1] + Z.shape[1] * (Z.shape[1] + 1) // 2 + 1
    if y.size <= n_par:
        raise ReplicInputError(f"data: {y.size} observations for {n_par} parameters; need more "
                               "observations than parameters")
    n_re = Z.shape[1] * len(levels)
    if y.size <= n_re:
        raise ReplicInputError(f"data: {y.size} observations for {n_re} random effects "
                               f"({Z.shape[1]} per level of {spec.group!r}); lme4 refuses such "
                               "fits, and so does replic")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ReplicInputError(f"formula={spec.text!r}: the fixed-effect design "
                               f"({', '.join(fixed_names)}) is rank deficient")
    return LmmArrays(y=y, X=X, Z=Z, group=codes.astype(int),
                     levels=tuple(str(v) for v in levels), fixed_names=fixed_names,
                     random_names=random_names)
