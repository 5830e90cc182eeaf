"""A corpus of bad inputs: each exits 2 with one line ``replic: error: ...`` and leaves nothing.

Every case builds its files in a fresh directory (the working directory of the run), lists the
directory tree, runs ``replic.cli.main`` in-process, and checks the exit status, that stderr is
exactly one line naming the problem, and that the tree is unchanged.  A few cases run through a
real subprocess too.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from replic.cli import main
from tests.conftest import DATASETS, DRAWS

DATA = DATASETS / "sleepstudy.csv"
INJECT = "{__import__('os').system('touch PWNED')*0}"


@pytest.fixture(scope="module")
def small_draws() -> pd.DataFrame:
    """200 brms draws of the sleepstudy model (enough for every check, quick to write)."""
    return pd.read_csv(DRAWS, nrows=200)


def _write(tmp: Path, name: str, text: str | bytes) -> Path:
    p = tmp / name
    if isinstance(text, bytes):
        p.write_bytes(text)
    else:
        p.write_text(text, encoding="utf-8")
    return p


def _toml(tmp: Path, body: str, *, draws: str | None = None,
          design: str = "k = 3\nx = [0, 1, 2, 3]\n") -> Path:
    head = f'draws = "{draws or DRAWS}"\nterm = "Days"\nreps = 20\n'
    p = tmp / "s.toml"
    p.write_text(head + body + ("\n[design]\n" + design if design else ""), encoding="utf-8")
    return p


def _from_data(tmp: Path, data: Path, formula: str = "Reaction ~ 1 + Days + (1 + Days | Subject)",
               extra: str = "") -> Path:
    p = tmp / "s.toml"
    p.write_text(f'data = "{data}"\nformula = "{formula}"\nfit = "bayes-fast"\nterm = "Days"\n'
                 f'reps = 20\n{extra}[design]\nk = 3\n', encoding="utf-8")
    return p


def _draws_csv(tmp: Path, df: pd.DataFrame, name: str = "draws.csv") -> Path:
    p = tmp / name
    df.to_csv(p, index=False)
    return p


def _run(path: Path, *more: str) -> list[str]:
    return ["run", str(path), "--quiet", "--jobs", "1", "--out", "out", *more]


def _edit(df: pd.DataFrame, fn: Callable[[pd.DataFrame], pd.DataFrame]) -> pd.DataFrame:
    return fn(df.copy())


def _set(df, col, value):
    df[col] = df[col].astype(object)
    df.loc[3, col] = value
    return df


def _linked(tmp: Path) -> Path:
    """A results directory whose replicates.parquet links to a file of the user's."""
    d = tmp / "o"
    d.mkdir()
    (d / "manifest.json").write_text('{"format": "replic-run/1"}')
    _write(tmp, "mine.txt", "precious")
    (d / "replicates.parquet").symlink_to(tmp / "mine.txt")
    return d


def _text_days(tmp: Path) -> Path:
    return _write(tmp, "d.csv", "Reaction,Days,Subject\n1,one,1\n2,two,2\n")


def _broken_results(tmp: Path) -> list[str]:
    d = tmp / "res"
    d.mkdir()
    (d / "study.json").write_text('{"term": "Days", "original": {"estimate": 1}}')
    (d / "summary.csv").write_text("not,a\nsummary,table\n")
    return ["report", str(d)]


def _gz_bytes(tmp: Path, name: str, data: bytes) -> Path:
    p = tmp / name
    p.write_bytes(data)
    return p


