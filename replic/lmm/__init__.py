"""Gaussian linear mixed models with one grouping factor, fitted as lme4 + lmerTest do.

- :func:`fit_lmm`: one data set in lme4 formula syntax, returning an :class:`LmmFit`
  (Satterthwaite df as lmerTest, or Kenward-Roger as lmerTest/pbkrtest);
- :func:`fit_replicates`: many replicate data sets sharing a per-subject design, at thousands of
  refits per second (closed form for balanced complete data, vectorised profiled REML otherwise);
- :func:`fit_batch`: the vectorised profiled-REML engine on per-group sufficient statistics
  (:mod:`replic.kernel.stats`).

The computational modules (``deviance``, ``derivatives``, ``optimize``,
``satterthwaite``, ``balanced``, ``batch``, and :mod:`replic.kernel`) depend only on numpy;
formulas and matrices come from :mod:`replic.spec`.
"""

from replic.lmm.batch import BatchFit, fit_batch
from replic.lmm.fit import LmmFit, fit_lmm
from replic.lmm.replicates import fit_replicates
from replic.spec import LmmFormula, parse_formula

__all__ = ["BatchFit", "LmmFit", "LmmFormula", "fit_batch", "fit_lmm", "fit_replicates",
           "parse_formula"]
