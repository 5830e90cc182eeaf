"""One small interface over the Stan backends: :func:`compile_model` and ``model.sample``.

``compile_model`` is called once per study, in the parent process, and logged; the model it
returns is a picklable handle (PyStan: the program's cache key; CmdStan: the executable's path)
that worker processes use to sample without compiling.  ``backend="auto"`` uses CmdStan when it
is installed and PyStan otherwise.
"""

from __future__ import annotations

import importlib.util
import logging
import time
from typing import Protocol

import pandas as pd

from replic.errors import ReplicFitError, ReplicInputError
from replic.stan.program import program_code, program_hash

__all__ = ["BACKENDS", "StanModel", "compile_count", "compile_model", "resolve_backend"]

log = logging.getLogger(__name__)

BACKENDS = ("auto", "pystan", "cmdstan")
_COMPILES = {"count": 0}


class StanModel(Protocol):
    """A compiled program that samples: :class:`PyStanModel` or :class:`CmdStanModel`."""

    backend: str

    def sample(self, data: dict, *, chains: int, warmup: int, draws: int, seed: int,
               workdir: str | None = None, quiet: bool = True,
               parallel_chains: int | None = None) -> pd.DataFrame: ...


def compile_count() -> int:
    """How many times :func:`compile_model` has run in this process."""
    return _COMPILES["count"]


def resolve_backend(backend: str = "auto") -> str:
    """``"cmdstan"`` or ``"pystan"``: the backend that ``backend`` selects here."""
    if backend not in BACKENDS:
        raise ReplicInputError(f"backend={backend!r}; expected one of {', '.join(BACKENDS)}")
    if backend != "auto":
        return backend
    from replic.stan.cmdstan_backend import cmdstan_available

    if cmdstan_available()[0]:
        return "cmdstan"
    if importlib.util.find_spec("stan") is None:  # not imported here: PyStan is slow to import
        raise ReplicFitError("no Stan backend: install PyStan (pip install 'replic[stan]') or "
                             "CmdStan (python -m cmdstanpy.install_cmdstan)")
    return "pystan"


def compile_model(*, backend: str = "auto") -> StanModel:
    """Compile replic's Stan program (``lmm.stan``), or load it from the backend's cache.

    Parameters
    ----------
    backend : {"auto", "pystan", "cmdstan"}
        ``auto``: CmdStan when installed, else PyStan.

    Returns
    -------
    StanModel
        A picklable handle with a ``sample`` method.

    Raises
    ------
    ReplicFitError
        When no backend is installed or compilation fails (e.g. no C++ compiler).
    """
    name = resolve_backend(backend)
    code = program_code()
    started = time.perf_counter()
    _COMPILES["count"] += 1
    if name == "pystan":
        from replic.stan.pystan_backend import compile_pystan, pystan_cached

        cached = pystan_cached(code)
        log.info("compiling Stan program lmm.stan (%s) with PyStan%s", program_hash(),
                 " (found in httpstan's cache)" if cached else "; the first build takes ~90 s")
        model: StanModel = compile_pystan(code)
    else:
        from replic.stan.cmdstan_backend import compile_cmdstan

        log.info("compiling Stan program lmm.stan (%s) with CmdStan", program_hash())
        model = compile_cmdstan(code, name=f"lmm-{program_hash()}")
    log.info("Stan program ready (%s backend) in %.1f s", name, time.perf_counter() - started)
    return model
