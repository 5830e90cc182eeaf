"""The effect of a term, for each estimand of ``replic/DESIGN.md``, as posterior draws.

| estimand | draws | brms |
|---|---|---|
| ``conditional`` | ``beta_s`` | ``re_formula = NA`` |
| ``population_averaged`` | GLMMs: ``g(E_u h(eta1 + z1'u)) - g(E_u h(eta0 + z0'u))`` | none |
| ``fitted`` | ``beta_s + u_js`` for each fitted level j | ``re_formula = NULL`` |
| ``fitted_mean`` | ``beta_s + mean_j u_js`` | |
| ``new_gaussian`` | ``beta_s + v_s``, ``v_s ~ MVN(0, Sigma_s)`` | ``"gaussian"`` |
| ``new_uncertainty`` | ``beta_s + u_{J*(s), s}``, J*(s) uniform per draw | ``"uncertainty"`` |
| ``new_old_levels`` | ``beta_s + u_{J*, s}``, one level J* drawn once | ``"old_levels"`` |
| ``replication_mean`` | ``beta_s + mean_{i<=k} v_is`` | none |

These are the link scale's.  ``scale="response"`` (or a ``contrast``) gives every estimand as a
difference of expected responses (probabilities, counts): :mod:`replic.response_effects`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.posterior import Posterior
from replic.response_effects import new_subject_numbers, response_effects
from replic.streams import TRAJECTORIES
from replic.terms import TermMap, variable_kinds

__all__ = ["ESTIMANDS", "effect_draws", "effect_weights", "summarise_draws", "trajectory_bands",
           "varies_by_subject"]

ESTIMANDS = ("conditional", "population_averaged", "fitted", "fitted_mean", "new_gaussian",
             "new_uncertainty", "new_old_levels", "replication_mean")


def effect_weights(posterior: Posterior, term: str, at: Mapping[str, object] | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Weights ``(c, cv)``: the effect of ``term`` at ``at`` is ``c @ b_s`` for the average
    subject and ``c @ b_s + cv @ u`` for a subject with deviations ``u``.

    ``term`` is a population-level coefficient in brms naming (``"age"``, ``"SexMale"``,
    ``"age:SexMale"``); ``at`` gives values of the variables it interacts with (``{"Sex":
    "Male"}``); variables not given are at 0 or their reference level, so that without ``at``
    the effect is the coefficient itself.
    """
    posterior.fixed_index(term)
    at = dict(at or {})
    levels: dict[str, list[str]] = {}
    names = [*posterior.fixed, *posterior.varying]
    for var, value in at.items():
        if isinstance(value, str):
            comps = {c for n in names for c in str(n).split(":")}
            levels[str(var)] = [value] + [c[len(str(var)):] for c in comps
                                          if c.startswith(str(var)) and c != str(var)]
    numeric, factors = variable_kinds(getattr(posterior, "data", None), levels=levels)
    fmap = TermMap.build(posterior.fixed, numeric=numeric, factors=factors)
    zmap = TermMap.build(posterior.varying, numeric=numeric, factors=factors)
    return fmap.weights(term, at), zmap.weights(term, at, of=fmap)


