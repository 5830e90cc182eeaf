"""PyStan (httpstan) backend: compile once into httpstan's cache, load it anywhere.

httpstan keys compiled models by a hash of the program source and keeps them in
``~/.cache/httpstan/<version>/models``; every process on the machine (joblib/loky workers
included) loads the extension module from there.  Workers never compile: a model missing from the
cache is a :class:`~replic.ReplicFitError`, so "compiled once, in the parent" is guaranteed.

Compiling goes through PyStan (``stan.build``).  Sampling does not: each chain is one call of the
compiled module (:func:`replic.stan.pystan_chain.run_chain`, seeded by the fit's seed and the
chain id, as PyStan seeds it), run ``parallel_chains`` at a time in a small loky process pool that
this process keeps for its later fits -- or, one at a time, in this process's main thread when
the module may run there (a study worker; :func:`replic.stan.pystan_chain.runs_here`).  A
chain's draws depend only on (seed, chain), so a fit's numbers are the same whether its chains
run one at a time (inside study workers: the parallelism is across replicates) or side by side.
loky processes are fresh interpreters, so the pool is safe in threaded processes (joblib
workers, Jupyter), where ``fork`` could deadlock.

PyStan runs its own event loop (``asyncio.run``); when called from a thread that already runs
one (Jupyter), ``stan.build`` is called from a helper thread instead.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import io
import os
import signal
import subprocess
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from replic.errors import ReplicFitError

__all__ = ["PyStanModel", "compile_pystan", "pystan_cached"]

T = TypeVar("T")
_POOL: dict[str, Any] = {"executor": None, "size": 0}
_BUILD_LOCK = threading.Lock()
_STANC_ATTEMPTS = 20
#: The one line printed on stderr before the first (slow) build of the program on a machine.
COMPILING_MESSAGE = "replic: compiling the Stan model once (about 2 minutes; cached afterwards)"

# A tiny valid data set: pystan.build() checks the data against the compiled program.
_PROBE = {"family": 0, "N": 4, "Y": [1.0, 2.0, 3.0, 5.0], "Y_int": [], "trials": [], "K": 1,
          "X": [[0.0], [1.0], [0.0], [1.0]], "has_intercept": 1, "J": 2, "M": 1,
          "g": [1, 1, 2, 2], "Z": [[1.0]] * 4,
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


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the parent, not each chain


def _chain_pool(size: int) -> concurrent.futures.Executor:
    """A loky pool of at least ``size`` chain processes, kept for later fits (never shrunk)."""
    if _POOL["executor"] is None or _POOL["size"] < size:
        from joblib.externals import loky

        if _POOL["executor"] is not None:
            _POOL["executor"].shutdown(wait=False)
        _POOL.update(executor=loky.ProcessPoolExecutor(max_workers=size, timeout=60,
                                                       initializer=_ignore_sigint), size=size)
    return _POOL["executor"]


def _run_chains(width: int, chains: int, submit: Callable[[int], concurrent.futures.Future]
                ) -> list:
    """Results of chains 1..``chains``, at most ``width`` of them running at any time."""
    jobs = {c: submit(c) for c in range(1, min(width, chains) + 1)}
    out = []
    try:
        for c in range(1, chains + 1):
            out.append(jobs.pop(c).result())
            if c + width <= chains:
                jobs[c + width] = submit(c + width)
    finally:
        for job in jobs.values():
            job.cancel()
    return out


def _plain(data: dict) -> dict:
    """``data`` with numpy values turned into Python lists and scalars (what the module reads)."""
    return {k: v.tolist() if isinstance(v, np.ndarray | np.generic) else v
            for k, v in data.items()}


def pystan_cached(code: str) -> bool:
    """True when httpstan's cache holds the compiled ``code``."""
    import httpstan.models

    try:
        httpstan.models.import_services_extension_module(
            httpstan.models.calculate_model_name(code))
    except KeyError:
        return False
    return True


@contextlib.contextmanager
def isolated_build():
    """Run a C++ build in a temporary working directory with file descriptor 2 captured.

    setuptools puts its object files under ``./build/`` and the compiler writes warnings to
    the process's stderr (httpstan captures them only when ``sys.stderr`` is a real file), so
    neither reaches the user's working directory or terminal.  Yields the captured output
    (a binary file) so a failed build can report it.
    """
    with _BUILD_LOCK, tempfile.TemporaryDirectory(prefix="replic-build-") as tmp, \
            tempfile.TemporaryFile(prefix="replic-build-") as log:
        cwd = os.getcwd()
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(log.fileno(), 2)
        os.chdir(tmp)
        try:
            yield log
        finally:
            os.chdir(cwd)
            os.dup2(saved, 2)
            os.close(saved)


def _last_line(log) -> str:
    log.seek(0)
    lines = [ln for ln in log.read().decode(errors="replace").splitlines() if ln.strip()]
    return f"; the compiler said: {lines[-1].strip()[:300]}" if lines else ""


