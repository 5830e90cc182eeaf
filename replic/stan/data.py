"""Data for replic's Stan program, prepared as brms prepares it.

A :class:`StanData` holds the response, the fixed-effect design ``X`` (brms term names,
``Intercept`` first when present), the varying-term design ``Z``, the group of each observation
(all built by :class:`replic.spec.ModelSpec`, as for every engine) and the priors;
:meth:`StanData.to_stan` gives the program's data block. brms centres the non-intercept predictors
so that the intercept prior applies at the predictors' means; the Stan program does that centring
itself (``transformed data``) and recovers ``b_Intercept``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.priors import Priors, default_priors
from replic.spec import LmmFormula, model_data

__all__ = ["StanData", "stan_data"]


@dataclass(frozen=True, eq=False)
class StanData:
    """Data of one fit of the Gaussian LMM.

    Attributes
    ----------
    y : ndarray, shape (N,)
        Response.
    X : ndarray, shape (N, P)
        Fixed-effect design, columns named by ``fixed``.
    Z : ndarray, shape (N, Q)
        Varying-term design, columns named by ``varying``.
    g : ndarray of int, shape (N,)
        Level (0-based index into ``levels``) of each observation.
    fixed, varying : tuple of str
        brms term names (``Intercept``, ``Days``).
    group : str
        Grouping factor name.
    levels : tuple of str
        Levels of the grouping factor.
    priors : Priors
        Priors of the fit.
    response : str
        Response name.
    n_dropped : int
        Rows dropped for a missing value in a used column (as brms does).
    """

    y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    g: np.ndarray
    fixed: tuple[str, ...]
    varying: tuple[str, ...]
    group: str
    levels: tuple[str, ...]
    priors: Priors
    response: str = "y"
    n_dropped: int = 0

    def __post_init__(self) -> None:
        N = self.y.shape[0]
        if self.X.shape != (N, len(self.fixed)) or self.Z.shape != (N, len(self.varying)) \
                or self.g.shape != (N,):
            raise ReplicInputError(f"Stan data: inconsistent shapes y {self.y.shape}, X "
                                   f"{self.X.shape}, Z {self.Z.shape}, g {self.g.shape}")
        if not len(self.varying):
            raise ReplicInputError("Stan data: the model needs at least one varying term")
        if N < 2 or not np.all(np.isfinite(self.y)):
            raise ReplicInputError(f"Stan data: need at least 2 finite responses, got {N}")

    def to_stan(self) -> dict:
        """The data block of ``lmm.stan`` (plain Python/numpy values)."""
        has_icpt = "Intercept" in self.fixed
        keep = [i for i, n in enumerate(self.fixed) if n != "Intercept"]
        p = self.priors
        icpt = p.intercept
        return {
            "N": int(self.y.size), "Y": self.y.astype(float),
            "K": len(keep), "X": self.X[:, keep].astype(float),
            "has_intercept": int(has_icpt), "J": len(self.levels), "M": len(self.varying),
            "g": (self.g + 1).astype(int), "Z": self.Z.astype(float),
            "intercept_flat": int(icpt is None),
            "prior_intercept": [3.0, 0.0, 1.0] if icpt is None else
            [icpt.df, icpt.location, icpt.scale],
            "prior_sd": [p.sd.df, p.sd.location, p.sd.scale],
            "prior_sigma": [p.sigma.df, p.sigma.location, p.sigma.scale],
            "lkj_eta": float(p.lkj), "prior_only": 0,
        }


def stan_data(data: pd.DataFrame, formula: str | LmmFormula, *,
              priors: Priors | None = None, source: str = "data") -> StanData:
    """Prepare ``data`` for the Stan program as brms would for ``formula``.

    Parameters
    ----------
    data : DataFrame
        One row per observation; rows with a missing value in a used column are dropped (as
        brms does) and counted in ``n_dropped``.
    formula : str or LmmFormula
        ``"Reaction ~ 1 + Days + (1 + Days | Subject)"``.
    priors : Priors, optional
        Defaults to brms's defaults computed from the response (:func:`default_priors`).
    source : str
        Name of the data in error messages (a file path).

    Returns
    -------
    StanData

    Raises
    ------
    ReplicInputError
        For a bad formula, a missing column, or unusable values.
    """
    md = model_data(data, formula, source=source)
    if len(md.y) < 2:
        raise ReplicInputError(f"{source}: fewer than 2 complete rows for {md.spec.formula!r}")
    return StanData(y=md.y, X=md.X, Z=md.Z, g=md.codes, fixed=md.fixed, varying=md.varying,
                    group=md.group, levels=md.levels,
                    priors=priors if priors is not None else default_priors(md.y),
                    response=md.response, n_dropped=md.n_dropped)
