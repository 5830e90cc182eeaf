"""Effects of Days for every estimand: brms identities, brms's own new-level draws, closed forms."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import replic
from replic.effects import ESTIMANDS, summarise_draws

REF = Path(__file__).parent / "data" / "brms"


@pytest.fixture(scope="module")
def draws(sleep_post):
    return replic.effect_draws(sleep_post, "Days", k=[3, 10], seed=11)


def _est(draws, name):
    return draws[draws["estimand"] == name]


def test_columns_and_estimands(draws):
    assert list(draws.columns) == ["estimand", "draw", "level", "value"]
    # link scale of a Gaussian model: population_averaged is the conditional effect, left out
    assert tuple(dict.fromkeys(draws["estimand"])) == tuple(
        e for e in ESTIMANDS if e != "population_averaged")


def test_conditional_is_b_days(draws, sleep_df):
    c = _est(draws, "conditional")
    assert np.array_equal(c["value"].to_numpy(), sleep_df["b_Days"].to_numpy())
    assert np.array_equal(c["draw"].to_numpy(), np.arange(4000))


def test_fitted_is_b_plus_r(draws, sleep_df):
    f = _est(draws, "fitted")
    for level in ("308", "352", "372"):
        got = f.loc[f["level"] == level, "value"].to_numpy()
        want = (sleep_df["b_Days"] + sleep_df[f"r_Subject[{level},Days]"]).to_numpy()
        assert np.array_equal(got, want)
    r = sleep_df.filter(regex=r"^r_Subject\[.*,Days\]$").to_numpy()
    assert np.allclose(_est(draws, "fitted_mean")["value"], sleep_df["b_Days"] + r.mean(axis=1))


def test_new_levels_modes_use_fitted_levels(draws, sleep_df):
    r = sleep_df.filter(regex=r"^r_Subject\[.*,Days\]$").to_numpy()
    b = sleep_df["b_Days"].to_numpy()
    unc = _est(draws, "new_uncertainty")["value"].to_numpy() - b
    # each draw's deviation is one of that draw's fitted deviations, chosen per draw
    match = np.isclose(unc[:, None], r)
    assert match.any(axis=1).all()
    assert len(np.unique(match.argmax(axis=1))) == 18
    old = _est(draws, "new_old_levels")
    lv = old["level"].iloc[0]
    assert (old["level"] == lv).all()
    assert np.allclose(old["value"] - b, sleep_df[f"r_Subject[{lv},Days]"])


def test_new_gaussian_matches_brms(sleep_post):
    """brms's own posterior_linpred(..., sample_new_levels = "gaussian")
    (tests/r/brms_new_levels.R),
    computed on a brms refit whose draws are replic's input here."""
    ref_draws = REF / "sleepstudy_refit_draws.csv.gz"
    if not ref_draws.is_file():
        pytest.fail(f"missing reference {ref_draws}")
    post = replic.read_draws(ref_draws)
    ref = pd.read_csv(REF / "new_levels_reference.csv").set_index("estimand")
    brms = pd.read_csv(REF / "new_gaussian_slopes.csv.gz")["slope"].to_numpy()
    ours = np.concatenate([
        replic.effect_draws(post, "Days", seed=s).query("estimand == 'new_gaussian'")["value"]
        for s in range(10)])
    g = ref.loc["new_gaussian"]
    sd = g["sd"]
    mc = sd / np.sqrt(4000)  # draws are shared, so this bounds the new-level sampling error
    assert ours.mean() == pytest.approx(g["mean"], abs=4 * mc)
    assert ours.std() == pytest.approx(sd, rel=0.03)
    for q, col in ((0.025, "q025"), (0.5, "q50"), (0.975, "q975")):
        assert np.quantile(ours, q) == pytest.approx(g[col], abs=0.04 * sd)
    assert stats.ks_2samp(ours, brms).pvalue > 1e-3
    c = ref.loc["conditional"]
    assert post.b[:, 1].mean() == pytest.approx(c["mean"], rel=1e-9)


def test_replication_mean_variance(sleep_post):
    """Per draw, the replication mean is N(beta_s, Sigma_s[Days,Days] / k)."""
    for k in (2, 7, 30):
        d = replic.effect_draws(sleep_post, "Days", k=k, seed=k)
        v = _est(d, "replication_mean")["value"].to_numpy()
        z = (v - sleep_post.b[:, 1]) / np.sqrt(sleep_post.Sigma[:, 1, 1] / k)
        assert abs(z.mean()) < 4 / np.sqrt(z.size)
        assert z.var() == pytest.approx(1.0, abs=4 * np.sqrt(2 / z.size))
        assert stats.kstest(z, "norm").pvalue > 1e-3
        assert (_est(d, "replication_mean")["level"] == f"k={k}").all()


def test_default_k_is_original_size(sleep_post):
    d = replic.effect_draws(sleep_post, "Days")
    assert set(_est(d, "replication_mean")["level"]) == {"k=18"}


def test_seeded(sleep_post):
    a = replic.effect_draws(sleep_post, "Days", k=4, seed=3)
    b = replic.effect_draws(sleep_post, "Days", k=4, seed=3)
    c = replic.effect_draws(sleep_post, "Days", k=4, seed=4)
    pd.testing.assert_frame_equal(a, b)
    assert not a["value"].equals(c["value"])


def test_bad_k(sleep_post):
    with pytest.raises(replic.ReplicInputError, match=r"k=0"):
        replic.effect_draws(sleep_post, "Days", k=0)


def test_random_intercept_model(ri_post):
    d = replic.effect_draws(ri_post, "Days", k=5)
    # Days does not vary by subject: every estimand is the conditional effect
    base = ri_post.b[:, 1]
    for e in ("new_gaussian", "fitted_mean", "new_uncertainty", "replication_mean"):
        assert np.allclose(_est(d, e)["value"], base)