def _build(code: str, data: dict, seed: int | None, quiet: bool):
    with warnings.catch_warnings():  # httpstan's schemas use arguments marshmallow deprecates
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        import stan

    try:
        with isolated_build() as log:
            try:
                return _outside_loop(lambda: _quietly(
                    lambda: stan.build(code, data=data, random_seed=seed), quiet))
            except (ValueError, RuntimeError, OSError) as exc:
                exc.add_note(_last_line(log))
                raise
    except (ValueError, RuntimeError, OSError) as exc:
        if str(exc) in ("Semantic error", "Syntax error"):
            raise ReplicFitError(f"PyStan could not build the Stan program: {exc} in the "
                                 "program (stanc's message is printed above)") from None
        note = " ".join(getattr(exc, "__notes__", []))
        raise ReplicFitError(f"PyStan could not build replic's Stan program: {exc}{note} (a "
                             "C++ compiler is required for the first build; see "
                             "https://pystan.readthedocs.io/en/latest/installation.html)") from None


def _build_into_cache(code: str) -> None:
    """Compile ``code`` into httpstan's cache as httpstan's ``POST /models`` does, but called
    directly: through PyStan's HTTP client the build is cut off after aiohttp's 5-minute
    timeout, which a loaded machine exceeds (an empty ``TimeoutError``)."""
    import httpstan.cache
    import httpstan.compile
    import httpstan.models

    name = httpstan.models.calculate_model_name(code)

    def build() -> None:
        httpstan.cache.delete_model_directory(name)
        _, stanc_warnings = httpstan.compile.compile(code, f"model_{name.split('/')[1]}")
        httpstan.cache.dump_stanc_warnings(stanc_warnings, name)
        output = _outside_loop(lambda: asyncio.run(
            httpstan.models.build_services_extension_module(code)))
        httpstan.cache.dump_services_extension_module_compiler_output(output, name)

    with isolated_build() as log, warnings.catch_warnings():
        # httpstan calls importlib.resources.path, deprecated since Python 3.11
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        try:
            for attempt in range(_STANC_ATTEMPTS):
                try:
                    return build()
                except subprocess.TimeoutExpired:  # httpstan gives stanc 1 s, too little
                    if attempt == _STANC_ATTEMPTS - 1:  # on a loaded machine
                        raise
        except Exception as exc:  # stanc, setuptools and the compiler raise many types
            text = " ".join(str(exc).split())
            if isinstance(exc, ValueError) and text.startswith(("Semantic error",
                                                                 "Syntax error")):
                raise ReplicFitError(f"PyStan could not build the Stan program: "
                                     f"{text[:500]}") from None
            raise ReplicFitError(f"PyStan could not build replic's Stan program: "
                                 f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
                                 f"{_last_line(log)} (a C++ compiler is required for the first "
                                 "build; see https://pystan.readthedocs.io/en/latest/"
                                 "installation.html)") from None


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
               workdir: str | None = None, quiet: bool = True,
               parallel_chains: int | None = None) -> pd.DataFrame:
        """Run NUTS on ``data`` (the program's data block).

        Parameters
        ----------
        data : dict
            Data block values (:meth:`replic.stan.data.StanData.to_stan`).
        chains, warmup, draws : int
            Number of chains, warm-up iterations and kept draws per chain.
        seed : int
            Random seed; chain ``c`` is seeded by (``seed``, ``c``).
        workdir : str, optional
            Unused (nothing is written to disk).
        quiet : bool
            Silence progress output.
        parallel_chains : int, optional
            How many chains run at once (default: all); the draws do not depend on it.

        Returns
        -------
        DataFrame
            One row per draw, Stan's flat names, plus ``.chain`` and ``.iteration``.
        """
        from replic.stan.pystan_chain import module_path, run_chain, runs_here

        if module_path(self.model_name) is None:
            raise ReplicFitError(f"replic's Stan program ({self.model_name}) is not in httpstan's "
                                 "cache of this machine; compile it first with "
                                 "replic.stan.compile_model() (a study does so in the parent "
                                 "process; workers never compile)")
        width = chains if parallel_chains is None else max(1, min(int(parallel_chains), chains))
        plain = _plain(data)
        options = {"seed": seed, "warmup": warmup, "draws": draws, "quiet": quiet}
        try:
            if width == 1 and runs_here(self.model_name):  # e.g. a study worker: no extra process
                parts = [run_chain(self.model_name, plain, chain=c, **options)
                         for c in range(1, chains + 1)]
            else:
                pool = _chain_pool(width)
                parts = _run_chains(width, chains, lambda c: pool.submit(
                    run_chain, self.model_name, plain, chain=c, **options))
        except ReplicFitError as exc:
            raise ReplicFitError(f"PyStan sampling failed: {exc}") from None
        except BrokenProcessPool as exc:
            _POOL.update(executor=None, size=0)
            raise ReplicFitError(f"PyStan sampling failed: a chain process died ({exc})") from None
        names = parts[0][0]
        flat = pd.DataFrame(np.concatenate([v for _, v in parts]), columns=list(names))
        flat[".chain"] = np.repeat(np.arange(1, chains + 1), draws)
        flat[".iteration"] = np.tile(np.arange(1, draws + 1), chains)
        return flat


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
    if not pystan_cached(code):
        print(COMPILING_MESSAGE, file=sys.stderr, flush=True)
        _build_into_cache(code)
    _build(code, _PROBE, None, quiet)
    return PyStanModel(code=code, model_name=httpstan.models.calculate_model_name(code))
