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


def _defensive():
    from replic.bayes_fast.proposal import Defensive

    return Defensive(mu=np.array([[1.0, -2.0]]), plus=np.array([[0.7, 2.0]]),
                     minus=np.array([[1.5, 0.5]]), free=np.array([0, 2]), cpc=np.array([1]),
                     b=np.array([1.0]), df=4.0)


def test_defensive_density_integrates_to_one_and_matches_draws():
    q = _defensive()
    # p(x) = p_t(x0, x2) p_c(x1) with p_c(0) = 1/2 for b = 1: check each factor integrates to 1
    g = np.linspace(-40, 40, 1601)
    xx, yy = np.meshgrid(g, g, indexing="ij")
    at0 = np.stack([xx.ravel(), np.zeros(xx.size), yy.ravel()], axis=-1)[None]
    # (t4 tails beyond the +-40 grid hold ~0.7% of the mass)
    assert abs(np.exp(q.logpdf(at0)).sum() * (g[1] - g[0]) ** 2 / 0.5 - 1) < 1.2e-2
    a = np.linspace(-15, 15, 3001)
    line = np.stack([np.full(a.size, 1.0), a, np.full(a.size, -2.0)], axis=-1)[None]
    p_t = np.exp(q.logpdf(np.array([[[1.0, 0.0, -2.0]]]))[0, 0]) / 0.5
    assert abs(np.exp(q.logpdf(line)).sum() * (a[1] - a[0]) / p_t - 1) < 5e-3
    rng = np.random.default_rng(1)
    x = q.draw(rng.standard_normal((1, 200_000, 3)), rng.chisquare(4.0, (1, 200_000)))
    # the correlation coordinate follows the LKJ(1) marginal: tanh(a) uniform on (-1, 1)
    r = np.tanh(x[0, :, 1])
    assert abs(np.mean(r < -0.5) - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 200_000)
    box = (x[0, :, 0] > 0) & (x[0, :, 0] < 2) & (x[0, :, 2] > -3) & (x[0, :, 2] < -1)
    gx, gy = np.linspace(0, 2, 201), np.linspace(-3, -1, 201)
    cx, cy = (gx[1:] + gx[:-1]) / 2, (gy[1:] + gy[:-1]) / 2
    XX, YY = np.meshgrid(cx, cy, indexing="ij")
    pts = np.stack([XX.ravel(), np.zeros(XX.size), YY.ravel()], -1)[None]
    # integrate the t part only: subtract the correlation's marginal log density at a = 0
    lp_cpc0 = np.log(0.5)                          # p(a = 0) = (1 - 0) * 1/2 for b = 1
    p = np.exp(q.logpdf(pts) - lp_cpc0).sum() * 0.01 ** 2
    assert abs(box.mean() - p) < 4 * np.sqrt(p * (1 - p) / 200_000)
