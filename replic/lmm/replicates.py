"""REML fits of replicate data sets that share one per-subject design (pure numpy).

The entry point of the ``reml`` analysis: balanced complete replicates whose varying terms span
the fixed effects go through the exact closed form (:mod:`replic.lmm.balanced`); the rest (missing
observations, random intercepts only, ...) through vectorised profiled REML
(:mod:`replic.lmm.batch`), started from a moment estimate.
"""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from replic.errors import ReplicInputError
from replic.kernel.stats import stats_from_replicates
from replic.lmm.balanced import closed_form_applies, fit_balanced
from replic.lmm.batch import BatchFit, fit_batch

__all__ = ["fit_replicates"]

# replicates x subjects per vectorised slice of the profiled engine: bounds the memory of the
# (slice, trial points, subjects) work arrays to some hundred MB
_CELLS = 40_000


def fit_replicates(y: np.ndarray, X: np.ndarray, Z: np.ndarray, *,
                   observed: np.ndarray | None = None, reml: bool = True,
                   df: bool = True) -> BatchFit:
    """Fit ``y_ij = X beta + Z u_i + e_ij`` to every replicate.

    Parameters
    ----------
    y : ndarray, shape (n, k, T)
        ``n`` replicates of ``k`` subjects observed at ``T`` design points (``nan`` where
        missing).
    X : ndarray, shape (T, P)
        Fixed-effect design of one subject.
    Z : ndarray, shape (T, q)
        Varying-term design of one subject.
    observed : ndarray of bool, shape (n, k, T), optional
        Observation mask; default ``isfinite(y)``.
    reml : bool
        REML (default) or ML.  The closed form is used for REML only.
    df : bool
        Compute Satterthwaite df.

    Returns
    -------
    BatchFit
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    Z = np.asarray(Z, dtype=float)
    if y.ndim != 3 or X.shape[0] != y.shape[2] or Z.shape[0] != y.shape[2]:
        raise ReplicInputError(f"y of shape {y.shape} with X {X.shape} and Z {Z.shape}: expected "
                               "y (n, k, T), X (T, P), Z (T, q)")
    if observed is None:
        observed = np.isfinite(y)
    observed = np.asarray(observed, dtype=bool) & np.isfinite(y)
    complete = bool(observed.all())
    if complete and reml and closed_form_applies(X, Z, k=y.shape[1]):
        return fit_balanced(y, X, Z, df=df)
    n, k = y.shape[:2]
    step = max(16, _CELLS // max(k, 1))
    parts = [fit_batch(stats_from_replicates(y[i:i + step], X, Z,
                                             None if complete else observed[i:i + step]),
                       reml=reml, df=df)
             for i in range(0, n, step)]
    if len(parts) == 1:
        return parts[0]
    return BatchFit(**{f.name: np.concatenate([getattr(p, f.name) for p in parts])
                       for f in fields(BatchFit)})
