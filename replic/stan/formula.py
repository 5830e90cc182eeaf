"""Parse the lme4/brms formula of replic's model: ``y ~ fixed + (varying | group)``.

Only what the Stan program fits is accepted: a response column, fixed-effect terms, and exactly
one correlated varying-effects term ``(terms | group)``.  The term lists themselves are kept as
formulaic right-hand sides (``"1 + Days"``), so the design matrices are built by formulaic.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from replic.errors import ReplicInputError

__all__ = ["LmmFormula", "parse_formula"]

_BAR = re.compile(r"\(([^()|]*)(\|\|?)([^()|]*)\)")
_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
_SUPPORTED = "expected 'response ~ fixed terms + (varying terms | group)', e.g. " \
             "'Reaction ~ 1 + Days + (1 + Days | Subject)'"


@dataclass(frozen=True)
class LmmFormula:
    """A parsed model formula.

    Attributes
    ----------
    formula : str
        The formula as given.
    response : str
        Name of the response column.
    fixed : str
        Right-hand side of the fixed effects, for formulaic (``"1 + Days"``).
    varying : str
        Right-hand side of the varying terms, for formulaic (``"1 + Days"``).
    group : str
        Name of the grouping-factor column.
    """

    formula: str
    response: str
    fixed: str
    varying: str
    group: str


def parse_formula(formula: str) -> LmmFormula:
    """Split ``formula`` into response, fixed part, varying part and grouping factor.

    Parameters
    ----------
    formula : str
        lme4/brms syntax with exactly one varying-effects term, e.g.
        ``"Reaction ~ 1 + Days + (1 + Days | Subject)"``.

    Returns
    -------
    LmmFormula

    Raises
    ------
    ReplicInputError
        When the formula is not of the supported form.
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ReplicInputError(f"formula {formula!r}: {_SUPPORTED}")
    lhs, rhs = (s.strip() for s in formula.split("~"))
    if not _NAME.match(lhs):
        raise ReplicInputError(f"formula {formula!r}: the response {lhs!r} must be a column "
                               f"name (transform it in the data first); {_SUPPORTED}")
    bars = _BAR.findall(rhs)
    if len(bars) != 1:
        raise ReplicInputError(f"formula {formula!r}: found {len(bars)} varying-effects terms "
                               f"'(... | group)'; replic fits exactly one. {_SUPPORTED}")
    terms, bar, group = (s.strip() for s in bars[0])
    if bar == "||":
        raise ReplicInputError(f"formula {formula!r}: uncorrelated varying effects '||' are not "
                               "supported; use '|' (correlated, LKJ prior)")
    if not _NAME.match(group):
        raise ReplicInputError(f"formula {formula!r}: the grouping factor {group!r} must be a "
                               "single column name")
    fixed = _BAR.sub("", rhs)
    fixed = re.sub(r"\+\s*(?=\+|$)", "", fixed.strip()).strip().strip("+").strip()
    if "(" in fixed or "|" in fixed:
        raise ReplicInputError(f"formula {formula!r}: could not read the fixed part {fixed!r}; "
                               f"{_SUPPORTED}")
    return LmmFormula(formula=formula, response=lhs, fixed=fixed or "1", varying=terms or "1",
                      group=group)
