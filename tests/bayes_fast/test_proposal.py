"""Split-t proposals: a proper density that matches its own draws."""

import numpy as np

from replic.bayes_fast.mode import Mode
from replic.bayes_fast.proposal import SplitT


def _q():
    rot = np.array([[np.cos(0.4), -np.sin(0.4)], [np.sin(0.4), np.cos(0.4)]])
    return SplitT(mu=np.array([[1.0, -2.0]]), base=(rot * [0.8, 1.5])[None],
                  plus=np.array([[1.0, 2.5]]), minus=np.array([[3.0, 0.7]]), df=4.0)


def test_density_integrates_to_one():
    q = _q()
    g = np.linspace(-60, 60, 1201)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    pts = np.stack([xx.ravel(), yy.ravel()], axis=-1)[None]
    mass = np.exp(q.logpdf(pts)).sum() * (g[1] - g[0]) ** 2
    assert abs(mass - 1) < 5e-3


def test_draws_follow_the_density():
    q = _q()
    rng = np.random.default_rng(0)
    x = q.draw(rng.standard_normal((1, 200_000, 2)), rng.chisquare(4.0, (1, 200_000)))
    # probability of a box, by draws and by integrating the density
    box = (x[0, :, 0] > 0) & (x[0, :, 0] < 3) & (x[0, :, 1] > -3) & (x[0, :, 1] < 0)
    gx, gy = np.linspace(0, 3, 301), np.linspace(-3, 0, 301)
    xx, yy = np.meshgrid((gx[1:] + gx[:-1]) / 2, (gy[1:] + gy[:-1]) / 2, indexing="ij")
    p = np.exp(q.logpdf(np.stack([xx.ravel(), yy.ravel()], -1)[None])).sum() * 0.01 ** 2
    assert abs(box.mean() - p) < 4 * np.sqrt(p * (1 - p) / 200_000)


def test_side_scales_from_a_skewed_density():
    """Along an axis where the log density falls slowly on one side, that side is wider."""
    def logpost(eta, rows=None):
        a, b = eta[..., 0], eta[..., 1]
        return a - np.exp(a) - 0.5 * b**2          # log-gamma(1) in a (long left tail), normal b
    mode = Mode(eta=np.zeros((1, 2)), precision=np.eye(2)[None], value=np.array([-1.0]),
                converged=np.array([True]), iterations=1)
    q = SplitT.from_mode(logpost, mode, df=4.0)
    i = int(np.argmax(np.abs(q.base[0, 0])))       # the axis along coordinate a
    assert np.isclose(abs(q.base[0, 0, i]), 1.0)
    left, right = (q.minus[0, i], q.plus[0, i]) if q.base[0, 0, i] > 0 else \
        (q.plus[0, i], q.minus[0, i])
    assert left > 1.3 and abs(right - 1) < 0.2
    assert np.allclose([q.plus[0, 1 - i], q.minus[0, 1 - i]], 1.0, atol=0.01)
