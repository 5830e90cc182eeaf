"""One NUTS chain of a PyStan-compiled program, run in this process without httpstan's server.

PyStan samples through an HTTP server (httpstan) that runs each chain in a process pool, gzips
every message of the chain -- draws, and the diagnostic output of every iteration -- to a fit
file on disk and reads it back: ~1 s of CPU per refit on top of the chains themselves.
:func:`run_chain` calls the compiled services module directly (the same C++ function, arguments
and defaults, so the same draws), reads the chain's messages from its Unix socket in a helper
thread, keeps only the draws and the log messages, and writes nothing to disk.  The module is
loaded once per process.

Stan's autodiff stack is thread-local and set up only in the thread that loads the module, so a
chain must run in that thread (anywhere else it crashes the process).  :func:`runs_here` says
whether this thread qualifies: the main thread, with the module loaded by :func:`run_chain` in it
or not loaded at all yet.  Otherwise callers run chains in processes of their own (see
:mod:`replic.stan.pystan_backend`), whose main thread loads and uses the module.
"""

from __future__ import annotations

import ctypes
import json
import os
import select
import socket
import sys
import tempfile
import threading
from types import ModuleType

import numpy as np

from replic.errors import ReplicFitError

__all__ = ["NUTS_DEFAULTS", "module_path", "run_chain", "runs_here"]

# stan::services::sample::hmc_nuts_diag_e_adapt defaults, as httpstan/PyStan/CmdStan set them
NUTS_DEFAULTS = {"init_radius": 2.0, "num_thin": 1, "save_warmup": False, "stepsize": 1.0,
                 "stepsize_jitter": 0.0, "max_depth": 10, "delta": 0.8, "gamma": 0.05,
                 "kappa": 0.75, "t0": 10.0, "init_buffer": 75, "term_buffer": 50, "window": 25}
_SAMPLE = b'{"version":1,"topic":"sample","values":{'
_LOGGER = b'{"version":1,"topic":"logger"'
_LOADED: dict[str, tuple[ModuleType, int]] = {}
#: Seconds the reader may take to drain the chain's sockets once the chain has returned.
_DRAIN_SECONDS = 60


def module_path(model_name: str) -> str | None:
    """Path of the compiled module of ``model_name`` in httpstan's cache (None when absent)."""
    from importlib.machinery import EXTENSION_SUFFIXES

    import httpstan.cache

    try:
        found = [p for p in httpstan.cache.model_directory(model_name).iterdir()
                 if p.suffix in EXTENSION_SUFFIXES]
    except FileNotFoundError:
        return None
    return str(found[0]) if found else None


def runs_here(model_name: str) -> bool:
    """Whether chains of ``model_name`` can run in this thread (see the module docstring)."""
    if threading.current_thread() is not threading.main_thread():
        return False
    if model_name in _LOADED:
        return _LOADED[model_name][1] == threading.get_ident()
    path = module_path(model_name)
    if path is None:
        return False
    try:  # RTLD_NOLOAD: succeeds only when some thread has loaded it already
        ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
    except OSError:
        return True
    return False


def _services(model_name: str) -> ModuleType:
    """The compiled services module of ``model_name``, loaded once per process."""
    if model_name not in _LOADED:
        import httpstan.models

        try:
            module = httpstan.models.import_services_extension_module(model_name)
        except KeyError:
            raise ReplicFitError(f"replic's Stan program ({model_name}) is not in httpstan's "
                                 "cache of this machine; compile it first with "
                                 "replic.stan.compile_model()") from None
        _LOADED[model_name] = (module, threading.get_ident())
    module, thread = _LOADED[model_name]
    if thread != threading.get_ident():
        raise ReplicFitError("a PyStan chain must run in the thread that loaded the model "
                             "(Stan's autodiff stack is thread-local)")
    return module


