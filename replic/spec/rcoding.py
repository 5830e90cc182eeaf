"""R's coding of the factors of a model matrix (``model.matrix``, so lme4's and brms's columns).

R codes a factor of a term by contrasts when the term without that factor is in the model
(earlier: terms come by degree; the intercept is the empty term) and by one indicator per level
otherwise; formulaic's default instead finds a full-rank coding of its own, which differs for an
interaction whose margins are absent (``wool:tension`` with an intercept: R's ``(Intercept),
woolA:tensionH, ..., woolB:tensionM``, formulaic's ``Intercept, tension[T.L], ...``).  Within a
term, R orders the variables by their first appearance in the formula (``Sex + age:Sex`` has the
term ``Sex:age``, columns ``SexFemale:age, SexMale:age``).  :class:`RMaterializer` applies both
rules; the choice is recorded in formulaic's model spec, so new rows get the same columns.
:func:`model_matrix` builds a right-hand side's matrix with that coding, and
:func:`check_full_rank` refuses a fixed-effect design lme4 would have to cut down, naming the
columns lme4 drops.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Generator, Iterable

import formulaic
import numpy as np
import pandas as pd
from formulaic.materializers import PandasMaterializer
from formulaic.materializers.types import ScopedFactor, ScopedTerm
from formulaic.parser.types import Factor, Term
from interface_meta import override

from replic.errors import ReplicInputError
from replic.formula_grammar import formulaic_text

__all__ = ["RMaterializer", "check_full_rank", "model_matrix"]


class RMaterializer(PandasMaterializer):
    """formulaic's pandas materializer with R's ``model.matrix`` coding of factors.

    Parameters (``materializer_params``)
    ------------------------------------
    order : str
        The formula's right-hand side as written: variables are ordered within each term by
        their first appearance in it.
    """

    REGISTER_NAME = "replic_r"
    REGISTER_INPUTS = ()

    def _position(self, expr: str) -> int:
        order = re.sub(r"\s+", "", str(self.params.get("order", "")))
        e = re.escape(re.sub(r"\s+", "", expr))
        m = re.search(rf"(?<![A-Za-z0-9_.]){e}(?![A-Za-z0-9_.])", order)
        return m.start() if m else len(order)

    @override
    def _get_scoped_terms(self, terms: Iterable[Term], ensure_full_rank: bool = True
                          ) -> Generator[tuple[Term, Iterable[ScopedTerm]], None, None]:
        if not ensure_full_rank:
            yield from super()._get_scoped_terms(terms, ensure_full_rank=False)
            return
        seen: set[frozenset[str]] = set()
        for term in terms:
            evaled = [self.factor_cache[f.expr] for f in term.factors
                      if self.factor_cache[f.expr].values.__wrapped__ is not None]
            const = [f for f in evaled if f.metadata.kind is Factor.Kind.CONSTANT]
            varying = sorted((f for f in evaled if f.metadata.kind is not Factor.Kind.CONSTANT),
                             key=lambda f: self._position(f.expr))
            names = frozenset(f.expr for f in varying)
            if not evaled:
                yield term, []
                continue
            scoped = [ScopedFactor(f, reduced=bool(f.metadata.spans_intercept)
                                   and (names - {f.expr}) in seen) for f in varying]
            seen.add(names)
            scale = functools.reduce(operator.mul, [f.values for f in const], 1)
            yield term, [ScopedTerm(factors=scoped, scale=scale)]


def model_matrix(rhs: str, df: pd.DataFrame, formula: str, what: str) -> formulaic.ModelMatrix:
    """formulaic's model matrix of ``rhs`` on ``df`` with R's coding (:class:`RMaterializer`);
    its ``model_spec`` rebuilds the same columns on new rows.

    Raises
    ------
    ReplicInputError
        Naming ``formula`` and ``what`` (``"fixed-effect"``) when formulaic cannot build it.
    """
    rhs = formulaic_text(rhs)   # factor(x) is formulaic's C(x)
    try:
        return formulaic.model_matrix(rhs, df, na_action="raise", materializer=RMaterializer,
                                      materializer_params={"order": rhs})
    except Exception as exc:  # formulaic raises many types for bad terms or values
        raise ReplicInputError(f"formula={formula!r}: cannot build the {what} design from "
                               f"{rhs!r}: {exc}") from None


def check_full_rank(X: np.ndarray, names: tuple[str, ...], formula: str) -> None:
    """Refuse a rank-deficient fixed-effect design ``X`` (columns ``names``, lme4's spelling).

    Raises
    ------
    ReplicInputError
        Naming the columns lme4 would drop: those in the span of the columns before them.
    """
    if not X.shape[1] or np.linalg.matrix_rank(X) == X.shape[1]:
        return
    dep = [names[j] for j in _dependent_columns(X)]
    raise ReplicInputError(f"formula={formula!r}: the fixed-effect design "
                           f"({', '.join(names)}) is rank deficient: "
                           + (f"{dep[0]} is a combination of the columns before it "
                              "(lme4 drops it" if len(dep) == 1 else
                              f"{', '.join(dep)} are combinations of the columns "
                              "before them (lme4 drops them")
                           + "; replic needs a full-rank design: change the formula)")


def _dependent_columns(X: np.ndarray) -> list[int]:
    """Columns of ``X`` in the span of the independent columns before them (lme4's choice of
    columns to drop from a rank-deficient design)."""
    kept: list[int] = []
    out = []
    for j in range(X.shape[1]):
        if np.linalg.matrix_rank(X[:, [*kept, j]]) > len(kept):
            kept.append(j)
        else:
            out.append(j)
    return out
