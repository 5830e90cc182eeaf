"""The REML engine on collapsed design patterns equals the engine on one pattern per group.

Groups that share their design (``X_j``, ``Z_j``) are one pattern of ``count`` groups in
:class:`~replic.kernel.stats.GroupStats`; the deviance, its exact derivatives (polish,
Satterthwaite df) and the moment start then sum over patterns, not groups.  The same replicates
fitted from one pattern per group (``count == 1``) must give the same fits to rounding: balanced
(one pattern), with 20% of the observations missing by dropout (three patterns of different
designs and counts; or each group's dropout drawn at random, so that data sets with fewer
patterns are padded with empty ones), or at random (every group its own pattern), interior and
boundary (singular) optima, REML and ML.
"""

import numpy as np
import pytest

from replic.kernel.stats import stats_from_replicates
from replic.lmm.batch import fit_batch
from tests.kernel.pergroup import per_group_stats

T = 8
X = np.column_stack([np.ones(T), np.arange(T, dtype=float)])
#: group j of 12 keeps the first KEEP[j] of its T = 8 occasions: 20.8% of the cells are missing
KEEP = np.repeat([8, 6, 4], [5, 4, 3])


def _simulate(n, seed):
    """``n`` replicates of 12 groups: intercept and slope sds 1 and 0.3 (sigma 1); a quarter of
    the replicates with no slope variance and a quarter with neither (boundary optima)."""
    rng = np.random.default_rng(seed)
    sds = np.repeat(np.array([(1.0, 0.3), (1.0, 0.3), (1.0, 0.0), (0.0, 0.0)]), n // 4, axis=0)
    u = rng.standard_normal((n, 12, 2)) * sds[:, None]
    x = X[:, 1]
    return 3.0 + u[..., :1] + (0.5 + u[..., 1:]) * x + rng.standard_normal((n, 12, T))


def _assert_same(a, b):
    assert (a.error == "").all() and (b.error == "").all()
    for name in ("beta", "se", "df", "sigma", "criterion"):
        np.testing.assert_allclose(getattr(a, name), getattr(b, name), rtol=1e-9, err_msg=name)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(a.singular, b.singular)
    np.testing.assert_array_equal(a.converged, b.converged)
    assert 2 < a.singular.sum() < a.singular.size             # boundary fits included


@pytest.mark.parametrize("reml", [True, False])
@pytest.mark.parametrize("q", [1, 2])
@pytest.mark.parametrize("missing", ["none", "dropout", "random dropout", "random"])
def test_patterns_equal_per_group(missing, q, reml):
    y = _simulate(48, seed=q + 2 * reml + 4 * len(missing))
    Z = X[:, :q]
    if missing == "none":
        observed = np.ones(y.shape, dtype=bool)
    elif missing == "dropout":
        observed = np.broadcast_to(np.arange(T) < KEEP[:, None], y.shape)
    elif missing == "random dropout":
        keep = np.random.default_rng(q).choice([1, 7, 8], p=[0.18, 0.35, 0.47], size=(48, 12))
        observed = np.arange(T) < keep[..., None]
    else:
        observed = np.random.default_rng(q).random(y.shape) > 0.2
    assert missing == "none" or abs(observed.mean() - 0.8) < 0.03
    col = stats_from_replicates(np.where(observed, y, np.nan), X, Z,
                                None if missing == "none" else observed)
    per = per_group_stats(y, X, Z, observed)
    if missing == "none":
        assert col.count.tolist() == [[12.0]]
    elif missing == "dropout":
        assert col.count.tolist() == [[5.0, 4.0, 3.0]] * 48
    elif missing == "random dropout":                         # 2 or 3 patterns, padded
        assert col.count.shape == (48, 3) and col.count.min() == 0
    else:
        assert col.count.tolist() == [[1.0] * 12]
    np.testing.assert_allclose(col.XytXy, per.XytXy, rtol=1e-12)
    _assert_same(fit_batch(col, reml=reml), fit_batch(per, reml=reml))
