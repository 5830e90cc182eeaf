"""Simulate replicates of a design from a posterior, vectorised and seeded.

Seeding rule (``replic/DESIGN.md``; stream numbers in :mod:`replic.streams`): replicate ``r`` of
design ``d`` under root seed ``s`` draws its numbers from generators keyed by ``(s, d.key, r //
BLOCK, stream)``, at the position ``r % BLOCK`` in each stream. Nothing depends on the worker or
loop position, so any partition of replicates into tasks gives bit-identical numbers. Each quantity
(posterior draw, deviations, residuals, missingness) has its own stream, so the posterior draw of
replicate ``r`` is the same whatever the analysis.

Two representations:

``moments`` (balanced complete designs, the ``summary`` analysis): per replicate only the mean
of the k new deviations of the term, and the mean and sample variance of the k per-subject OLS
estimates, drawn from their exact joint distribution.

``full``: whole data sets ``y`` of shape (n, k, U) with an observation mask (rows a subject
does not have, :attr:`~replic.newsubjects.ModelFrame.present`, are unobserved).

GLMMs (:attr:`Posterior.family <replic.posterior.Posterior.family>` not Gaussian) always use
``full``: ``y`` is drawn from the family at ``mu = h(X beta + Z v)`` (bernoulli 0/1, binomial
successes of :attr:`Replicates.trials`, poisson counts) by inverting its distribution function
at uniforms of the stream ``"y"``, so the numbers again depend only on the replicate.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from replic.design import Design
from replic.errors import ReplicInputError
from replic.family import GAUSSIAN, Family
from replic.kernel.discrete import binomial_quantile, poisson_quantile
from replic.newsubjects import ModelFrame, design_frame
from replic.posterior import Posterior
from replic.spec.names import parameter_names, parse_parameter
from replic.streams import SIMULATE

__all__ = ["BLOCK", "ModelFrame", "Replicates", "draw_response", "long_arrays", "model_frame",
           "replicate_params", "simulate"]

BLOCK = 1024
_STREAM = SIMULATE


def model_frame(posterior: Posterior, term: str, x: tuple[float, ...] | Design,
                *, k: int = 2) -> ModelFrame:
    """The new subjects of a design: ``x`` (the term's values, shared by every subject) or a
    :class:`~replic.design.Design` (see :func:`replic.newsubjects.design_frame`)."""
    design = x if isinstance(x, Design) else Design(k, x=tuple(float(v) for v in x))
    return design_frame(posterior, design, term)


@dataclass(frozen=True, eq=False)
class Replicates:
    """Replicates ``rep`` of one design: their parameters and simulated data.

    Attributes
    ----------
    design : Design
    frame : ModelFrame
    rep : ndarray, shape (n,)
        Replicate indices.
    draw : ndarray, shape (n,)
        Posterior draw used by each replicate (-1 for fixed parameters).
    beta : ndarray, shape (n, P)
    Sigma : ndarray, shape (n, Q, Q)
    sigma : ndarray, shape (n,)
        Residual standard deviation (NaN for families without one).
    vbar : ndarray, shape (n,)
        Mean over the k new subjects of their deviation in the term; the replication's realised
        effect is ``beta[:, t] + vbar``.
    y : ndarray, shape (n, k, T), optional
        Full data (``full`` representation); ``nan`` where not observed.
    observed : ndarray of bool, shape (n, k, T), optional
        Observation mask (None when complete).
    ols_mean, ols_var : ndarray, shape (n,), optional
        ``moments`` representation: mean and sample variance of the k per-subject OLS
        estimates of the term.
    family : Family
        The response family ``y`` was drawn from.
    trials : ndarray, shape (U,), optional
        Trials of each row (bernoulli: ones; binomial: ``y`` counts successes out of these);
        None for Gaussian and poisson responses.

    A GLMM analysis reads ``y`` (n, k, U), ``observed`` (or ``isfinite(y)``), ``frame.X``
    (U, P), ``frame.Z`` (U, Q) and ``trials`` (U,): subject ``i`` of replicate ``r`` is the
    group of the rows ``y[r, i]``, exactly as the Gaussian analyses read them.
    """

    design: Design
    frame: ModelFrame
    rep: np.ndarray
    draw: np.ndarray
    beta: np.ndarray
    Sigma: np.ndarray
    sigma: np.ndarray
    vbar: np.ndarray
    y: np.ndarray | None = None
    observed: np.ndarray | None = None
    ols_mean: np.ndarray | None = None
    ols_var: np.ndarray | None = None
    family: Family = GAUSSIAN
    trials: np.ndarray | None = None

    @property
    def n(self) -> int:
        return int(self.rep.size)

    @property
    def true_effect(self) -> np.ndarray:
        """The population (average-subject) effect of the term behind each replicate."""
        return self.beta[:, self.frame.t]

    @property
    def realised_effect(self) -> np.ndarray:
        """``beta + mean of the k new deviations``: the replication's realised effect."""
        return self.true_effect + self.vbar


def _rng(seed: int, design: Design, block: int, stream: str) -> np.random.Generator:
    return np.random.default_rng([design.key, block, _STREAM[stream], seed])


def replicate_params(posterior: Posterior, design: Design, draw: np.ndarray) -> tuple[
        np.ndarray, np.ndarray, np.ndarray]:
    """Parameters ``(beta, Sigma, sigma)`` of replicates using posterior draws ``draw``.

    ``draw == -1`` marks a fixed parameter set (``params`` "mean", "median" or a mapping).
    """
    if design.params == "posterior":
        sigma = posterior.sigma[draw] if posterior.sigma is not None else np.full(draw.size,
                                                                                  np.nan)
        return posterior.b[draw], posterior.Sigma[draw], sigma
    how = design.params if isinstance(design.params, str) else "mean"
    p = posterior.point(how)
    if not isinstance(design.params, str):
        _override(p, dict(design.params), posterior)
    sd = p["sd"]
    Sigma = sd[:, None] * p["cor"] * sd[None, :]
    n = draw.size
    return (np.broadcast_to(p["b"], (n, p["b"].size)).copy(),
            np.broadcast_to(Sigma, (n, *Sigma.shape)).copy(), np.full(n, float(p["sigma"])))


def _override(p: dict[str, np.ndarray], values: dict[str, float], post: Posterior) -> None:
    for name, v in values.items():
        par = parse_parameter(name, fixed=post.fixed, varying=post.varying, group=post.group)
        if par is None or par.kind == "r":
            known = parameter_names(post.fixed, post.varying, post.group)
            raise ReplicInputError(f"Design params: unknown parameter {name!r}; expected one of "
                                   f"{', '.join(known)}")
        if par.kind == "sigma" and not posterior_family(post).has_sigma:
            raise ReplicInputError(f"Design params: {name!r}: a {posterior_family(post).name} "
                                   "model has no sigma")
        if par.kind == "cor":
            i, j = par.index
            p["cor"] = p["cor"].copy()
            p["cor"][i, j] = p["cor"][j, i] = v
        elif par.kind == "sigma":
            p["sigma"] = np.asarray(v)
        else:
            p[par.kind] = p[par.kind].copy()
            p[par.kind][par.index[0]] = v
    if (p["sd"] <= 0).any() or float(p["sigma"]) <= 0 or np.linalg.eigvalsh(p["cor"])[0] <= 0:
        raise ReplicInputError(f"Design params {values}: sds and sigma must be positive and the "
                               "correlation matrix positive definite")


def _blocks(start: int, stop: int):
    for b in range(start // BLOCK, (stop - 1) // BLOCK + 1):
        lo, hi = max(start, b * BLOCK), min(stop, (b + 1) * BLOCK)
        yield b, lo - b * BLOCK, hi - b * BLOCK


def _dropout(u: np.ndarray, rate: float, T: int) -> np.ndarray:
    """Observation mask of monotone dropout: a subject with uniform ``u`` stays for its first
    ``1 + floor(log(u) / log(1 - rate))`` rows (geometric: lost after each with probability
    ``rate``), so ``P(observed at row t) = (1 - rate) ** t``."""
    with np.errstate(divide="ignore"):
        last = np.floor(np.log(u) / np.log1p(-rate))
    return np.arange(T)[None, None, :] <= last[:, :, None]


def simulate(posterior: Posterior, design: Design, frame: ModelFrame, *, start: int, stop: int,
             seed: int, representation: str = "full") -> Replicates:
    """Simulate replicates ``start <= r < stop`` of ``design``.

    Parameters
    ----------
    posterior : Posterior
    design : Design
        Must have ``x`` resolved.
    frame : ModelFrame
        ``model_frame(posterior, term, design.x)``.
    start, stop : int
        Replicate index range.
    seed : int
        Root seed.
    representation : {"full", "moments"}
        ``moments`` is only available for balanced designs (``full`` is used otherwise).

    Returns
    -------
    Replicates
    """
    if representation not in ("full", "moments"):
        raise ValueError(f"unknown representation {representation!r}")
    fam = posterior_family(posterior)
    if representation == "moments" and not (design.balanced and frame.shared and fam.gaussian):
        representation = "full"
    spans = list(_blocks(start, stop))

    def stream(name: str, draw):
        """Numbers of stream ``name`` for replicates start..stop, block by block."""
        return np.concatenate([draw(_rng(seed, design, b, name), hi)[lo:] for b, lo, hi in spans])

    k, T = design.k, frame.x.size
    n = stop - start
    if design.params == "posterior":
        draw = stream("draw", lambda g, m: g.integers(0, posterior.n_draws, size=m))
    else:
        draw = np.full(n, -1)
    beta, Sigma, sigma = replicate_params(posterior, design, draw)
    common = dict(design=design, frame=frame, rep=np.arange(start, stop), draw=draw, beta=beta,
                  Sigma=Sigma, sigma=sigma)
    qt = frame.qt
    if representation == "moments":
        tau2 = Sigma[:, qt, qt] if qt is not None else np.zeros(n)
        noise2 = sigma**2 * frame.g
        vbar = stream("vbar", lambda g, m: g.standard_normal(m)) * np.sqrt(tau2 / k)
        nbar = stream("nbar", lambda g, m: g.standard_normal(m)) * np.sqrt(noise2 / k)
        chi2 = stream("chi2", lambda g, m: g.chisquare(k - 1, size=m))
        return Replicates(**common, vbar=vbar, ols_mean=beta[:, frame.t] + vbar + nbar,
                          ols_var=(tau2 + noise2) * chi2 / (k - 1))
    Q = Sigma.shape[1]
    try:
        L = np.linalg.cholesky(Sigma)
    except np.linalg.LinAlgError:  # a draw with a (numerically) zero sd: factor by eigenvalues
        w, U = np.linalg.eigh(Sigma)
        L = U * np.sqrt(np.clip(w, 0.0, None))[:, None, :]
    v = np.einsum("nqr,nkr->nkq", L, stream("v", lambda g, m: g.standard_normal((m, k, Q))))
    eta = (beta @ frame.X.T)[:, None, :] + v @ frame.Z.T
    trials = frame.trials if fam.name in ("bernoulli", "binomial") else None
    if fam.gaussian:
        y = eta + stream("e", lambda g, m: g.standard_normal((m, k, T))) * sigma[:, None, None]
    else:
        if fam.needs_trials and trials is None:
            raise ReplicInputError(f"Design {design.label}: a binomial model needs the number "
                                   "of trials of each observation (trials = n in the design)")
        u = stream("y", lambda g, m: g.random((m, k, T)))
        y = draw_response(fam, eta, u, trials)
    observed = None
    if design.missing > 0:
        observed = stream("missing", lambda g, m: g.random((m, k, T))) >= design.missing
    if design.dropout > 0:
        observed = _dropout(stream("dropout", lambda g, m: g.random((m, k))), design.dropout,
                            T) & (True if observed is None else observed)
    if frame.present is not None:
        observed = np.broadcast_to(frame.present, (n, k, T)).copy() if observed is None \
            else observed & frame.present
    if observed is not None:
        y = np.where(observed, y, np.nan)
    if frame.present is not None:
        vbar = np.einsum("kq,nkq->n", frame.realised, v)
    else:
        vbar = v[:, :, qt].mean(axis=1) if qt is not None else np.zeros(n)
    return Replicates(**common, vbar=vbar, y=y, observed=observed, family=fam, trials=trials)


def posterior_family(posterior) -> Family:
    """The posterior's family (Gaussian for objects without one)."""
    return getattr(posterior, "family", GAUSSIAN)


def draw_response(family: Family, eta: np.ndarray, u: np.ndarray,
                  trials: np.ndarray | None = None) -> np.ndarray:
    """Responses of ``family`` at linear predictors ``eta`` by inversion of uniforms ``u``.

    ``y = F^-1(u)``, the smallest ``y`` with ``F(y) >= u``, for ``F`` the distribution function
    of Bernoulli(``mu``), Binomial(``trials``, ``mu``) or Poisson(``mu``), ``mu = h(eta)``.
    ``eta`` and ``u`` have the same shape; ``trials`` broadcasts against them (rows last).
    """
    mu = family.inverse_link(eta)
    if family.name == "bernoulli":
        return (u < mu).astype(float)
    if family.name == "binomial":
        return binomial_quantile(u, np.broadcast_to(np.asarray(trials, dtype=float), eta.shape),
                                 mu)
    if family.name == "poisson":
        return poisson_quantile(u, mu)
    raise ValueError(f"draw_response: family {family} has no discrete response")


def long_arrays(reps: Replicates) -> dict[str, np.ndarray | None]:
    """The replicates of a batch as long data sets over the k subjects' rows (subject-major).

    Returns
    -------
    dict
        ``y`` (n, N) with ``N = k * U`` (NaN where unobserved), ``observed`` (n, N) bool,
        ``X`` (N, P), ``Z`` (N, Q), ``group`` (N,) the subject (0..k-1) of each row,
        ``trials`` (N,) or None: what lme4's ``glmer(y ~ X + (Z | group))`` fits per replicate.
    """
    if reps.y is None:
        raise ReplicInputError("long_arrays needs the 'full' representation (whole data sets)")
    n, k, U = reps.y.shape
    frame = reps.frame
    observed = np.isfinite(reps.y) if reps.observed is None else reps.observed
    return {"y": reps.y.reshape(n, k * U), "observed": observed.reshape(n, k * U),
            "X": np.tile(frame.X, (k, 1)), "Z": np.tile(frame.Z, (k, 1)),
            "group": np.repeat(np.arange(k), U),
            "trials": None if reps.trials is None else np.tile(reps.trials, k)}
