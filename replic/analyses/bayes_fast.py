"""The ``bayes-fast`` analysis: the brms posterior of each replicate without MCMC.

Each replicate's posterior under the original model is importance-sampled around its mode
(:mod:`replic.bayes_fast`), vectorised over the replicates of a batch.  Results: posterior mean
(``estimate``), sd (``se``), 95% equal-tailed interval, ``P(effect > 0)``, ``p = 2 min(P(>0),
P(<0))``, the Pareto ``khat`` and ``ess`` of the importance weights, and ``flagged``
(``khat > 0.7``: not to be trusted).  With ``refit_flagged`` the flagged replicates are refitted
by the ``stan`` analysis (column ``refit``).

Priors, as the ``stan`` analysis chooses them: the ``priors`` option if given; otherwise brms's
defaults computed from the original's data when the posterior carries it; otherwise brms's
defaults computed from each replicate's own data (what a fresh ``brm()`` call would use).

Options (``prepare``): ``draws`` (importance draws per replicate, default 1000), ``seed`` (seed
of the importance draws, default 0; each replicate's draws are keyed by (design key, replicate
index, this seed), so results do not depend on batching or workers), ``priors`` (a
:class:`replic.priors.Priors`), ``refit_flagged`` (default False) and ``stan_options`` (options
of the ``stan`` analysis used for those refits).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from replic.analyses import check_family, failed_columns, get_analysis
from replic.bayes_fast.batch import analyse_replicates
from replic.errors import ReplicInputError
from replic.priors import Priors, default_priors
from replic.streams import BAYES_FAST

__all__ = ["ANALYSIS", "BayesFast", "BayesFastContext"]

_STREAM = BAYES_FAST   # random-number stream of this analysis (replic.streams)
_OPTIONS = ("draws", "seed", "priors", "refit_flagged", "stan_options")
_PER_REPLICATE = ("rep", "draw", "beta", "Sigma", "sigma", "vbar", "y", "observed")


@dataclass(frozen=True)
class BayesFastContext:
    """What :meth:`BayesFast.run` needs (picklable).  The design matrices are not here: each
    replicate batch is analysed with its own design's (``reps.frame``)."""

    intercept: int | None
    draws: int
    seed: int
    priors: Priors | None
    stan: Any = None


def _original_priors(posterior: Any) -> Priors | None:
    data, response = getattr(posterior, "data", None), getattr(posterior, "response", None)
    if data is not None and response in getattr(data, "columns", ()):
        return default_priors(data[response].to_numpy(dtype=float))
    return None


class BayesFast:
    """The ``bayes-fast`` analysis (see the module docstring)."""

    name = "bayes-fast"
    representation = "full"

    def prepare(self, posterior: Any, frame: Any, options: dict) -> BayesFastContext:
        """Validate the options, fix the priors; compile Stan only for ``refit_flagged``."""
        check_family("bayes-fast", getattr(posterior, "family", "gaussian"))
        unknown = set(options) - set(_OPTIONS)
        if unknown:
            raise ReplicInputError(f"bayes-fast: unknown option(s) {', '.join(sorted(unknown))}; "
                                   f"expected some of {', '.join(_OPTIONS)}")
        draws = options.get("draws", 1000)
        if isinstance(draws, bool) or not isinstance(draws, int | np.integer) or \
                not 100 <= draws <= 1_000_000:
            raise ReplicInputError(f"bayes-fast options: draws={draws!r}; expected an integer "
                                   "from 100 to 1000000")
        priors = options.get("priors")
        if priors is not None and not isinstance(priors, Priors):
            raise ReplicInputError("bayes-fast options: priors must be a replic.priors.Priors")
        priors = priors if priors is not None else _original_priors(posterior)
        stan = None
        if options.get("refit_flagged", False):
            stan_opts = dict(options.get("stan_options") or {})
            stan_opts.setdefault("priors", priors)
            stan = get_analysis("stan").prepare(posterior, frame, stan_opts)
        fixed = tuple(posterior.fixed)
        return BayesFastContext(intercept=fixed.index("Intercept") if "Intercept" in fixed
                                else None, draws=int(draws), seed=int(options.get("seed", 0)),
                                priors=priors, stan=stan)

    def run(self, reps: Any, context: BayesFastContext) -> dict[str, np.ndarray]:
        """Posterior summaries of the term for every replicate of ``reps``."""
        if reps.y is None:
            raise ReplicInputError("analysis 'bayes-fast' needs the 'full' representation (whole "
                                   "data sets), got 'moments'")
        keys = [[reps.design.key, int(r), _STREAM, context.seed] for r in reps.rep]
        try:
            frame = reps.frame
            out = analyse_replicates(reps.y, np.asarray(frame.X, dtype=float),
                                     np.asarray(frame.Z, dtype=float), term=int(frame.t), keys=keys,
                                     observed=reps.observed, priors=context.priors,
                                     draws=context.draws, intercept=context.intercept)
        except (ValueError, FloatingPointError, np.linalg.LinAlgError) as exc:
            return failed_columns(reps.n, f"bayes-fast: {exc}")
        bad = ~np.isfinite(out["estimate"]) | ~np.isfinite(out["khat"])
        out["error"] = np.where(bad, "bayes-fast: importance sampling failed (non-finite "
                                "weights)", "").astype(object)
        if context.stan is not None:
            _refit(reps, context, out)
        return out


def _refit(reps: Any, context: BayesFastContext, out: dict[str, np.ndarray]) -> None:
    """Replace the summaries of flagged replicates by the ``stan`` analysis's."""
    idx = np.flatnonzero(out["flagged"] | (out["error"] != ""))
    out["refit"] = np.zeros(reps.n, dtype=bool)
    if idx.size == 0:
        return
    sub = dataclasses.replace(reps, **{f: getattr(reps, f)[idx] for f in _PER_REPLICATE
                                       if getattr(reps, f) is not None})
    stan = get_analysis("stan").run(sub, context.stan)
    for col in ("estimate", "se", "lower", "upper", "p", "prob_positive", "error"):
        out[col][idx] = stan[col]
    out["refit"][idx] = True
    for col in ("rhat", "divergences", "converged"):
        if col in stan:
            full = np.full(reps.n, np.nan) if col != "converged" else np.ones(reps.n, bool)
            full[idx] = stan[col]
            out[col] = full


ANALYSIS = BayesFast()
