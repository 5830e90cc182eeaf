"""Families in: brms draws without sigma need the family; study files name it; analyses that
cannot handle it refuse naming the family and the analyses that can."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from replic import ReplicInputError, read_draws
from replic.analyses import FAMILIES, check_family
from replic.family import Family
from replic.studyfile import load_study

DRAWS = "replic:sleepstudy_brms_draws.csv.gz"


@pytest.fixture(scope="module")
def no_sigma():
    return read_draws(DRAWS).to_frame().drop(columns="sigma").iloc[:200]


def test_draws_without_sigma_need_the_family(no_sigma):
    with pytest.raises(ReplicInputError, match="no 'sigma' column; give the model's family"):
        read_draws(no_sigma)
    with pytest.raises(ReplicInputError, match="family='gaussian' was given"):
        read_draws(no_sigma, family="gaussian")
    post = read_draws(no_sigma, family="bernoulli")
    assert post.family == Family("bernoulli", "logit") and post.sigma is None
    assert "family: bernoulli(logit)" in repr(post)
    again = read_draws(post.to_frame(), family="bernoulli")
    np.testing.assert_array_equal(again.b, post.b)
    np.testing.assert_array_equal(again.r, post.r)
    assert read_draws(no_sigma, family="poisson").family.link == "log"
    assert np.isnan(post.point("mean")["sigma"])


def test_a_family_for_draws_with_sigma_is_an_error():
    with pytest.raises(ReplicInputError, match="family='poisson' was given but the draws have"):
        read_draws(DRAWS, family="poisson")
    assert read_draws(DRAWS, family="gaussian").family.gaussian
    with pytest.raises(ReplicInputError, match="family"):
        read_draws(DRAWS, family="weibull")


def test_study_file_family(tmp_path, no_sigma):
    no_sigma.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.toml").write_text('draws = "d.csv"\nterm = "Days"\nfamily = "bernoulli"\n'
                                     '[design]\nk = 3\n')
    spec = load_study(tmp_path / "s.toml")
    assert spec.family == Family("bernoulli") and spec.posterior().family == spec.family
    (tmp_path / "t.toml").write_text('draws = "d.csv"\nterm = "Days"\n[design]\nk = 3\n')
    with pytest.raises(ReplicInputError, match="give the model's family"):
        load_study(tmp_path / "t.toml").posterior()
    for bad, match in (('family = "weibull"', "s.toml: family = 'weibull'"),
                       ('family = "poisson"\nlink = "logit"', "link"),
                       ('link = "logit"', "needs family")):
        (tmp_path / "s.toml").write_text(f'draws = "d.csv"\nterm = "Days"\n{bad}\n'
                                         '[design]\nk = 3\n')
        with pytest.raises(ReplicInputError, match=match):
            load_study(tmp_path / "s.toml")


def test_analyses_refuse_families_they_cannot_fit(no_sigma):
    post = read_draws(no_sigma, family="bernoulli")
    for name in FAMILIES:
        if "bernoulli" not in FAMILIES[name]:
            with pytest.raises(ReplicInputError, match=f"analysis '{name}' handles gaussian "
                               "models only; the model is bernoulli\\(logit\\)"):
                check_family(name, post.family)
    check_family("summary", Family())
    from replic.study import run_study

    with pytest.raises(ReplicInputError, match="the model is bernoulli"):
        run_study(post, 3, term="Days", reps=5, seed=1, analysis="reml")


def test_cli_refuses_in_one_line(tmp_path, no_sigma):
    no_sigma.to_csv(tmp_path / "d.csv", index=False)
    (tmp_path / "s.toml").write_text('draws = "d.csv"\nterm = "Days"\nfamily = "poisson"\n'
                                     'analysis = "summary"\nreps = 5\n[design]\nk = 3\n')
    r = subprocess.run([sys.executable, "-m", "replic", "run", str(tmp_path / "s.toml"),
                        "--out", str(tmp_path / "out")], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "model is poisson(log)" in r.stderr
    assert not (tmp_path / "out").exists()


def test_cli_effects_on_the_response_scale():
    r = subprocess.run([sys.executable, "-m", "replic", "effects",
                        "replic:bacteria_brms_draws.csv.gz", "--term", "week", "--family",
                        "bernoulli", "--scale", "response", "--k", "5"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "bernoulli(logit), response scale" in r.stdout
    assert "population_averaged" in r.stdout and "k=5" in r.stdout
