"""Replication criteria on hand-computed cases, and the sceptical p-value against Held (2020)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from replic.criteria import CRITERIA, Original, bf_rep, d33, evaluate, sceptical_p

ORIG = Original(estimate=10.0, se=2.0, lower=6.0, upper=14.0)


def _one(est, se, lo, hi, df=None, orig=ORIG):
    out = evaluate(orig, [est], [se], [lo], [hi], None if df is None else [df])
    return {k: float(v[0]) for k, v in out.items()}


def test_clear_success():
    c = _one(9.0, 1.0, 7.04, 10.96)
    assert all(c[k] == 1.0 for k in CRITERIA)


def test_hand_computed_mixed_case():
    # replicate 3 (se 2): interval [-0.92, 6.92] includes 0 -> not significant
    c = _one(3.0, 2.0, 3.0 - 1.96 * 2, 3.0 + 1.96 * 2)
    assert c["sig_same_direction"] == 0.0
    assert c["same_sign"] == 1.0
    assert c["orig_in_rep_ci"] == 0.0  # 10 > 6.92
    assert c["rep_in_orig_ci"] == 0.0  # 3 < 6
    # PI: 10 +/- 1.96 sqrt(8) = [4.46, 15.54] -> 3 outside
    assert c["rep_in_pi"] == 0.0
    # d33 = 2 (1.95996 + qnorm(.33)) = 3.040; upper one-sided bound 3 + 1.645*2 = 6.29 >= d33
    assert d33(2.0) == pytest.approx(2 * (1.959964 - 0.439913), rel=1e-5)
    assert c["small_telescopes"] == 1.0
    bf = stats.norm.pdf(3, 10, np.sqrt(8)) / stats.norm.pdf(3, 0, 2)
    assert c["bf_rep_value"] == pytest.approx(bf, rel=1e-12)
    assert c["bf_rep"] == float(bf > 1)


def test_small_telescopes_failure():
    # a precise replicate near zero: upper bound 0.2 + 1.645 * 0.5 = 1.02 < d33 = 3.04
    c = _one(0.2, 0.5, 0.2 - 0.98, 0.2 + 0.98)
    assert c["small_telescopes"] == 0.0
    assert c["upper_one_sided"] == pytest.approx(0.2 + stats.norm.isf(0.05) * 0.5)
    assert c["bf_rep"] == 0.0  # evidence for the null


def test_negative_original_direction():
    orig = Original(estimate=-5.0, se=1.0, lower=-7.0, upper=-3.0)
    c = _one(-4.0, 1.0, -5.96, -2.04, orig=orig)
    assert c["sig_same_direction"] == 1.0 and c["same_sign"] == 1.0
    c = _one(4.0, 1.0, 2.04, 5.96, orig=orig)
    assert c["sig_same_direction"] == 0.0 and c["same_sign"] == 0.0
    assert c["sceptical_p_value"] > 0.5


def test_t_intervals_widen_normal_criteria():
    # the same estimate and se with df = 2: the PI uses se * t_2 / z
    est, se = 15.0, 1.5
    normal = _one(est, se, est - 1.96 * se, est + 1.96 * se)
    t2 = stats.t.isf(0.025, 2)
    small = _one(est, se, est - t2 * se, est + t2 * se, df=2)
    assert normal["rep_in_pi"] == 0.0  # |15-10| = 5 > 1.96 sqrt(4 + 2.25) = 4.9
    assert small["rep_in_pi"] == 1.0
    assert small["upper_one_sided"] == pytest.approx(est + stats.t.isf(0.05, 2) * se)


def test_failed_replicates_are_nan():
    out = evaluate(ORIG, [np.nan, 9.0], [np.nan, 1.0], [np.nan, 7.0], [np.nan, 11.0])
    for k in CRITERIA:
        assert np.isnan(out[k][0]) and out[k][1] == 1.0


def test_sceptical_p_reference_values():
    """ReplicationSuccess's own test values (tests/testthat/test-pSceptical.R, type nominal)."""
    assert sceptical_p(np.sqrt(12.19), np.sqrt(3.99), 1, alternative="two.sided") == \
        pytest.approx(0.083, abs=0.01)
    assert sceptical_p(2.33, 2.33, 1) == pytest.approx(0.05, abs=0.01)
    zo = np.arange(-4, 5, 2.0)
    one = {-4: [0.000149544079762546, 0.0236343314115514, 0.5, 0.976365668588449,
                0.999850455920237],
           -2: [0.0236343314115514, 0.0352998069509419, 0.5, 0.964700193049058,
                0.976365668588449],
           0: [0.5] * 5}
    two = {-4: [0.000299088159525091, 0.0472686628231029, 1, 0.0472686628231029,
                0.000299088159525091],
           -2: [0.0472686628231029, 0.0705996139018838, 1, 0.0705996139018838,
                0.0472686628231029]}
    for zr, want in one.items():
        assert np.allclose(sceptical_p(zo, zr, 0.05), want, rtol=1e-10, atol=1e-14)
    for zr, want in two.items():
        assert np.allclose(sceptical_p(zo, zr, 0.05, alternative="two.sided"), want, rtol=1e-10)


def test_sceptical_p_formula():
    """Held (2020): z_S^2 = z_H^2 / 2 for c = 1, and the defining sceptical-prior property."""
    zo, zr = 3.1, 2.4
    zh2 = 2 / (1 / zo**2 + 1 / zr**2)
    assert sceptical_p(zo, zr, 1.0, alternative="two.sided") == \
        pytest.approx(2 * stats.norm.sf(np.sqrt(zh2 / 2)), rel=1e-12)
    # at alpha = p_S, the sceptical prior N(0, tau^2) that makes the original just
    # non-significant is in conflict with the replication exactly at level alpha
    for c in (0.3, 1.0, 4.0):
        zs = stats.norm.isf(sceptical_p(zo, zr, c, alternative="two.sided") / 2)
        se_o, se_r = 1.0, 1.0 / np.sqrt(c)
        tau2 = se_o**2 / (zo**2 / zs**2 - 1)
        box = (zr * se_r) / np.sqrt(tau2 + se_r**2)
        assert box == pytest.approx(zs, rel=1e-9)


def test_bf_rep_symmetry():
    assert bf_rep(0.0, 1.0, 0.0, 1e-9) == pytest.approx(1.0, rel=1e-6)
    assert bf_rep([10.0], [1.0], 10.0, 1.0)[0] > 1e6


@pytest.mark.parametrize("se", [0.0, float("nan"), -1.0])
def test_original_without_uncertainty_is_one_clear_error(se):
    from replic import ReplicInputError

    with pytest.raises(ReplicInputError, match="need a finite mean and an sd above 0"):
        Original(estimate=1.0, se=se, lower=1.0, upper=1.0)


def test_a_posterior_of_equal_draws_is_refused_before_any_replicate(sleep_post):
    import replic

    draws = sleep_post.to_frame().iloc[[0, 0, 0]]
    with pytest.raises(replic.ReplicInputError, match="sd above 0"):
        replic.run_study(replic.read_draws(draws), [replic.Design(4, x=range(5))], term="Days",
                         reps=10, seed=1)
