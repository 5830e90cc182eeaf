"""The pure-numpy building blocks: small-matrix algebra, deviance pieces, starting values."""

from __future__ import annotations

from importlib import resources

import numpy as np
import pandas as pd
import pytest

from replic.kernel.fdiff import assemble, stencil
from replic.kernel.smallmat import det_inv, det_inv_lead, lower_from_theta, psd_cholesky
from replic.kernel.stats import stats_from_long, stats_from_replicates
from replic.lmm.balanced import fit_balanced
from replic.lmm.deviance import components, deviance, deviance_vp
from replic.lmm.start import moment_start


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_det_inv_matches_numpy(k):
    rng = np.random.default_rng(k)
    a = rng.normal(size=(5, 7, k, k))
    a = a @ np.swapaxes(a, -1, -2) + np.eye(k)
    d, inv = det_inv(a)
    np.testing.assert_allclose(d, np.linalg.det(a), rtol=1e-10)
    np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=1e-8, atol=1e-12)
    d2, inv2 = det_inv_lead(np.moveaxis(a, (-2, -1), (0, 1)))
    np.testing.assert_allclose(d2, d, rtol=1e-12)
    np.testing.assert_allclose(np.moveaxis(inv2, (0, 1), (-2, -1)), inv, rtol=1e-10)


def test_psd_cholesky_of_singular_matrices():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(20, 3, 1))
    a = v @ np.swapaxes(v, -1, -2)                   # rank one
    L = psd_cholesky(a)
    np.testing.assert_allclose(L @ np.swapaxes(L, -1, -2), a, atol=1e-10)
    assert (np.triu(L, 1) == 0).all()
    assert (np.diagonal(L, axis1=-2, axis2=-1) >= 0).all()
    z = psd_cholesky(np.zeros((2, 2, 2)))
    assert (z == 0).all()


def test_finite_differences_of_a_quadratic():
    A = np.array([[2.0, 0.5, 0.1], [0.5, 1.0, -0.3], [0.1, -0.3, 3.0]])
    x = np.array([[0.3, -1.0, 2.0]])
    h = np.full_like(x, 1e-3)
    pts = stencil(x, h)
    f = 0.5 * np.einsum("nei,ij,nej->ne", pts, A, pts) + pts @ np.array([1.0, 2.0, 3.0])
    g, H = assemble(f, h)
    np.testing.assert_allclose(H[0], A, rtol=1e-6)
    np.testing.assert_allclose(g[0], A @ x[0] + [1.0, 2.0, 3.0], rtol=1e-8)


def _sleep_stats():
    d = pd.read_csv(resources.files("replic") / "datasets" / "sleepstudy.csv")
    codes = d["Subject"].astype("category").cat.codes.to_numpy()
    X = np.column_stack([np.ones(len(d)), d["Days"]])
    return stats_from_long(d["Reaction"].to_numpy(), X, X, codes, 18), d


def test_long_and_replicate_statistics_agree():
    long, d = _sleep_stats()
    y = d.sort_values(["Subject", "Days"])["Reaction"].to_numpy().reshape(1, 18, 10)
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    rep = stats_from_replicates(y, X, X)                 # one pattern of 18 subjects
    assert rep.count.tolist() == [[18.0]] and np.all(long.count == 1)
    for name in ("ZtZ", "ZtX"):                          # every subject's design is the same
        np.testing.assert_allclose(np.broadcast_to(getattr(rep, name), getattr(long, name).shape),
                                   getattr(long, name), rtol=1e-12)
    for name in ("zy", "Szz"):
        np.testing.assert_allclose(getattr(rep, name)[:, 0], getattr(long, name).sum(axis=1),
                                   rtol=1e-12)
    np.testing.assert_allclose(rep.XytXy, long.XytXy, rtol=1e-12)
    np.testing.assert_allclose(rep.outer, long.outer.reshape(1, 3, 18, -1).sum(axis=2),
                               rtol=1e-12)


@pytest.mark.parametrize("reml", [True, False])
def test_deviance_vp_at_profiled_sigma_is_the_deviance(reml):
    stats, _ = _sleep_stats()
    theta = np.array([[[0.9, 0.02, 0.25], [0.5, -0.1, 0.0]]])
    c = components(stats, theta)
    nu = stats.n_obs[0] - (stats.p if reml else 0)
    sigma = np.sqrt(c.r2 / nu)
    np.testing.assert_allclose(deviance_vp(stats, theta, sigma, reml=reml),
                               deviance(stats, theta, reml=reml), rtol=1e-12)
    # and sigma^2 = r2 / nu minimises it
    for f in (0.99, 1.01):
        assert (deviance_vp(stats, theta, sigma * f, reml=reml)
                > deviance(stats, theta, reml=reml)).all()


def test_deviance_is_even_in_column_signs():
    stats, _ = _sleep_stats()
    theta = np.array([[[0.9, 0.02, 0.25], [-0.9, -0.02, 0.25], [0.9, 0.02, -0.25]]])
    dev = deviance(stats, theta)
    np.testing.assert_allclose(dev, np.broadcast_to(dev[:, :1], dev.shape), rtol=1e-12)


def test_moment_start_is_exact_for_balanced_interior_fits():
    stats, d = _sleep_stats()
    y = d.sort_values(["Subject", "Days"])["Reaction"].to_numpy().reshape(1, 18, 10)
    X = np.column_stack([np.ones(10), np.arange(10.0)])
    closed = fit_balanced(y, X, X)
    np.testing.assert_allclose(moment_start(stats), closed.theta, rtol=1e-8)
    lam = lower_from_theta(closed.theta, 2)
    assert lam[0, 1, 0] == pytest.approx(0.01516903, rel=1e-4)
