"""The :class:`Posterior`: posterior draws of an LMM or GLMM with one grouping factor.

The model is ``eta = X beta + Z u_g``, ``u_g ~ MVN(0, Sigma)``, with ``Sigma = diag(sd) cor
diag(sd)``, and ``y ~ N(eta, sigma^2)`` (Gaussian) or ``y ~ family(h(eta))`` (bernoulli, binomial,
poisson; :class:`replic.family.Family`, no ``sigma``).  Arrays are stored draw-major so that
every computation on them is vectorised over draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.family import GAUSSIAN, Family
from replic.spec import ModelSpec

__all__ = ["Posterior"]


@dataclass(frozen=True, eq=False)
class Posterior:
    """Posterior draws ``s = 1..S`` of an LMM or GLMM with one grouping factor.

    Parameters
    ----------
    fixed : tuple of str
        Names of the fixed-effect terms (brms names without ``b_``: ``Intercept``, ``Days``).
    varying : tuple of str
        Names of the varying (random) terms of the grouping factor.
    group : str
        Name of the grouping factor (``Subject``).
    b : ndarray, shape (S, P)
        Fixed effects ``beta_s``.
    sd : ndarray, shape (S, Q)
        Standard deviations of the varying terms.
    cor : ndarray, shape (S, Q, Q)
        Correlation matrices of the varying terms.
    sigma : ndarray, shape (S,), or None
        Residual standard deviation (Gaussian family); None for the other families.
    levels : tuple of str
        Fitted levels of the grouping factor (may be empty when ``r`` is absent).
    r : ndarray, shape (S, J, Q), optional
        Fitted group-level deviations ``u_js``.
    chain : ndarray, shape (S,)
        Chain id of each draw.
    source : str
        Where the draws came from (a path, ``"DataFrame"``, ``"stan"``...).
    formula, response : str, optional
        The model formula and response name, when known.
    data : DataFrame, optional
        The data the posterior was fitted to, when known (designs then default to its x values).
    diagnostics : dict
        Free-form diagnostics of the fit that produced the draws.
    spec : ModelSpec, optional
        The model specification bound to ``data`` (fits run by replic); see
        :meth:`model_spec`.
    family : Family
        Response family and link (default Gaussian, identity).
    """

    fixed: tuple[str, ...]
    varying: tuple[str, ...]
    group: str
    b: np.ndarray
    sd: np.ndarray
    cor: np.ndarray
    sigma: np.ndarray | None
    levels: tuple[str, ...] = ()
    r: np.ndarray | None = None
    chain: np.ndarray | None = None
    source: str = ""
    formula: str | None = None
    response: str | None = None
    data: pd.DataFrame | None = None
    diagnostics: dict = field(default_factory=dict)
    spec: ModelSpec | None = None
    family: Family = GAUSSIAN

    def __post_init__(self) -> None:
        S = self.b.shape[0]
        Q = len(self.varying)
        if not isinstance(self.family, Family):
            raise ReplicInputError(f"{self.source}: family={self.family!r}; expected a "
                                   "replic.family.Family (Family.of('bernoulli'))")
        if (self.sigma is None) == self.family.has_sigma:
            raise ReplicInputError(
                f"{self.source}: a {self.family.name} model "
                f"{'needs draws of sigma' if self.family.has_sigma else 'has no sigma'}")
        if self.spec is not None and self.spec.family != self.family:
            raise ReplicInputError(f"{self.source}: the posterior's family {self.family} and "
                                   f"its model specification's {self.spec.family} differ")
        shapes = {
            "b": (self.b.shape, (S, len(self.fixed))),
            "sd": (self.sd.shape, (S, Q)),
            "cor": (self.cor.shape, (S, Q, Q)),
        }
        if self.sigma is not None:
            shapes["sigma"] = (self.sigma.shape, (S,))
        if self.r is not None:
            shapes["r"] = (self.r.shape, (S, len(self.levels), Q))
        for name, (got, want) in shapes.items():
            if got != want:
                raise ReplicInputError(f"{self.source}: posterior array {name!r} has shape {got}, "
                                       f"expected {want}")
        if self.chain is None:
            object.__setattr__(self, "chain", np.ones(S, dtype=int))

    def model_spec(self) -> ModelSpec:
        """The bound model specification new subjects' matrices are built through.

        :attr:`spec` when the posterior carries it; else the spec bound to :attr:`data` when
        the formula and data are known; else one built from the term names alone
        (:meth:`ModelSpec.from_terms`: numeric variables only).
        """
        if self.spec is not None:
            return self.spec
        if self.formula is not None and self.data is not None:
            return ModelSpec.parse(self.formula, family=self.family).bind(
                self.data, source=self.source).spec
        return ModelSpec.from_terms(self.fixed, self.varying, self.group,
                                    response=self.response or "y", family=self.family)

    def __repr__(self) -> str:
        from replic.posterior_view import posterior_text

        return posterior_text(self)

    def _repr_html_(self) -> str:
        from replic.posterior_view import posterior_html

        return posterior_html(self)

    def to_frame(self, *, group_level: bool = True) -> pd.DataFrame:
        """The draws as a DataFrame with brms's column names (``b_Days``,
        ``sd_Subject__Days``, ``cor_...``, ``sigma``, ``r_Subject[308,Days]``, ``.chain``,
        ``.iteration``, ``.draw``); ``read_draws`` reads it back.  ``group_level=False``
        leaves out the ``r_`` columns."""
        from replic.posterior_view import brms_frame

        return brms_frame(self, group_level=group_level)

    @property
    def n_draws(self) -> int:
        """Number of posterior draws ``S``."""
        return int(self.b.shape[0])

    @cached_property
    def Sigma(self) -> np.ndarray:
        """Covariance matrices ``Sigma_s`` of the varying terms, shape (S, Q, Q)."""
        return self.sd[:, :, None] * self.cor * self.sd[:, None, :]

    def fixed_index(self, term: str) -> int:
        """Column of ``term`` in :attr:`b`; a clear error when the model has no such term."""
        if term not in self.fixed:
            raise ReplicInputError(f"term {term!r} is not a fixed effect of the model "
                                   f"(fixed effects: {', '.join(self.fixed)})")
        return self.fixed.index(term)

    def varying_index(self, term: str) -> int | None:
        """Column of ``term`` among the varying terms, or None when it does not vary by group."""
        return self.varying.index(term) if term in self.varying else None

    def term_summary(self, term: str) -> dict[str, float]:
        """Posterior mean, sd and 2.5/97.5% quantiles of the conditional effect ``beta_term``.

        This is "the original" that replication criteria compare against.
        """
        x = self.b[:, self.fixed_index(term)]
        lo, hi = np.quantile(x, [0.025, 0.975])
        return {"estimate": float(x.mean()), "sd": float(x.std(ddof=1)),
                "lower": float(lo), "upper": float(hi)}

    def point(self, how: str = "mean") -> dict[str, np.ndarray]:
        """A single parameter set summarising the draws (``mean`` or ``median``).

        ``Sigma`` is assembled from the summarised sds and correlations so that it stays
        positive definite.  ``sigma`` is NaN for families without it.
        """
        f = {"mean": np.mean, "median": np.median}.get(how)
        if f is None:
            raise ReplicInputError(f"params={how!r}: expected 'posterior', 'mean', 'median' "
                                   "or a mapping of brms parameter names to values")
        return {"b": f(self.b, axis=0), "sd": f(self.sd, axis=0),
                "cor": f(self.cor, axis=0),
                "sigma": np.asarray(np.nan if self.sigma is None else f(self.sigma))}
