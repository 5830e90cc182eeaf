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


def test_fit_command_binomial_with_trials(stan_model, backend, tmp_path, capsys):
    """A binomial model (implied by the trials response) and a bernoulli one (--family)."""
    from tests.stan.glmm_reference import DATA

    out = tmp_path / "cbpp.csv"
    code = main(["fit", str(DATA / "cbpp.csv"), "incidence | trials(size) ~ period + (1 | herd)",
                 "--out", str(out), "--chains", "2", "--warmup", "150", "--draws", "100",
                 "--backend", backend])
    assert code == 0 and "(binomial): 200 draws" in capsys.readouterr().out
    post = replic.read_draws(out, family="binomial")
    assert post.sigma is None and post.fixed == ("Intercept", "period")  # numbers in the CSV
    assert main(["fit", str(DATA / "bacteria.csv"), "y ~ week + (1 | ID)", "--family",
                 "bernoulli", "--out", str(tmp_path / "b.csv"), "--chains", "1", "--warmup",
                 "100", "--draws", "50", "--backend", backend]) == 0
    printed = capsys.readouterr().out
    assert "(bernoulli): 50 draws" in printed
    assert "R-hat nan" not in printed   # one chain: the R-hat of its two halves
    # its own draws file (no sigma in a bernoulli model) is one replic may replace
    assert main(["fit", str(DATA / "bacteria.csv"), "y ~ week + (1 | ID)", "--family",
                 "bernoulli", "--out", str(tmp_path / "b.csv"), "--chains", "1", "--warmup",
                 "100", "--draws", "50", "--backend", backend, "--seed", "2"]) == 0
    assert "(bernoulli): 50 draws" in capsys.readouterr().out
    with pytest.raises(SystemExit) as stop:
        main(["fit", str(DATA / "bacteria.csv"), "y ~ week + (1 | ID)", "--family", "gamma",
              "--out", str(tmp_path / "g.csv")])
    assert stop.value.code == 2 and "invalid choice: 'gamma'" in capsys.readouterr().err