def _truncated_gz(tmp: Path) -> Path:
    raw = DRAWS.read_bytes()
    return _gz_bytes(tmp, "trunc.csv.gz", raw[: len(raw) // 2])


def _corrupt_gz(tmp: Path) -> Path:
    raw = bytearray(gzip.compress(b"b_Days,sigma\n" + b"1,2\n" * 2000))
    raw[40:60] = b"\xff" * 20
    return _gz_bytes(tmp, "corrupt.csv.gz", bytes(raw))


# (id, setup(tmp, draws_df) -> argv, text expected in the message)
CASES: list[tuple[str, Callable, str]] = [
    # study files: names escaping their directory, wrong types
    ("name-dotdot", lambda t, d: _run(_toml(t, 'name = "../x"')), "name = '../x'"),
    ("name-absolute", lambda t, d: ["run", str(_toml(t, f'name = "{t / "abs"}"')), "--jobs", "1"],
     "plain study name"),
    ("name-nested", lambda t, d: ["run", str(_toml(t, 'name = "a/../../x"'))], "plain study name"),
    ("name-empty", lambda t, d: ["run", str(_toml(t, 'name = ""'))], "name = ''"),
    ("name-dot", lambda t, d: ["run", str(_toml(t, 'name = ".."'))], "plain study name"),
    ("name-int", lambda t, d: ["run", str(_toml(t, "name = 3"))], "name = 3"),
    ("name-nul", lambda t, d: ["run", str(_toml(t, 'name = "a\\u0000b"'))], "plain study name"),
    ("k-by-zero", lambda t, d: _run(_toml(t, "", design="k = {from = 2, to = 9, by = 0}\n")),
     "by >= 1"),
    ("k-fractional", lambda t, d: _run(_toml(t, "", design="k = {from = 2.5, to = 9}\n")),
     "with integers"),
    ("k-reversed", lambda t, d: _run(_toml(t, "", design="k = {from = 9, to = 2}\n")),
     "from <= to"),
    ("k-too-many", lambda t, d: _run(_toml(t, "", design="k = {from = 2, to = 100000000}\n")),
     "designs; expected at most"),
    ("k-empty-list", lambda t, d: _run(_toml(t, "", design="k = []\n")), "k = []"),
    ("k-extra-key", lambda t, d: _run(_toml(t, "", design="k = {from = 2, to = 4, step = 1}\n")),
     "k = {"),
    ("x-string", lambda t, d: _run(_toml(t, "", design='k = 3\nx = "12"\n')), "x = '12'"),
    ("x-bools", lambda t, d: _run(_toml(t, "", design="k = 3\nx = [true, false]\n")), "x = ["),
    ("missing-bool", lambda t, d: _run(_toml(t, "", design="k = 3\nmissing = false\n")),
     "missing = False"),
    ("missing-one", lambda t, d: _run(_toml(t, "", design="k = 3\nmissing = 1.0\n")),
     "missing=1.0"),
    ("params-nan", lambda t, d: _run(_toml(t, "", design="k = 3\nparams = {b_Days = nan}\n")),
     "finite numbers"),
    ("params-unknown", lambda t, d: _run(_toml(
        t, "", design="k = 3\nx = [0, 1]\nparams = {b_Dayz = 1.0}\n")),
     "unknown parameter 'b_Dayz'"),
    ("params-mode", lambda t, d: _run(_toml(t, "", design='k = 3\nparams = "mode"\n')),
     "params='mode'"),
    ("design-empty", lambda t, d: _run(_toml(t, "design = []\n", design="")), "design = []"),
    ("design-twice", lambda t, d: _run(_toml(t, "", design="k = [3, 3]\n")), "listed twice"),
    ("target-string", lambda t, d: _run(_toml(t, 'target = "0.8"')), "target = '0.8'"),
    ("target-above-1", lambda t, d: _run(_toml(t, "target = 2")), "target = 2"),
    ("options-not-table", lambda t, d: _run(_toml(t, "options = 3")), "options = 3"),
    ("options-summary", lambda t, d: _run(_toml(t, "[options]\nlevel = 0.9\n")),
     "summary analysis takes no options"),
    ("options-misspelled", lambda t, d: _run(_toml(
        t, 'analysis = ["summary", "reml"]\n[options.rmel]\nlevel = 0.9\n')),
     "[options.rmel] is not one of the analyses"),
    ("options-flat-several", lambda t, d: _run(_toml(
        t, 'analysis = ["summary", "reml"]\n[options]\nlevel = 0.9\n')),
     "must be tables per analysis"),
    ("options-reml-bad-value", lambda t, d: _run(_toml(
        t, 'analysis = ["summary", "reml"]\n[options.reml]\nlevel = "high"\n')), "level='high'"),
    ("seed-2^64", lambda t, d: _run(_toml(t, "seed = 18446744073709551616")), "seed = "),
    ("seed-negative", lambda t, d: _run(_toml(t, "seed = -1")), "seed = -1"),
    ("reps-zero", lambda t, d: _run(_toml(t, ""), "--reps", "0"), "--reps: 0"),
    ("reps-bool", lambda t, d: _run(_write(t, "s.toml", f'draws = "{DRAWS}"\nterm = "Days"\n'
                                           "reps = true\n[design]\nk = 3\n")), "reps = True"),
    ("term-injection", lambda t, d: _run(_write(t, "s.toml", f'draws = "{DRAWS}"\n'
                                                f'term = "{INJECT}"\n[design]\nk = 3\n')),
     "term = "),
    ("term-unknown", lambda t, d: _run(_write(t, "s.toml", f'draws = "{DRAWS}"\n'
                                              'term = "Dayz"\n[design]\nk = 3\nx = [0, 1]\n')),
     "Dayz"),
    ("draws-not-string", lambda t, d: _run(_write(t, "s.toml", 'draws = 3\nterm = "Days"\n'
                                                  "[design]\nk = 3\n")), "draws = 3"),
    ("draws-absent", lambda t, d: ["run", str(_toml(t, "", draws="absent.csv"))],
     "absent.csv: no such file"),
    ("infeasible-k-reml", lambda t, d: _run(_toml(t, 'analysis = "reml"',
                                                  design="k = 1000000000\nx = [0, 1]\n")),
     "expected at most 1000000 new subjects"),
    ("infeasible-memory-reml", lambda t, d: _run(_toml(
        t, 'analysis = "reml"', design=f"k = 1000000\nx = {list(range(2000))}\n")),
     "GiB of memory"),
    ("not-toml", lambda t, d: _run(_write(t, "s.toml", "name = = 3")), "not valid TOML"),
    ("study-not-utf8", lambda t, d: _run(_write(t, "s.toml", b'name = "\xff\xfe"\n')),
     "not valid TOML"),
    ("unknown-key", lambda t, d: _run(_toml(t, "colour = 1")), "unknown key(s) colour"),
    ("fit-not-string", lambda t, d: _run(_write(t, "s.toml", f'data = "{DATA}"\nformula = '
                                                '"Reaction ~ Days + (1 | Subject)"\nfit = 1\n'
                                                'term = "Days"\n[design]\nk = 3\n')),
     "fit = 1"),
    # formulas: injection and grammar
    ("formula-injection", lambda t, d: _run(_from_data(
        t, DATA, f"Reaction ~ Days + {INJECT} + (Days | Subject)".replace('"', "'"))),
     "is not a formula replic accepts"),
    ("formula-call", lambda t, d: _run(_from_data(
        t, DATA, "Reaction ~ exec(Days) + (1 | Subject)")),
     "function 'exec'"),
    ("formula-unbalanced", lambda t, d: _run(_from_data(
        t, DATA, "Reaction ~ Days + (1 | Subject")),
     "closing the random-effects term"),
    ("formula-unknown-column", lambda t, d: _run(_from_data(
        t, DATA, "Reaction ~ Dayz + (1 | Subject)")), "Dayz"),
    # draws files
    ("draws-truncated-gzip", lambda t, d: ["effects", str(_truncated_gz(t)), "--term", "Days"],
     "trunc.csv.gz"),
    ("draws-corrupt-gzip", lambda t, d: ["effects", str(_corrupt_gz(t)), "--term", "Days"],
     "corrupt.csv.gz"),
    ("draws-duplicate-column", lambda t, d: ["effects", str(_draws_csv(
        t, pd.concat([d, d[["b_Days"]]], axis=1))), "--term", "Days"],
     "'b_Days' appears more than once"),
    ("draws-bad-sd-name", lambda t, d: ["effects", str(_draws_csv(t, d.rename(
        columns={"sd_Subject__Days": "sd_SubjectDays"}))), "--term", "Days"], "sd_SubjectDays"),
    ("draws-bad-cor-name", lambda t, d: ["effects", str(_draws_csv(t, d.rename(
        columns={"cor_Subject__Intercept__Days": "cor_Subject__Intercept"}))), "--term", "Days"],
     "cor_Subject__Intercept"),
    ("draws-chain-text", lambda t, d: ["effects", str(_draws_csv(
        t, _edit(d, lambda x: _set(x, ".chain", "one")))), "--term", "Days"], "'.chain'"),
    ("draws-value-text", lambda t, d: ["effects", str(_draws_csv(
        t, _edit(d, lambda x: _set(x, "b_Days", "ten")))), "--term", "Days"], "'b_Days'"),
    ("draws-sd-overflow", lambda t, d: ["effects", str(_draws_csv(
        t, _edit(d, lambda x: _set(x, "sigma", 1e300)))), "--term", "Days"], "'sigma'"),
    ("draws-empty", lambda t, d: ["effects", str(_gz_bytes(t, "e.csv", b"")), "--term", "Days"],
     "empty file"),
    ("draws-header-only", lambda t, d: ["effects", str(_gz_bytes(t, "h.csv", b"b_Days,sigma\n")),
                                        "--term", "Days"], "no rows"),
    ("draws-not-utf8", lambda t, d: ["effects", str(_gz_bytes(t, "u.csv", b"b_\xff\xfe,x\n1,2\n")),
                                     "--term", "Days"], "UTF-8"),
    ("draws-directory", lambda t, d: ["effects", str(t), "--term", "Days"], "no such draws"),
    ("draws-k-zero", lambda t, d: ["effects", str(DRAWS), "--term", "Days", "--k", "0"], "k=0"),
    # data files
    ("data-empty", lambda t, d: _run(_from_data(t, _gz_bytes(t, "d.csv", b""))), "empty file"),
    ("data-not-utf8", lambda t, d: _run(_from_data(t, _gz_bytes(
        t, "d.csv", b"Reaction,Days,Subject\n\xff,1,2\n"))), "UTF-8"),
    ("data-response-text", lambda t, d: _run(_from_data(t, _gz_bytes(
        t, "d.csv", b"Reaction,Days,Subject\nfast,1,1\nslow,2,1\nfast,1,2\nslow,2,2\n"))),
     "Reaction"),
    ("data-column-injection", lambda t, d: _run(_from_data(t, _gz_bytes(
        t, "d.csv", f'Reaction,Days,Subject,"{INJECT}"\n1,1,1,1\n2,2,2,2\n'.encode()))),
     "column 4 is named"),
    ("data-duplicate-column", lambda t, d: _run(_from_data(t, _gz_bytes(
        t, "d.csv", b"Reaction,Days,Days,Subject\n1,1,1,1\n2,2,2,2\n"))), "'Days' appears"),
    ("data-term-text", lambda t, d: _run(_write(t, "s.toml", f'draws = "{DRAWS}"\ndata = '
                                                f'"{_text_days(t)}"\nterm = "Days"\n'
                                                "[design]\nk = 3\n")),
     "cannot tell which variable"),
    # command-line arguments
    ("out-is-file", lambda t, d: ["run", str(_toml(t, "")), "--out", str(t / "s.toml")],
     "for the results, not a file"),
    ("out-not-replic", lambda t, d: ["run", str(_toml(t, "")), "--out", str(t)],
     "not a replic results directory"),
    ("out-parent-file", lambda t, d: ["run", str(_toml(t, "")), "--out", str(t / "s.toml" / "o")],
     "is a file"),
    ("reps-text", lambda t, d: ["run", "--reps", "many"], "invalid int value"),
    ("seed-huge-flag", lambda t, d: ["run", str(_toml(t, "")), "--seed", str(2**70)], "--seed"),
    ("jobs-zero", lambda t, d: ["run", str(_toml(t, "")), "--jobs", "0"], "--jobs 0"),
    ("scheduler-malformed", lambda t, d: ["run", str(_toml(t, "")), "--scheduler", "not an addr"],
     "tcp://HOST:PORT"),
    ("scheduler-unreachable", lambda t, d: ["run", str(_toml(t, "")), "--scheduler",
                                            "tcp://127.0.0.1:9"], "cannot connect"),
    ("analysis-twice", lambda t, d: ["run", str(_toml(t, "")), "--analysis", "summary",
                                     "--analysis", "summary"], "at most once"),
    ("analysis-unknown", lambda t, d: ["run", "--analysis", "mcmc"], "invalid choice"),
    ("report-broken", lambda t, d: _broken_results(t), "damaged results directory"),
    ("report-absent", lambda t, d: ["report", str(t / "nope")], "not a replic results"),
    ("report-user-dir", lambda t, d: ["report", str(t)], "not a replic results"),
    ("fit-injection", lambda t, d: ["fit", str(DATA), f"Reaction ~ Days + {INJECT} + (1 | Subject)",
                                    "--out", "draws.csv"], "replic fit FORMULA"),
    ("fit-out-user-file", lambda t, d: ["fit", str(DATA), "Reaction ~ Days + (1 | Subject)",
                                        "--out", str(_toml(t, ""))], "not a draws CSV"),
    ("fit-no-data", lambda t, d: ["fit", "absent.csv", "Reaction ~ Days + (1 | Subject)",
                                  "--out", "draws.csv"], "absent.csv"),
    ("unknown-command", lambda t, d: ["frobnicate"], "invalid choice"),
    # found by the adversarial pass
    ("toml-nested-deep", lambda t, d: _run(_write(t, "s.toml", "x = " + "[" * 5000 + "]" * 5000)),
     "nested too deeply"),
    ("replic-prefix-escape", lambda t, d: ["run", str(_toml(t, "", draws="replic:../../x.csv"))],
     "naming a file shipped"),
    ("design-string", lambda t, d: _run(_toml(t, 'design = "k=3"', design="")),
     "expected a table"),
    ("analysis-table", lambda t, d: _run(_toml(t, "analysis = {a = 1}")), "analysis = {"),
    ("params-list", lambda t, d: _run(_toml(t, "", design="k = 3\nparams = [1, 2]\n")),
     "params=[1, 2]"),
    ("bayes-fast-huge-draws", lambda t, d: _run(_toml(
        t, 'analysis = "bayes-fast"\n[options]\ndraws = 100000000\n')), "draws=100000000"),
    ("stan-huge-chains", lambda t, d: _run(_toml(
        t, 'analysis = "stan"\n[options]\nchains = 100000\n')), "chains=100000"),
    ("reps-huge-flag", lambda t, d: _run(_toml(t, ""), "--reps", str(10**13)), "tasks"),
    ("out-symlinked-parquet", lambda t, d: [*_run(_toml(t, ""))[:-2], "--out", str(_linked(t))],
     "replicates.parquet is a symbolic link"),
]


def _tree(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): (p.stat().st_size if p.is_file() else -1)
            for p in sorted(root.rglob("*"))}


@pytest.mark.parametrize(("setup", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input(tmp_path, monkeypatch, capsys, small_draws, setup, expected):
    monkeypatch.chdir(tmp_path)
    argv = setup(tmp_path, small_draws)
    capsys.readouterr()
    before = _tree(tmp_path)
    try:
        status = main(argv)
    except SystemExit as exc:  # argparse usage errors
        status = exc.code
    captured = capsys.readouterr()
    assert status == 2, captured.err
    lines = captured.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("replic: error: "), captured.err
    assert expected in lines[0]
    assert "\x1b" not in lines[0]
    assert _tree(tmp_path) == before
    assert not (tmp_path / "PWNED").exists()


def test_corpus_size():
    assert len(CASES) >= 40 and len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", ["formula-injection", "name-dotdot", "draws-truncated-gzip",
                                  "out-not-replic", "report-broken", "reps-text"])
def test_bad_input_subprocess(tmp_path, small_draws, case):
    """The same through the real command (``python -m replic``): one line, exit 2."""
    setup, expected = {c[0]: c[1:] for c in CASES}[case]
    argv = setup(tmp_path, small_draws)
    before = _tree(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    proc = subprocess.run([sys.executable, "-m", "replic", *argv], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("replic: error: ") and expected in lines[0]
    assert _tree(tmp_path) == before and not (tmp_path / "PWNED").exists()


def test_data_file_with_bom(tmp_path, monkeypatch, capsys):
    """A data CSV saved by Excel (UTF-8 with a byte-order mark) reads like any other."""
    monkeypatch.chdir(tmp_path)
    _write(tmp_path, "d.csv", b"\xef\xbb\xbf" + DATA.read_bytes())
    assert main(_run(_from_data(tmp_path, tmp_path / "d.csv"))) == 0, capsys.readouterr().err
