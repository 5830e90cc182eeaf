"""Data for replic's Stan program, prepared as brms prepares it.

A :class:`StanData` holds the data set as every engine holds it (:class:`replic.spec.ModelData`:
the family ``gaussian``, ``bernoulli``, ``binomial`` with its ``trials`` or ``poisson``, the
response, the fixed-effect design ``X`` in brms term names, the varying-term design ``Z``, the
group of each observation) and the priors;
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
from replic.spec import LmmFormula, ModelData, ModelSpec

__all__ = ["FAMILY_CODES", "StanData", "stan_data", "stan_family"]

#: The program's ``family`` data value of each family (its link is brms's default).
FAMILY_CODES = {"gaussian": 0, "bernoulli": 1, "binomial": 2, "poisson": 3}


def _check_response(y: np.ndarray, family: str, trials: np.ndarray | None) -> None:
    """One clear error when ``y`` (and ``trials``) cannot be a response of ``family`` (one of
    :data:`FAMILY_CODES`; ``trials`` None unless binomial)."""
    from replic.family import Family

    if family == "binomial" and trials is None:
        raise ReplicInputError("Stan data: a binomial model needs each observation's trials")
    Family(family).check_response(y, trials=trials, where="Stan data: response")


@dataclass(frozen=True, eq=False)
class StanData:
    """Data of one fit of a (G)LMM: the data set and what Stan alone needs besides.

    Attributes
    ----------
    data : ModelData
        The response, designs and groups (brms term names, R's level order; rows with a missing
        value dropped and counted), as every engine holds them; the family is its spec's.
    priors : Priors
        Priors of the fit.

    Raises
    ------
    ReplicInputError
        A family or link the program does not fit, no varying term, fewer than 2 responses,
        responses (or trials) the family cannot have, or a Gaussian model without a sigma prior.
    """

    data: ModelData
    priors: Priors

    def __post_init__(self) -> None:
        md = self.data
        if not len(md.varying):
            raise ReplicInputError("Stan data: the model needs at least one varying term")
        if md.y.size < 2 or not np.all(np.isfinite(md.y)):
            raise ReplicInputError(f"Stan data: need at least 2 finite responses, got "
                                   f"{md.y.size}")
        _check_response(md.y, self.family, self.trials)
        if self.family == "gaussian" and self.priors.sigma is None:
            raise ReplicInputError("Stan data: a Gaussian model needs a prior for sigma "
                                   "(priors.sigma)")

    @property
    def family(self) -> str:
        """The program's family: ``gaussian`` (identity link), ``bernoulli``, ``binomial``
        (logit) or ``poisson`` (log)."""
        return stan_family(self.data.spec.family)

    @property
    def trials(self) -> np.ndarray | None:
        """Trials of each observation (``binomial`` only; ``y`` counts the successes)."""
        return self.data.trials if self.family == "binomial" else None

    def to_stan(self) -> dict:
        """The data block of ``lmm.stan`` (plain Python/numpy values)."""
        md = self.data
        has_icpt = "Intercept" in md.fixed
        keep = [i for i, n in enumerate(md.fixed) if n != "Intercept"]
        p = self.priors
        icpt = p.intercept
        family = self.family
        gaussian = family == "gaussian"
        trials = self.trials
        sigma = p.sigma if p.sigma is not None else p.sd  # unused by the other families
        return {
            "family": FAMILY_CODES[family], "N": int(md.y.size),
            "Y": md.y.astype(float) if gaussian else np.zeros(0),
            "Y_int": np.zeros(0, dtype=int) if gaussian else md.y.astype(int),
            "trials": np.zeros(0, dtype=int) if trials is None else
            np.asarray(trials).astype(int),
            "K": len(keep), "X": md.X[:, keep].astype(float),
            "has_intercept": int(has_icpt), "J": len(md.levels), "M": len(md.varying),
            "g": (md.codes + 1).astype(int), "Z": md.Z.astype(float),
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
    return StanData(data=md, priors=priors if priors is not None else
                    default_priors(md.y, family=name))


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
