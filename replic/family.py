"""The response distribution of a model: :class:`Family` (a frozen, validated value).

=============  =================  ======================================  ===============
family         links (default 1st) response                               brms parameter
=============  =================  ======================================  ===============
``gaussian``   ``identity``       numbers, ``y ~ N(mu, sigma^2)``         ``sigma``
``bernoulli``  ``logit, probit``  0/1, ``P(y = 1) = mu``                  none
``binomial``   ``logit, probit``  successes of ``n`` trials, ``Bin(n, mu)`` none
``poisson``    ``log``            counts, ``Poisson(mu)``                 none
=============  =================  ======================================  ===============

``mu = h(eta)`` with ``h`` the inverse link.  The *response scale* of replic's estimands is
``mu``: the probability (per trial, for ``binomial``) or the expected count.  A binomial model's
number of trials comes from the formula (``successes | trials(n)`` or ``cbind(successes,
failures)``, :mod:`replic.spec`) or from a design option; it is not part of the family.

Base layer: numpy and scipy only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from replic.errors import ReplicInputError

__all__ = ["FAMILIES", "GAUSSIAN", "Family"]

#: Families replic knows and their links (the first is the default, as in brms).
FAMILIES: dict[str, tuple[str, ...]] = {
    "gaussian": ("identity",),
    "bernoulli": ("logit", "probit"),
    "binomial": ("logit", "probit"),
    "poisson": ("log",),
}


@dataclass(frozen=True)
class Family:
    """A response family and its link (frozen, hashable, validated on construction).

    Attributes
    ----------
    name : str
        ``"gaussian"``, ``"bernoulli"``, ``"binomial"`` or ``"poisson"``.
    link : str
        Default: the family's first link.  ``"identity"`` (gaussian), ``"logit"`` /
        ``"probit"`` (bernoulli, binomial), ``"log"`` (poisson).
    """

    name: str = "gaussian"
    link: str = ""

    def __post_init__(self) -> None:
        links = FAMILIES.get(self.name)
        if links is None:
            raise ReplicInputError(f"family={self.name!r}; expected one of "
                                   f"{', '.join(FAMILIES)}")
        if self.link == "":
            object.__setattr__(self, "link", links[0])
        if self.link not in links:
            raise ReplicInputError(f"family={self.name!r} with link={self.link!r}; expected "
                                   f"link {' or '.join(map(repr, links))}")

    @classmethod
    def of(cls, value: str | Family | None = None, *, link: str | None = None,
           where: str = "family") -> Family:
        """A family from a name (``"bernoulli"``), ``"bernoulli(probit)"`` or a :class:`Family`;
        ``None`` is Gaussian.  ``link`` overrides the default link.

        Raises
        ------
        ReplicInputError
            Naming ``where``, for an unknown family or link.
        """
        if isinstance(value, Family):
            return value if link is None or link == value.link else cls(value.name, link)
        if value is None:
            value = "gaussian"
        if not isinstance(value, str):
            raise ReplicInputError(f"{where} = {value!r}: expected a family name, one of "
                                   f"{', '.join(FAMILIES)}")
        name = value.strip().lower()
        if name.endswith(")") and "(" in name:
            name, _, inner = name[:-1].partition("(")
            name, inner = name.strip(), inner.strip()
            if link is not None and link != inner:
                raise ReplicInputError(f"{where} = {value!r} but link = {link!r}")
            link = inner
        links = FAMILIES.get(name)
        if links is None:
            raise ReplicInputError(f"{where} = {value!r}: expected one of "
                                   f"{', '.join(FAMILIES)}")
        try:
            return cls(name, links[0] if link is None else str(link))
        except ReplicInputError as exc:
            raise ReplicInputError(f"{where}: {exc}") from None

    def __str__(self) -> str:
        return f"{self.name}({self.link})"

    @property
    def gaussian(self) -> bool:
        """True for the Gaussian family (the only one with a residual sd ``sigma``)."""
        return self.name == "gaussian"

    @property
    def has_sigma(self) -> bool:
        """Whether the family has a residual standard deviation parameter ``sigma``."""
        return self.name == "gaussian"

    @property
    def needs_trials(self) -> bool:
        """True for ``binomial``: each observation needs its number of trials."""
        return self.name == "binomial"

    def inverse_link(self, eta: np.ndarray) -> np.ndarray:
        """``mu = h(eta)``: the expected response (per trial) at linear predictor ``eta``."""
        eta = np.asarray(eta, dtype=float)
        if self.link == "identity":
            return eta
        if self.link == "logit":
            return special.expit(eta)
        if self.link == "probit":
            return special.ndtr(eta)
        return np.exp(eta)

    def link_fun(self, mu: np.ndarray) -> np.ndarray:
        """``eta = g(mu)``, the link function (inverse of :meth:`inverse_link`)."""
        mu = np.asarray(mu, dtype=float)
        if self.link == "identity":
            return mu
        if self.link == "logit":
            return special.logit(mu)
        if self.link == "probit":
            return special.ndtri(mu)
        with np.errstate(divide="ignore"):
            return np.log(mu)

    def check_response(self, y: np.ndarray, *, trials: np.ndarray | None = None,
                       where: str = "response") -> None:
        """Refuse responses the family cannot have (0/1, counts, successes <= trials).

        Raises
        ------
        ReplicInputError
            Naming ``where`` and the first offending value.
        """
        y = np.asarray(y, dtype=float)
        if self.gaussian:
            return
        integer = np.isfinite(y) & (y == np.round(y)) & (y >= 0)
        if self.name == "bernoulli":
            bad, want = ~((y == 0) | (y == 1)), "0 or 1"
        elif self.name == "poisson":
            bad, want = ~integer, "a count (0, 1, 2, ...)"
        else:
            n = np.asarray(trials, dtype=float) if trials is not None else np.full_like(y, np.nan)
            okn = np.isfinite(n) & (n == np.round(n)) & (n >= 1)
            if not okn.all():
                i = int(np.flatnonzero(~okn)[0])
                raise ReplicInputError(f"{where}: number of trials {n[i]:g} in row {i + 1}; "
                                       "expected a positive integer")
            bad, want = ~(integer & (y <= n)), "a number of successes between 0 and the trials"
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ReplicInputError(f"{where}: value {y[i]:g} in row {i + 1} "
                                   f"({int(bad.sum())} such rows); a {self.name} response is "
                                   f"{want}")


#: The Gaussian family with the identity link (every model before GLMMs).
GAUSSIAN = Family()
