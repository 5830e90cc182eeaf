"""Numerics shared by the LMM kernels (``lmm``, ``bayes_fast``), numpy only: algebra on stacks
of small matrices (:mod:`.smallmat`) and finite-difference stencils (:mod:`.fdiff`)."""
