"""Fixtures of the Stan tests: the compiled program (once per session) and one sleepstudy fit.

Tests that take ``backend`` (or ``stan_model``, ``sleepstudy_fit``) run once per Stan backend,
``pystan`` and ``cmdstan``.  A backend that is not installed is skipped with the reason -- unless
``REPLIC_REQUIRE_CMDSTAN=1`` (set by CI, which builds CmdStan), where a missing CmdStan fails.

The first PyStan build of ``lmm.stan`` takes ~90 s and lands in httpstan's cache
(``~/.cache/httpstan``); the first CmdStan build ~60 s (``~/.cache/replic/stan``); later
sessions load them in a second.
"""

from __future__ import annotations

import importlib.util
import os
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


BACKENDS = ("pystan", "cmdstan")


def backend_missing(name: str) -> str | None:
    """Why Stan backend ``name`` cannot run here, or None when it can."""
    if name == "pystan":
        return None if importlib.util.find_spec("stan") else "PyStan is not installed"
    from replic.stan.cmdstan_backend import cmdstan_available

    ok, why = cmdstan_available()
    return None if ok else f"requires CmdStan: {why}"


def need_backend(name: str) -> str:
    """``name`` when it runs here; else skip (or fail, for CmdStan under CI) with the reason."""
    why = backend_missing(name)
    if why is None:
        return name
    if name == "cmdstan" and os.environ.get("REPLIC_REQUIRE_CMDSTAN") == "1":
        pytest.fail(f"REPLIC_REQUIRE_CMDSTAN=1 but {why}")
    pytest.skip(why)


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request) -> str:
    """Each Stan backend in turn (skipped when not installed)."""
    return need_backend(request.param)


@pytest.fixture(scope="session")
def stan_model(backend):
    """replic's program compiled once per session by ``backend``."""
    from replic.stan.backends import compile_model

    return compile_model(backend=backend)


@pytest.fixture(scope="session")
def pystan_model():
    need_backend("pystan")
    from replic.stan.backends import compile_model

    return compile_model(backend="pystan")


_FITS: dict[str, object] = {}


def sleepstudy_fit_of(backend: str, sleepstudy: pd.DataFrame):
    """``backend``'s sleepstudy fit with brms's settings (4 chains x 1000 draws after 1000
    warm-up, seed 2026; ~15 s on 2 cores), fitted once per session."""
    from replic.stan.fit import fit_posterior

    if backend not in _FITS:
        _FITS[backend] = fit_posterior(sleepstudy, FORMULA, chains=4, warmup=1000, draws=1000,
                                       seed=2026, backend=backend, quiet=True)
    return _FITS[backend]


@pytest.fixture(scope="session")
def sleepstudy_fit(stan_model, backend, sleepstudy):
    """The sleepstudy fit of each backend."""
    return sleepstudy_fit_of(backend, sleepstudy)
