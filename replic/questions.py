"""The four questions about the effect of a term, side by side, on the response scale.

For a binary or count outcome, "what is the effect of x?" has four different answers even in
expectation (``replic/DESIGN.md``, "Where the model space goes next"):

1. **the average subject** -- random effects at 0 (``conditional``; brms ``re_formula = NA``);
2. **the population** -- the change in the population's mean response, the random effects
   integrated out (``population_averaged``; no brms equivalent, brms issues #489 and #996);
3. **a new subject** -- one new subject's change (``new_gaussian``; brms
   ``allow_new_levels = TRUE, sample_new_levels = "gaussian"``);
4. **a replication with k new subjects** -- the mean of k new subjects' changes
   (``replication_mean``).

:func:`four_questions` summarises the draws of :func:`replic.effects.effect_draws` on the
response scale for these four; :func:`response_trajectories` gives the expected response over
the term's variable for the average subject, the population and a new subject.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from replic.effects import _trajectory_frame, effect_draws
from replic.errors import ReplicInputError
from replic.posterior import Posterior
from replic.response_effects import population_average
from replic.streams import TRAJECTORIES

__all__ = ["QUESTIONS", "four_questions", "response_trajectories"]

#: (question, estimand) in the order the report asks them.
QUESTIONS = (("the average subject", "conditional"),
             ("the population", "population_averaged"),
             ("a new subject", "new_gaussian"),
             ("a replication with k new subjects", "replication_mean"))


def four_questions(posterior: Posterior, term: str, *, k: int | Sequence[int], seed: int = 0,
                   contrast: Sequence | None = None, at: Mapping[str, object] | None = None,
                   scale: str = "response") -> pd.DataFrame:
    """The effect of ``term`` for the average subject, the population, a new subject and a
    replication with ``k`` new subjects, on the response scale (default).

    Parameters
    ----------
    posterior : Posterior
    term : str
        A main-effect coefficient (``"week"``, ``"trtdrug"``).
    k : int or sequence of int
        Numbers of new subjects of the replication question (one row each).
    seed : int
        Seed of the new-subject draws.
    contrast, at, scale
        As in :func:`replic.effects.effect_draws`.

    Returns
    -------
    DataFrame
        One row per question (and k): ``question``, ``estimand``, ``k``, ``mean``, ``sd``,
        ``q2.5``, ``q50``, ``q97.5``, ``P(>0)``, ``mcse`` (Monte Carlo standard error of the
        mean over the draws, ``sd / sqrt(S)``).
    """
    ks = [k] if np.ndim(k) == 0 else list(k)
    if not ks:
        raise ReplicInputError("k=[]: the replication question needs a number of new subjects")
    draws = effect_draws(posterior, term, k=ks, seed=seed, scale=scale, contrast=contrast,
                         at=at)
    rows = []
    for question, estimand in QUESTIONS:
        d = draws[draws["estimand"] == estimand]
        for level, g in d.groupby("level", sort=False):
            v = g["value"].to_numpy()
            kk = str(level).removeprefix("k=") if estimand == "replication_mean" else ""
            q = np.quantile(v, [0.025, 0.5, 0.975])
            rows.append({"question": question.replace("k new", f"{kk} new"),
                         "estimand": estimand, "k": kk, "mean": v.mean(),
                         "sd": v.std(ddof=1), "q2.5": q[0], "q50": q[1], "q97.5": q[2],
                         "P(>0)": float((v > 0).mean()), "mcse": v.std(ddof=1) / np.sqrt(v.size)})
    return pd.DataFrame(rows)


def response_trajectories(posterior: Posterior, term: str, *, x: Sequence[float],
                          seed: int = 0, level: float = 0.95) -> pd.DataFrame:
    """Expected response over the term's variable ``x``: credible bands for the average
    subject (``h(X beta_s)``), the population (``E_v h(X beta_s + Z v)``) and a new subject
    (``h(X beta_s + Z v_s)``, ``v_s ~ MVN(0, Sigma_s)``).

    Other variables are at their reference (factors at their first level, numeric variables at
    their mean in the original data, 0 without data), as in
    :func:`replic.effects.trajectory_bands`.

    Returns
    -------
    DataFrame
        ``band`` (``average_subject``, ``population``, ``new_subject``), ``x``, ``mean``,
        ``lower``, ``median``, ``upper``.
    """
    frame = _trajectory_frame(posterior, term, np.asarray([float(v) for v in x]))
    X, Z = frame["X"], frame["Z"]
    h = posterior.family.inverse_link
    rng = np.random.default_rng([seed, TRAJECTORIES, 1])
    S = posterior.n_draws
    L = np.linalg.cholesky(posterior.Sigma)
    v = np.einsum("sqr,sr->sq", L, rng.standard_normal((S, L.shape[1])))
    eta = posterior.b @ X.T
    a = (1 - level) / 2
    rows = []
    for band, m in (("average_subject", h(eta)),
                    ("population", population_average(posterior, X, Z)),
                    ("new_subject", h(eta + v @ Z.T))):
        lo, med, hi = np.quantile(m, [a, 0.5, 1 - a], axis=0)
        rows.append(pd.DataFrame({"band": band, "x": frame["x"], "mean": m.mean(axis=0),
                                  "lower": lo, "median": med, "upper": hi}))
    return pd.concat(rows, ignore_index=True)
