"""REML likelihood, beta | theta and u | theta, beta against dense matrix formulas."""

import numpy as np
import pytest

from replic.bayes_fast.reml import draw_random_effects, reml_conditional
from replic.bayes_fast.transform import from_unconstrained, n_theta
from replic.kernel.stats import stats_from_long, stats_from_replicates


def _data(seed=0, J=6, Q=2):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(2, 8, J)
    g = np.repeat(np.arange(J), sizes)
    N = g.size
    x1, x2 = rng.uniform(0, 5, N), rng.integers(0, 2, N).astype(float)
    X = np.column_stack([np.ones(N), x1, x2])
    Z = X[:, :Q]
    y = X @ [10, 1, -2] + (rng.normal(0, 2, (J, Q))[g] * Z).sum(axis=1) + rng.normal(0, 1, N)
    return y, X, Z, g, J


def _dense(y, X, Z, g, J, sd, R, sigma):
    Sigma = np.outer(sd, sd) * R
    V = sigma**2 * np.eye(y.size)
    for j in range(J):
        i = g == j
        V[np.ix_(i, i)] += Z[i] @ Sigma @ Z[i].T
    Vi = np.linalg.inv(V)
    XVX = X.T @ Vi @ X
    b = np.linalg.solve(XVX, X.T @ Vi @ y)
    r = y - X @ b
    ll = -0.5 * (np.linalg.slogdet(V)[1] + np.linalg.slogdet(XVX)[1] + r @ Vi @ r)
    return ll, b, np.linalg.inv(XVX), Sigma, Vi


@pytest.mark.parametrize("Q", [1, 2, 3])
def test_reml_and_beta_against_dense(Q):
    y, X, Z, g, J = _data(Q, Q=Q)
    stats = stats_from_long(y, X, Z, g, J)
    eta = np.random.default_rng(1).normal(0, 0.5, (1, 4, n_theta(Q)))
    theta, _ = from_unconstrained(eta, Q)
    cond = reml_conditional(stats, theta)
    for m in range(4):
        ll, b, V, _, _ = _dense(y, X, Z, g, J, theta.sd[0, m], theta.cor[0, m],
                                theta.sigma[0, m])
        assert cond.loglik[0, m] == pytest.approx(ll, rel=1e-10)
        np.testing.assert_allclose(cond.beta_hat[0, m], b, rtol=1e-9)
        np.testing.assert_allclose(cond.cov_beta()[0, m], V, rtol=1e-8)


def test_replicate_statistics_match_long_form():
    rng = np.random.default_rng(2)
    T, k = 5, 4
    x = np.arange(T, dtype=float)
    X = Z = np.column_stack([np.ones(T), x])
    y = rng.normal(0, 1, (3, k, T)) + x
    observed = rng.random((3, k, T)) > 0.3
    observed[:, :, :2] = True
    eta = rng.normal(0, 0.3, (3, 5, 4))
    theta, _ = from_unconstrained(eta, 2)
    complete = reml_conditional(stats_from_replicates(y, X, Z), theta)
    masked = reml_conditional(stats_from_replicates(np.where(observed, y, np.nan), X, Z,
                                                    observed), theta)
    for i in range(3):
        th_i, _ = from_unconstrained(eta[i:i + 1], 2)
        g = np.repeat(np.arange(k), T)
        long = reml_conditional(stats_from_long(y[i].ravel(), np.tile(X, (k, 1)),
                                                np.tile(Z, (k, 1)), g, k), th_i)
        np.testing.assert_allclose(complete.loglik[i], long.loglik[0], rtol=1e-10)
        keep = observed[i].ravel()
        long_m = reml_conditional(stats_from_long(y[i].ravel()[keep], np.tile(X, (k, 1))[keep],
                                                  np.tile(Z, (k, 1))[keep], g[keep], k), th_i)
        np.testing.assert_allclose(masked.loglik[i], long_m.loglik[0], rtol=1e-10)
        np.testing.assert_allclose(masked.beta_hat[i], long_m.beta_hat[0], rtol=1e-9)


def test_random_effects_have_the_exact_conditional_moments():
    y, X, Z, g, J = _data(3)
    stats = stats_from_long(y, X, Z, g, J)
    theta, _ = from_unconstrained(np.array([[[0.5, -0.3, 0.4, 0.1]]]), 2)
    beta = np.array([[[9.5, 1.1, -1.8]]])
    S = 40000
    theta_s, _ = from_unconstrained(np.broadcast_to([0.5, -0.3, 0.4, 0.1], (1, S, 4)), 2)
    u = draw_random_effects(stats, theta_s, np.broadcast_to(beta, (1, S, 3)),
                            np.random.default_rng(4).standard_normal((1, S, J, 2)))[0]
    Sigma = np.outer(theta.sd[0, 0], theta.sd[0, 0]) * theta.cor[0, 0]
    s2 = theta.sigma[0, 0] ** 2
    for j in range(J):
        i = g == j
        prec = np.linalg.inv(Sigma) + Z[i].T @ Z[i] / s2
        cov = np.linalg.inv(prec)
        mean = cov @ Z[i].T @ (y[i] - X[i] @ beta[0, 0]) / s2
        z = (u[:, j].mean(axis=0) - mean) / np.sqrt(np.diag(cov) / S)
        assert np.all(np.abs(z) < 4.5), z
        np.testing.assert_allclose(np.cov(u[:, j].T), cov, rtol=0.05, atol=1e-3)
