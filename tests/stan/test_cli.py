"""``replic fit DATA.csv FORMULA --out draws.csv`` writes brms-named draws that replic reads."""

from __future__ import annotations

import pytest

import replic
from replic.cli import main
from tests.stan.conftest import DATASETS, FORMULA


def test_fit_command_writes_readable_brms_draws(stan_model, backend, tmp_path, capsys):
    out = tmp_path / "draws.csv"
    code = main(["fit", str(DATASETS / "sleepstudy.csv"), FORMULA, "--out", str(out),
                 "--chains", "2", "--warmup", "150", "--draws", "100", "--seed", "4",
                 "--backend", backend])
    assert code == 0
    printed = capsys.readouterr().out
    assert "b_Days" in printed and "max R-hat" in printed and str(out) in printed
    assert f"2 chains, {backend})" in printed
    post = replic.read_draws(out)
    assert post.n_draws == 200 and post.fixed == ("Intercept", "Days")
    assert post.group == "Subject" and post.r.shape == (200, 18, 2)
    assert 5 < post.b[:, 1].mean() < 15


@pytest.mark.parametrize("args, message", [
    (["missing.csv", FORMULA], "no such data file"),
    ([str(DATASETS / "sleepstudy.csv"), "Reaction ~ Dayz + (1 | Subject)"], "Dayz"),
    ([str(DATASETS / "sleepstudy.csv"), "Reaction ~ Days"], "random-effects term"),
])
def test_fit_command_input_errors(args, message, tmp_path, capsys):
    assert main(["fit", *args, "--out", str(tmp_path / "d.csv")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("replic: error:") and message in err and err.count("\n") == 1
