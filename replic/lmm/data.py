"""Model arrays of a one-factor LMM from a data frame, with input checks.

The matrices come from the model specification shared by every engine
(:class:`replic.spec.ModelSpec`: lme4's columns, R's level order, brms's names with ``Intercept``
for ``(Intercept)``, rows with missing values dropped); the checks lme4 makes before a fit are
here.  Every problem the user can fix is a :class:`~replic.errors.ReplicInputError` naming the
column or argument.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.spec import LmmFormula, ModelSpec

__all__ = ["LmmArrays", "model_arrays"]


@dataclass(frozen=True, eq=False)
class LmmArrays:
    """Numeric arrays of one data set.

    Attributes
    ----------
    y : ndarray, shape (N,)
    X : ndarray, shape (N, P)
    Z : ndarray, shape (N, q)
    group : ndarray of int, shape (N,)
        Code of each row's level in ``levels``.
    levels : tuple of str
    fixed_names, random_names : tuple of str
        brms/lme4 names (``Intercept``, ``SexMale``, ``age:SexMale``).
    n_dropped : int
        Rows dropped for missing values in used columns.
    spec : ModelSpec
        The spec bound to this data.
    """

    y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    group: np.ndarray
    levels: tuple[str, ...]
    fixed_names: tuple[str, ...]
    random_names: tuple[str, ...]
    n_dropped: int = 0
    spec: ModelSpec | None = None


def model_arrays(data: pd.DataFrame, spec: LmmFormula | ModelSpec) -> LmmArrays:
    """Build and check the arrays of ``spec`` on ``data`` through :class:`ModelSpec`.

    Rows with a missing value in a used column are dropped (as lme4 does) and counted in
    :attr:`LmmArrays.n_dropped`.

    Raises
    ------
    ReplicInputError
        ``data`` not a DataFrame; a missing column; a non-numeric response; a grouping factor
        with fewer than two levels; fewer observations than parameters; a rank-deficient
        fixed-effect design.
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
    return LmmArrays(y=y, X=X, Z=Z, group=md.codes, levels=levels, fixed_names=md.fixed,
                     random_names=md.varying, n_dropped=md.n_dropped, spec=md.spec)
