"""``fit_lmm``: a Gaussian LMM with one grouping factor, fitted as lme4 + lmerTest would.

Reports live in :class:`LmmFit`; the computation is :func:`replic.lmm.batch.fit_batch` on one
data set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from replic.errors import ReplicFitError, ReplicInputError
from replic.kernel.smallmat import det_inv, lower_from_theta
from replic.kernel.stats import GroupStats, stats_from_long
from replic.lmm.batch import fit_batch
from replic.lmm.data import check_lmm_data
from replic.lmm.kenward_roger import kenward_roger
from replic.spec import ModelSpec

__all__ = ["LmmFit", "fit_lmm"]


@dataclass(frozen=True, eq=False)
class LmmFit:
    """A fitted Gaussian LMM.

    Attributes
    ----------
    fixed : DataFrame
        Indexed by term, columns ``estimate``, ``se``, ``df`` (Satterthwaite, or Kenward-Roger),
        ``t``, ``p``, ``lower``, ``upper`` (95% t interval on those df).
    sd : Series
        Standard deviations of the varying terms, by term.
    cor : DataFrame
        Correlation matrix of the varying terms.
    sigma : float
        Residual standard deviation.
    criterion : float
        REML criterion (or the deviance, ``-2 logLik``, for ML).
    loglik : float
        ``-criterion / 2`` (lme4's ``logLik``, REML or ML).
    singular, converged : bool
        Boundary fit (a diagonal element of ``Lambda`` below 1e-4, lme4's ``isSingular``), and
        whether the optimiser converged.
    ranef : DataFrame
        Conditional modes (BLUPs) of the varying terms, indexed by level.
    theta : ndarray
        lme4's ``theta``.
    reml : bool
    ddf : str
        ``"Satterthwaite"`` or ``"Kenward-Roger"``.
    formula : str
    n_obs, n_groups : int
    n_dropped : int
        Rows dropped for a missing value in a used column (as lme4's ``na.omit``).
    spec : ModelSpec, optional
        The model specification bound to the data (levels, names; :meth:`ModelSpec.design`
        builds new rows' matrices).
    """

    fixed: pd.DataFrame
    sd: pd.Series
    cor: pd.DataFrame
    sigma: float
    criterion: float
    loglik: float
    singular: bool
    converged: bool
    ranef: pd.DataFrame
    theta: np.ndarray
    reml: bool
    ddf: str
    formula: str
    n_obs: int
    n_groups: int
    n_dropped: int = 0
    spec: ModelSpec | None = None

    def __repr__(self) -> str:
        kind = "REML criterion" if self.reml else "deviance"
        flags = " (singular)" if self.singular else ""
        return (f"LmmFit({self.formula!r}, n_obs={self.n_obs}, n_groups={self.n_groups}, "
                f"{kind}={self.criterion:.4f}{flags})\n{self.fixed.round(4)}\n"
                f"sd: {self.sd.round(4).to_dict()}  sigma: {self.sigma:.4f}")


DDF = ("Satterthwaite", "Kenward-Roger")


def fit_lmm(data: pd.DataFrame, formula: str, *, reml: bool = True,
            ddf: str = "Satterthwaite") -> LmmFit:
    """Fit a Gaussian linear mixed model with one grouping factor.

    Parameters
    ----------
    data : DataFrame
        One row per observation; rows with a missing value in a used column are dropped (as
        lme4 does) and counted in ``n_dropped``.
    formula : str
        lme4 syntax with one random-effects term: ``"y ~ 1 + x + (1 + x | g)"``,
        ``"y ~ x + (1 | g)"``, ``"y ~ x + (0 + x | g)"``.
    reml : bool
        Restricted maximum likelihood (default, as lme4) or maximum likelihood.
    ddf : {"Satterthwaite", "Kenward-Roger"}
        Denominator df of the t tests, as lmerTest's ``summary(fit, ddf=...)``.  Kenward-Roger
        (REML only) also replaces the standard errors by its adjusted ones, as lmerTest does.

    Returns
    -------
    LmmFit

    Raises
    ------
    ReplicInputError
        Bad formula or data (the message names the column or argument).
    ReplicFitError
        When the deviance cannot be evaluated at the optimum.

    Examples
    --------
    >>> import pandas as pd
    >>> from replic.lmm import fit_lmm
    >>> from importlib.resources import files
    >>> ss = pd.read_csv(files("replic") / "datasets" / "sleepstudy.csv")
    >>> fit = fit_lmm(ss, "Reaction ~ 1 + Days + (1 + Days | Subject)")
    >>> print(fit.fixed.loc["Days", ["estimate", "se", "df"]].round(3).tolist())
    [10.467, 1.546, 17.0]
    """
    if ddf not in DDF:
        raise ReplicInputError(f"ddf={ddf!r}; expected one of {', '.join(DDF)}")
    if ddf == "Kenward-Roger" and not reml:
        raise ReplicInputError("ddf='Kenward-Roger' needs a REML fit (reml=True), as in lmerTest")
    spec = ModelSpec.parse(formula)
    arr = check_lmm_data(data, spec)
    stats = stats_from_long(arr.y, arr.X, arr.Z, arr.codes, len(arr.levels))
    fit = fit_batch(stats, reml=bool(reml))
    if fit.error[0]:
        raise ReplicFitError(f"fit_lmm({formula!r}): {fit.error[0]}")
    beta, se, df = fit.beta[0], fit.se[0], fit.df[0]
    if ddf == "Kenward-Roger":
        cov, df = kenward_roger(arr.X, arr.Z, arr.codes, fit.Sigma[0], float(fit.sigma[0]) ** 2)
        se = np.sqrt(np.diag(cov))
    t = beta / se
    crit = sps.t.ppf(0.975, df)
    fixed = pd.DataFrame({"estimate": beta, "se": se, "df": df, "t": t,
                          "p": 2 * sps.t.sf(np.abs(t), df),
                          "lower": beta - crit * se, "upper": beta + crit * se},
                         index=pd.Index(arr.fixed, name="term"))
    names = list(arr.varying)
    Sigma = fit.Sigma[0]
    sd = np.sqrt(np.diag(Sigma))
    with np.errstate(divide="ignore", invalid="ignore"):
        cor = Sigma / np.outer(sd, sd)
    np.fill_diagonal(cor, 1.0)
    q = len(names)
    lam = lower_from_theta(fit.theta[0], q)
    ranef = _blups(stats, lam, beta, len(arr.levels))
    return LmmFit(
        fixed=fixed, sd=pd.Series(sd, index=pd.Index(names, name="term"), name="sd"),
        cor=pd.DataFrame(cor, index=names, columns=names), sigma=float(fit.sigma[0]),
        criterion=float(fit.criterion[0]), loglik=float(-fit.criterion[0] / 2),
        singular=bool(fit.singular[0]), converged=bool(fit.converged[0]),
        ranef=pd.DataFrame(ranef, index=pd.Index(arr.levels, name=spec.group), columns=names),
        theta=fit.theta[0].copy(), reml=bool(reml), ddf=ddf, formula=formula, n_obs=int(arr.y.size),
        n_groups=len(arr.levels), n_dropped=arr.n_dropped, spec=arr.spec)


def _blups(stats: GroupStats, lam: np.ndarray, beta: np.ndarray, J: int) -> np.ndarray:
    """Conditional modes ``b_j = Lambda M_j^-1 Lambda' Z_j'(y_j - X_j beta)``, shape (J, q)."""
    ztz = stats.ZtZ[0]                                 # one pattern per group (stats_from_long)
    q = lam.shape[0]
    M = lam.T @ ztz @ lam + np.eye(q)
    _, Minv = det_inv(M)
    resid = stats.zy[0] - stats.ZtX[0] @ beta                     # Z_j'(y_j - X_j beta)
    u = np.einsum("jab,bc,jc->ja", Minv, lam.T, resid)
    return u @ lam.T
