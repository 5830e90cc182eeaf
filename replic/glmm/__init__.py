"""Generalised linear mixed models with one grouping factor, fitted as lme4's ``glmer`` does.

- :func:`fit_glmm`: one data set (lme4/brms formula, ``cbind(successes, failures)`` or
  ``successes | trials(n)`` for binomial responses), Laplace or adaptive Gauss-Hermite
  quadrature, returning a :class:`GlmmFit`;
- :func:`fit_batch`: many data sets sharing a row layout at once (the ``glmm`` analysis).

Modules: ``family`` (binomial/logit, Poisson/log terms), ``pirls`` (conditional modes, the
Laplace deviance and its analytic gradient), ``agq`` (quadrature deviance), ``optimize``
(vectorised Newton), ``batch``, ``fit``.  Pure numpy/scipy apart from the formula, which goes
through :mod:`replic.spec`.
"""

from replic.glmm.batch import GlmmBatch, fit_batch
from replic.glmm.fit import GlmmFit, fit_glmm
from replic.glmm.pirls import Data

__all__ = ["Data", "GlmmBatch", "GlmmFit", "fit_batch", "fit_glmm"]
