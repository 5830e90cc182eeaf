"""The ``stan`` analysis: a full Bayesian refit of every replicate with the original's model.

Families: ``gaussian``, ``bernoulli``, ``binomial`` (with each observation's trials) and
``poisson``, with brms's default links (identity, logit, logit, log); the estimate, interval and
P(effect > 0) are those of the term's coefficient (the link scale, as brms's ``b_<term>``).

``prepare`` compiles replic's Stan program once, in the parent process (logged), and fixes the
priors: the original's brms defaults (computed from the posterior's data) unless ``priors`` is
given; when the posterior carries no data, each replicate gets brms's defaults for its own data,
as a fresh ``brm()`` call would.  ``run`` refits each replicate with NUTS (default 4 chains x 1000
draws after 1000 warm-up, as brms) and records the posterior mean, sd, 95% interval and
P(effect > 0) of the term, with max R-hat, min bulk ESS (arviz) and divergences; replicates
that fail those checks are flagged ``converged = False``, and failed fits carry their error.

Chains run ``parallel_chains`` at a time: by default one at a time inside study worker processes
(the parallelism is across replicates, so n workers give ~n times the throughput) and all at
once when replicates are refitted in the process that prepared the study (``n_jobs=1``).  Chain
``c`` of a replicate is always seeded by (replicate seed, ``c``), so the results are identical
for any ``n_jobs`` and any ``parallel_chains``.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

import numpy as np

from replic.analyses import check_family, failed_columns
from replic.errors import ReplicFitError, ReplicInputError
from replic.priors import Priors, default_priors
from replic.simulate import Replicates

__all__ = ["ANALYSIS", "StanAnalysis", "StanContext", "replicate_data"]

log = logging.getLogger(__name__)

_DEFAULTS = {"chains": 4, "warmup": 1000, "draws": 1000, "seed": 0, "backend": "auto",
             "priors": None, "rhat_max": 1.01, "ess_min": None, "quiet": True,
             "parallel_chains": None}


def _here() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


@dataclass(frozen=True)
class StanContext:
    """What workers need to refit replicates (picklable; no compilation happens in workers)."""

    model: object
    fixed: tuple[str, ...]
    varying: tuple[str, ...]
    priors: Priors | None
    chains: int
    warmup: int
    draws: int
    seed: int
    rhat_max: float
    ess_min: float
    quiet: bool
    parallel_chains: int | None = None
    home: tuple[str, int] = ("", 0)
    family: str = "gaussian"

    def chains_at_once(self) -> int:
        """``parallel_chains``, or by default all chains in the preparing process, else 1."""
        if self.parallel_chains is not None:
            return self.parallel_chains
        return self.chains if _here() == self.home else 1


def replicate_data(reps: Replicates, i: int, context: StanContext):
    """The :class:`~replic.stan.data.StanData` of replicate ``i`` (unobserved rows dropped):
    subject ``j`` is level ``j + 1`` of ``subject``."""
    from replic.family import Family
    from replic.spec import ModelData
    from replic.stan.data import StanData

    y = reps.y[i]
    k = y.shape[0]
    ok = np.isfinite(y)
    subj, time = np.nonzero(ok)
    yy = y[ok]
    trials = None
    if context.family == "binomial":
        trials = getattr(reps, "trials", None)
        if trials is None:
            trials = getattr(reps.frame, "trials", None)
        if trials is None:
            raise ReplicInputError("stan analysis: the binomial design gives no trials per "
                                   "observation")
        trials = np.broadcast_to(np.asarray(trials, dtype=float), y.shape)[ok]
    priors = context.priors if context.priors is not None else \
        default_priors(yy, family=context.family)
    md = ModelData.of_arrays(yy, reps.frame.X[time], reps.frame.Z[time], subj,
                             fixed=context.fixed, varying=context.varying,
                             levels=tuple(str(j + 1) for j in range(k)), group="subject",
                             family=Family.of(context.family), trials=trials)
    return StanData(data=md, priors=priors)


def _seed(reps: Replicates, i: int, root: int) -> int:
    ss = np.random.SeedSequence([reps.design.key, int(reps.rep[i]), root])
    return int(ss.generate_state(1)[0] % (2**31 - 1))


@dataclass(frozen=True)
class StanAnalysis:
    """Bayesian refit of each replicate with Stan (see the module docstring)."""

    name: str = "stan"
    representation: str = "full"
    chunk: int = 1

    def prepare(self, posterior, frame, options: dict) -> StanContext:
        check_family("stan", getattr(posterior, "family", "gaussian"))
        unknown = sorted(set(options) - set(_DEFAULTS))
        if unknown:
            raise ReplicInputError(f"stan analysis: unknown option(s) {', '.join(unknown)}; "
                                   f"expected some of {', '.join(_DEFAULTS)}")
        o = _DEFAULTS | dict(options)
        for key in ("chains", "warmup", "draws", "seed"):
            v = o[key]
            high = {"chains": 64, "seed": 2**63 - 1}.get(key, 1_000_000)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or not (
                    0 if key in ("warmup", "seed") else 1) <= v <= high:
                raise ReplicInputError(f"stan analysis: {key}={v!r}; expected a positive integer "
                                       f"up to {high}")
        width = o["parallel_chains"]
        if width is not None and (isinstance(width, bool) or not isinstance(
                width, int | np.integer) or width < 1):
            raise ReplicInputError(f"stan analysis: parallel_chains={width!r}; expected None "
                                   "(one at a time in workers, all otherwise) or an integer >= 1")
        priors = o["priors"]
        if priors is not None and not isinstance(priors, Priors):
            raise ReplicInputError(f"stan analysis: priors={priors!r}; expected a replic.Priors")
        from replic.stan.data import stan_family

        family = stan_family(posterior.family)
        data, response = posterior.data, posterior.response
        if priors is None and data is not None and response in getattr(data, "columns", ()):
            priors = default_priors(data[response].dropna().to_numpy(dtype=float),
                                    family=family)
            log.info("stan analysis: the original's brms default priors %s", priors)
        elif priors is None:
            log.info("stan analysis: the posterior carries no data; each replicate gets brms's "
                     "default priors computed from its own data")
        from replic.stan.backends import compile_model

        model = compile_model(backend=o["backend"])
        ess_min = o["ess_min"] if o["ess_min"] is not None else 100.0 * o["chains"]
        return StanContext(model=model, fixed=tuple(posterior.fixed),
                           varying=tuple(posterior.varying), priors=priors,
                           chains=int(o["chains"]), warmup=int(o["warmup"]),
                           draws=int(o["draws"]), seed=int(o["seed"]),
                           rhat_max=float(o["rhat_max"]), ess_min=float(ess_min),
                           quiet=bool(o["quiet"]),
                           parallel_chains=None if width is None else int(width), home=_here(),
                           family=family)

    def run(self, reps: Replicates, context: StanContext) -> dict[str, np.ndarray]:
        if reps.y is None:
            raise ReplicInputError("stan analysis needs full replicate data (representation "
                                   "'full')")
        rows = [self._one(reps, i, context) for i in range(reps.n)]
        keys = dict.fromkeys(k for r in rows for k in r)
        out = {}
        for k in keys:
            vals = [r.get(k, np.nan) for r in rows]
            out[k] = np.array(vals, dtype=object if k == "error" else
                              bool if k == "converged" else float)
        return out

    def _one(self, reps: Replicates, i: int, context: StanContext) -> dict:
        from replic.stan.diagnostics import convergence
        from replic.stan.fit import sample_draws

        term = reps.frame.term
        try:
            data = replicate_data(reps, i, context)
            table, flat = sample_draws(context.model, data, chains=context.chains,
                                       warmup=context.warmup, draws=context.draws,
                                       seed=_seed(reps, i, context.seed), quiet=context.quiet,
                                       parallel_chains=context.chains_at_once())
        except (ReplicFitError, ReplicInputError) as exc:
            row = {k: v[0] for k, v in failed_columns(1, f"{type(exc).__name__}: {exc}").items()}
            return row | {"converged": False}
        x = table[f"b_{term}"].to_numpy(dtype=float)
        lo, hi = np.quantile(x, [0.025, 0.975])
        pp = float(np.mean(x > 0))
        diag = convergence(table, flat.get("divergent__"), rhat_max=context.rhat_max,
                           ess_min=context.ess_min)
        return {"estimate": float(x.mean()), "se": float(x.std(ddof=1)), "lower": float(lo),
                "upper": float(hi), "p": 2.0 * min(pp, 1.0 - pp), "error": "",
                "prob_positive": pp, **diag}


ANALYSIS = StanAnalysis()
