"""Batched Newton mode finding on densities with known modes and curvatures."""

import numpy as np
import pytest

from replic.bayes_fast.mode import derivatives, find_mode


def test_finds_modes_of_skewed_densities():
    rng = np.random.default_rng(0)
    n, d = 20, 3
    target = rng.normal(0, 1, (n, d))
    A = rng.normal(size=(n, d, d))
    prec = A @ np.swapaxes(A, 1, 2) + np.eye(d)

    def f(eta, rows):
        dev = eta - target[rows][:, None]
        quad = np.einsum("nbi,nij,nbj->nb", dev, prec[rows], dev)
        # a log-gamma-like skew in the first coordinate keeps the mode at `target`
        skew = dev[..., 0] - np.expm1(dev[..., 0])
        return -0.5 * quad + skew

    m = find_mode(f, np.zeros((n, d)) + 3.0)
    assert m.converged.all()
    np.testing.assert_allclose(m.eta, target, atol=1e-4)
    expected = prec.copy()
    expected[:, 0, 0] += 1.0
    np.testing.assert_allclose(m.precision, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(("mixed", "rtol"), [("central", 1e-4), ("forward", 1e-3)])
def test_derivatives_of_a_polynomial(mixed, rtol):
    """Central mixed differences are exact to O(h^2), forward ones (the default) to O(h)."""
    def f(eta):
        x, y = eta[..., 0], eta[..., 1]
        return x**2 * y + 3 * y**2
    v, g, H = derivatives(f, np.array([[1.0, 2.0]]), mixed=mixed)
    np.testing.assert_allclose(v, [14.0])
    np.testing.assert_allclose(g, [[4.0, 13.0]], rtol=1e-6)
    np.testing.assert_allclose(H, [[[4.0, 2.0], [2.0, 6.0]]], rtol=rtol)
