"""The response of a model: its family, its values and, for a binomial model, its trials.

A binomial response is written ``successes | trials(n)`` (brms; ``n`` a column or a number) or
``cbind(successes, failures)`` (lme4); :func:`replic.spec.formula.parse_formula` reads which, and
this module turns it into numbers: each row's trials (``n``, or successes + failures), checked to
be non-negative integers.  :func:`response_family` settles the family a formula is fitted in (a
trials or cbind response implies ``binomial`` and refuses any other family);
:func:`response_values` reads the response of the complete rows and the family's checks
(:meth:`replic.family.Family.check_response`: 0/1, counts, successes up to the trials) apply to
it and its trials.

Model layer: depends on numpy, pandas, :mod:`replic.family` and :mod:`replic.errors` only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.family import Family
from replic.spec.formula import LmmFormula

__all__ = ["check_trials_given", "read_trials", "response_family", "response_values",
           "trials_columns"]


def response_family(formula: LmmFormula, family: str | Family | None = None,
                    link: str | None = None) -> Family:
    """The family ``formula`` is fitted in: ``family`` with ``link`` (default: the family's
    first), or binomial for a ``cbind``/``trials`` response when ``family`` is None.

    Raises
    ------
    ReplicInputError
        An unknown family or link, or a binomial response with another family.
    """
    if family is None and formula.binomial:
        family = "binomial"
    fam = Family.of(family, link=link)
    if formula.binomial and fam.name != "binomial":
        raise ReplicInputError(f"formula={formula.text!r}: a cbind(...) or trials(...) response "
                               f"is binomial, but family={fam.name!r}")
    return fam


def trials_columns(response: str, trials: str | int | None,
                   failures: str | None) -> tuple[str, ...]:
    """Data columns the binomial trials come from: ``trials(n)``'s column, or cbind's
    successes (``response``) and failures; empty for a fixed number of trials or none."""
    if isinstance(trials, str):
        return (trials,)
    return (response, failures) if failures else ()


def check_trials_given(formula: str, family: Family, trials: str | int | None,
                       failures: str | None, columns: pd.Index, source: str) -> tuple[str, ...]:
    """The trials columns a data set must hold besides the response (checked to be there).

    Raises
    ------
    ReplicInputError
        A trials or failures column missing from ``columns``, or a binomial ``family`` whose
        formula does not say where its trials come from.
    """
    extra = tuple(c for c in (failures, trials) if isinstance(c, str))
    for col in extra:
        if col not in columns:
            raise ReplicInputError(f"formula={formula!r}: column {col!r} (binomial trials) is "
                                   f"not in the {source}; columns are "
                                   f"{', '.join(map(str, columns))}")
    if family.needs_trials and trials is None and failures is None:
        raise ReplicInputError(f"formula={formula!r}: a binomial model needs its trials; write "
                               "successes | trials(n) (brms) or cbind(successes, failures) "
                               "(lme4)")
    return extra


def response_values(data: pd.DataFrame, rows: pd.DataFrame, response: str, used: list[str],
                    source: str) -> np.ndarray:
    """The response of the complete ``rows`` of ``data`` as floats.

    Raises
    ------
    ReplicInputError
        A non-numeric (or boolean) response column, no complete rows (in the ``used``
        columns), or a non-finite response value.
    """
    resp = rows[response]
    if not pd.api.types.is_numeric_dtype(resp) or pd.api.types.is_bool_dtype(resp):
        raise ReplicInputError(f"column {response!r} (response): expected numbers, got "
                               f"dtype {data[response].dtype}")
    if rows.empty:
        raise ReplicInputError(f"{source}: no complete rows in the columns {used}")
    y = resp.to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise ReplicInputError(f"column {response!r} (response) has non-finite values")
    return y


def read_trials(rows: pd.DataFrame, response: str, trials: str | int | None,
                failures: str | None, where: str) -> np.ndarray | None:
    """Binomial trials of ``rows``: ``trials(n)``'s number or column, or cbind's successes +
    failures; None when the model has no trials or ``rows`` lack their columns.

    Raises
    ------
    ReplicInputError
        A trials (or successes/failures) value that is not a non-negative integer.
    """
    if isinstance(trials, int):
        return np.full(len(rows), float(trials))
    cols = trials_columns(response, trials, failures)
    if not cols or not all(c in rows.columns for c in cols):
        return None
    parts = []
    for c in cols:
        v = pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=float)
        if not np.all(np.isfinite(v) & (v >= 0) & (v == np.round(v))):
            raise ReplicInputError(f"{where}: column {c!r} (binomial trials) must hold "
                                   "non-negative integers")
        parts.append(v)
    return parts[0] if len(parts) == 1 else parts[0] + parts[1]
