"""``fit_glmm``: a GLMM with one grouping factor fitted as lme4's ``glmer`` would.

The formula goes through the one model specification (:class:`replic.spec.ModelSpec`: the safe
grammar, level order, missing rows, lme4 and brms names); a binomial response is lme4's
``cbind(successes, failures)`` or brms's ``successes | trials(n)``.  The computation is
:func:`replic.glmm.batch.fit_batch` on one data set laid out group by group.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from replic.errors import ReplicFitError, ReplicInputError
from replic.glmm.batch import fit_batch
from replic.glmm.family import FAMILIES
from replic.glmm.pirls import Data
from replic.kernel.smallmat import lower_from_theta
from replic.spec import ModelData, ModelSpec

__all__ = ["GlmmFit", "fit_glmm", "group_layout"]


@dataclass(frozen=True, eq=False)
class GlmmFit:
    """A fitted GLMM (lme4's ``glmer`` summary).

    Attributes
    ----------
    fixed : DataFrame
        Indexed by lme4's term names, columns ``estimate``, ``se`` (lme4's default ``vcov``: the
        Hessian of the deviance in ``(theta, beta)``), ``z``, ``p`` (two-sided Wald), ``lower``,
        ``upper`` (95% Wald interval).
    sd : Series
        Standard deviations of the varying terms.
    cor : DataFrame
        Their correlation matrix.
    loglik, deviance : float
        lme4's ``logLik`` and ``-2 logLik`` (``nAGQ > 1``: on lme4's deviance-residual scale).
    singular, converged : bool
        Boundary fit (a diagonal element of ``Lambda`` below 1e-4, lme4's ``isSingular``); the
        Newton iterations converged.
    theta : ndarray
        lme4's ``theta``.
    ranef : DataFrame
        Conditional modes ``b_j = Lambda u_j`` by level.
    vcov : DataFrame
        Covariance of the fixed effects.
    family, formula : str
    nAGQ : int
    n_obs, n_groups, n_dropped : int
    spec : ModelSpec
    """

    fixed: pd.DataFrame
    sd: pd.Series
    cor: pd.DataFrame
    loglik: float
    deviance: float
    singular: bool
    converged: bool
    theta: np.ndarray
    ranef: pd.DataFrame
    vcov: pd.DataFrame
    family: str
    formula: str
    nAGQ: int  # noqa: N815 (lme4's name)
    n_obs: int
    n_groups: int
    n_dropped: int
    spec: ModelSpec

    def __repr__(self) -> str:
        flags = " (singular)" if self.singular else ""
        return (f"GlmmFit({self.formula!r}, family={self.family!r}, n_obs={self.n_obs}, "
                f"n_groups={self.n_groups}, logLik={self.loglik:.4f}{flags})\n"
                f"{self.fixed.round(4)}\nsd: {self.sd.round(4).to_dict()}")


def group_layout(codes: np.ndarray, n_groups: int) -> tuple[np.ndarray, int]:
    """Each row's position within its group and the largest group size."""
    order = np.argsort(codes, kind="stable")
    counts = np.bincount(codes, minlength=n_groups)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    pos = np.empty_like(codes)
    pos[order] = np.arange(codes.size) - np.repeat(starts, counts)
    return pos, int(counts.max())


def _data(md: ModelData, family: str) -> Data:
    """One data set laid out group by group: ``(U, J, 1)`` responses, ``(K, U, J)`` design."""
    J = len(md.levels)
    pos, U = group_layout(md.codes, J)
    y = np.zeros((U, J, 1))
    m = np.zeros((U, J, 1))
    X = np.zeros((md.X.shape[1], U, J))
    Z = np.zeros((md.Z.shape[1], U, J))
    trials = md.trials if family == "binomial" else np.ones(md.y.size)
    y[pos, md.codes, 0] = md.y
    m[pos, md.codes, 0] = trials
    X[:, pos, md.codes] = md.X.T
    Z[:, pos, md.codes] = md.Z.T
    return Data(family, y, m, X, Z)


def fit_glmm(data: pd.DataFrame, formula: str, *, family: str | None = None,
             nAGQ: int = 1) -> GlmmFit:
    """Fit a binomial or Poisson GLMM with one grouping factor, as ``lme4::glmer`` does.

    Parameters
    ----------
    data : DataFrame
        One row per observation; rows with a missing value in a used column are dropped.
    formula : str
        lme4/brms syntax with one random-effects term: ``"y ~ x + (x | g)"``; a binomial
        response as ``cbind(successes, failures)``, ``cbind(successes, n - successes)`` or
        ``successes | trials(n)``.
    family : {"bernoulli", "binomial", "poisson"}, optional
        Logit link for the first two, log link for Poisson (the canonical links, glmer's
        defaults).  May be left out for a binomial response (``cbind`` or ``trials``), which
        implies it.
    nAGQ : int
        1: the Laplace approximation (glmer's default); 2-25: adaptive Gauss-Hermite quadrature
        with that many nodes, for one scalar random effect (``(1 | g)``) only.

    Returns
    -------
    GlmmFit

    Raises
    ------
    ReplicInputError
        Bad formula, family, nAGQ or data (the message names the argument or column).
    ReplicFitError
        When the deviance is not finite at the starting values.

    Examples
    --------
    >>> import pandas as pd
    >>> from replic.glmm import fit_glmm
    >>> cbpp = pd.DataFrame({"herd": ["a", "a", "b", "b", "c", "c"], "period": [1, 2] * 3,
    ...                      "incidence": [2, 1, 3, 0, 4, 2], "size": [10, 9, 12, 8, 14, 10]})
    >>> fit = fit_glmm(cbpp, "incidence | trials(size) ~ period + (1 | herd)")
    >>> list(fit.fixed.columns)
    ['estimate', 'se', 'z', 'p', 'lower', 'upper']
    """
    if family is None:
        implied = ModelSpec.parse(formula).family.name
        if implied not in FAMILIES:
            raise ReplicInputError(f"fit_glmm({formula!r}): the response implies no family; "
                                   f"expected family= one of {', '.join(FAMILIES)} (or "
                                   "fit_lmm for a gaussian model)")
        family = implied
    if family not in FAMILIES:
        raise ReplicInputError(f"family={family!r}; fit_glmm fits {', '.join(FAMILIES)} "
                               "(use fit_lmm for gaussian models)")
    if isinstance(nAGQ, bool) or not isinstance(nAGQ, int | np.integer) or not 1 <= nAGQ <= 25:
        raise ReplicInputError(f"nAGQ={nAGQ!r}; expected an integer from 1 (Laplace) to 25")
    spec = ModelSpec.parse(formula, family=family)
    md = spec.bind(data)
    if family == "binomial" and md.trials is None:
        raise ReplicInputError(f"formula={formula!r}: a binomial model needs its trials: "
                               "cbind(successes, failures) or successes | trials(n)")
    q = md.Z.shape[1]
    if nAGQ > 1 and q != 1:
        raise ReplicInputError(f"nAGQ={nAGQ}: adaptive Gauss-Hermite quadrature needs one "
                               f"scalar random effect, e.g. (1 | {spec.group}); the model has "
                               f"{q} varying terms")
    fit = fit_batch(_data(md, family), nAGQ=int(nAGQ), central=True, tol=1e-10)
    if "constant" in fit.error[0]:
        raise ReplicInputError(f"column {spec.response!r} (response): every observation has "
                               "the same value; glmer refuses a constant response")
    if fit.error[0]:
        raise ReplicFitError(f"fit_glmm({formula!r}): {fit.error[0]}")
    beta, se = fit.beta[0], fit.se[0]
    z = beta / se
    crit = sps.norm.ppf(0.975)
    names = list(md.spec.lme4_fixed)
    fixed = pd.DataFrame({"estimate": beta, "se": se, "z": z, "p": 2 * sps.norm.sf(np.abs(z)),
                          "lower": beta - crit * se, "upper": beta + crit * se},
                         index=pd.Index(names, name="term"))
    vnames = ["(Intercept)" if v == "Intercept" else v for v in md.varying]
    Sigma = fit.Sigma[0]
    sd = np.sqrt(np.diag(Sigma))
    with np.errstate(divide="ignore", invalid="ignore"):
        cor = Sigma / np.outer(sd, sd)
    np.fill_diagonal(cor, 1.0)
    b = fit.u[0] @ lower_from_theta(fit.theta[0], q).T
    return GlmmFit(
        fixed=fixed, sd=pd.Series(sd, index=pd.Index(vnames, name="term"), name="sd"),
        cor=pd.DataFrame(cor, index=vnames, columns=vnames), loglik=float(fit.loglik[0]),
        deviance=float(fit.deviance[0]), singular=bool(fit.singular[0]),
        converged=bool(fit.converged[0]), theta=fit.theta[0].copy(),
        ranef=pd.DataFrame(b, index=pd.Index(md.levels, name=spec.group), columns=vnames),
        vcov=pd.DataFrame(fit.vcov[0], index=names, columns=names), family=family,
        formula=formula, nAGQ=int(nAGQ), n_obs=int(md.y.size), n_groups=len(md.levels),
        n_dropped=int(md.n_dropped), spec=md.spec)
