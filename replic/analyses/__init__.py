"""Analyses of replicates: ``summary``, ``reml``, ``stan``, ``bayes-fast``, ``glmm``.

An analysis is a small object with

- ``name`` (str) and ``representation`` (``"moments"`` or ``"full"``, see :mod:`replic.simulate`);
- ``prepare(posterior, frame, options) -> context``: once per study, in the parent process
  (compile a model, compute priors); the context must be picklable;
- ``run(reps, context) -> dict[str, ndarray]``: vectorised over the replicates of one
  :class:`~replic.simulate.Replicates` batch.  Required columns, each of length ``reps.n``:
  ``estimate``, ``se``, ``lower``, ``upper`` (95% interval), ``p`` (two-sided p-value, or for a
  Bayesian analysis ``2 * min(P(effect > 0), P(effect < 0))``), ``error`` (object array, ``""``
  when the fit succeeded; failed replicates carry the message and NaN estimates).  Optional:
  ``df``, ``converged``, ``singular``, ``prob_positive``, ``rhat``, ``ess_bulk``,
  ``divergences``, ``khat``, ...

Analyses are looked up by name and imported lazily, so heavy engines cost nothing unless used.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import numpy as np

from replic.chunk import failed_columns
from replic.errors import ReplicInputError

__all__ = ["ANALYSES", "FAMILIES", "Analysis", "check_family", "failed_columns",
           "get_analysis"]

ANALYSES = {
    "summary": "replic.analyses.summary",
    "reml": "replic.analyses.reml",
    "stan": "replic.analyses.stan",
    "bayes-fast": "replic.analyses.bayes_fast",
    "glmm": "replic.analyses.glmm",
}

#: The model families each analysis handles (:class:`replic.family.Family` names); an analysis
#: refuses the others through :func:`check_family` in its ``prepare``.
FAMILIES: dict[str, tuple[str, ...]] = {
    "summary": ("gaussian",),
    "reml": ("gaussian",),
    "stan": ("gaussian", "bernoulli", "binomial", "poisson"),
    "bayes-fast": ("gaussian",),
    "glmm": ("bernoulli", "binomial", "poisson"),
}


class Analysis(Protocol):
    name: str
    representation: str

    def prepare(self, posterior: Any, frame: Any, options: dict) -> Any: ...

    def run(self, reps: Any, context: Any) -> dict[str, np.ndarray]: ...


def get_analysis(name: str) -> Analysis:
    """The analysis called ``name``; a clear error for unknown names."""
    if name not in ANALYSES:
        raise ReplicInputError(f"analysis={name!r}; expected one of {', '.join(ANALYSES)}")
    try:
        module = importlib.import_module(ANALYSES[name])
    except ModuleNotFoundError as exc:
        raise ReplicInputError(f"analysis={name!r} is not available: {exc}") from None
    return module.ANALYSIS


def check_family(name: str, family: Any) -> None:
    """Refuse a model family analysis ``name`` does not handle, naming the analyses that do.

    Raises
    ------
    ReplicInputError
        ``analysis 'summary' handles gaussian models only; the model is bernoulli(logit): use
        analysis glmm or stan``.
    """
    fam = getattr(family, "name", family)
    if fam in FAMILIES.get(name, ("gaussian",)):
        return
    able = [a for a, fams in FAMILIES.items() if fam in fams]
    use = f"use analysis {' or '.join(able)}" if able else \
        "no analysis of replicates handles it yet"
    raise ReplicInputError(f"analysis {name!r} handles "
                           f"{', '.join(FAMILIES.get(name, ('gaussian',)))} models only; the "
                           f"model is {family}: {use}")