def effect_draws(posterior: Posterior, term: str, *, k: int | Sequence[int] | None = None,
                 seed: int = 0, at: Mapping[str, object] | None = None, scale: str = "link",
                 contrast: Sequence | None = None) -> pd.DataFrame:
    """Posterior draws of the effect of ``term`` for every estimand.

    Parameters
    ----------
    posterior : Posterior
    term : str
        A population-level coefficient in brms naming (``"Days"``, ``"age:SexMale"``).
    k : int or sequence of int, optional
        Numbers of new subjects for the ``replication_mean`` estimand; defaults to the number
        of fitted levels (a replication the size of the original), omitted when unknown.
    seed : int
        Seed for the new-subject estimands.
    at : mapping, optional
        Values of the variables ``term`` interacts with (``{"Sex": "Female"}``): the effect of
        ``term`` there (see :func:`effect_weights`).  Default: the coefficient itself.
    scale : {"link", "response"}
        ``"response"``: the difference in the expected response (probability, count) between
        the two values of ``contrast``, for every estimand, plus ``population_averaged`` (the
        expected response integrated over the random effects);
        :func:`replic.response_effects.response_effects`.  ``"link"``: the change of the linear
        predictor (for GLMMs ``population_averaged`` is then the link of the population-
        averaged means, e.g. the marginal log odds ratio).  A Gaussian model's two scales
        agree.
    contrast : pair, optional
        The two values of the term's variable compared: numbers (default ``(0, 1)``) or, for a
        factor level, two levels (default: the reference level and the term's).

    Returns
    -------
    DataFrame
        Long table with columns ``estimand``, ``draw`` (posterior draw index), ``level`` (the
        fitted level, ``k=<k>`` for replication means, ``""`` otherwise) and ``value``.
        Estimands that need fitted group-level draws are omitted when the posterior has none.
    """
    if scale not in ("link", "response"):
        raise ReplicInputError(f"scale={scale!r}; expected 'link' or 'response'")
    ks = _ks(k, posterior)
    if scale == "response" or contrast is not None:
        return response_effects(posterior, term, scale=scale, contrast=contrast, at=at, ks=ks,
                                seed=seed)
    c, cv = effect_weights(posterior, term, at)
    beta = posterior.b @ c
    S = beta.size
    draws = np.arange(S)
    J = len(posterior.levels) if posterior.r is not None else 0
    num = new_subject_numbers(seed, S, J, ks)
    tau = np.sqrt(np.einsum("q,sqr,r->s", cv, posterior.Sigma, cv))
    out = [pd.DataFrame({"estimand": "conditional", "draw": draws, "level": "", "value": beta})]
    if not posterior.family.gaussian and _main_effect(posterior, term):
        pa = response_effects(posterior, term, scale="link", at=at, seed=seed)
        out.append(pa[pa["estimand"] == "population_averaged"])
    if posterior.r is not None and posterior.levels:
        u = posterior.r @ cv
        J = u.shape[1]
        out.append(pd.DataFrame({"estimand": "fitted", "draw": np.repeat(draws, J),
                                 "level": np.tile(np.asarray(posterior.levels, dtype=object), S),
                                 "value": (beta[:, None] + u).ravel()}))
        out.append(pd.DataFrame({"estimand": "fitted_mean", "draw": draws, "level": "",
                                 "value": beta + u.mean(axis=1)}))
    out.append(pd.DataFrame({"estimand": "new_gaussian", "draw": draws, "level": "",
                             "value": beta + tau * num["z"]}))
    if posterior.r is not None and posterior.levels:
        pick = num["pick"]
        out.append(pd.DataFrame({"estimand": "new_uncertainty", "draw": draws, "level": "",
                                 "value": beta + u[draws, pick]}))
        once = num["once"]
        out.append(pd.DataFrame({"estimand": "new_old_levels", "draw": draws,
                                 "level": posterior.levels[once], "value": beta + u[:, once]}))
    for kk, z in zip(ks, num["zk"], strict=True):
        out.append(pd.DataFrame({"estimand": "replication_mean", "draw": draws,
                                 "level": f"k={kk}", "value": beta + tau / np.sqrt(kk) * z}))
    return pd.concat(out, ignore_index=True)


def _main_effect(posterior: Posterior, term: str) -> bool:
    """Whether ``term`` is one variable's coefficient (not the intercept or an interaction)."""
    return term != "Intercept" and ":" not in term


def varies_by_subject(posterior: Posterior, term: str,
                      at: Mapping[str, object] | None = None) -> bool:
    """Whether the effect of ``term`` (at ``at``) has a subject-level deviation."""
    return bool(np.any(effect_weights(posterior, term, at)[1] != 0))


def _ks(k: int | Sequence[int] | None, posterior: Posterior) -> list[int]:
    if k is None:
        return [len(posterior.levels)] if len(posterior.levels) >= 2 else []
    ks = [k] if np.ndim(k) == 0 else list(k)
    for kk in ks:
        if isinstance(kk, bool) or not isinstance(kk, int | np.integer) or kk < 1:
            raise ReplicInputError(f"k={kk!r}; expected a positive integer number of new subjects")
    return [int(kk) for kk in ks]


