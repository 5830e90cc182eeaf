"""The ``bayes-fast`` analysis: the brms posterior of each replicate without MCMC.

Each replicate's posterior under the original model and brms's default priors (computed from the
replicate's data, as a brms refit would) is importance-sampled around its mode
(:mod:`replic.bayes_fast`), vectorised over the replicates of a batch.  Results: posterior mean
(``estimate``), sd (``se``), 95% equal-tailed interval, ``P(effect > 0)``, ``p = 2 min(P(>0),
P(<0))``, the Pareto ``khat`` and ``ess`` of the importance weights, and ``flagged``
(``khat > 0.7``: not to be trusted; refit those with the ``stan`` analysis).

Options (``prepare``): ``draws`` (importance draws per replicate, default 1000), ``seed`` (seed
of the importance draws, default 0; each replicate's draws are keyed by (design key, replicate
index, this seed), so results do not depend on batching or workers), ``priors`` (a
:class:`replic.priors.Priors` shared by all replicates; default brms's data-dependent
defaults, as a brms refit of each replicate would use).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from replic.analyses import failed_columns
from replic.bayes_fast.batch import analyse_replicates
from replic.errors import ReplicInputError
from replic.priors import Priors

__all__ = ["ANALYSIS", "BayesFast", "BayesFastContext"]

_STREAM = 11   # random-number stream of this analysis (simulate.py uses 0-6)


@dataclass(frozen=True)
class BayesFastContext:
    """What :meth:`BayesFast.run` needs (picklable)."""

    X: np.ndarray
    Z: np.ndarray
    term: int
    intercept: int | None
    draws: int
    seed: int
    priors: Priors | None


class BayesFast:
    """The ``bayes-fast`` analysis (see the module docstring)."""

    name = "bayes-fast"
    representation = "full"

    def prepare(self, posterior: Any, frame: Any, options: dict) -> BayesFastContext:
        """Validate the options and fix the model of the replicates."""
        unknown = set(options) - {"draws", "seed", "priors"}
        if unknown:
            raise ReplicInputError(f"bayes-fast: unknown option(s) {', '.join(sorted(unknown))}; "
                                   "expected draws, seed, priors")
        draws = options.get("draws", 1000)
        if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or draws < 100:
            raise ReplicInputError(f"bayes-fast options: draws={draws!r}; expected an integer "
                                   ">= 100")
        priors = options.get("priors")
        if priors is not None and not isinstance(priors, Priors):
            raise ReplicInputError("bayes-fast options: priors must be a replic.priors.Priors")
        fixed = tuple(posterior.fixed)
        return BayesFastContext(X=np.asarray(frame.X, dtype=float),
                                Z=np.asarray(frame.Z, dtype=float), term=int(frame.t),
                                intercept=fixed.index("Intercept") if "Intercept" in fixed
                                else None, draws=int(draws), seed=int(options.get("seed", 0)),
                                priors=priors)

    def run(self, reps: Any, context: BayesFastContext) -> dict[str, np.ndarray]:
        """Posterior summaries of the term for every replicate of ``reps``."""
        if reps.y is None:
            raise ReplicInputError("analysis 'bayes-fast' needs the 'full' representation (whole "
                                   "data sets), got 'moments'")
        keys = [[reps.design.key, int(r), _STREAM, context.seed] for r in reps.rep]
        try:
            out = analyse_replicates(reps.y, context.X, context.Z, term=context.term, keys=keys,
                                     observed=reps.observed, priors=context.priors,
                                     draws=context.draws, intercept=context.intercept)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            return failed_columns(reps.n, f"bayes-fast: {exc}")
        bad = ~np.isfinite(out["estimate"]) | ~np.isfinite(out["khat"])
        out["error"] = np.where(bad, "bayes-fast: importance sampling failed (non-finite "
                                "weights)", "").astype(object)
        return out


ANALYSIS = BayesFast()
