"""The effect of a term as a contrast of expected responses, for every estimand (GLMMs).

On the *response scale* the effect of a term is the difference in the expected response
(probability, expected count; Gaussian: the mean) between two values of the term's variable
(``contrast``: ``(0, 1)`` for a numeric variable, reference level vs the term's level for a
factor), with every other variable at ``at`` (default 0 / the reference level).  With the rows
``(x0, z0)`` and ``(x1, z1)``, ``eta_i = x_i' beta_s``, inverse link ``h`` and a subject's
deviations ``u``:

| estimand | draw ``s`` of the effect |
|---|---|
| ``conditional`` (average subject) | ``h(eta1) - h(eta0)`` (random effects at 0) |
| ``population_averaged`` | ``E_u h(eta1 + z1'u) - E_u h(eta0 + z0'u)``, ``u ~ MVN(0, Sigma_s)`` |
| ``fitted`` / ``fitted_mean`` | ``h(eta1 + z1'u_js) - h(eta0 + z0'u_js)`` / its mean over j |
| ``new_gaussian`` | the same with ``u = v_s ~ MVN(0, Sigma_s)`` |
| ``new_uncertainty`` / ``new_old_levels`` | with ``u`` a fitted level's draw (per draw / once) |
| ``replication_mean`` | mean over k new subjects ``v_is`` of their effects |

The population average is exact quadrature (:mod:`replic.kernel.normal_mean`: the integral is
one-dimensional for any number of varying terms).  On the *link scale* the same estimands are
differences of linear predictors, and ``population_averaged`` is ``g(mean1) - g(mean0)``, the
marginal (GEE-type) contrast, e.g. the population-averaged log odds ratio.

New subjects use the random numbers of the link-scale estimands of
:func:`replic.effects.effect_draws`: the deviation in the contrast, ``(z1 - z0)'v``, is drawn
exactly as there, and the remaining direction of ``v`` comes from a second stream.  So for a
Gaussian model (identity link) both scales give the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.kernel.normal_mean import mean_response
from replic.posterior import Posterior
from replic.streams import EFFECTS
from replic.terms import TermMap, variable_kinds

__all__ = ["contrast_rows", "new_subject_numbers", "population_average", "response_effects"]

#: New subjects' effects computed at once (draws x k) for the replication means.
_CHUNK = 1_000_000


def contrast_rows(posterior: Posterior, term: str, *, contrast: Sequence | None = None,
                  at: Mapping[str, object] | None = None) -> dict[str, np.ndarray]:
    """The two covariate rows whose expected responses the effect of ``term`` contrasts.

    Returns
    -------
    dict
        ``X`` (2, P) and ``Z`` (2, Q): the fixed and varying columns of the rows with the
        term's variable at ``contrast[0]`` and ``contrast[1]``; ``values``: the contrast.

    Raises
    ------
    ReplicInputError
        ``term`` not a main-effect coefficient, ``at`` naming an unknown variable or the term's
        own, or a contrast that is not two numbers / two levels of the factor.
    """
    posterior.fixed_index(term)
    at = dict(at or {})
    names = [*posterior.fixed, *posterior.varying]
    comps = {c for n in names for c in str(n).split(":")}
    levels = {str(v): [x] + [c[len(str(v)):] for c in comps if c.startswith(str(v)) and
                             c != str(v)] for v, x in at.items() if isinstance(x, str)}
    numeric, factors = variable_kinds(getattr(posterior, "data", None), levels=levels)
    fmap = TermMap.build(posterior.fixed, numeric=numeric, factors=factors)
    zmap = TermMap.build(posterior.varying, numeric=numeric, factors=factors)
    parts = fmap.parts[fmap.names.index(term)]
    if len(parts) != 1:
        raise ReplicInputError(f"term {term!r}: the response-scale effect is a contrast of one "
                               "variable's values; give a main-effect coefficient (e.g. the "
                               "numeric variable or a factor level) and the other variables "
                               "in at=")
    kind, var = parts[0][0], parts[0][1]
    variables = list(dict.fromkeys([*fmap.variables, *zmap.variables]))
    unknown = [v for v in at if v not in variables]
    if unknown:
        raise ReplicInputError(f"at: variable(s) {', '.join(map(repr, unknown))} are not in "
                               f"the model (variables: {', '.join(variables)})")
    if var in at:
        raise ReplicInputError(f"at: {var!r} is the variable of term {term!r}; give its two "
                               "values as contrast=(a, b)")
    if kind == "num":
        values = (0.0, 1.0) if contrast is None else tuple(contrast)
        if len(values) != 2 or not all(isinstance(v, int | float | np.number) and not
                                       isinstance(v, bool) and np.isfinite(v) for v in values):
            raise ReplicInputError(f"contrast={contrast!r}: expected two finite values of "
                                   f"{var!r}, e.g. (0, 1)")
    else:
        values = (factors[var][0], parts[0][2]) if contrast is None else tuple(contrast)
        if len(values) != 2 or not all(str(v) in factors[var] for v in values):
            raise ReplicInputError(f"contrast={contrast!r}: expected two levels of {var!r} "
                                   f"({', '.join(factors[var])})")
    row = {v: at.get(v, factors[v][0] if v in factors else 0.0) for v in variables}
    rows = pd.DataFrame([row | {var: values[0]}, row | {var: values[1]}])
    return {"X": fmap.matrix(rows), "Z": zmap.matrix(rows), "values": np.asarray(values)}


def new_subject_numbers(seed: int, S: int, J: int, ks: Sequence[int]) -> dict:
    """Standard normals and picks of the new-subject estimands, in one fixed order of the
    stream ``[seed, EFFECTS]``: ``z`` (S,) new_gaussian, ``pick`` (S,) and ``once`` (J > 0
    only), then ``zk`` (a list of (S,), one per k of ``ks``: the mean of k new subjects' standard
    normals, scaled by sqrt(k))."""
    rng = np.random.default_rng([seed, EFFECTS])
    out: dict = {"z": rng.standard_normal(S)}
    if J:
        out["pick"] = rng.integers(0, J, size=S)
        out["once"] = int(rng.integers(0, J))
    out["zk"] = [rng.standard_normal(S) for _ in ks]
    return out


def population_average(posterior: Posterior, X: np.ndarray, Z: np.ndarray) -> np.ndarray:
    """Population-averaged mean response at rows ``X`` (R, P), ``Z`` (R, Q) for every draw:
    ``E_u h(x'beta_s + z'u)``, ``u ~ MVN(0, Sigma_s)``, shape (S, R)."""
    eta = posterior.b @ X.T
    tau = np.sqrt(np.clip(np.einsum("rq,sqp,rp->sr", Z, posterior.Sigma, Z), 0.0, None))
    return mean_response(eta, tau, posterior.family.link)


def response_effects(posterior: Posterior, term: str, *, scale: str = "response",
                     contrast: Sequence | None = None, at: Mapping[str, object] | None = None,
                     ks: Sequence[int] = (), seed: int = 0) -> pd.DataFrame:
    """Draws of the effect of ``term`` for every estimand, on the response or link scale.

    See the module docstring for the estimands; arguments as in
    :func:`replic.effects.effect_draws` (``ks``: the numbers of new subjects of the
    ``replication_mean`` estimand).

    Returns
    -------
    DataFrame
        Columns ``estimand``, ``draw``, ``level``, ``value``.
    """
    if scale not in ("response", "link"):
        raise ReplicInputError(f"scale={scale!r}; expected 'response' or 'link'")
    rows = contrast_rows(posterior, term, contrast=contrast, at=at)
    X, Z = rows["X"], rows["Z"]
    fam = posterior.family
    h = fam.inverse_link if scale == "response" else (lambda e: e)
    eta = posterior.b @ X.T  # (S, 2)
    S = eta.shape[0]
    draws = np.arange(S)
    J = len(posterior.levels) if posterior.r is not None else 0
    num = new_subject_numbers(seed, S, J, ks)
    extra = np.random.default_rng([seed, EFFECTS, 1])

    def effect(a: np.ndarray, w: np.ndarray) -> np.ndarray:
        """Effect of subjects with deviations ``a = z0'u`` and ``w = (z1 - z0)'u`` (S,) or
        (S, n)."""
        e0, e1 = (eta[:, :1], eta[:, 1:]) if a.ndim == 2 else (eta[:, 0], eta[:, 1])
        return h(e1 + a + w) - h(e0 + a)

    pa = population_average(posterior, X, Z)
    pa_eff = pa[:, 1] - pa[:, 0] if scale == "response" else \
        fam.link_fun(pa[:, 1]) - fam.link_fun(pa[:, 0])
    out = [_frame("conditional", draws, "", h(eta[:, 1]) - h(eta[:, 0])),
           _frame("population_averaged", draws, "", pa_eff)]
    if J:
        u0, u1 = posterior.r @ Z[0], posterior.r @ Z[1]  # (S, J)
        fitted = effect(u0, u1 - u0)
        out.append(pd.DataFrame({"estimand": "fitted", "draw": np.repeat(draws, J),
                                 "level": np.tile(np.asarray(posterior.levels, dtype=object), S),
                                 "value": fitted.ravel()}))
        out.append(_frame("fitted_mean", draws, "", fitted.mean(axis=1)))
    d = Z[1] - Z[0]
    Sig = posterior.Sigma
    var_w = np.einsum("q,sqp,p->s", d, Sig, d)
    cov_aw = np.einsum("q,sqp,p->s", Z[0], Sig, d)
    var_a = np.einsum("q,sqp,p->s", Z[0], Sig, Z[0])
    slope = np.divide(cov_aw, var_w, out=np.zeros(S), where=var_w > 0)
    rest = np.sqrt(np.clip(var_a - slope * cov_aw, 0.0, None))
    tau_w = np.sqrt(np.clip(var_w, 0.0, None))
    w = tau_w * num["z"]
    a = slope * w + rest * extra.standard_normal(S)
    out.append(_frame("new_gaussian", draws, "", effect(a, w)))
    if J:
        pick = num["pick"]
        out.append(_frame("new_uncertainty", draws, "", fitted[draws, pick]))
        once = num["once"]
        out.append(_frame("new_old_levels", draws, posterior.levels[once], fitted[:, once]))
    for k, zk in zip(ks, num["zk"], strict=True):
        value = np.empty(S)
        step = max(1, _CHUNK // k)  # draws per chunk: memory bounded for any k
        for lo in range(0, S, step):
            sl = slice(lo, min(S, lo + step))
            m = sl.stop - lo
            e = extra.standard_normal((m, k))
            zi = zk[sl, None] / np.sqrt(k) + (e - e.mean(axis=1, keepdims=True))
            wi = tau_w[sl, None] * zi
            ai = slope[sl, None] * wi + rest[sl, None] * extra.standard_normal((m, k))
            e0, e1 = eta[sl, :1], eta[sl, 1:]
            value[sl] = (h(e1 + ai + wi) - h(e0 + ai)).mean(axis=1)
        out.append(_frame("replication_mean", draws, f"k={k}", value))
    return pd.concat(out, ignore_index=True)


def _frame(estimand: str, draws: np.ndarray, level: str, value: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"estimand": estimand, "draw": draws, "level": level, "value": value})
