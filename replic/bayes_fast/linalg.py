"""Batched linear algebra for tiny matrices: :mod:`replic.kernel.smallmat`, under the names
bayes-fast has always imported (one implementation for every LMM kernel)."""

from replic.kernel.smallmat import (
    chol_logdet,
    chol_solve,
    cholesky,
    matmul,
    solve_lower,
    solve_upper,
)

__all__ = ["chol_logdet", "chol_solve", "cholesky", "matmul", "solve_lower", "solve_upper"]
