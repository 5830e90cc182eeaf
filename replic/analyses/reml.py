"""The ``reml`` analysis: a linear mixed model refit (REML) of every replicate.

Each replicate's ``k`` subjects are fitted with the posterior's model, ``y ~ fixed + (varying |
subject)``, by :func:`replic.lmm.fit_replicates`, vectorised over the batch: the exact closed
form for balanced complete designs whose varying terms span the fixed effects, profiled REML over
the relative covariance factor otherwise.  The studied term's estimate, SE, Satterthwaite df,
two-sided t p-value and 95% t interval agree with lme4 + lmerTest; ``converged`` and
``singular`` flag each fit, and ``subjects`` counts the subjects with at least one observation.
Replicates that cannot be fitted carry their reason in ``error`` and NaN results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from replic.analyses import check_family
from replic.errors import ReplicInputError
from replic.lmm.replicates import fit_replicates

__all__ = ["ANALYSIS", "RemlAnalysis", "RemlContext", "reml_columns"]


@dataclass(frozen=True)
class RemlContext:
    """What ``run`` needs besides the replicates (picklable).

    Attributes
    ----------
    level : float
        Confidence level of the interval (0.95).
    """

    level: float = 0.95


def reml_columns(fit: Any, t: int, *, level: float = 0.95) -> dict[str, np.ndarray]:
    """Result columns for term column ``t`` of a :class:`~replic.lmm.BatchFit`."""
    est = fit.beta[:, t]
    se = fit.se[:, t]
    df = fit.df[:, t]
    error = fit.error.copy()
    bad = (error == "") & ~(np.isfinite(est) & np.isfinite(se) & (se > 0) & np.isfinite(df))
    error[bad] = "the fit gave no finite estimate, standard error and df"
    keep = error == ""
    with np.errstate(invalid="ignore", divide="ignore"):
        tq = sps.t.ppf(0.5 + level / 2, df)
        p = 2 * sps.t.sf(np.abs(est / se), df)
    nan = np.nan
    return {"estimate": np.where(keep, est, nan), "se": np.where(keep, se, nan),
            "lower": np.where(keep, est - tq * se, nan),
            "upper": np.where(keep, est + tq * se, nan),
            "p": np.where(keep, p, nan), "df": np.where(keep, df, nan), "error": error,
            "converged": fit.converged & keep, "singular": fit.singular & keep}


class RemlAnalysis:
    """``reml``: REML refit of each replicate with Satterthwaite df (see module docstring)."""

    name = "reml"
    representation = "full"

    def prepare(self, posterior: Any, frame: Any, options: dict) -> RemlContext:
        """Check the options (``level``, default 0.95) and return the context."""
        check_family("reml", getattr(posterior, "family", "gaussian"))
        opts = dict(options or {})
        level = opts.pop("level", 0.95)
        if not (isinstance(level, int | float) and 0 < float(level) < 1):
            raise ReplicInputError(f"reml option level={level!r}; expected a number in (0, 1)")
        if opts:
            raise ReplicInputError(f"reml: unknown option(s) {', '.join(map(repr, opts))}; "
                                   "expected 'level'")
        return RemlContext(level=float(level))

    def run(self, reps: Any, context: RemlContext | None = None) -> dict[str, np.ndarray]:
        """Refit every replicate of ``reps`` (``full`` representation)."""
        context = RemlContext() if context is None else context
        if reps.y is None:
            raise ReplicInputError("analysis 'reml' needs the 'full' representation (whole data "
                                   "sets y), got replicates without y")
        frame = reps.frame
        observed = np.isfinite(reps.y) if reps.observed is None else reps.observed
        fit = fit_replicates(reps.y, frame.X, frame.Z, observed=observed)
        out = reml_columns(fit, frame.t, level=context.level)
        out["subjects"] = observed.any(axis=2).sum(axis=1).astype(float)
        return out


ANALYSIS = RemlAnalysis()
