"""User-defined replication criteria: functions of the replicate table.

A custom criterion is a named function ``f(table) -> array`` of one verdict per row of the
replicate table (:attr:`replic.study.StudyResult.replicates`: ``estimate``, ``se``, ``df``,
``lower``, ``upper``, ``p``, ``true_effect``, ``realised_effect``, the analysis's diagnostics
and every built-in criterion), vectorised and row-wise (a row's verdict depends on that row
only, so a table may be judged in batches).  Verdicts are booleans or 1.0 / 0.0, NaN for "not
judged"; failed fits (and, with ``exclude_unconverged``, unconverged ones) are NaN whatever the
function says.  Their probabilities get the same Monte Carlo standard errors and Wilson
intervals as the built-in criteria (:func:`replic.summarise.criteria_summary`).

Example: the replicate's 95% interval is narrower than 10 (precision), and it lies wholly
above a region of practical equivalence [-2, 2] (a ROPE decision)::

    criteria = {"narrow": lambda t: (t["upper"] - t["lower"]) < 10,
                "beyond_rope": lambda t: t["lower"] > 2.0}
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from replic.criteria import CRITERIA
from replic.errors import ReplicInputError
from replic.summarise import (
    DESIGN_COLUMNS,
    SUMMARY_COLUMNS,
    summary_from_tallies,
    tallies,
    unconverged,
)

__all__ = ["Criterion", "apply_criteria", "check_criteria", "summary_from_file"]

Criterion = Callable[[pd.DataFrame], object]
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RESERVED = {*CRITERIA, *DESIGN_COLUMNS, "rep", "draw", "seed", "design_key", "true_effect",
             "realised_effect", "estimate", "se", "df", "lower", "upper", "p", "error",
             "converged", "flagged", "singular", "subjects", "bf_rep_value",
             "sceptical_p_value", "upper_one_sided"}


def check_criteria(criteria: Mapping[str, Criterion] | None) -> dict[str, Criterion]:
    """Validate ``criteria=``: a mapping of new names to callables (None or {} for none)."""
    if criteria is None:
        return {}
    if not isinstance(criteria, Mapping):
        raise ReplicInputError(f"criteria={criteria!r}; expected a mapping of names to "
                               "functions of the replicate table, e.g. {'narrow': lambda t: "
                               "(t['upper'] - t['lower']) < 10}")
    out = {}
    for name, f in criteria.items():
        if not isinstance(name, str) or not _NAME.match(name):
            raise ReplicInputError(f"criteria: name {name!r}; expected an identifier "
                                   "(letters, digits, underscores)")
        if name in _RESERVED:
            raise ReplicInputError(f"criteria: name {name!r} is taken by a column of the "
                                   "replicate table; choose another name")
        if not callable(f):
            raise ReplicInputError(f"criteria[{name!r}]: expected a function of the replicate "
                                   f"table, got {type(f).__name__}")
        out[name] = f
    return out


def _verdicts(name: str, f: Criterion, table: pd.DataFrame) -> np.ndarray:
    try:
        v = f(table)
    except Exception as exc:  # the user's code: say which criterion failed, and how
        raise ReplicInputError(f"criteria[{name!r}] raised {type(exc).__name__}: {exc}") from None
    try:
        a = np.asarray(v, dtype=float)
    except (TypeError, ValueError):
        raise ReplicInputError(f"criteria[{name!r}]: returned {type(v).__name__} values that "
                               "are not booleans or numbers") from None
    if a.shape != (len(table),):
        raise ReplicInputError(f"criteria[{name!r}]: returned shape {a.shape}; expected one "
                               f"verdict per replicate, shape ({len(table)},)")
    fin = a[np.isfinite(a)]
    if not np.isin(fin, (0.0, 1.0)).all():
        raise ReplicInputError(f"criteria[{name!r}]: returned values other than True/False, "
                               "1/0 or NaN")
    return a


def apply_criteria(table: pd.DataFrame, criteria: Mapping[str, Criterion], *,
                   exclude_unconverged: bool = False) -> pd.DataFrame:
    """``table`` with one float column (1.0 / 0.0 / NaN) per custom criterion."""
    if not criteria:
        return table
    drop = table["error"].astype(str).to_numpy() != ""
    if exclude_unconverged:
        drop |= unconverged(table)
    new = {name: np.where(drop, np.nan, _verdicts(name, f, table))
           for name, f in criteria.items()}
    return table.assign(**new)


def summary_from_file(path: str | Path, criteria: Mapping[str, Criterion], *,
                      exclude_unconverged: bool = False,
                      batch_rows: int = 262_144) -> pd.DataFrame:
    """Summary rows (:data:`~replic.summarise.SUMMARY_COLUMNS`) of custom criteria judged on a
    stored replicate file, one record batch at a time."""
    from replic.parquet_io import iter_replicates  # row group by row group: bounded memory

    names = list(criteria)
    parts = []
    for batch in iter_replicates(path, batch_rows=batch_rows):
        t = apply_criteria(batch, criteria, exclude_unconverged=exclude_unconverged)
        parts += tallies(t, criteria=names)
    if not parts:
        return pd.DataFrame([], columns=SUMMARY_COLUMNS)
    return summary_from_tallies(parts)
