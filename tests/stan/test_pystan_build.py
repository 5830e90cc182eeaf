"""The first Stan build: one line on stderr, no compiler output, no ``build/`` left behind.

setuptools compiles into ``./build/`` and the compiler writes warnings to the process's stderr;
:func:`replic.stan.pystan_backend.isolated_build` runs the build in a temporary directory with
file descriptor 2 captured.  The full first build in a fresh cache (PyStan: ~170 s of CPU,
CmdStan: ~100 s) is checked by the opt-in ``slow`` test; the others check the mechanism and a fit
from the shared cache.  Every fit names its backend: with ``--backend auto`` a machine with
CmdStan (CI) fits with CmdStan, and a PyStan test would be checking the other backend.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from replic.stan.cmdstan_backend import COMPILING_MESSAGE as CMDSTAN_MESSAGE
from replic.stan.pystan_backend import COMPILING_MESSAGE, isolated_build
from tests.stan.conftest import need_backend

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "replic" / "datasets" / "sleepstudy.csv"
COMPILER_NOISE = ("warning:", "In file included", "note:", "Building", "g++", "setuptools")


def test_isolated_build_keeps_cwd_and_stderr_clean(tmp_path, monkeypatch, capfd):
    monkeypatch.chdir(tmp_path)
    with isolated_build() as log:
        Path("build", "temp.linux").mkdir(parents=True)  # what setuptools does
        subprocess.run(["sh", "-c", "echo 'x.cpp:1: warning: unused' >&2"], check=True,
                       timeout=60)
        inside = Path.cwd()
    assert Path.cwd() == tmp_path and inside != tmp_path
    assert not inside.exists() and list(tmp_path.iterdir()) == []
    assert "warning" not in capfd.readouterr().err
    log_closed = log.closed
    assert log_closed  # the captured output went with the temporary file


MESSAGES = {"pystan": COMPILING_MESSAGE, "cmdstan": CMDSTAN_MESSAGE}


def _fit(cwd: Path, env: dict, backend: str, timeout: float = 900
         ) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "replic", "fit", str(DATA), "Reaction ~ Days + (Days | Subject)",
         "--out", "draws.csv", "--chains", "1", "--warmup", "150", "--draws", "100",
         "--backend", backend],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def _check(proc: subprocess.CompletedProcess, cwd: Path, *, backend: str, compiled: bool
           ) -> None:
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines.count(MESSAGES[backend]) == (1 if compiled else 0), proc.stderr
    other = MESSAGES["cmdstan" if backend == "pystan" else "pystan"]
    assert other not in lines, proc.stderr  # the backend asked for is the one that ran
    assert not any(n in line for line in lines for n in COMPILER_NOISE), proc.stderr
    assert sorted(os.listdir(cwd)) == ["draws.csv"]  # no build/ directory


def test_fit_leaves_no_build_directory(tmp_path):
    """``replic fit`` from the shared httpstan cache (compiling first if it is empty)."""
    pytest.importorskip("stan", reason="PyStan is not installed")
    from replic.stan.program import program_code
    from replic.stan.pystan_backend import pystan_cached

    cached = pystan_cached(program_code())
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    _check(_fit(tmp_path, env, "pystan"), tmp_path, backend="pystan", compiled=not cached)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("REPLIC_TEST_FIRST_BUILD"),
                    reason="a real first build costs 100-170 s of CPU (3-9 min on a loaded "
                           "machine); run with REPLIC_TEST_FIRST_BUILD=1")
@pytest.mark.parametrize("backend", ["pystan", "cmdstan"])
def test_first_build_in_a_fresh_cache(tmp_path, backend):
    """The real first build in an empty cache: one line, no compiler output, no build/; the
    second fit finds it cached and says nothing."""
    need_backend(backend)
    cwd = tmp_path / "work"
    cwd.mkdir()
    env = dict(os.environ, PYTHONPATH=str(ROOT), XDG_CACHE_HOME=str(tmp_path / "cache"))
    _check(_fit(cwd, env, backend, timeout=3600), cwd, backend=backend, compiled=True)
    (cwd / "draws.csv").unlink()
    _check(_fit(cwd, env, backend), cwd, backend=backend, compiled=False)
