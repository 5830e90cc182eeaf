"""The data of a one-factor LMM, with the checks lme4 makes before a fit.

The matrices come from the model specification shared by every engine
(:class:`replic.spec.ModelSpec`: lme4's columns, R's level order, brms's names with ``Intercept``
for ``(Intercept)``, rows with missing values dropped) and are held, as for every engine, by its
:class:`replic.spec.ModelData`; the checks lme4 makes before a fit are here.  Every problem the
user can fix is a :class:`~replic.errors.ReplicInputError` naming the column or argument.
"""

from __future__ import annotations

import pandas as pd

from replic.errors import ReplicInputError
from replic.spec import LmmFormula, ModelData, ModelSpec

__all__ = ["check_lmm_data"]


def check_lmm_data(data: pd.DataFrame, spec: LmmFormula | ModelSpec) -> ModelData:
    """Bind ``spec`` to ``data`` (:meth:`ModelSpec.bind`) and make lme4's checks.

    Rows with a missing value in a used column are dropped (as lme4 does) and counted in
    :attr:`ModelData.n_dropped`.

    Raises
    ------
    ReplicInputError
        ``data`` not a DataFrame; a missing column; a non-numeric response; a grouping factor
        with fewer than two levels; fewer observations than parameters, or than random effects;
        a rank-deficient fixed-effect design.
    """
    ms = spec if isinstance(spec, ModelSpec) else ModelSpec.parse(spec)
    md = ms.bind(data)
    y, X, Z = md.y, md.X, md.Z
    levels, group = md.levels, ms.group
    if len(levels) < 2:
        raise ReplicInputError(f"column {group!r} (grouping factor) has {len(levels)} "
                               "level(s); a mixed model needs at least 2")
    n_par = X.shape[1] + Z.shape[1] * (Z.shape[1] + 1) // 2 + 1
    if y.size <= n_par:
        raise ReplicInputError(f"data: {y.size} observations for {n_par} parameters; need more "
                               "observations than parameters")
    n_re = Z.shape[1] * len(levels)
    if y.size <= n_re:
        raise ReplicInputError(f"data: {y.size} observations for {n_re} random effects "
                               f"({Z.shape[1]} per level of {group!r}); lme4 refuses such "
                               "fits, and so does replic")
    return md
