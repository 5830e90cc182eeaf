"""The REML engine on collapsed design patterns equals the engine on one pattern per group.

Groups that share their design (``X_j``, ``Z_j``) are one pattern of ``count`` groups in
:class:`~replic.kernel.stats.GroupStats`; the deviance, its exact derivatives (polish,
Satterthwaite df) and the moment start then sum over patterns, not groups.  The same replicates
fitted from one pattern per group (``count == 1``) must give the same fits to rounding: balanced
(one pattern) and with 20% of the observations missing by design (three dropout patterns of
different designs and counts), interior and boundary (singular) optima, REML and ML.
"""

import numpy as np
import pytest

from replic.kernel.stats import GroupStats, stats_from_replicates
from replic.lmm.batch import fit_batch

T = 8
X = np.column_stack([np.ones(T), np.arange(T, dtype=float)])
#: group j of 12 keeps the first KEEP[j] of its T = 8 occasions: 20% of the cells are missing
KEEP = np.repeat([8, 6, 4], [5, 4, 3])


def _simulate(n, sd, seed):
    """``n`` replicates of 12 groups: intercept and slope sds ``sd`` (sigma 1); a quarter of the
    replicates with no slope variance and a quarter with neither (boundary optima)."""
    rng = np.random.default_rng(seed)
    sds = np.repeat(np.array([sd, sd, (sd[0], 0.0), (0.0, 0.0)]), n // 4, axis=0)
    u = rng.standard_normal((n, 12, 2)) * sds[:, None]
    x = X[:, 1]
    return 3.0 + u[..., :1] + (0.5 + u[..., 1:]) * x + rng.standard_normal((n, 12, T))


def _collapsed(y, Z):
    """Statistics with the groups that keep the same occasions collapsed into one pattern each,
    assembled from the complete statistics of each pattern's groups."""
    parts = [stats_from_replicates(y[:, KEEP == keep, :keep], X[:keep], Z[:keep])
             for keep in np.unique(KEEP)]
    cat = {f: np.concatenate([getattr(s, f) for s in parts], axis=1)
           for f in ("count", "XtX", "ZtX", "ZtZ", "zy", "Szz")}
    tot = {f: sum(getattr(s, f) for s in parts) for f in ("Xty", "yty", "nobs", "n_groups")}
    xbar = sum(s.nobs[:, None] * s.xbar for s in parts) / tot["nobs"][:, None]
    return GroupStats(**cat, **tot, xbar=xbar)


def _assert_same(a, b):
    assert (a.error == "").all() and (b.error == "").all()
    for name in ("beta", "se", "df", "sigma", "criterion"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(a.singular, b.singular)
    np.testing.assert_array_equal(a.converged, b.converged)


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("q", [1, 2])
def test_balanced_one_pattern_equals_per_group(q, reml):
    y = _simulate(48, (1.0, 0.3), seed=q + 2 * reml)
    Z = X[:, :q]
    one = stats_from_replicates(y, X, Z)
    per = stats_from_replicates(y, X, Z, np.ones(y.shape, dtype=bool))
    assert one.count.shape == (1, 1) and per.count.shape == (1, 12)
    a, b = fit_batch(one, reml=reml), fit_batch(per, reml=reml)
    _assert_same(a, b)
    assert 2 < a.singular.sum() < 48                      # boundary fits included


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("q", [1, 2])
def test_missing_by_pattern_equals_per_group(q, reml):
    y = _simulate(48, (1.0, 0.3), seed=10 + q + 2 * reml)
    Z = X[:, :q]
    observed = np.broadcast_to(np.arange(T) < KEEP[:, None], y.shape)
    assert abs(1 - observed.mean() - 0.2) < 0.01
    per = stats_from_replicates(np.where(observed, y, np.nan), X, Z, observed)
    col = _collapsed(y, Z)
    assert col.count.tolist() == [[3.0, 4.0, 5.0]] and per.count.shape == (1, 12)
    np.testing.assert_allclose(col.XytXy, per.XytXy, rtol=1e-12)
    a, b = fit_batch(col, reml=reml), fit_batch(per, reml=reml)
    _assert_same(a, b)
    assert 2 < a.singular.sum() < 48
