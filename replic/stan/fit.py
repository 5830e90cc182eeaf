"""``fit_posterior``: fit replic's (G)LMM with Stan and return a brms-named Posterior.

Families (brms's default links and priors): ``gaussian``, ``bernoulli``, ``binomial`` (with
trials) and ``poisson``; one compiled program fits them all (:mod:`replic.stan.program`).

A study can start from data: the returned :class:`~replic.Posterior` carries the data, formula
and response, so designs default to the original's x values.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import pandas as pd

from replic.errors import ReplicInputError
from replic.formula_grammar import check_formula
from replic.io_cmdstan import brms_draws
from replic.posterior import Posterior
from replic.priors import Priors
from replic.spec import ModelSpec
from replic.stan.backends import StanModel, compile_model
from replic.stan.data import StanData, stan_data
from replic.stan.diagnostics import convergence

__all__ = ["fit_draws", "fit_posterior", "sample_draws"]

log = logging.getLogger(__name__)


def _check_counts(chains: int, warmup: int, draws: int, seed: int) -> None:
    for name, v, low in (("chains", chains, 1), ("warmup", warmup, 0), ("draws", draws, 1),
                         ("seed", seed, 0)):
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            raise ReplicInputError(f"{name}={v!r}; expected an integer >= {low}")
    if seed > 2**32 - 1:  # Stan's seed is an unsigned 32-bit integer on both backends
        raise ReplicInputError(f"seed={seed!r}; expected an integer from 0 to 2**32 - 1")


def sample_draws(model: StanModel, data: StanData, *, chains: int, warmup: int, draws: int,
                 seed: int, workdir: str | None = None, quiet: bool = True,
                 parallel_chains: int | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sample ``data`` with a compiled ``model``.

    ``parallel_chains`` chains run at once (default: all); chain ``c`` is seeded by
    (``seed``, ``c``), so the draws are the same for any value.

    Returns
    -------
    table : DataFrame
        brms-named draws (:func:`replic.io_cmdstan.brms_draws`).
    flat : DataFrame
        Stan's flat output (sampler columns such as ``divergent__`` included).
    """
    flat = model.sample(data.to_stan(), chains=chains, warmup=warmup, draws=draws, seed=seed,
                        workdir=workdir, quiet=quiet, parallel_chains=parallel_chains)
    md = data.data
    table = brms_draws(flat, fixed=md.fixed, varying=md.varying, group=md.group,
                       levels=md.levels, family=data.family)
    return table, flat


def fit_draws(data: pd.DataFrame, formula: str, *, family: object = None, chains: int = 4,
              warmup: int = 1000, draws: int = 1000, seed: int = 0, priors: Priors | None = None,
              backend: str = "auto", output_dir: str | Path | None = None,
              quiet: bool = False) -> tuple[pd.DataFrame, dict]:
    """Fit ``formula`` to ``data`` and return brms-named draws with diagnostics.

    Parameters are those of :func:`fit_posterior`.

    Returns
    -------
    table : DataFrame
        One row per draw, brms column names (``b_Days``, ``sd_Subject__Days``, ...).
    info : dict
        Diagnostics (max R-hat, min bulk ESS, divergences, converged), backend, timing, priors.
    """
    formula = check_formula(formula, where="formula")  # before anything evaluates it
    _check_counts(chains, warmup, draws, seed)
    sd = stan_data(data, formula, family=family, priors=priors)
    model = compile_model(backend=backend)
    started = time.perf_counter()
    workdir = None
    if output_dir is not None:
        workdir = str(output_dir)
        Path(workdir).mkdir(parents=True, exist_ok=True)
    table, flat = sample_draws(model, sd, chains=chains, warmup=warmup, draws=draws, seed=seed,
                               workdir=workdir, quiet=quiet)
    if workdir is not None and model.backend == "cmdstan":
        from replic.io_cmdstan import write_model_names

        md = sd.data
        write_model_names(workdir, {"fixed": md.fixed, "varying": md.varying, "group": md.group,
                                    "levels": md.levels, "formula": formula,
                                    "response": md.response, "family": sd.family})
    diag = convergence(table, flat.get("divergent__"), ess_min=100.0 * chains)
    info = {**diag, "backend": model.backend, "chains": chains, "warmup": warmup,
            "draws": draws, "seed": seed, "seconds": time.perf_counter() - started,
            "priors": dataclasses.asdict(sd.priors), "family": sd.family}
    if not diag["converged"]:
        log.warning("Stan fit of %r may not have converged: max R-hat %.3f, min bulk ESS %.0f, "
                    "%d divergent transitions", formula, diag["rhat"], diag["ess_bulk"],
                    diag["divergences"])
    return table, info


def fit_posterior(data: pd.DataFrame, formula: str, *, family: object = None, chains: int = 4,
                  warmup: int = 1000, draws: int = 1000, seed: int = 0,
                  priors: Priors | None = None,
                  backend: str = "auto", output_dir: str | Path | None = None,
                  quiet: bool = False) -> Posterior:
    """Fit ``formula`` to ``data`` with Stan (NUTS), brms's model and default priors.

    Parameters
    ----------
    data : DataFrame
        One row per observation.
    formula : str
        ``"Reaction ~ 1 + Days + (1 + Days | Subject)"``: one grouping factor, any number of
        correlated varying terms; a binomial response is ``successes | trials(n)`` (brms) or
        ``cbind(successes, failures)`` (lme4).
    family : str or Family, optional
        ``"gaussian"`` (default; identity link), ``"bernoulli"`` (logit), ``"binomial"``
        (logit; implied by a trials/cbind response) or ``"poisson"`` (log).
    chains, warmup, draws : int
        Chains, warm-up iterations and kept draws per chain (brms's defaults: 4, 1000, 1000).
    seed : int
        Random seed.
    priors : Priors, optional
        Defaults to brms's defaults for the family (:func:`replic.priors.default_priors`):
        logit link: ``student_t(3, 0, 2.5)`` on the centred intercept and the sds; log link and
        identity: computed from the response.
    backend : {"auto", "pystan", "cmdstan"}
        Stan backend; ``auto`` uses CmdStan when installed, else PyStan.
    output_dir : path, optional
        CmdStan only: where the CSV files (and ``replic-model.json``) are written.
    quiet : bool
        Silence the backend's progress output.

    Returns
    -------
    Posterior
        brms-named draws carrying ``data``, ``formula``, ``response`` and the
        bound model ``spec``; ``diagnostics`` holds ``n_dropped`` (rows dropped for missing
        values),
        max R-hat, min bulk ESS, divergences and timing.

    Raises
    ------
    ReplicInputError
        Bad formula, missing column, bad option.
    ReplicFitError
        No Stan backend, compilation or sampling failure.
    """
    from replic.io_brms import posterior_from_brms

    formula = check_formula(formula, where="formula")  # before anything evaluates it
    table, info = fit_draws(data, formula, family=family, chains=chains, warmup=warmup,
                            draws=draws, seed=seed, priors=priors, backend=backend,
                            output_dir=output_dir, quiet=quiet)
    md = ModelSpec.parse(formula, family=family).bind(data)
    post = posterior_from_brms(table, source=f"stan ({info['backend']})",
                               family=md.spec.family)
    return dataclasses.replace(post, formula=formula, response=md.response, data=data,
                               spec=md.spec, diagnostics={**post.diagnostics, **info,
                                                          "n_dropped": md.n_dropped})
