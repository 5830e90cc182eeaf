"""Pseudo-inverse and Newton step over positive curvature only."""

import numpy as np

from replic.kernel.newton import newton_step, pinv_sym


def test_pinv_is_the_inverse_when_positive_definite():
    rng = np.random.default_rng(1)
    A = rng.normal(size=(4, 3, 3))
    H = A @ np.swapaxes(A, -1, -2) + np.eye(3)
    np.testing.assert_allclose(pinv_sym(H), np.linalg.inv(H), rtol=1e-10)
    g = rng.normal(size=(4, 3))
    np.testing.assert_allclose(newton_step(g, H), -np.linalg.solve(H, g[..., None])[..., 0],
                               rtol=1e-10)


def test_flat_and_negative_directions_are_left_alone():
    H = np.diag([2.0, 0.0, -1.0])[None]
    g = np.array([[4.0, 1.0, 1.0]])
    np.testing.assert_allclose(newton_step(g, H), [[-2.0, 0.0, 0.0]])
    np.testing.assert_allclose(pinv_sym(H, atol=3.0), np.zeros((1, 3, 3)))
