"""lme4 formula syntax for LMMs and GLMMs with one grouping factor: the parse behind every spec.

``y ~ 1 + x + (1 + x | g)``, ``y ~ x + (1 | g)``, ``y ~ x + (0 + x | g)``: the response, a fixed
part handed to formulaic, and one random-effects term ``(lhs | group)`` whose left-hand side is a
formulaic formula too (an intercept is implied unless ``0 +`` or ``- 1`` removes it, as in lme4).
A binomial response is lme4's ``cbind(successes, failures)`` or brms's ``successes | trials(n)``
(``n`` a column or a positive integer): :attr:`LmmFormula.response` is then the successes column
and :attr:`LmmFormula.trials` / :attr:`LmmFormula.failures` say where the trials come from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from replic.errors import ReplicInputError
from replic.formula_grammar import check_formula

__all__ = ["LmmFormula", "parse_formula"]

_BAR = re.compile(r"\(([^()|]*)(\|\|?)([^()|]*)\)")
_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")
#: A column name of a checked formula side: backquoted, or bare (then not a call when no ``(``
#: follows); numbers such as ``0.5`` in ``I(x ** 0.5)`` are not names.
_IDENT = re.compile(r"`(?P<quoted>[^`]*)`|(?<![A-Za-z0-9._`])(?P<name>[A-Za-z.][A-Za-z0-9._]*)"
                    r"(?P<call>\s*\()?")
_CBIND = re.compile(r"^cbind\(\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*,\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*\)$")
_TRIALS = re.compile(r"^([A-Za-z_.][A-Za-z0-9_.]*)\s*\|\s*trials\(\s*([A-Za-z_.][A-Za-z0-9_.]*|"
                     r"[0-9]+)\s*\)$")


@dataclass(frozen=True)
class LmmFormula:
    """A parsed lme4 formula.

    Attributes
    ----------
    text : str
        The formula as given.
    response : str
        Name of the response column.
    fixed : str
        Right-hand side of the fixed part, in formulaic syntax (``"1 + x"``).
    random : str
        Left-hand side of the random-effects term (``"1 + x"``, ``"0 + x"``).
    group : str
        Name of the grouping column.
    trials : str or int, optional
        Binomial responses: the column (or the fixed number) of trials of ``successes |
        trials(n)``.
    failures : str, optional
        Binomial responses: the failures column of ``cbind(successes, failures)`` (trials are
        successes + failures).
    """

    text: str
    response: str
    fixed: str
    random: str
    group: str
    trials: str | int | None = None
    failures: str | None = None

    @property
    def binomial(self) -> bool:
        """True when the response is written as a binomial one (``cbind`` or ``trials``)."""
        return self.trials is not None or self.failures is not None

    def variables(self) -> tuple[tuple[str, ...], ...]:
        """Variables of the fixed and of the varying terms: every column name of each side,
        read off the grammar-checked text (a name not followed by ``(``; backquotes removed),
        so R's dotted names (``Sepal.Length``) are whole names."""
        out = []
        for rhs in (self.fixed, self.random):
            names = {m["quoted"] if m["quoted"] is not None else m["name"]
                     for m in _IDENT.finditer(rhs) if not m["call"]}
            out.append(tuple(sorted(names)))
        return tuple(out)


def _check_grammar(formula: str) -> str:
    """The one call site of the formula grammar check (nothing user-written is evaluated):
    :func:`replic.formula_grammar.check_formula`, returning the normalised formula."""
    return check_formula(formula, where="formula")


def parse_formula(formula: str) -> LmmFormula:
    """Parse an lme4 formula with exactly one random-effects term.

    Parameters
    ----------
    formula : str
        For example ``"Reaction ~ 1 + Days + (1 + Days | Subject)"``.

    Returns
    -------
    LmmFormula

    Raises
    ------
    ReplicInputError
        When the formula has no ``~``, no or several random-effects terms, ``||``, or a
        grouping expression that is not a plain column name.
    """
    if not isinstance(formula, str) or formula.count("~") != 1:
        raise ReplicInputError(f"formula={formula!r}; expected an lme4 formula such as "
                               "'y ~ 1 + x + (1 + x | g)'")
    formula = _check_grammar(formula)
    lhs, rhs = (s.strip() for s in formula.split("~"))
    trials: str | int | None = None
    failures = None
    if m := _CBIND.match(lhs):
        lhs, failures = m.group(1), m.group(2)
        if lhs == failures:
            raise ReplicInputError(f"formula={formula!r}: cbind(successes, failures) names the "
                                   f"same column {lhs!r} twice")
    elif m := _TRIALS.match(lhs):
        lhs, trials = m.group(1), (int(m.group(2)) if m.group(2).isdigit() else m.group(2))
    if not _NAME.match(lhs):
        raise ReplicInputError(f"formula={formula!r}: the response {lhs!r} must be a column "
                               "name, cbind(successes, failures) or successes | trials(n)")
    bars = _BAR.findall(rhs)
    if len(bars) != 1:
        raise ReplicInputError(f"formula={formula!r}: expected exactly one random-effects term "
                               f"'(terms | group)', found {len(bars)}")
    random, bar, group = (s.strip() for s in bars[0])
    if bar == "||":
        raise ReplicInputError(f"formula={formula!r}: '||' (uncorrelated random effects) is not "
                               "supported; use a single '(terms | group)'")
    if not _NAME.match(group):
        raise ReplicInputError(f"formula={formula!r}: the grouping factor {group!r} must be a "
                               "single column name")
    if not random:
        raise ReplicInputError(f"formula={formula!r}: the random-effects term has no terms "
                               "before '|'")
    fixed = _BAR.sub("", rhs)
    fixed = re.sub(r"\+\s*(?=\+|$)", "", re.sub(r"^\s*\+", "", fixed.strip())).strip()
    fixed = re.sub(r"\s*\+\s*$", "", fixed)
    if not fixed:
        fixed = "1"
    return LmmFormula(text=formula, response=lhs, fixed=fixed, random=random, group=group,
                      trials=trials, failures=failures)
