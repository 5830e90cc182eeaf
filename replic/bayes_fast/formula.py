"""Parse lme4/brms formulas with one grouping factor into model matrices.

``y ~ 1 + x + (1 + x | g)``: the fixed part and the varying part are each expanded with
formulaic; column names follow brms (``Intercept``, ``x``, factor levels as ``xb``).
Supported: one ``( terms | group )`` block, Gaussian response.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from formulaic import Formula

from replic.errors import ReplicInputError

__all__ = ["ModelData", "model_data"]

_RANDOM = re.compile(r"\(([^()|]*)(\|\|?)([^()|]*)\)")


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
    """Model matrices of ``formula`` on ``data`` (rows with missing values are dropped)."""
    if "~" not in formula:
        raise ReplicInputError(f"formula {formula!r}: expected 'y ~ fixed + (terms | group)'")
    lhs, rhs = (s.strip() for s in formula.split("~", 1))
    blocks = _RANDOM.findall(rhs)
    if len(blocks) != 1:
        raise ReplicInputError(f"formula {formula!r}: expected exactly one '(terms | group)' "
                               f"block, found {len(blocks)}")
    terms, bar, group = (s.strip() for s in blocks[0])
    if bar == "||":
        raise ReplicInputError(f"formula {formula!r}: uncorrelated '||' terms are not supported; "
                               "use '|'")
    fixed_rhs = _RANDOM.sub("", rhs).strip().strip("+").strip() or "1"
    fixed_rhs = re.sub(r"\+\s*\+", "+", fixed_rhs)
    needed = [lhs, group]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        raise ReplicInputError(f"formula {formula!r}: column(s) {', '.join(missing)} not in the "
                               f"data (columns: {', '.join(map(str, data.columns))})")
    used = set(needed) | {v for v in re.findall(r"[A-Za-z_.][A-Za-z0-9_.]*",
                                                f"{fixed_rhs} {terms}") if v in data.columns}
    df = data.dropna(subset=sorted(used)).reset_index(drop=True)
    X, fixed = _matrix(fixed_rhs, df, formula)
    Z, varying = _matrix(terms or "1", df, formula)
    y = pd.to_numeric(df[lhs], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise ReplicInputError(f"formula {formula!r}: response {lhs!r} has non-numeric values")
    codes, levels = pd.factorize(df[group].astype(str))
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ReplicInputError(f"formula {formula!r}: the fixed-effect design is rank deficient")
    return ModelData(response=lhs, group=group, y=y, X=X, Z=Z, fixed=fixed, varying=varying,
                     codes=np.asarray(codes), levels=tuple(str(v) for v in levels), data=df)
