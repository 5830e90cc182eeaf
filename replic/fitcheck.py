"""Warnings about original fits replic computed but does not trust.

:func:`fit_bayes_fast` is :func:`replic.bayes_fast.fit_bayes_fast` with a
:class:`~replic.errors.ReplicWarning` when the importance sampler's Pareto k-hat exceeds 0.7
(its draws are then unreliable; fit with Stan instead).  The study file's from-data fits warn the
same way; the replicate fits of a study are counted in :func:`replic.run_study`'s
:class:`~replic.errors.FlaggedReplicatesWarning` (a :class:`~replic.errors.ReplicWarning` too, with
the same threshold).
"""

from __future__ import annotations

import functools
import warnings

from replic.bayes_fast import fit_bayes_fast as _fit_bayes_fast
from replic.bayes_fast.batch import KHAT_THRESHOLD
from replic.errors import ReplicWarning
from replic.posterior import Posterior

__all__ = ["KHAT_THRESHOLD", "fit_bayes_fast", "warn_khat"]

def warn_khat(posterior: Posterior, *, where: str, stacklevel: int = 2) -> None:
    """Warn when the fit's Pareto k-hat (``posterior.diagnostics["khat"]``) exceeds 0.7."""
    khat = (posterior.diagnostics or {}).get("khat")
    if khat is not None and not float(khat) <= KHAT_THRESHOLD:
        warnings.warn(f"{where}: Pareto k-hat {float(khat):.2f} > {KHAT_THRESHOLD}: the "
                      "importance-sampling posterior is unreliable; fit with Stan instead",
                      ReplicWarning, stacklevel=stacklevel + 1)


@functools.wraps(_fit_bayes_fast)
def fit_bayes_fast(*args, **kwargs) -> Posterior:
    post = _fit_bayes_fast(*args, **kwargs)
    warn_khat(post, where="fit_bayes_fast", stacklevel=2)
    return post
