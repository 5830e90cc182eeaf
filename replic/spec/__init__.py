"""The model specification: formula, terms, grouping factor, level order, missing-value policy
and names, shared by every engine (``lmm``, ``bayes_fast``, ``stan``) and the simulator.

- :class:`ModelSpec` (frozen): ``ModelSpec.parse(formula)``, ``spec.bind(data)`` ->
  :class:`ModelData`, ``bound_spec.design(rows)`` -> :class:`DesignMatrices` for new subjects;
- :func:`model_data`: parse and bind in one call;
- :mod:`replic.spec.names`: lme4/brms term names and brms parameter names, both ways;
- :mod:`replic.spec.levels`: R's level order.

Model layer: depends on numpy, pandas, formulaic and :mod:`replic.errors` only.
"""

from __future__ import annotations

import pandas as pd

from replic.spec.formula import LmmFormula, parse_formula
from replic.spec.model import DesignMatrices, ModelData, ModelSpec

__all__ = ["DesignMatrices", "LmmFormula", "ModelData", "ModelSpec", "model_data",
           "parse_formula"]


def model_data(data: pd.DataFrame, formula: str | LmmFormula, *,
               source: str = "data") -> ModelData:
    """``ModelSpec.parse(formula).bind(data)``: the matrices of ``formula`` on ``data``."""
    return ModelSpec.parse(formula).bind(data, source=source)