def summarise_draws(draws: pd.DataFrame, *, by_level: bool = False) -> pd.DataFrame:
    """Mean, sd, 2.5/50/97.5% quantiles and P(< 0) of each estimand.

    ``fitted`` draws are pooled over the fitted levels unless ``by_level``; replication means
    stay separate per k (their ``level``).
    """
    df = draws
    if not by_level:
        df = draws.assign(level=np.where(draws["estimand"] == "fitted", "", draws["level"]))
    order = {e: i for i, e in enumerate(ESTIMANDS)}
    g = df.groupby(["estimand", "level"], sort=False)["value"]
    out = pd.DataFrame({
        "mean": g.mean(), "sd": g.std(),
        "q2.5": g.quantile(0.025), "q50": g.quantile(0.5), "q97.5": g.quantile(0.975),
        "P(<0)": g.apply(lambda v: float((v < 0).mean())),
    }).reset_index()
    out["_o"] = out["estimand"].map(order)
    return out.sort_values(["_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def trajectory_bands(posterior: Posterior, term: str, *, x, seed: int = 0,
                     level: float = 0.95) -> pd.DataFrame:
    """Credible bands of expected and predicted trajectories over ``x``.

    Bands: ``conditional`` (``X beta_s``, the average subject's expected curve), ``new_subject``
    (``X beta_s + Z v_s``, ``v_s ~ MVN(0, Sigma_s)``: a new subject's expected curve) and
    ``prediction`` (adds ``e ~ N(0, sigma_s^2)``: a new subject's observations; Gaussian models
    only).  For GLMMs these are on the link scale; :func:`replic.questions.response_trajectories`
    gives the response scale.

    The curves are over the term's variable (``x``); the model's other variables are at their
    reference: factors at their first level, numeric variables at their mean in the original
    data (0 without data).

    Returns
    -------
    DataFrame
        Columns ``band``, ``x``, ``mean``, ``lower``, ``median``, ``upper``.
    """
    frame = _trajectory_frame(posterior, term, np.asarray([float(v) for v in x]))
    rng = np.random.default_rng([seed, TRAJECTORIES])
    S = posterior.n_draws
    L = np.linalg.cholesky(posterior.Sigma)
    v = np.einsum("sqr,sr->sq", L, rng.standard_normal((S, L.shape[1])))
    cond = posterior.b @ frame["X"].T
    new = cond + v @ frame["Z"].T
    bands = [("conditional", cond), ("new_subject", new)]
    if posterior.sigma is not None:  # GLMMs: no prediction band on the link scale
        bands.append(("prediction", new + posterior.sigma[:, None] * rng.standard_normal(
            new.shape)))
    a = (1 - level) / 2
    rows = []
    for band, m in bands:
        lo, med, hi = np.quantile(m, [a, 0.5, 1 - a], axis=0)
        rows.append(pd.DataFrame({"band": band, "x": frame["x"], "mean": m.mean(axis=0),
                                  "lower": lo, "median": med, "upper": hi}))
    return pd.concat(rows, ignore_index=True)


def _trajectory_frame(posterior: Posterior, term: str, x: np.ndarray) -> dict[str, np.ndarray]:
    from replic.newsubjects import x_variable

    data = getattr(posterior, "data", None)
    numeric, factors = variable_kinds(data)
    fmap = TermMap.build(posterior.fixed, numeric=numeric, factors=factors)
    zmap = TermMap.build(posterior.varying, numeric=numeric, factors=factors)
    xvar = x_variable(posterior, term, factors=factors)
    rows = pd.DataFrame({xvar: x} if xvar else {}, index=range(x.size))
    for comps in (*fmap.parts, *zmap.parts):
        for c in comps:
            if c[1] in rows:
                continue
            if c[0] == "level":
                rows[c[1]] = factors[c[1]][0]
            else:
                rows[c[1]] = float(data[c[1]].mean()) if data is not None and c[1] in data else 0.0
    return {"x": x, "X": fmap.matrix(rows), "Z": zmap.matrix(rows)}
