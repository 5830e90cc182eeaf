"""CmdStan backend through cmdstanpy: compile once to an executable, ship its path to workers.

The executable lives in ``~/.cache/replic/stan/`` named by the program's hash, so a second study
reuses it.  Each sampling call writes to its own output directory (workers never share one);
``parallel_chains`` chains run at once (inside study workers 1: the parallelism is across
replicates).  Chain ``c`` is seeded by (seed, ``c``) either way, so the draws do not depend on it.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from replic.errors import ReplicFitError

__all__ = ["CmdStanModel", "cmdstan_available", "compile_cmdstan"]

log = logging.getLogger(__name__)


def cmdstan_available() -> tuple[bool, str]:
    """Whether cmdstanpy and a CmdStan installation are present, and why not."""
    try:
        import cmdstanpy
    except ModuleNotFoundError:
        return False, "cmdstanpy is not installed (pip install cmdstanpy)"
    try:
        path = cmdstanpy.cmdstan_path()
    except (ValueError, RuntimeError) as exc:
        return False, f"CmdStan is not installed ({exc}); see cmdstanpy.install_cmdstan"
    return True, str(path)


def _cache_dir() -> Path:
    d = Path.home() / ".cache" / "replic" / "stan"
    d.mkdir(parents=True, exist_ok=True)
    return d


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

        ``workdir`` receives the CmdStan CSV files (a fresh temporary directory when None);
        ``parallel_chains`` (default: all) chains run at once.
        """
        import cmdstanpy

        from replic.io_cmdstan import read_cmdstan_csv

        if not Path(self.exe).is_file():
            raise ReplicFitError(f"{self.exe}: compiled Stan executable not found on this "
                                 "machine; compile with replic.stan.compile_model()")
        out = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="replic-cmdstan-"))
        out.mkdir(parents=True, exist_ok=True)
        try:
            model = cmdstanpy.CmdStanModel(exe_file=self.exe)
            width = chains if parallel_chains is None else max(1, min(parallel_chains, chains))
            fit = model.sample(data=data, chains=chains, parallel_chains=width,
                               iter_warmup=warmup, iter_sampling=draws, seed=seed,
                               output_dir=str(out), show_progress=not quiet,
                               show_console=False)
        except (RuntimeError, ValueError) as exc:
            raise ReplicFitError(f"CmdStan sampling failed: {exc}") from None
        return read_cmdstan_csv(fit.runset.csv_files)


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
    ok, why = cmdstan_available()
    if not ok:
        raise ReplicFitError(why)
    import cmdstanpy

    stan_file = _cache_dir() / f"{name}.stan"
    if not stan_file.is_file() or stan_file.read_text() != code:
        stan_file.write_text(code)
    try:
        model = cmdstanpy.CmdStanModel(stan_file=str(stan_file))
    except (RuntimeError, ValueError) as exc:
        raise ReplicFitError(f"CmdStan could not compile {stan_file}: {exc}") from None
    exe = model.exe_file
    if not exe or not Path(exe).is_file():
        raise ReplicFitError(f"CmdStan compiled {stan_file} but no executable was produced")
    return CmdStanModel(exe=str(exe))
