"""Numerics shared by the kernels (``lmm``, ``bayes_fast``) and the estimands, numpy/scipy only:
algebra on stacks of small matrices (:mod:`.smallmat`), finite-difference stencils
(:mod:`.fdiff`), expected responses over a normal random effect (:mod:`.normal_mean`) and
Poisson/binomial quantile functions (:mod:`.discrete`)."""
