"""Data for replic's Stan program, prepared as brms prepares it.

A :class:`StanData` holds the response, the fixed-effect design ``X`` (brms term names,
``Intercept`` first when present), the varying-term design ``Z``, the group of each observation
and the priors; :meth:`StanData.to_stan` gives the program's data block.  brms centres the
non-intercept predictors so that the intercept prior applies at the predictors' means; the Stan
program does that centring itself (``transformed data``) and recovers ``b_Intercept``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.lmm.formula import LmmFormula, parse_formula
from replic.priors import Priors, default_priors

__all__ = ["StanData", "brms_name", "stan_data"]


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


def brms_name(name: str) -> str:
    """brms's name of a formulaic column (``x[T.b]`` becomes ``xb``)."""
    name = re.sub(r"\[T\.(.*?)\]", r"\1", str(name))
    return re.sub(r"[^A-Za-z0-9_.:]", "", name)


def _matrix(rhs: str, df: pd.DataFrame, formula: str, part: str) -> tuple[np.ndarray, tuple]:
    from formulaic import model_matrix

    try:
        mm = model_matrix(rhs, df, na_action="raise")
    except Exception as exc:  # formulaic raises many types for bad formulas or columns
        raise ReplicInputError(f"formula {formula!r}: cannot build the {part} design from "
                               f"{rhs!r}: {exc}") from None
    names = tuple(brms_name(c) for c in mm.columns)
    if len(set(names)) != len(names):
        raise ReplicInputError(f"formula {formula!r}: {part} terms {names} are not distinct")
    return np.asarray(mm, dtype=float), names


def stan_data(data: pd.DataFrame, formula: str | LmmFormula, *,
              priors: Priors | None = None, source: str = "data") -> StanData:
    """Prepare ``data`` for the Stan program as brms would for ``formula``.

    Parameters
    ----------
    data : DataFrame
        One row per observation.
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
    f = formula if isinstance(formula, LmmFormula) else parse_formula(formula)
    if not isinstance(data, pd.DataFrame):
        raise ReplicInputError(f"{source}: expected a pandas DataFrame, got {type(data).__name__}")
    from formulaic import Formula

    try:
        needed = {f.response, f.group} | set(Formula(f.fixed).required_variables) \
            | set(Formula(f.random).required_variables)
    except Exception as exc:  # formulaic's parser errors
        raise ReplicInputError(f"formula {f.text!r}: cannot parse ({exc})") from None
    missing = sorted(c for c in needed if c not in data.columns)
    if missing:
        raise ReplicInputError(f"{source}: column(s) {', '.join(missing)} used in formula "
                               f"{f.text!r} not found; columns are {', '.join(map(str, data))}")
    df = data[sorted(needed)].dropna().reset_index(drop=True)
    if len(df) < 2:
        raise ReplicInputError(f"{source}: fewer than 2 complete rows for {sorted(needed)}")
    y = pd.to_numeric(df[f.response], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(y)):
        raise ReplicInputError(f"{source}: response column {f.response!r} must be numeric")
    X, fixed = _matrix(f.fixed, df, f.text, "fixed-effect")
    Z, varying = _matrix(f.random, df, f.text, "varying-effect")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise ReplicInputError(f"formula {f.text!r}: the fixed-effect design {fixed} is "
                               "rank deficient")
    codes, levels = pd.factorize(df[f.group].astype(str), sort=True)
    return StanData(y=y, X=X, Z=Z, g=codes.astype(int), fixed=fixed, varying=varying,
                    group=f.group, levels=tuple(str(v) for v in levels),
                    priors=priors if priors is not None else default_priors(y),
                    response=f.response)
