"""Tiny batched linear algebra against numpy.linalg."""

import numpy as np
import pytest

from replic.kernel.smallmat import chol_logdet, chol_solve, cholesky, solve_lower, solve_upper


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_against_numpy(n):
    rng = np.random.default_rng(n)
    A0 = rng.normal(size=(7, 4, n, n))
    A = A0 @ np.swapaxes(A0, -1, -2) + 0.1 * np.eye(n)
    B = rng.normal(size=(7, 4, n, 3))
    L = cholesky(A)
    np.testing.assert_allclose(L, np.linalg.cholesky(A), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(solve_lower(L, B), np.linalg.solve(L, B), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(solve_upper(L, B), np.linalg.solve(np.swapaxes(L, -1, -2), B),
                               rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(chol_solve(L, B), np.linalg.solve(A, B), rtol=1e-8, atol=1e-9)
    np.testing.assert_allclose(chol_logdet(L), np.linalg.slogdet(A)[1], rtol=1e-10)


def test_broadcasting_and_not_positive_definite():
    A = np.array([[[4.0, 2.0], [2.0, 3.0]], [[1.0, 2.0], [2.0, 1.0]]])
    L = cholesky(A)
    assert np.all(np.isfinite(L[0])) and np.isnan(L[1, 1, 1])
    X = solve_lower(L[:1], np.ones((3, 2, 1)))       # (1, 2, 2) against (3, 2, 1)
    assert X.shape == (3, 2, 1)