def test_summary_table(draws):
    s = summarise_draws(draws)
    assert list(s.columns) == ["estimand", "level", "mean", "sd", "q2.5", "q50", "q97.5", "P(<0)"]
    cond = s.set_index("estimand").loc["conditional"]
    assert cond["mean"] == pytest.approx(10.34, abs=0.01)
    assert cond["sd"] == pytest.approx(1.73, abs=0.01)
    # the new subject is far more uncertain than the average subject
    assert s.set_index("estimand").loc["new_gaussian", "sd"] > 3 * cond["sd"]
    assert len(summarise_draws(draws, by_level=True)) == len(s) + 17


def test_trajectory_bands(sleep_post):
    t = replic.trajectory_bands(sleep_post, "Days", x=range(10), seed=1)
    assert set(t["band"]) == {"conditional", "new_subject", "prediction"}
    w = t.assign(width=t["upper"] - t["lower"]).pivot(index="x", columns="band", values="width")
    assert (w["conditional"] < w["new_subject"]).all()
    assert (w["new_subject"] < w["prediction"]).all()
    c = t[t["band"] == "conditional"]
    assert np.allclose(c["mean"], sleep_post.b[:, 0].mean() + sleep_post.b[:, 1].mean() * c["x"])


@pytest.fixture(scope="module")
def orthodont():
    """brms draws of distance ~ age * Sex + (age | Subject) (tests/r/brms_interaction.R)."""
    return replic.read_draws(REF / "orthodont_draws.csv.gz")


@pytest.mark.parametrize("sex", ["Female", "Male"])
def test_effect_at_matches_brms_posterior_linpred(orthodont, sex):
    """effect_draws(post, "age", at={"Sex": s}) against brms's posterior_linpred differences
    (age 9 minus age 8): conditional draw by draw (re_formula = NA); a new subject's effect
    (allow_new_levels, sample_new_levels = "gaussian", 40000 pooled values) in mean, sd and
    quantiles within Monte Carlo error of both sides."""
    ref = pd.read_csv(REF / "interaction_reference.csv").set_index(["estimand", "Sex"])
    dr = pd.read_csv(REF / "orthodont_draws.csv.gz")
    d = replic.effect_draws(orthodont, "age", at={"Sex": sex}, seed=5)
    cond = _est(d, "conditional")["value"].to_numpy()
    want = dr["b_age"].to_numpy() + (sex == "Male") * dr["b_age:SexMale"].to_numpy()
    assert np.allclose(cond, want, rtol=0, atol=1e-12)
    r = ref.loc[("conditional", sex)]
    assert cond.mean() == pytest.approx(r["mean"], abs=1e-9)
    assert np.quantile(cond, 0.975) == pytest.approx(r["q975"], abs=1e-9)
    new = np.concatenate([_est(replic.effect_draws(orthodont, "age", at={"Sex": sex}, seed=s),
                                    "new_gaussian")["value"].to_numpy() for s in range(10)])
    r = ref.loc[("new_gaussian", sex)]
    # MC error of a mean of 40000 values that share 4000 posterior draws: bounded by the sd
    # of the per-draw means over sqrt(4000), about 0.1 / 63; a few of those on both sides
    sd_mean = r["sd"] / np.sqrt(4000)
    assert abs(new.mean() - r["mean"]) < 4 * sd_mean
    assert new.std() == pytest.approx(r["sd"], rel=0.03)
    for q, col in ((0.025, "q025"), (0.5, "q50"), (0.975, "q975")):
        assert np.quantile(new, q) == pytest.approx(r[col], abs=5 * sd_mean)


def test_effect_at_names_and_errors(orthodont):
    c, cv = replic.effects.effect_weights(orthodont, "age", {"Sex": "Male"})
    assert list(c) == [0, 1, 0, 1] and list(cv) == [0, 1]
    c, cv = replic.effects.effect_weights(orthodont, "SexMale", {"age": 10, "Sex": "Male"})
    assert list(c) == [0, 0, 1, 10] and not cv.any()
    assert not replic.effects.varies_by_subject(orthodont, "SexMale")
    c, _ = replic.effects.effect_weights(orthodont, "age")
    assert list(c) == [0, 1, 0, 0]  # without at: the coefficient itself (Female, the reference)
    with pytest.raises(replic.ReplicInputError, match=r"at: variable\(s\) 'Sx'"):
        replic.effect_draws(orthodont, "age", at={"Sx": "Male"})
    with pytest.raises(replic.ReplicInputError, match=r"term 'Age'"):
        replic.effect_draws(orthodont, "Age")


def test_cli_effects_at_and_non_varying_term(tmp_path):
    import subprocess
    import sys

    draws = str(REF / "orthodont_draws.csv.gz")
    out = subprocess.run([sys.executable, "-m", "replic", "effects", draws, "--term", "age",
                          "--at", "Sex=Male"], capture_output=True, text=True, check=True,
                         timeout=300).stdout
    assert "Effect of age at Sex=Male" in out and "new_gaussian" in out
    out = subprocess.run([sys.executable, "-m", "replic", "effects", draws, "--term", "SexMale"],
                         capture_output=True, text=True, check=True, timeout=300).stdout
    lines = [ln for ln in out.splitlines() if ln.strip()]
    assert "does not vary by subject" in out and len(lines) == 4  # title, note, header, one row
    bad = subprocess.run([sys.executable, "-m", "replic", "effects", draws, "--term", "age",
                          "--at", "Sex"], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.startswith("replic: error: --at 'Sex'")
