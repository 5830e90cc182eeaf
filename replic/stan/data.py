"""Data for replic's Stan program, prepared as brms prepares it.

A :class:`StanData` holds the family (``gaussian``, ``bernoulli``, ``binomial`` with its
``trials``, ``poisson``), the response, the fixed-effect design ``X`` (brms term names,
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
from replic.priors import FAMILY_LINKS, Priors, default_priors
from replic.spec import LmmFormula, ModelSpec

__all__ = ["FAMILY_CODES", "StanData", "stan_data", "stan_family"]

#: The program's ``family`` data value of each family (its link is brms's default).
FAMILY_CODES = {"gaussian": 0, "bernoulli": 1, "binomial": 2, "poisson": 3}


def _check_response(y: np.ndarray, family: str, trials: np.ndarray | None) -> None:
    """One clear error when ``y`` (and ``trials``) cannot be a response of ``family``."""
    from replic.family import Family

    if family not in FAMILY_CODES:
        raise ReplicInputError(f"Stan data: family={family!r}; expected one of "
                               f"{', '.join(FAMILY_CODES)}")
    if (trials is not None) != (family == "binomial"):
        raise ReplicInputError("Stan data: trials are given for the binomial family only "
                               f"(and required there); family={family!r}")
    if trials is not None and np.shape(trials) != np.shape(y):
        raise ReplicInputError(f"Stan data: {np.shape(trials)} trials for {np.shape(y)} "
                               "responses; expected one per observation")
    Family(family).check_response(y, trials=trials, where="Stan data: response")


@dataclass(frozen=True, eq=False)
class StanData:
    """Data of one fit of a (G)LMM.

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
    family : str
        ``gaussian`` (identity link), ``bernoulli``, ``binomial`` (logit) or ``poisson`` (log).
    trials : ndarray of int, shape (N,), optional
        Trials of each observation (``binomial`` only; ``y`` counts the successes).
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
    family: str = "gaussian"
    trials: np.ndarray | None = None

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
        _check_response(self.y, self.family, self.trials)
        if self.family == "gaussian" and self.priors.sigma is None:
            raise ReplicInputError("Stan data: a Gaussian model needs a prior for sigma "
                                   "(priors.sigma)")

    def to_stan(self) -> dict:
        """The data block of ``lmm.stan`` (plain Python/numpy values)."""
        has_icpt = "Intercept" in self.fixed
        keep = [i for i, n in enumerate(self.fixed) if n != "Intercept"]
        p = self.priors
        icpt = p.intercept
        gaussian = self.family == "gaussian"
        sigma = p.sigma if p.sigma is not None else p.sd  # unused by the other families
        return {
            "family": FAMILY_CODES[self.family], "N": int(self.y.size),
            "Y": self.y.astype(float) if gaussian else np.zeros(0),
            "Y_int": np.zeros(0, dtype=int) if gaussian else self.y.astype(int),
            "trials": np.zeros(0, dtype=int) if self.trials is None else
            np.asarray(self.trials).astype(int),
            "K": len(keep), "X": self.X[:, keep].astype(float),
            "has_intercept": int(has_icpt), "J": len(self.levels), "M": len(self.varying),
            "g": (self.g + 1).astype(int), "Z": self.Z.astype(float),
            "intercept_flat": int(icpt is None),
            "prior_intercept": [3.0, 0.0, 1.0] if icpt is None else
            [icpt.df, icpt.location, icpt.scale],
            "prior_sd": [p.sd.df, p.sd.location, p.sd.scale],
            "prior_sigma": [sigma.df, sigma.location, sigma.scale],
            "lkj_eta": float(p.lkj), "prior_only": 0,
        }


def stan_data(data: pd.DataFrame, formula: str | LmmFormula, *, family: object = None,
              priors: Priors | None = None, source: str = "data") -> StanData:
    """Prepare ``data`` for the Stan program as brms would for ``formula``.

    Parameters
    ----------
    data : DataFrame
        One row per observation; rows with a missing value in a used column are dropped (as
        brms does) and counted in ``n_dropped``.
    formula : str or LmmFormula
        ``"Reaction ~ 1 + Days + (1 + Days | Subject)"``; a binomial response is
        ``successes | trials(n)`` (brms) or ``cbind(successes, failures)`` (lme4).
    family : str or Family, optional
        ``"gaussian"`` (default), ``"bernoulli"``, ``"binomial"`` (implied by a trials or
        cbind response) or ``"poisson"``, each with brms's default link.
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
        For a bad formula, a missing column, unusable values, or a family or link the program
        does not fit.
    """
    md = ModelSpec.parse(formula, family=family).bind(data, source=source)
    name = stan_family(md.spec.family)
    if len(md.y) < 2:
        raise ReplicInputError(f"{source}: fewer than 2 complete rows for {md.spec.formula!r}")
    return StanData(y=md.y, X=md.X, Z=md.Z, g=md.codes, fixed=md.fixed, varying=md.varying,
                    group=md.group, levels=md.levels,
                    priors=priors if priors is not None else default_priors(md.y, family=name),
                    response=md.response, n_dropped=md.n_dropped, family=name,
                    trials=md.trials if name == "binomial" else None)


def stan_family(family: object) -> str:
    """The program's name of ``family`` (a :class:`replic.family.Family` or a name).

    Raises
    ------
    ReplicInputError
        For a family or link the program does not fit (e.g. ``bernoulli(probit)``).
    """
    from replic.family import Family

    fam = Family.of(family)
    if fam.name not in FAMILY_CODES or fam.link != FAMILY_LINKS[fam.name]:
        raise ReplicInputError(f"family {fam}: replic's Stan program fits "
                               f"{', '.join(f'{f}({k})' for f, k in FAMILY_LINKS.items())}")
    return fam.name
