"""PyStan (httpstan) backend: compile once into httpstan's cache, load it anywhere.

httpstan keys compiled models by a hash of the program source and keeps them in
``~/.cache/httpstan/<version>/models``; every process on the machine (joblib/loky workers
included) loads the extension module from there.  Workers never compile: a model missing from the
cache is a :class:`~replic.ReplicFitError`, so "compiled once, in the parent" is guaranteed.

PyStan runs its own event loop (``asyncio.run``); when called from a thread that already runs
one (Jupyter), the call is made from a helper thread instead.

httpstan runs chains in a ``fork``-based process pool created at import.  Forking a process that
runs other threads -- Python threads (a joblib/loky worker, a parent after ``Parallel``, Jupyter)
or native ones (OpenBLAS) -- can deadlock the forked children, which then also hang the parent's
exit.  So before the pool first starts, replic swaps it for an equivalent loky pool (fresh
interpreters; no ``if __name__ == "__main__"`` guard needed), see :func:`_fork_safe_pool`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import pandas as pd

from replic.errors import ReplicFitError

__all__ = ["PyStanModel", "compile_pystan", "pystan_cached"]

T = TypeVar("T")
_TRANSIENT = "pop from empty list"  # httpstan 4.13 progress-parsing race; same seed, rerun
_RETRIES = 2

# A tiny valid data set: pystan.build() checks the data against the compiled program.
_PROBE = {"N": 4, "Y": [1.0, 2.0, 3.0, 5.0], "K": 1, "X": [[0.0], [1.0], [0.0], [1.0]],
          "has_intercept": 1, "J": 2, "M": 1, "g": [1, 1, 2, 2], "Z": [[1.0]] * 4,
          "intercept_flat": 0, "prior_intercept": [3.0, 2.5, 2.5], "prior_sd": [3.0, 0.0, 2.5],
          "prior_sigma": [3.0, 0.0, 2.5], "lkj_eta": 1.0, "prior_only": 0}


def _outside_loop(fn: Callable[[], T]) -> T:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn()
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(fn).result()


def _quietly(fn: Callable[[], T], quiet: bool) -> T:
    with warnings.catch_warnings():
        # httpstan 4.13 builds its aiohttp app with string keys; aiohttp >= 3.9 warns about it
        warnings.filterwarnings("ignore", message="It is recommended to use web.AppKey")
        # ... and calls importlib.resources.read_text, deprecated since Python 3.11
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        if not quiet:
            return fn()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            return fn()


def _fork_safe_pool() -> None:
    """Replace httpstan's fork-based chain pool by a loky pool, unless it already runs."""
    import httpstan.services_stub as stub

    pool = stub.executor
    if getattr(pool, "_replic_fork_safe", False) or getattr(pool, "_processes", None):
        return  # already swapped, or already started by someone else (children exist)
    from joblib.externals import loky

    safe = loky.ProcessPoolExecutor(initializer=stub.init_worker, timeout=30)
    safe._replic_fork_safe = True  # type: ignore[attr-defined]
    stub.executor = safe


