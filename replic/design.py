"""Replication designs: how many new subjects, observed where, under which parameters."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from replic.errors import ReplicInputError

__all__ = ["Design"]

_MODES = ("posterior", "mean", "median")


@dataclass(frozen=True)
class Design:
    """A hypothetical replication experiment with ``k`` new subjects.

    Parameters
    ----------
    k : int
        Number of new subjects (at least 2).
    x : sequence of float, optional
        Values of the term each new subject is observed at (sleepstudy: Days 0..9).  Required
        unless the posterior carries its data, in which case the original's values are used.
    missing : float
        Probability that each observation is missing (completely at random), in [0, 1).
    params : str or mapping
        ``"posterior"``: each replicate uses one posterior draw (assurance, carrying the
        original's uncertainty); ``"mean"`` / ``"median"``: the posterior mean or median
        (conditional power); a mapping of brms parameter names to values (``{"b_Days": 3.0}``,
        e.g. a smallest effect of interest), the rest taken from the posterior mean.
    """

    k: int
    x: tuple[float, ...] | None = None
    missing: float = 0.0
    params: str | tuple[tuple[str, float], ...] = "posterior"

    def __init__(self, k: int, *, x: Sequence[float] | None = None, missing: float = 0.0,
                 params: str | Mapping[str, float] | tuple = "posterior") -> None:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
            raise ReplicInputError(f"Design: k={k!r}; expected an integer number of new subjects "
                                   ">= 2 (a replication's effect needs at least two subjects)")
        if x is not None:
            try:
                xs = tuple(float(v) for v in x)
            except (TypeError, ValueError):
                raise ReplicInputError(f"Design: x={x!r}; expected a sequence of numbers") from None
            if len(xs) < 2 or not np.all(np.isfinite(xs)) or len(set(xs)) < 2:
                raise ReplicInputError(f"Design: x={x!r}; expected at least two distinct finite "
                                       "values of the term")
        else:
            xs = None
        if not (isinstance(missing, int | float) and 0.0 <= float(missing) < 1.0):
            raise ReplicInputError(f"Design: missing={missing!r}; expected a probability in [0, 1)")
        if isinstance(params, str):
            if params not in _MODES:
                raise ReplicInputError(f"Design: params={params!r}; expected one of {_MODES} or a "
                                       "mapping of brms parameter names to values")
            p: str | tuple = params
        else:
            try:
                p = tuple(sorted((str(n), float(v)) for n, v in dict(params).items()))
            except (TypeError, ValueError):
                raise ReplicInputError(f"Design: params={params!r}; expected a mapping of brms "
                                       "parameter names to numbers") from None
        object.__setattr__(self, "k", int(k))
        object.__setattr__(self, "x", xs)
        object.__setattr__(self, "missing", float(missing))
        object.__setattr__(self, "params", p)

    @property
    def balanced(self) -> bool:
        """True when every subject is observed at every x (no missingness)."""
        return self.missing == 0.0

    @cached_property
    def key(self) -> int:
        """A stable 32-bit key of what the design is (not where it sits in a grid).

        It seeds the design's random numbers, so adding a design to a study leaves the others'
        numbers unchanged.
        """
        spec = json.dumps([self.k, self.x, self.missing, self.params], sort_keys=True)
        return int.from_bytes(hashlib.sha256(spec.encode()).digest()[:4], "little")

    @property
    def label(self) -> str:
        """Short human label, e.g. ``k=10`` or ``k=10, missing=0.2, params=mean``."""
        parts = [f"k={self.k}"]
        if self.missing:
            parts.append(f"missing={self.missing:g}")
        if self.params != "posterior":
            parts.append("params=" + (self.params if isinstance(self.params, str) else
                                       ",".join(f"{n}={v:g}" for n, v in self.params)))
        return ", ".join(parts)

    def with_x(self, x: Sequence[float]) -> Design:
        """The same design observed at ``x``."""
        return replace(self, x=tuple(float(v) for v in x)) if self.x is None else self
