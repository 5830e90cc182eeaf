"""The CmdStan backend (cmdstanpy): its cache, its files, and the path without CmdStan.

Runs where CmdStan is installed (``CMDSTAN``, or cmdstanpy's ``~/.cmdstan``); CI builds one with
``tools/cmdstan/assemble-cmdstan.sh`` and sets ``REPLIC_REQUIRE_CMDSTAN=1`` so nothing skips.
"""

from __future__ import annotations

import os
import tempfile

import numpy as np
import pytest

from replic import ReplicFitError
from tests.stan.conftest import FORMULA, backend_missing, need_backend


@pytest.fixture(scope="module")
def cmdstan_model():
    need_backend("cmdstan")
    from replic.stan.backends import compile_model

    return compile_model(backend="cmdstan")


def test_missing_cmdstan_is_a_clear_fit_error(monkeypatch, tmp_path):
    """CMDSTAN pointing nowhere (or at an unbuilt tree): a clear error, a skip in the tests."""
    pytest.importorskip("cmdstanpy")
    from replic.stan.backends import compile_model, resolve_backend
    from replic.stan.cmdstan_backend import cmdstan_available

    monkeypatch.setenv("CMDSTAN", str(tmp_path / "no-such-cmdstan"))
    ok, why = cmdstan_available()
    assert not ok and "no-such-cmdstan does not exist" in why and "CMDSTAN" in why
    with pytest.raises(ReplicFitError, match=r"CmdStan is not installed.*install_cmdstan"):
        compile_model(backend="cmdstan")
    if backend_missing("pystan") is None:
        assert resolve_backend("auto") == "pystan"  # auto falls back to PyStan
    monkeypatch.delenv("REPLIC_REQUIRE_CMDSTAN", raising=False)
    with pytest.raises(pytest.skip.Exception, match="requires CmdStan: CmdStan is not installed"):
        need_backend("cmdstan")
    monkeypatch.setenv("REPLIC_REQUIRE_CMDSTAN", "1")
    with pytest.raises(pytest.fail.Exception, match="REPLIC_REQUIRE_CMDSTAN=1 but requires"):
        need_backend("cmdstan")
    unbuilt = tmp_path / "cmdstan-2.35.0"
    unbuilt.mkdir()
    (unbuilt / "makefile").write_text("CMDSTAN_VERSION := 2.35.0\n")
    monkeypatch.setenv("CMDSTAN", str(unbuilt))
    ok, why = cmdstan_available()
    assert not ok and why == f"CmdStan at {unbuilt} is not built (no bin/stanc); run make build " \
        "there"


def test_executable_is_cached_per_program_and_installation(cmdstan_model):
    from replic.stan.cmdstan_backend import _cache_dir, _installation_tag, cmdstan_available
    from replic.stan.program import program_code, program_hash

    exe = cmdstan_model.exe
    _, where = cmdstan_available()
    assert os.path.basename(exe) == f"lmm-{program_hash()}-{_installation_tag(where)}"
    assert os.path.dirname(exe) == str(_cache_dir()) and os.access(exe, os.X_OK)
    assert (_cache_dir() / f"{os.path.basename(exe)}.stan").read_text() == program_code()
    # no half-built leftovers of the private build folders
    assert not [p for p in _cache_dir().iterdir() if p.name.startswith(".lmm-")]
    from replic.stan.backends import compile_model

    stamp = os.stat(exe).st_mtime_ns
    assert compile_model(backend="cmdstan") == cmdstan_model  # reused, not rebuilt
    assert os.stat(exe).st_mtime_ns == stamp


def test_fit_writes_cmdstan_csv_that_reads_back(cmdstan_model, sleepstudy, brms_draws, tmp_path):
    """output_dir keeps CmdStan's CSV files; read_draws and cmdstanpy read the same draws."""
    cmdstanpy = pytest.importorskip("cmdstanpy")
    import replic
    from replic.io_cmdstan import NAMES_FILE, posterior_from_cmdstan
    from replic.stan.fit import fit_posterior

    post = fit_posterior(sleepstudy, FORMULA, backend="cmdstan", output_dir=tmp_path, seed=1,
                         chains=2, warmup=500, draws=500, quiet=True)
    for name, mine in (("b_Days", post.b[:, 1]), ("sigma", post.sigma)):
        ref = brms_draws[name].to_numpy()
        assert abs(mine.mean() - ref.mean()) < 0.2 * ref.std(), name
    csvs = sorted(tmp_path.glob("*.csv"))
    assert len(csvs) == 2 and (tmp_path / NAMES_FILE).is_file()
    assert len(list(tmp_path.glob("data-*.json"))) == 1
    back = replic.read_draws(csvs[0])
    assert back.fixed == ("Intercept", "Days") and back.group == "Subject"
    assert back.levels == post.levels and back.formula == FORMULA
    np.testing.assert_array_equal(back.b, post.b[post.chain == 1])
    np.testing.assert_array_equal(posterior_from_cmdstan(csvs).r, post.r)
    ref = cmdstanpy.from_csv([str(p) for p in csvs])
    # sigma is an array of size 1 in a Gaussian model (size 0 in the other families)
    np.testing.assert_array_equal(ref.stan_variable("sigma")[:, 0], post.sigma)
    np.testing.assert_array_equal(ref.stan_variable("r_1"), post.r)
    assert int(ref.divergences.sum()) == post.diagnostics["divergences"]


def test_sampling_is_quiet_and_leaves_no_files(cmdstan_model, sleepstudy, tmp_path, capfd,
                                               monkeypatch):
    from replic.stan.data import stan_data

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    data = stan_data(sleepstudy.iloc[:40], FORMULA).to_stan()
    flat = cmdstan_model.sample(data, chains=2, warmup=50, draws=20, seed=3, quiet=True)
    assert flat.shape[0] == 40 and list(tmp_path.iterdir()) == []
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_missing_executable_is_a_fit_error(tmp_path):
    from replic.stan.cmdstan_backend import CmdStanModel

    with pytest.raises(ReplicFitError, match="compiled Stan executable not found"):
        CmdStanModel(exe=str(tmp_path / "lmm")).sample({}, chains=1, warmup=1, draws=1, seed=1)
