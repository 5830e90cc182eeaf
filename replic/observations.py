"""How new subjects are observed when a design does not say: like the original subjects.

Never ``unique(x)``: a subject observed 20 times per condition stays observed 20 times per
condition.  When every original subject has the same rows (the same multiset of values of the
model's within-subject variables), that pattern is the design's template (``x`` for one
variable); when they differ, the design resamples whole original subjects
(``within="original"``, seeded by the design's key, see :mod:`replic.newsubjects`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from replic.design import ORIGINAL, Design
from replic.errors import ReplicInputError
from replic.terms import TermMap, variable_kinds

__all__ = ["default_observations", "within_variables"]


def within_variables(posterior, design: Design) -> list[str]:
    """The model's variables that vary within the original subjects (not given as
    between-subject variables or covariates by ``design``)."""
    data, group = posterior.data, posterior.group
    numeric, factors = variable_kinds(data, levels={v: [lv for lv, _ in levels]
                                                    for v, levels in design.between})
    names = [*posterior.fixed, *posterior.varying]
    used = TermMap.build(names, numeric=numeric, factors=factors, where="model").variables
    given = {v for v, _ in design.between} | {v for v, _ in design.covariates}
    out = []
    for v in used:
        if v in given:
            continue
        if v not in data.columns:
            raise ReplicInputError(f"the model's variable {v!r} is not a column of the original "
                                   "data")
        if data.groupby(group, sort=False)[v].nunique(dropna=False).max() > 1:
            out.append(v)
    return out


def default_observations(posterior, design: Design, term: str) -> Design:
    """``design`` observed like the original subjects (see the module docstring)."""
    data = getattr(posterior, "data", None)
    if data is None or posterior.group not in data.columns:
        raise ReplicInputError(f"Design(k={design.k}): say how each new subject is observed: x "
                               f"(the values of {term!r}) or within (one subject's rows, or their "
                               "number for a model without within-subject variables), because "
                               "the posterior does not carry its data")
    cols = within_variables(posterior, design)
    patterns = set()
    first = None
    for _, rows in data.groupby(posterior.group, sort=False):
        r = rows[cols]
        key = (len(r), r.sort_values(cols).to_csv(index=False) if cols else "")
        patterns.add(key)
        first = r if first is None else first
    if len(patterns) > 1:
        return replace(design, within=ORIGINAL)
    if not cols:
        return replace(design, within=len(first))
    template = first.reset_index(drop=True)
    if len(cols) == 1 and pd.api.types.is_numeric_dtype(template[cols[0]]):
        return replace(design, x=tuple(np.asarray(template[cols[0]], dtype=float)))
    from replic.design import _within

    return replace(design, within=_within(template))
