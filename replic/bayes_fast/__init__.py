"""bayes-fast: Bayesian posteriors of Gaussian LMMs in milliseconds, without MCMC.

Given ``theta = (Sigma, sigma)`` the fixed and random effects are exactly Gaussian, and with a
flat prior on the fixed effects the marginal posterior of ``theta`` is the REML likelihood times
the prior on ``theta``.  bayes-fast importance-samples ``theta`` (and ``beta`` from its exact
conditional) around the posterior mode, for many data sets at once, with brms's default priors
(Student-t on the centred intercept, half-t on the sds and sigma, LKJ on the correlation), and
reports Pareto k-hat diagnostics of the weights.

Layers (numpy/scipy only below :mod:`.fit`, whose matrices come from :mod:`replic.spec`):
:mod:`replic.kernel.smallmat` (tiny batched matrices) and :mod:`replic.kernel.stats` (sufficient
statistics), both shared with ``lmm``, :mod:`.reml` (likelihood and conditionals),
:mod:`.transform` (unconstrained parameters and prior), :mod:`.batch_priors` (brms defaults,
vectorised), :mod:`.mode` (batched Newton), :mod:`.proposal` (split-t), :mod:`.psis`,
:mod:`.sampler` (importance sampling), :mod:`.summaries`, :mod:`.batch` (replicates),
:mod:`.fit` (one data set -> Posterior or brms-named summaries).
"""

from replic.bayes_fast.batch import analyse_replicates
from replic.bayes_fast.fit import fit_bayes_fast, summarise_bayes_fast
from replic.bayes_fast.psis import psis

__all__ = ["analyse_replicates", "fit_bayes_fast", "psis", "summarise_bayes_fast"]