class _Reader(threading.Thread):
    """Collect the draws and log lines the chain writes to its socket; drop everything else."""

    def __init__(self, server: socket.socket, echo: str | None) -> None:
        super().__init__(daemon=True)
        self.server, self.echo = server, echo
        self.done = threading.Event()
        self.samples: list[bytes] = []
        self.logs: list[bytes] = []
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            self._loop()
        except BaseException as exc:  # handed to the caller, which raises it
            self.failure = exc

    def _loop(self) -> None:
        open_: dict[socket.socket, bytearray] = {}
        while True:
            ready, _, _ = select.select([self.server, *open_], [], [], 0.05)
            for s in ready:
                if s is self.server:
                    conn, _ = s.accept()
                    open_[conn] = bytearray()
                    continue
                chunk = s.recv(1 << 16)
                buf = open_[s]
                if chunk:
                    buf += chunk
                    *lines, rest = bytes(buf).split(b"\n")
                    open_[s] = bytearray(rest)
                    self._keep(lines)
                else:
                    s.close()
                    del open_[s]
            if not ready and not open_ and self.done.is_set():
                return

    def _keep(self, lines: list[bytes]) -> None:
        for line in lines:
            if line.startswith(_SAMPLE):
                self.samples.append(line)
            elif line.startswith(_LOGGER):
                self.logs.append(line)
                if self.echo is not None and b"Iteration" in line:
                    text = json.loads(line)["values"][0].removeprefix("info:")
                    print(f"{self.echo}{text}", file=sys.stderr, flush=True)


def _messages(logs: list[bytes]) -> str:
    out = []
    for line in logs:
        text = str(json.loads(line)["values"][0])
        if text.startswith(("error:", "warn:")):
            out.append(text.split(":", 1)[1].strip())
    return " ".join(t for t in out if t)


def _draws(samples: list[bytes]) -> tuple[tuple[str, ...], np.ndarray]:
    rows = [json.loads(line)["values"] for line in samples]  # json reads NaN and Infinity
    if not rows:
        return (), np.empty((0, 0))
    names = tuple(rows[0])
    return names, np.array([list(r.values()) for r in rows], dtype=float)


def run_chain(model_name: str, data: dict, *, seed: int, chain: int, warmup: int, draws: int,
              quiet: bool = True) -> tuple[tuple[str, ...], np.ndarray]:
    """Run chain ``chain`` of NUTS (seeded by ``seed`` and ``chain``) in this thread.

    Parameters
    ----------
    model_name : str
        httpstan's name of the compiled program (``models/<hash>``).
    data : dict
        Data block of plain Python values (lists, ints, floats).
    seed, chain : int
        Stan's random seed and chain id: the chain's draws depend on these only, not on which
        process runs it or what runs beside it.
    warmup, draws : int
        Warm-up iterations and kept draws.
    quiet : bool
        When False, progress lines go to stderr.

    Returns
    -------
    names : tuple of str
        Sampler columns (``lp__`` ...) then Stan's flat parameter names (``b.1``, ``r_1.2.1``).
    values : ndarray
        ``(draws, len(names))``.

    Raises
    ------
    ReplicFitError
        When the model is not compiled here, the data do not fit the program, or sampling fails.
    """
    module = _services(model_name)
    folder = tempfile.mkdtemp(prefix="replic-stan-")
    path = os.path.join(folder, "chain.sock")
    refresh = max(warmup + draws, 1) if quiet else max((warmup + draws) // 10, 1)
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(4)  # logger, init, sample and diagnostic writers
        reader = _Reader(server, None if quiet else f"Chain {chain}: ")
        reader.start()
        code, error = None, ""
        try:
            code = module.hmc_nuts_diag_e_adapt_wrapper(
                path, data=data, init={}, random_seed=int(seed), chain=int(chain),
                num_warmup=int(warmup), num_samples=int(draws), refresh=refresh,
                **NUTS_DEFAULTS)
        except (RuntimeError, ValueError, IndexError, OverflowError) as exc:
            error = str(exc)
        finally:
            reader.done.set()
            reader.join(timeout=_DRAIN_SECONDS)  # a writer left open must not hang the fit
            os.unlink(path)
            os.rmdir(folder)
    if reader.is_alive():
        raise ReplicFitError(f"chain {chain}: its output was still not read {_DRAIN_SECONDS} s "
                             "after the chain ended")
    if reader.failure is not None:
        raise ReplicFitError(f"reading chain {chain}'s output failed: {reader.failure}")
    if code is None or code != 0:
        why = error if code is None else _messages(reader.logs) or f"return code {code}"
        raise ReplicFitError(f"chain {chain}: {why}")
    names, values = _draws(reader.samples)
    if values.shape[0] != draws:
        raise ReplicFitError(f"chain {chain} returned {values.shape[0]} draws, expected {draws}")
    return names, values
