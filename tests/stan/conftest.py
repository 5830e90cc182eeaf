"""Fixtures of the Stan tests: the compiled program (once per session) and one sleepstudy fit.

The first PyStan build of ``lmm.stan`` takes ~90 s and lands in httpstan's cache
(``~/.cache/httpstan``); later sessions load it in a second.  CI should cache that directory.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pandas as pd
import pytest

DATASETS = Path(str(resources.files("replic") / "datasets"))
FORMULA = "Reaction ~ 1 + Days + (1 + Days | Subject)"
HERE = Path(__file__).parent


@pytest.fixture(scope="session")
def sleepstudy() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "sleepstudy.csv")


@pytest.fixture(scope="session")
def brms_draws() -> pd.DataFrame:
    return pd.read_csv(DATASETS / "sleepstudy_brms_draws.csv.gz")


@pytest.fixture(scope="session")
def pystan_model():
    pytest.importorskip("stan", reason="PyStan is not installed")
    from replic.stan.backends import compile_model

    return compile_model(backend="pystan")


@pytest.fixture(scope="session")
def sleepstudy_fit(pystan_model, sleepstudy):
    """brms's settings: 4 chains x 1000 draws after 1000 warm-up (~15 s on 2 cores)."""
    from replic.stan.fit import fit_posterior

    return fit_posterior(sleepstudy, FORMULA, chains=4, warmup=1000, draws=1000, seed=2026,
                         backend="pystan", quiet=True)
