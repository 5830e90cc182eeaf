"""Study files: the bundled study, and errors naming the file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from replic import ReplicInputError
from replic.studyfile import BUILTIN_STUDY, load_study

ROOT = Path(__file__).resolve().parents[1]


def test_bundled_study():
    spec = load_study(ROOT / "studies" / "sleepstudy.toml")
    assert spec.name == "sleepstudy" and spec.term == "Days" and spec.reps == 2000
    assert [d.k for d in spec.designs] == list(range(2, 31))
    assert spec.designs[0].x == tuple(float(v) for v in range(10))
    post = spec.posterior()
    assert post.n_draws == 4000 and post.data is not None and len(post.data) == 180


def test_packaged_copy_is_identical():
    from importlib import resources

    packaged = Path(str(resources.files("replic") / "datasets" / "sleepstudy.toml"))
    assert packaged.read_text() == (ROOT / "studies" / "sleepstudy.toml").read_text()
    assert load_study(BUILTIN_STUDY).designs == load_study(packaged).designs


def _study(tmp_path, text):
    p = tmp_path / "s.toml"
    p.write_text(text)
    return p


BASE = 'draws = "replic:sleepstudy_brms_draws.csv.gz"\nterm = "Days"\n'


@pytest.mark.parametrize(("text", "message"), [
    ('term = "Days"\n[design]\nk = 3\n', r"s\.toml: missing required key 'draws' \(or"),
    (BASE + 'formula = "y ~ x"\n[design]\nk = 3\n', r"either 'draws' or 'formula'"),
    ('data = "replic:sleepstudy.csv"\nformula = "Reaction ~ Days + (1 | Subject)"\n'
     'term = "Days"\nfit = "mcmc"\n[design]\nk = 3\n', r"fit = 'mcmc'; expected one of stan"),
    (BASE + "[design]\nk = 1\n", r"s\.toml: design 1: Design: k=1"),
    (BASE + "[design]\nk = 'many'\n", r"design 1: k = 'many'"),
    (BASE + "[design]\nk = 3\nkk = 2\n", r"design 1: unknown key\(s\) kk"),
    (BASE + "reps = 'lots'\n[design]\nk = 3\n", r"reps = 'lots'; expected an integer"),
    (BASE + "colour = 1\n[design]\nk = 3\n", r"unknown key\(s\) colour"),
    (BASE + "analysis = 'mcmc'\n[design]\nk = 3\n", r"analysis = 'mcmc'; expected distinct"),
    (BASE + "analysis = ['reml', 'reml']\n[design]\nk = 3\n", r"expected distinct names"),
    ('draws = "nope.csv"\nterm = "Days"\n[design]\nk = 3\n', r"nope\.csv: no such file"),
    ("this is = = not toml", r"s\.toml: not valid TOML"),
])
def test_bad_study_files(tmp_path, text, message):
    with pytest.raises(ReplicInputError, match=message):
        load_study(_study(tmp_path, text))


def test_several_design_tables(tmp_path):
    spec = load_study(_study(tmp_path, BASE + "[[design]]\nk = [3, 5]\nx = [0, 1, 2]\n"
                             "[[design]]\nk = {from = 4, to = 8, by = 2}\nx = [0, 1, 2]\n"
                             "missing = 0.1\nparams = {b_Days = 3.0}\n"))
    assert [d.k for d in spec.designs] == [3, 5, 4, 6, 8]
    assert spec.designs[-1].params == (("b_Days", 3.0),)
    assert spec.analysis == ("summary",)


def test_several_analyses(tmp_path):
    spec = load_study(_study(tmp_path, BASE + "analysis = ['summary', 'reml']\n[design]\nk = 3\n"))
    assert spec.analysis == ("summary", "reml")


def test_study_from_data(tmp_path):
    """No draws: the original is fitted (bayes-fast here; Stan is tested with the Stan engine)."""
    spec = load_study(_study(tmp_path, 'data = "replic:sleepstudy.csv"\n'
                             'formula = "Reaction ~ 1 + Days + (1 + Days | Subject)"\n'
                             'fit = "bayes-fast"\nterm = "Days"\nseed = 4\n[design]\nk = [3, 5]\n'))
    post = spec.posterior()
    assert post.data is not None and post.formula is not None
    assert post.term_summary("Days")["estimate"] == pytest.approx(10.34, abs=0.3)
    from replic import run_study

    res = run_study(post, list(spec.designs), term="Days", reps=100, seed=1, n_jobs=1)
    assert res.summary["design"].iloc[0] == "k=3, Days 0–9"  # x taken from the data
    assert res.info["x"] == list(range(10))


def test_exclude_unconverged(tmp_path):
    assert load_study(_study(tmp_path, BASE + "[design]\nk = 3\n")).exclude_unconverged is False
    spec = load_study(_study(tmp_path, BASE + "exclude_unconverged = true\n[design]\nk = 3\n"))
    assert spec.exclude_unconverged is True
    with pytest.raises(ReplicInputError, match=r"exclude_unconverged = 'yes'; expected true"):
        load_study(_study(tmp_path, BASE + "exclude_unconverged = 'yes'\n[design]\nk = 3\n"))


def test_design_templates_and_allocation(tmp_path):
    """[design] accepts within (inline table or CSV of one subject's rows), between, covariates;
    designs that differ only in x are separate designs."""
    (tmp_path / "subject.csv").write_text("Days\n" + "\n".join(["0"] * 20 + ["1"] * 20) + "\n")
    spec = load_study(_study(tmp_path, BASE + (
        '[[design]]\nk = [4, 8]\nx = [0, 1, 2, 3]\n'
        '[[design]]\nk = [4, 8]\nx = [0, 1, 2, 3, 4, 5, 6]\n'
        '[[design]]\nk = 6\nwithin = "subject.csv"\n'
        '[[design]]\nk = 6\nwithin = { Days = [0, 0, 1, 1] }\nname = "pilot"\n'
        '[[design]]\nk = 10\nx = [0, 1]\nbetween = { Sex = { Female = 0.5, Male = 0.5 } }\n'
        'covariates = { base = ["normal", 50, 10] }\n')))
    ds = spec.designs
    assert len(ds) == 7 and len({d.key for d in ds}) == 7
    assert ds[4].within == (("Days", (0.0,) * 20 + (1.0,) * 20),)
    assert ds[5].label == "pilot"
    assert ds[6].between == (("Sex", (("Female", 0.5), ("Male", 0.5))),)
    assert ds[6].covariates == (("base", ("normal", 50.0, 10.0)),)
    from replic import run_study

    res = run_study(spec.posterior(), list(ds[:5]), term="Days", reps=50, seed=1, n_jobs=1)
    assert list(dict.fromkeys(res.summary["design"])) == [
        "k=4, Days 0–3", "k=8, Days 0–3", "k=4, Days 0–6", "k=8, Days 0–6",
        "k=6, Days 0,1 ×20"]
    for bad, match in (('within = "nope.csv"', r"nope\.csv: no such file"),
                       ("within = [1, 2]", r"within = \[1, 2\]; expected a table"),
                       ('between = { Sex = 0.5 }', r"between\['Sex'\]=0.5")):
        with pytest.raises(ReplicInputError, match=match):
            load_study(_study(tmp_path, BASE + f"[design]\nk = 4\n{bad}\n"))


@pytest.mark.parametrize(("analysis", "options", "routed", "planned"), [
    ('"bayes-fast"', "[options]\ndraws = 200\n", {"bayes-fast": {"draws": 200}},
     {"bayes-fast": {"draws": 200}, "reml": {"draws": 200}}),
    ('"reml"', "[options.reml]\nlevel = 0.9\n", {"reml": {"level": 0.9}},
     {"reml": {"level": 0.9}, "summary": {}}),
    ('["summary", "reml"]', "[options.reml]\nlevel = 0.9\n",
     {"summary": {}, "reml": {"level": 0.9}}, {"reml": {"level": 0.9}, "stan": {}}),
])
def test_options_per_analysis(tmp_path, analysis, options, routed, planned):
    """``options_for`` gives run_study its ``options`` keyed by analysis; ``options_of`` (replic
    plan) one analysis's, perhaps not one the study runs."""
    spec = load_study(_study(tmp_path, f"{BASE}analysis = {analysis}\n[design]\nk = 3\n"
                                       f"{options}"))
    assert spec.options_for(spec.analysis) == routed
    assert {a: spec.options_of(a) for a in planned} == planned
