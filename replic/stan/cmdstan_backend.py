"""CmdStan backend through cmdstanpy: compile once to an executable, ship its path to workers.

CmdStan is found as cmdstanpy finds it: ``$CMDSTAN``, else the newest ``~/.cmdstan/cmdstan-*``.
The executable lives in ``$XDG_CACHE_HOME/replic/stan/`` (default ``~/.cache/replic/stan/``),
named by the program's hash and the CmdStan installation it was built with, so later studies
reuse it and switching installations rebuilds it.  It is built in a private folder and moved into
place, so processes compiling at the same time never see half a file.

Each sampling call writes the data (JSON) and one CSV file per chain into its own folder (a
temporary one, removed after reading, unless ``workdir`` is given), so workers never share
files and a long study leaves nothing behind.  ``parallel_chains`` chains run at once (inside
study workers 1: the parallelism is across replicates).  Chain ``c`` is seeded by (seed, ``c``)
either way -- as PyStan seeds it -- so the draws do not depend on it.  The CSV files carry 18
significant digits (CmdStan's default is 6), so the draws are the sampler's doubles.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from replic.errors import ReplicFitError

__all__ = ["CmdStanModel", "cmdstan_available", "compile_cmdstan"]

log = logging.getLogger(__name__)

SIG_FIGS = 18
#: The one line printed on stderr before CmdStan's first (slow) build of the program.
COMPILING_MESSAGE = ("replic: compiling the Stan model once with CmdStan (about a minute; "
                     "cached afterwards)")
_HELP = ("install it with `python -m cmdstanpy.install_cmdstan`, or set CMDSTAN to an existing "
         "installation (README: 'Stan backends')")


def cmdstan_available() -> tuple[bool, str]:
    """Whether cmdstanpy and a built CmdStan are present: ``(True, path)`` or ``(False, why)``."""
    try:
        import cmdstanpy
    except ModuleNotFoundError:
        return False, "cmdstanpy is not installed (pip install cmdstanpy)"
    try:
        with _cmdstanpy_quiet():
            path = Path(cmdstanpy.cmdstan_path())
    except (ValueError, RuntimeError) as exc:
        return False, f"CmdStan is not installed ({exc}); {_HELP}"
    if not any((path / "bin" / f"stanc{ext}").is_file() for ext in ("", ".exe")):
        return False, f"CmdStan at {path} is not built (no bin/stanc); run make build there"
    return True, str(path)


@contextlib.contextmanager
def _cmdstanpy_quiet(quiet: bool = True) -> Iterator[None]:
    """Silence cmdstanpy's log while ``quiet``: INFO lines (chain start/end), warnings about
    rejected proposals during warm-up, errors of failed chains (which raise anyway)."""
    from cmdstanpy.utils import get_logger

    logger = get_logger()  # cmdstanpy sets its logger's level when first asked for it
    level = logger.level
    if quiet:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(level)


def _cache_dir() -> Path:
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    d = Path(root) / "replic" / "stan"
    d.mkdir(parents=True, exist_ok=True)
    return d


def _failure(console: str, limit: int = 12) -> str:
    """The informative part of CmdStan's console output, on one line: stanc's message (without
    the program excerpt), else the error lines, else the last lines."""
    lines = [ln.strip() for ln in console.splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if re.match(r"(Semantic|Syntax) error", ln)),
                 None)
    if start is not None:
        excerpt = re.compile(r"^(-{3,}|\^|\d+:)")
        return " ".join(ln for ln in lines[start:] if not excerpt.match(ln))
    errors = [ln for ln in lines if re.search(r"error|exception|rejecting", ln, re.IGNORECASE)]
    return " | ".join(list(dict.fromkeys(errors or lines))[-limit:])  # each line once


@dataclass(frozen=True)
class CmdStanModel:
    """replic's program compiled by CmdStan (picklable: the executable's path).

    Attributes
    ----------
    exe : str
        Path of the compiled executable.
    """

    exe: str
    backend: str = "cmdstan"

    def sample(self, data: dict, *, chains: int, warmup: int, draws: int, seed: int,
               workdir: str | None = None, quiet: bool = True,
               parallel_chains: int | None = None) -> pd.DataFrame:
        """Run NUTS on ``data``; see :meth:`replic.stan.pystan_backend.PyStanModel.sample`.

        ``workdir`` receives the data JSON and the CmdStan CSV files (a temporary folder,
        removed after reading, when None); ``parallel_chains`` (default: all) chains run at once.
        """
        if not Path(self.exe).is_file():
            raise ReplicFitError(f"{self.exe}: compiled Stan executable not found on this "
                                 "machine; compile with replic.stan.compile_model()")
        width = chains if parallel_chains is None else max(1, min(int(parallel_chains), chains))
        options = {"chains": chains, "parallel_chains": width, "iter_warmup": warmup,
                   "iter_sampling": draws, "seed": seed, "show_progress": not quiet}
        if workdir is not None:
            Path(workdir).mkdir(parents=True, exist_ok=True)
            return self._sample_in(Path(workdir), data, options, quiet)
        with tempfile.TemporaryDirectory(prefix="replic-cmdstan-") as tmp:
            return self._sample_in(Path(tmp), data, options, quiet)

    def _sample_in(self, out: Path, data: dict, options: dict, quiet: bool) -> pd.DataFrame:
        import cmdstanpy

        from replic.io_cmdstan import read_cmdstan_csv

        fd, data_file = tempfile.mkstemp(prefix="data-", suffix=".json", dir=out)
        os.close(fd)
        try:
            cmdstanpy.write_stan_json(data_file, data)
            with _cmdstanpy_quiet(quiet):
                fit = cmdstanpy.CmdStanModel(exe_file=self.exe).sample(
                    data=data_file, output_dir=str(out), sig_figs=SIG_FIGS, show_console=False,
                    **options)
        except (RuntimeError, ValueError) as exc:
            raise ReplicFitError(f"CmdStan sampling failed: {_failure(str(exc))}") from None
        return read_cmdstan_csv(fit.runset.csv_files)


def _installation_tag(path: str) -> str:
    """A short key of the CmdStan installation (path and version) an executable was built by."""
    makefile = Path(path) / "makefile"
    version = re.search(r"CMDSTAN_VERSION := (\S+)", makefile.read_text()) if makefile.is_file() \
        else None
    key = f"{Path(path).resolve()}|{version[1] if version else ''}"
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def compile_cmdstan(code: str, *, name: str) -> CmdStanModel:
    """Compile ``code`` with CmdStan (reusing a cached executable).

    Parameters
    ----------
    code : str
        Stan program source.
    name : str
        File stem for the program and executable (include the program hash).

    Raises
    ------
    ReplicFitError
        When CmdStan is absent or compilation fails.
    """
    ok, where = cmdstan_available()
    if not ok:
        raise ReplicFitError(where)
    import cmdstanpy

    cache = _cache_dir()
    stem = f"{name}-{_installation_tag(where)}"
    suffix = ".exe" if os.name == "nt" else ""
    exe = cache / f"{stem}{suffix}"
    if exe.is_file():
        return CmdStanModel(exe=str(exe))
    print(COMPILING_MESSAGE, file=sys.stderr, flush=True)
    with tempfile.TemporaryDirectory(prefix=f".{stem}-", dir=cache) as tmp:
        stan_file = Path(tmp) / f"{stem}.stan"
        stan_file.write_text(code)
        try:
            with _cmdstanpy_quiet():
                built = cmdstanpy.CmdStanModel(stan_file=str(stan_file)).exe_file
        except (RuntimeError, ValueError) as exc:
            raise ReplicFitError(f"CmdStan could not compile the Stan program: "
                                 f"{_failure(str(exc))}") from None
        if not built or not Path(built).is_file():
            raise ReplicFitError(f"CmdStan compiled {stan_file} but produced no executable")
        os.replace(stan_file, cache / f"{stem}.stan")
        os.replace(built, exe)
    return CmdStanModel(exe=str(exe))
