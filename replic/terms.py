"""brms-named model terms as data columns: ``Intercept``, ``age``, ``SexMale``, ``age:SexMale``.

A posterior names its population-level and group-level coefficients as brms does (without the
``b_`` prefix): ``Intercept``; a numeric variable by its name (``age``); the indicator of level
``L`` of a factor ``F`` (treatment contrasts) as ``FL`` (``SexMale``); an interaction as its
components joined by ``:`` (``age:SexMale``).  :class:`TermMap` decodes those names once, given
which variables are numeric and which levels each factor has, and then builds the model-matrix
columns of any rows (new subjects' designs) and the weights of "the effect of a term at given
values of the variables it interacts with".

brms drops characters other than letters, digits, ``.`` and ``_`` from level names in
coefficient names (``"T 2"`` gives ``TypeT2``); the decoder compares names the same way.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.spec.levels import r_sort_key

__all__ = ["TermMap", "variable_kinds"]

_STRIP = re.compile(r"[^A-Za-z0-9._]")


def _clean(s: str) -> str:
    return _STRIP.sub("", str(s))


def variable_kinds(*frames: pd.DataFrame | None,
                   levels: Mapping[str, Sequence[str]] | None = None,
                   ) -> tuple[frozenset[str], dict[str, tuple[str, ...]]]:
    """Numeric variables and factor levels found in ``frames`` (and the extra ``levels``).

    A column with a numeric (non-boolean) dtype is numeric; any other column is a factor whose
    levels are its distinct values as text, sorted as R sorts the levels of a CSV column.
    """
    numeric: set[str] = set()
    factors: dict[str, set[str]] = {}
    for df in frames:
        if df is None:
            continue
        for col in df.columns:
            s = df[col]
            if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
                numeric.add(str(col))
            else:
                factors.setdefault(str(col), set()).update(s.dropna().astype(str))
    for var, levs in (levels or {}).items():
        factors.setdefault(str(var), set()).update(str(v) for v in levs)
    numeric -= set(factors)
    return frozenset(numeric), {v: tuple(sorted(ls, key=r_sort_key)) for v, ls in factors.items()}


@dataclass(frozen=True)
class TermMap:
    """Decoded brms names: each name is a product of components.

    Attributes
    ----------
    names : tuple of str
        The coefficient names, in the posterior's order.
    parts : tuple of tuple
        Per name, its components: ``("num", var)`` or ``("level", var, level)``; ``()`` for
        ``Intercept``.
    """

    names: tuple[str, ...]
    parts: tuple[tuple[tuple[str, ...], ...], ...]

    @classmethod
    def build(cls, names: Sequence[str], *, numeric: frozenset[str] | set[str],
              factors: Mapping[str, Sequence[str]], where: str = "model") -> TermMap:
        """Decode ``names`` against the known variables; a clear error for unknown names."""
        parts = []
        for name in names:
            if name == "Intercept":
                parts.append(())
                continue
            comps = []
            for comp in str(name).split(":"):
                comps.append(_component(comp, name, numeric, factors, where))
            parts.append(tuple(comps))
        return cls(names=tuple(names), parts=tuple(parts))

    @property
    def variables(self) -> tuple[str, ...]:
        """The data variables the names use, in order of first use."""
        return tuple(dict.fromkeys(p[1] for comps in self.parts for p in comps))

    def matrix(self, rows: pd.DataFrame) -> np.ndarray:
        """Model-matrix columns of ``rows``, shape (len(rows), len(names))."""
        n = len(rows)
        out = np.ones((n, len(self.names)))
        for j, comps in enumerate(self.parts):
            for comp in comps:
                if comp[1] not in rows.columns:
                    raise ReplicInputError(f"term {self.names[j]!r} needs variable {comp[1]!r}, "
                                           "which the design does not give")
                col = rows[comp[1]]
                if comp[0] == "num":
                    v = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float)
                    if not np.all(np.isfinite(v)):
                        raise ReplicInputError(f"variable {comp[1]!r}: expected finite numbers "
                                               f"(term {self.names[j]!r})")
                else:
                    v = (col.astype(str).map(_clean) == _clean(comp[2])).to_numpy(dtype=float)
                out[:, j] *= v
        return out

    def weights(self, term: str, at: Mapping[str, object] | None = None, *,
                of: TermMap | None = None) -> np.ndarray:
        """Weights ``c`` such that the effect of ``term`` at ``at`` is ``c @ coefficients``.

        The effect of coefficient ``term`` is the change of the linear predictor when its own
        column goes from 0 to 1 (a unit change of a numeric variable, or the contrast of a
        factor level), with the other variables at the values ``at``.  Every name that
        contains ``term``'s components contributes the product of its other components at
        ``at``; variables not in ``at`` are at 0 (numeric) or the reference level (factors), so
        that without ``at`` the effect is the coefficient itself.  With ``of`` (the map in
        which ``term`` is a name, e.g. the fixed effects), the weights are over this map's names
        (e.g. the varying terms: a subject's deviation in the effect).
        """
        of = self if of is None else of
        if term not in of.names and term != "Intercept":
            raise ReplicInputError(f"term {term!r} is not a coefficient of the model "
                                   f"(coefficients: {', '.join(of.names)})")
        mine = set(of.parts[of.names.index(term)]) if term in of.names else set()
        at = dict(at or {})
        used = list(dict.fromkeys([*of.variables, *self.variables]))
        unknown = [v for v in at if v not in used]
        if unknown:
            raise ReplicInputError(f"at: variable(s) {', '.join(map(repr, unknown))} are not in "
                                   f"the model (variables: {', '.join(used)})")
        c = np.zeros(len(self.names))
        for j, comps in enumerate(self.parts):
            if not mine <= set(comps):
                continue
            w = 1.0
            for comp in comps:
                if comp in mine:
                    continue
                value = at.get(comp[1])
                if comp[0] == "num":
                    w *= 0.0 if value is None else _number(value, comp[1])
                else:
                    w *= float(value is not None and _clean(str(value)) == _clean(comp[2]))
            c[j] = w
        return c

    def depends_on(self, term: str) -> tuple[str, ...]:
        """Variables the effect of ``term`` depends on (those it interacts with)."""
        mine = set(self.parts[self.names.index(term)])
        out: dict[str, None] = {}
        for comps in self.parts:
            if mine and mine < set(comps):
                out.update({c[1]: None for c in comps if c not in mine})
        return tuple(out)


def _number(value: object, var: str) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ReplicInputError(f"at: {var}={value!r}; expected a number") from None


def _component(comp: str, name: str, numeric, factors, where: str) -> tuple[str, ...]:
    if comp in numeric:
        return ("num", comp)
    hits = [(var, lev) for var, levs in factors.items() for lev in levs
            if _clean(comp) == _clean(var) + _clean(lev)]
    if len(hits) == 1:
        return ("level", *hits[0])
    if len(hits) > 1:
        raise ReplicInputError(f"{where}: term {name!r}: {comp!r} could be "
                               f"{' or '.join(f'{v}={lv}' for v, lv in hits)}")
    if re.fullmatch(r"[A-Za-z.][A-Za-z0-9._]*", comp) and not any(
            _clean(comp).startswith(_clean(v)) for v in factors):
        return ("num", comp)  # a numeric variable the data do not show: the design must give it
    known = sorted(numeric) + [f"{v} (levels {', '.join(ls)})" for v, ls in factors.items()]
    raise ReplicInputError(f"{where}: term {name!r}: cannot tell which variable {comp!r} is; "
                           "expected a numeric variable or a factor followed by one of its "
                           f"levels (brms naming); known variables: {', '.join(known) or 'none'}")
