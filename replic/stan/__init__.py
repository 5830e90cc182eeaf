"""Bayesian fits of replic's Gaussian LMM with Stan (PyStan or CmdStan), brms-equivalent.

Heavy libraries (PyStan, cmdstanpy, arviz, formulaic) are imported only when a function here is
called, so ``import replic`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "StanData",
    "compile_model",
    "fit_draws",
    "fit_posterior",
    "program_code",
    "stan_data",
]

_WHERE = {"fit_posterior": "replic.stan.fit", "fit_draws": "replic.stan.fit",
          "compile_model": "replic.stan.backends", "stan_data": "replic.stan.data",
          "StanData": "replic.stan.data", "program_code": "replic.stan.program"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'replic.stan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
