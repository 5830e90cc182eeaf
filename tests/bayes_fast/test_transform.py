"""The unconstrained parameterisation: valid correlations and the exact prior density."""

import numpy as np
import pytest

from replic.bayes_fast.transform import (
    from_unconstrained,
    log_prior_eta,
    log_student_t,
    n_theta,
)


@pytest.mark.parametrize("Q", [1, 2, 3, 4])
def test_correlations_are_valid(Q):
    eta = np.random.default_rng(Q).normal(0, 2, (50, n_theta(Q)))
    theta, _ = from_unconstrained(eta, Q)
    R = theta.cor
    np.testing.assert_allclose(np.diagonal(R, axis1=-2, axis2=-1), 1.0, atol=1e-12)
    assert np.all(np.linalg.eigvalsh(R)[:, 0] > -1e-12)
    np.testing.assert_allclose(theta.sd, np.exp(eta[:, :Q]))


def _natural(eta, Q):
    theta, _ = from_unconstrained(eta, Q)
    R = theta.cor
    return np.concatenate([theta.sd, [R[i, j] for i in range(Q) for j in range(i)],
                           [theta.sigma]])


@pytest.mark.parametrize("Q", [1, 2, 3])
@pytest.mark.parametrize("lkj", [1.0, 2.5])
def test_prior_density_is_half_t_and_lkj_with_jacobian(Q, lkj):
    """log p(eta) = log p(sd, R, sigma) + log |d(sd, R, sigma)/d eta| up to one constant."""
    rng = np.random.default_rng(7)
    d = n_theta(Q)
    pri = (3.0, 0.0, 20.0)
    diffs = []
    for _ in range(4):
        eta = rng.normal(0, 0.7, d) + np.r_[np.full(Q, 2.0), np.zeros(d - Q - 1), 2.5]
        h = 1e-6
        J = np.array([(_natural(eta + h * e, Q) - _natural(eta - h * e, Q)) / (2 * h)
                      for e in np.eye(d)]).T
        theta, _ = from_unconstrained(eta, Q)
        lp = (log_student_t(theta.sd, *pri).sum() + log_student_t(theta.sigma, *pri)
              + (lkj - 1) * np.linalg.slogdet(theta.cor)[1])
        mine = log_prior_eta(eta[None], Q, sd_prior=pri, sigma_prior=pri, lkj=lkj)[0]
        diffs.append(lp + np.linalg.slogdet(J)[1] - mine)
    np.testing.assert_allclose(diffs, diffs[0], atol=1e-6)


def test_per_data_set_priors_broadcast():
    eta = np.zeros((3, 5, n_theta(2)))
    scale = np.array([1.0, 10.0, 100.0])
    lp = log_prior_eta(eta, 2, sd_prior=(np.full(3, 3.0), np.zeros(3), scale),
                       sigma_prior=(np.full(3, 3.0), np.zeros(3), scale))
    assert lp.shape == (3, 5)
    one = log_prior_eta(eta[1:2], 2, sd_prior=(3.0, 0.0, 10.0), sigma_prior=(3.0, 0.0, 10.0))
    np.testing.assert_allclose(lp[1:2], one)
