"""Parse lme4/brms formulas with one grouping factor into model matrices.

``y ~ 1 + x + (1 + x | g)``: the fixed part and the varying part are each expanded with
formulaic; column names follow brms (``Intercept``, ``x``, factor levels as ``xb``).
Supported: one ``( terms | group )`` block, Gaussian response.  Parsing is
:func:`replic.lmm.parse_formula`'s; the matrices are built here because bayes-fast follows brms
(drops incomplete rows, brms names for factor levels) where :mod:`replic.lmm` follows lme4.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import Formula

from replic.errors import ReplicInputError
from replic.lmm import parse_formula

__all__ = ["ModelData", "model_data"]


@dataclass(frozen=True, eq=False)
class ModelData:
    """A data set's response, designs and groups.

    Attributes
    ----------
    response, group : str
    y : ndarray, shape (N,)
    X : ndarray, shape (N, P)
    Z : ndarray, shape (N, Q)
    fixed, varying : tuple of str
        brms names of the columns of ``X`` and ``Z``.
    codes : ndarray of int, shape (N,)
        Group of each row, indexing ``levels``.
    levels : tuple of str
    data : DataFrame
        The rows used (complete cases).
    """

    response: str
    group: str
    y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    fixed: tuple[str, ...]
    varying: tuple[str, ...]
    codes: np.ndarray
    levels: tuple[str, ...]
    data: pd.DataFrame


def _brms_name(name: str) -> str:
    m = re.fullmatch(r"(.+)\[T\.(.+)\]", name)
    return f"{m[1]}{m[2]}" if m else name


def _matrix(rhs: str, data: pd.DataFrame, formula: str) -> tuple[np.ndarray, tuple[str, ...]]:
    try:
        mm = Formula(rhs).get_model_matrix(data, na_action="raise")
    except Exception as exc:  # formulaic raises several types for bad terms
        raise ReplicInputError(f"formula {formula!r}: cannot build the terms {rhs!r}: "
                               f"{exc}") from None
    return mm.to_numpy(dtype=float), tuple(_brms_name(str(c)) for c in mm.columns)


def model_data(data: pd.DataFrame, formula: str) -> ModelData:
    """Model matrices of ``formula`` on ``data``; rows with missing values are dropped (as brms
    does).  The formula is parsed by :func:`replic.lmm.parse_formula` (lme4 syntax)."""
    spec = parse_formula(formula)
    if not isinstance(data, pd.DataFrame):
        raise ReplicInputError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    missing = [c for c in (spec.response, spec.group) if c not in data.columns]
    if missing:
        raise ReplicInputError(f"formula {formula!r}: column(s) {', '.join(missing)} not in the "
                               f"data (columns: {', '.join(map(str, data.columns))})")
    used = {spec.response, spec.group} | {
        v for v in re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*", f"{spec.fixed} {spec.random}")
        if v in data.columns}
    df = data.dropna(subset=sorted(used)).reset_index(drop=True)
    X, fixed = _matrix(spec.fixed, df, formula)
    Z, varying = _matrix(spec.random, df, formula)
    y = pd.to_numeric(df[spec.response], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise ReplicInputError(f"formula {formula!r}: response {spec.response!r} has "
                               "non-numeric values")
    codes, levels = pd.factorize(df[spec.group].astype(str))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ReplicInputError(f"formula {formula!r}: the fixed-effect design is rank deficient")
    return ModelData(response=spec.response, group=spec.group, y=y, X=X, Z=Z, fixed=fixed,
                     varying=varying, codes=np.asarray(codes),
                     levels=tuple(str(v) for v in levels), data=df)
