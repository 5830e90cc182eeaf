"""The ``glmm`` analysis: a GLMM refit of every replicate, as lme4's ``glmer`` would.

Each replicate's ``k`` subjects are fitted with the posterior's model (its fixed and varying
terms, family and link) by :func:`replic.glmm.fit_batch`: PIRLS and the Laplace deviance (or
adaptive Gauss-Hermite quadrature, option ``nAGQ``, for one scalar random effect) vectorised over
the replicates of a batch, Newton steps on ``(theta, beta)``, standard errors from the Hessian
of the deviance as lme4's default ``vcov``.  The studied term gets glmer's Wald z test: estimate,
SE, two-sided normal p-value and 95% Wald interval.  ``converged`` and ``singular`` flag each
fit; ``flagged`` marks fits whose Hessian-based covariance was not positive definite (lme4 then
warns and falls back to the covariance given ``theta``, as here); ``subjects`` counts the
subjects with an observation.  Replicates that cannot be fitted carry their reason in ``error``
and NaN results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats as sps

from replic.analyses import check_family, failed_columns
from replic.errors import ReplicInputError
from replic.glmm import Data, fit_batch
from replic.glmm.family import FAMILIES

__all__ = ["ANALYSIS", "GlmmAnalysis", "GlmmContext", "glmm_columns"]

#: Observations (rows x subjects x replicates) fitted at once; larger batches are sliced.
BATCH_CELLS = 400_000


@dataclass(frozen=True)
class GlmmContext:
    """What ``run`` needs besides the replicates (picklable).

    Attributes
    ----------
    family : str
        ``"bernoulli"``, ``"binomial"`` or ``"poisson"``.
    nAGQ : int
        1 (Laplace) or the number of quadrature nodes.
    level : float
        Confidence level of the Wald interval (0.95).
    """

    family: str
    nAGQ: int = 1  # noqa: N815 (lme4's name)
    level: float = 0.95


def _family(posterior: Any) -> str:
    fam = getattr(posterior, "family", None)
    check_family("glmm", fam)
    name, link = getattr(fam, "name", fam), getattr(fam, "link", None)
    if link is not None and link != FAMILIES[name]:
        raise ReplicInputError(f"analysis 'glmm' fits {name} models with the {FAMILIES[name]} "
                               f"link (glmer's default); the posterior's link is {link!r}")
    return str(name)


def glmm_columns(fit: Any, t: int, *, level: float = 0.95) -> dict[str, np.ndarray]:
    """Result columns for term column ``t`` of a :class:`~replic.glmm.GlmmBatch`."""
    est, se = fit.beta[:, t], fit.se[:, t]
    error = fit.error.copy()
    bad = (error == "") & ~(np.isfinite(est) & np.isfinite(se) & (se > 0))
    error[bad] = "the fit gave no finite estimate and standard error"
    keep = error == ""
    crit = sps.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = est / se
        p = 2 * sps.norm.sf(np.abs(z))
    nan = np.nan
    return {"estimate": np.where(keep, est, nan), "se": np.where(keep, se, nan),
            "lower": np.where(keep, est - crit * se, nan),
            "upper": np.where(keep, est + crit * se, nan), "z": np.where(keep, z, nan),
            "p": np.where(keep, p, nan), "error": error, "converged": fit.converged & keep,
            "singular": fit.singular & keep, "flagged": ~fit.hessian & keep}


def replicate_data(reps: Any, family: str) -> Data:
    """The replicates of a batch as :class:`~replic.glmm.Data`: ``(U, k, n)`` responses with
    unobserved rows weighted 0, the design's rows shared by every subject."""
    y = np.asarray(reps.y, dtype=float)
    observed = np.isfinite(y) if reps.observed is None else np.asarray(reps.observed, bool)
    m = observed.astype(float)
    trials = getattr(reps, "trials", None)
    if trials is None:
        trials = getattr(reps.frame, "trials", None)
    if family == "binomial":
        if trials is None:
            raise ReplicInputError("analysis 'glmm': a binomial design needs the number of "
                                   "trials of each observation")
        m = m * np.broadcast_to(np.asarray(trials, dtype=float), y.shape)
    y = np.where(observed, y, 0.0)
    frame = reps.frame
    return Data(family, np.ascontiguousarray(np.transpose(y, (2, 1, 0))),
                np.ascontiguousarray(np.transpose(m, (2, 1, 0))),
                np.asarray(frame.X, float).T[:, :, None].copy(),
                np.asarray(frame.Z, float).T[:, :, None].copy())


class GlmmAnalysis:
    """``glmm``: glmer-equivalent refit of each replicate (see module docstring)."""

    name = "glmm"
    representation = "full"

    def prepare(self, posterior: Any, frame: Any, options: dict) -> GlmmContext:
        """Check the family and the options (``nAGQ``, default 1; ``level``, default 0.95)."""
        family = _family(posterior)
        opts = dict(options or {})
        nagq = opts.pop("nAGQ", 1)
        level = opts.pop("level", 0.95)
        if opts:
            raise ReplicInputError(f"glmm: unknown option(s) {', '.join(map(repr, opts))}; "
                                   "expected 'nAGQ', 'level'")
        if isinstance(nagq, bool) or not isinstance(nagq, int) or not 1 <= nagq <= 25:
            raise ReplicInputError(f"glmm option nAGQ={nagq!r}; expected an integer from 1 "
                                   "(Laplace) to 25")
        if nagq > 1 and np.asarray(frame.Z).shape[1] != 1:
            raise ReplicInputError(f"glmm option nAGQ={nagq}: quadrature needs one scalar "
                                   "random effect (1 | subject); the model has "
                                   f"{np.asarray(frame.Z).shape[1]} varying terms")
        if not (isinstance(level, int | float) and 0 < float(level) < 1):
            raise ReplicInputError(f"glmm option level={level!r}; expected a number in (0, 1)")
        return GlmmContext(family=family, nAGQ=int(nagq), level=float(level))

    def run(self, reps: Any, context: GlmmContext) -> dict[str, np.ndarray]:
        """Refit every replicate of ``reps`` (``full`` representation)."""
        if reps.y is None:
            raise ReplicInputError("analysis 'glmm' needs the 'full' representation (whole data "
                                   "sets y), got replicates without y")
        data = replicate_data(reps, context.family)
        U, k, n = data.y.shape
        if k < 2:                          # glmer: 'grouping factors must have > 1 sampled level'
            failed = failed_columns(n, "glmm needs at least 2 subjects (glmer refuses a "
                                       "grouping factor with one level)")
            no = np.zeros(n, dtype=bool)
            return {**failed, "z": failed["p"].copy(), "converged": no, "singular": no,
                    "flagged": no, "subjects": np.full(n, float(k))}
        size = max(1, BATCH_CELLS // (U * k))
        parts = []
        for lo in range(0, n, size):
            sub = data.take(np.arange(lo, min(n, lo + size)))
            try:
                fit = fit_batch(sub, nAGQ=context.nAGQ)
            except (FloatingPointError, np.linalg.LinAlgError, ValueError) as exc:
                failed = failed_columns(sub.n, f"glmm fit failed: {exc}")
                no = np.zeros(sub.n, dtype=bool)
                parts.append({**failed, "z": failed["p"].copy(), "converged": no,
                              "singular": no, "flagged": no})
                continue
            parts.append(glmm_columns(fit, reps.frame.t, level=context.level))
        out = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
        out["subjects"] = (data.m > 0).any(axis=0).sum(axis=0).astype(float)
        return out


ANALYSIS = GlmmAnalysis()
