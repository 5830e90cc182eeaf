"""The formula grammar: what is accepted (and its normal form), what is refused, and every
route from user text to a model refusing an injection before anything is evaluated."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import replic
from replic import ReplicInputError
from replic.cli import main
from replic.formula_grammar import check_column_names, check_formula, check_name
from tests.conftest import DATASETS

PAYLOAD = "{__import__('os').system('touch PWNED')*0}"
INJECTION = f"Reaction ~ Days + {PAYLOAD} + (Days | Subject)"


@pytest.mark.parametrize(("text", "normal"), [
    ("Reaction ~ 1 + Days + (1 + Days | Subject)", "Reaction ~ 1 + Days + (1 + Days | Subject)"),
    ("y~x+(1|g)", "y ~ x + (1 | g)"),
    ("y ~ 0 + x + (0 + x || g)", "y ~ 0 + x + (0 + x || g)"),
    ("y ~ -1 + x*z + a:b + (1|g)", "y ~ -1 + x * z + a:b + (1 | g)"),
    ("y ~ x - 1 + (1 | g)", "y ~ x - 1 + (1 | g)"),
    ("y ~ log(x) + sqrt(x) + exp(x) + scale(x) + (1 | g)",
     "y ~ log(x) + sqrt(x) + exp(x) + scale(x) + (1 | g)"),
    ("y ~ I(x^2) + I(x^0.5) + (1 | g)", "y ~ I(x ** 2) + I(x ** 0.5) + (1 | g)"),
    ("y ~ factor(f) + C(f):x + (1 | g)", "y ~ factor(f) + C(f):x + (1 | g)"),
    ("cbind(s, n - s) ~ x + (1 | g)", "s | trials(n) ~ x + (1 | g)"),   # lme4's idiom
    ("y ~ Sepal.Length + log(Sepal.Length) + (1 | g)",
     "y ~ Sepal.Length + log(`Sepal.Length`) + (1 | g)"),
    ("y ~ `my var` + (1 | `the group`)", "y ~ `my var` + (1 | `the group`)"),
    ("y ~ x + (1 | g) + (1 | h)", "y ~ x + (1 | g) + (1 | h)"),
    ("y ~\tx", "y ~ x"),
    ("cbind(s,f) ~ x + (1|g)", "cbind(s, f) ~ x + (1 | g)"),
    ("s|trials(n) ~ x + (x|g)", "s | trials(n) ~ x + (x | g)"),
    ("s | trials(20) ~ 1 + (1 | g)", "s | trials(20) ~ 1 + (1 | g)"),
])
def test_accepted(text, normal):
    assert check_formula(text, where="formula") == normal
    assert check_formula(normal, where="formula") == normal  # idempotent


@pytest.mark.parametrize(("text", "token"), [
    (INJECTION, "'{' at character 19"),
    ("y ~ x + {x}", "'{'"),
    ("y ~ x.__class__", "'x.__class__'"),
    ("y ~ `__import__`", "backquoted name"),
    ("y ~ __import__", "'_'"),
    ("y ~ os.system(x)", "function 'os.system'"),
    ("y ~ os.system('x')", "\"'\" at character 15"),
    ("y ~ eval(x)", "function 'eval'"),
    ("y ~ poly(x, 2)", "'poly'"), ("y ~ x + z, w", "','"), ("cbind(s, f, g) ~ x", "','"),
    ("s | trials(n + 1) ~ x", "'+'"), ("s | weights(n) ~ x", "'weights'"),
    ("y ~ log(x, 2)", "','"),
    ("y ~ x + 'x'", "\"'\""),
    ('y ~ x + "x"', "'\"'"),
    ("y ~ x[0]", "'['"),
    ("y ~ x; import os", "';'"),
    ("y ~ lambda: 1", "found '1'"),
    ("y ~ x^2", "found '^'"),
    ("y ~ x ** 2", "found '**'"),
    ("y ~ I(x + 1)", "'^' in I(x^power)"),
    ("y ~ I(x ^ 123456789)", "at most 6 characters"),
    ("y ~ (x + z):w", "'|' or '||'"),
    ("y ~ x + ((1 | g))", "parentheses only enclose"),
    ("y ~ x:(1 | g)", "found '('"),
    ("y ~ x + (1 | g + h)", "')' closing"),
    ("y ~ x - z", "'1' after '-'"),
    ("y ~ 2 + x", "numbers other than 0 and 1"),
    ("y ~ 1:x", "a column name in an interaction"),
    ("y ~ .", "name '.'"),
    ("~ x", "expected a column name"),
    ("log(y) ~ x", "expected a column name"),
    ("y ~", "the end of the formula"),
    ("y ~ x ~ z", "found '~'"),
    ("y ~ x\n+ z", "control character '\\n'"),
    ("y ~ x\\n", "'\\\\'"),
    ("y ~ x\x00", "control character"),
    ("y ~ x\u202e", "non-ASCII character"),
    ("y ~ \uff58", "non-ASCII character"),  # fullwidth x
    ("y ~ x + `a{b}`", "backquoted name"),
    ("y ~ " + "x + " * 300 + "x", "expected at most 1000"),
])
def test_refused(text, token):
    with pytest.raises(ReplicInputError) as info:
        check_formula(text, where="study.toml: formula")
    msg = str(info.value)
    assert msg.startswith("study.toml: formula") and token in msg and "\n" not in msg


@pytest.mark.parametrize("value", [None, 3, b"y ~ x", ["y ~ x"]])
def test_not_a_string(value):
    with pytest.raises(ReplicInputError, match="expected a formula string"):
        check_formula(value, where="formula")


def test_names_and_columns():
    assert check_name("Days", where="term") == "Days" and check_name("Days:Groupb", where="t")
    for bad in ("", "a b", "log(x)", PAYLOAD, "a__b", 3):
        with pytest.raises(ReplicInputError, match="term = "):
            check_name(bad, where="term")
    check_column_names(["Reaction", "Days", "my col", "Größe"], where="d.csv")
    for bad in (PAYLOAD, "a`b", "a\nb", "__x", 'say "hi"'):
        with pytest.raises(ReplicInputError, match=r"d\.csv: column 2 is named"):
            check_column_names(["ok", bad], where="d.csv")


# --- every route from user text to a model refuses the injection before evaluating it ------

@pytest.fixture
def sleep(monkeypatch, tmp_path) -> pd.DataFrame:
    monkeypatch.chdir(tmp_path)  # where the payload would create PWNED
    return pd.read_csv(DATASETS / "sleepstudy.csv")


def _refused(fn, *args, **kwargs) -> str:
    with pytest.raises(ReplicInputError) as info:
        fn(*args, **kwargs)
    assert not Path("PWNED").exists()
    return str(info.value)


def test_route_fit_lmm(sleep):
    assert "'{'" in _refused(replic.fit_lmm, sleep, INJECTION)


def test_route_fit_bayes_fast(sleep):
    assert "'{'" in _refused(replic.fit_bayes_fast, sleep, INJECTION)


def test_route_fit_posterior(sleep):
    assert "'{'" in _refused(replic.fit_posterior, sleep, INJECTION)


def test_route_stan_data(sleep):
    from replic.stan.data import stan_data

    assert "'{'" in _refused(stan_data, sleep, INJECTION)


def test_route_parse_formula(sleep):
    from replic.lmm import parse_formula

    assert "'{'" in _refused(parse_formula, INJECTION)


def _study(tmp_path: Path, **keys: str) -> Path:
    lines = {"data": f'"{DATASETS / "sleepstudy.csv"}"', "fit": '"bayes-fast"', "term": '"Days"',
             "formula": '"Reaction ~ Days + (Days | Subject)"'} | keys
    p = tmp_path / "s.toml"
    p.write_text("".join(f"{k} = {v}\n" for k, v in lines.items()) + "[design]\nk = 3\n")
    return p


@pytest.mark.parametrize("key", ["formula", "term"])
def test_route_study_file(sleep, tmp_path, key):
    from replic.studyfile import load_study

    p = _study(tmp_path, **{key: f'"{INJECTION}"' if key == "formula" else f'"{PAYLOAD}"'})
    assert f"s.toml: {key}" in _refused(load_study, p)


def test_route_study_cli(sleep, tmp_path, capsys):
    p = _study(tmp_path, formula=f'"{INJECTION}"')
    assert main(["run", str(p), "--out", "o", "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "formula" in err and "'{'" in err and err.count("\n") == 1
    assert not Path("PWNED").exists() and not Path("o").exists()


def test_route_fit_cli(sleep, capsys):
    assert main(["fit", str(DATASETS / "sleepstudy.csv"), INJECTION, "--out", "d.csv"]) == 2
    err = capsys.readouterr().err
    assert "replic fit FORMULA" in err and err.count("\n") == 1
    assert not Path("PWNED").exists() and not Path("d.csv").exists()


def test_route_data_column_names(sleep, tmp_path):
    """A data file whose column name is code: refused when read, whatever the formula."""
    from replic.read import read_data
    from replic.studyfile import load_study

    bad = sleep.rename(columns={"Days": PAYLOAD})
    bad.to_csv(tmp_path / "d.csv", index=False)
    assert "column 2 is named" in _refused(read_data, tmp_path / "d.csv")
    p = _study(tmp_path, data='"d.csv"')
    assert "column 2 is named" in _refused(lambda: load_study(p).posterior())
    # and as a DataFrame column referenced through backquotes
    assert "backquoted name" in _refused(replic.fit_bayes_fast, bad,
                                         f"Reaction ~ `{PAYLOAD}` + (1 | Subject)")


def test_formulaic_errors_become_one_plain_line():
    """formulaic's parse errors span lines and carry terminal colours; wrapped in a
    ReplicInputError (as the model builders do) they are one plain line."""
    from formulaic import Formula

    with pytest.raises(Exception) as info:
        Formula("y ~ x +* (")
    raw = str(info.value)
    assert "\n" in raw and "\x1b[" in raw  # what formulaic gives
    msg = str(ReplicInputError(f"formula 'y ~ x +* (': cannot parse ({raw})"))
    assert "\n" not in msg and "\x1b" not in msg and "Operator `+*` is incorrectly used" in msg