def _prune_fits(model_name: str, *, age: float = 60.0) -> None:
    """Delete this model's fits older than ``age`` seconds from httpstan's cache.

    With a random seed, PyStan leaves every fit in the cache (~1 MB per chain), which a study
    of thousands of refits would pile up.  Fits are read back milliseconds after they are
    written, so a minute's margin never touches one still in use by another process.
    """
    import httpstan.cache

    now = time.time()
    for path in httpstan.cache.model_directory(model_name).glob("fits/*"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime > age:
                path.unlink()


def pystan_cached(code: str) -> bool:
    """True when httpstan's cache holds the compiled ``code``."""
    import httpstan.models

    try:
        httpstan.models.import_services_extension_module(
            httpstan.models.calculate_model_name(code))
    except KeyError:
        return False
    return True


def _build(code: str, data: dict, seed: int | None, quiet: bool):
    import stan

    try:
        return _outside_loop(lambda: _quietly(
            lambda: stan.build(code, data=data, random_seed=seed), quiet))
    except (ValueError, RuntimeError, OSError) as exc:
        if str(exc) in ("Semantic error", "Syntax error"):
            raise ReplicFitError(f"PyStan could not build the Stan program: {exc} in the "
                                 "program (stanc's message is printed above)") from None
        raise ReplicFitError(f"PyStan could not build replic's Stan program: {exc} (a C++ "
                             "compiler is required for the first build; see "
                             "https://pystan.readthedocs.io/en/latest/installation.html)") from None


@dataclass(frozen=True)
class PyStanModel:
    """replic's program compiled by PyStan (picklable: holds only the source and its cache key).

    Attributes
    ----------
    code : str
        Stan program source.
    model_name : str
        httpstan's name of the compiled model (``models/<hash>``).
    """

    code: str
    model_name: str
    backend: str = "pystan"

    def sample(self, data: dict, *, chains: int, warmup: int, draws: int, seed: int,
               workdir: str | None = None, quiet: bool = True) -> pd.DataFrame:
        """Run NUTS on ``data`` (the program's data block).

        Parameters
        ----------
        data : dict
            Data block values (:meth:`replic.stan.data.StanData.to_stan`).
        chains, warmup, draws : int
            Number of chains, warm-up iterations and kept draws per chain.
        seed : int
            Random seed.
        workdir : str, optional
            Unused (PyStan keeps its output in memory).
        quiet : bool
            Silence PyStan's progress output.

        Returns
        -------
        DataFrame
            One row per draw, Stan's flat names, plus ``.chain`` and ``.iteration``.
        """
        if not pystan_cached(self.code):
            raise ReplicFitError(f"replic's Stan program ({self.model_name}) is not in httpstan's "
                                 "cache of this machine; compile it first with "
                                 "replic.stan.compile_model() (a study does so in the parent "
                                 "process; workers never compile)")
        _fork_safe_pool()
        model = _build(self.code, data, seed, quiet)
        # fewer progress messages when quiet: less I/O, and fewer chances of httpstan 4.13's
        # progress parser failing on a message split across reads ("pop from empty list")
        refresh = {"refresh": max(warmup + draws, 1)} if quiet else {}
        try:
            for attempt in range(_RETRIES + 1):
                try:
                    fit = _outside_loop(lambda: _quietly(lambda: model.sample(
                        num_chains=chains, num_warmup=warmup, num_samples=draws, **refresh),
                        quiet))
                    break
                except RuntimeError as exc:
                    if _TRANSIENT not in str(exc) or attempt == _RETRIES:
                        raise
        except (RuntimeError, ValueError) as exc:
            raise ReplicFitError(f"PyStan sampling failed: {exc}") from None
        finally:
            _prune_fits(self.model_name)
        flat = fit.to_frame().reset_index(drop=True)
        # to_frame flattens draws (draw, chain) in C order: row = draw * chains + chain
        idx = np.arange(len(flat))
        flat[".chain"] = idx % chains + 1
        flat[".iteration"] = idx // chains + 1
        return flat.sort_values([".chain", ".iteration"], kind="stable").reset_index(drop=True)


def compile_pystan(code: str, *, quiet: bool = True) -> PyStanModel:
    """Compile ``code`` with PyStan (or find it in httpstan's cache).

    Raises
    ------
    ReplicFitError
        When PyStan is not installed or the build fails (no compiler, bad program).
    """
    try:
        import httpstan.models
    except ModuleNotFoundError:
        raise ReplicFitError("PyStan is not installed: pip install 'replic[stan]' "
                             "(or install CmdStan for the cmdstanpy backend)") from None
    _build(code, _PROBE, None, quiet)
    return PyStanModel(code=code, model_name=httpstan.models.calculate_model_name(code))
