"""The formula grammar replic accepts, checked before any formula reaches an evaluator.

formulaic evaluates Python inside ``{...}`` and inside calls, so user text (study files, the
command line, API arguments, column names from data files) is checked against the lme4/brms
grammar researchers write, and anything else is refused with one :class:`ReplicInputError`
naming the argument and the offending token::

    formula  := response "~" sum
    response := name | "cbind(" name "," (name | name "-" name) ")"
              | name "|" "trials(" (name | integer) ")"
    sum      := ["-" "1" | item] (("+" item) | ("-" "1"))*
    item     := product | "(" bar_lhs ("|" | "||") group ")"    # bar terms at the top level only
    group    := name (":" name)*
    bar_lhs  := sum without bar terms
    product  := factor ((":" | "*") factor)*
    factor   := "0" | "1" | name | C(name) | factor(name) | I(name ^ number) | f(name)
                (I(name ** number) too: the normal form)
    f        := log | log2 | log10 | log1p | exp | sqrt | abs | scale | center
    name     := [A-Za-z.][A-Za-z0-9._]* (not ".", no "__") | `[A-Za-z0-9._ -]+` (backquoted)

Only printable ASCII, at most :data:`MAX_LENGTH` characters.  :func:`check_formula` returns the
formula in a normal form (``I(x^2)`` as ``I(x ** 2)``, dotted names inside calls backquoted,
``cbind(s, n - s)`` as ``s | trials(n)``); checking it again returns it unchanged.
:func:`formulaic_text` is that form as formulaic reads it (R's ``factor(x)`` is its ``C(x)``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from replic.errors import ReplicInputError

__all__ = ["MAX_LENGTH", "TRANSFORMS", "check_column_names", "check_formula", "check_name",
           "factor_calls", "formulaic_text"]

MAX_LENGTH = 1000
#: Numeric transforms allowed around a column name (formulaic/numpy functions of one column).
TRANSFORMS = ("log", "log2", "log10", "log1p", "exp", "sqrt", "abs", "scale", "center")
_FACTOR = ("C", "factor")
_EXPECTED = ("expected lme4/brms formula syntax: response ~ terms joined by + : * and - 1 "
             "(response: a column name, cbind(successes, failures), cbind(successes, n - "
             "successes) or successes | trials(n)), "
             "with column names, 0/1, C(x), factor(x), I(x^2), "
             f"{'/'.join(TRANSFORMS)}(x) and (terms | group)")
_TOKEN = re.compile(r"""
    (?P<space>[ \t]+)
  | (?P<name>[A-Za-z.][A-Za-z0-9._]*)
  | (?P<quoted>`[^`]*`)
  | (?P<number>[0-9]+(?:\.[0-9]+)?)
  | (?P<op>\|\||\*\*|[~+\-*:|()^,])
""", re.VERBOSE)
_QUOTED_OK = re.compile(r"[A-Za-z0-9._ -]+")
_PLAIN_NAME = re.compile(r"[A-Za-z.][A-Za-z0-9._]*")


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    pos: int


def _show(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _fail(where: str, text: str, what: str) -> ReplicInputError:
    return ReplicInputError(f"{where}: {_show(text)} is not a formula replic accepts: {what}; "
                            f"{_EXPECTED}")


def _precheck(text: object, where: str) -> str:
    if not isinstance(text, str):
        raise ReplicInputError(f"{where}: expected a formula string such as "
                               f"'y ~ 1 + x + (1 + x | g)', got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ReplicInputError(f"{where}: formula of {len(text)} characters; expected at most "
                               f"{MAX_LENGTH}")
    for i, ch in enumerate(text):
        if ch == "\t":
            continue
        if not " " <= ch <= "~":
            kind = "control character" if ord(ch) < 32 or ord(ch) == 127 else \
                "non-ASCII character"
            raise _fail(where, text, f"{kind} {ch!r} at character {i + 1}")
    return text


def _tokens(text: str, where: str) -> list[_Tok]:
    out, i = [], 0
    while i < len(text):
        m = _TOKEN.match(text, i)
        if m is None:
            raise _fail(where, text, f"unexpected {text[i]!r} at character {i + 1}")
        kind = m.lastgroup or ""
        if kind == "name" and ("__" in m.group() or m.group() == "."):
            raise _fail(where, text, f"name {m.group()!r} at character {i + 1} ('.' and names "
                        "with '__' are not allowed)")
        if kind == "quoted":
            inner = m.group()[1:-1]
            if not _QUOTED_OK.fullmatch(inner) or "__" in inner or not inner.strip():
                raise _fail(where, text, f"backquoted name {m.group()!r} at character {i + 1} "
                            "(allowed inside backquotes: letters, digits, space, '.', '_', '-')")
        if kind != "space":
            out.append(_Tok(kind, m.group(), i))
        i = m.end()
    out.append(_Tok("end", "", len(text)))
    return out


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.text, self.where = text, where
        self.toks = _tokens(text, where)
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def error(self, tok: _Tok, wanted: str) -> ReplicInputError:
        found = "the end of the formula" if tok.kind == "end" else \
            f"{tok.text!r} at character {tok.pos + 1}"
        return _fail(self.where, self.text, f"expected {wanted}, found {found}")

    def expect(self, text: str, wanted: str | None = None) -> _Tok:
        tok = self.take()
        if tok.text != text or tok.kind in ("name", "quoted", "number"):
            raise self.error(tok, wanted or repr(text))
        return tok

    def name(self, *, in_call: bool = False) -> str:
        tok = self.take()
        if tok.kind == "name":
            if self.peek().text == "(":
                raise self.error(tok, "a column name")
            # inside a call formulaic evaluates Python, where a.b would be attribute access
            return f"`{tok.text}`" if in_call and "." in tok.text else tok.text
        if tok.kind == "quoted":
            return tok.text
        raise self.error(tok, "a column name")

    def formula(self) -> str:
        response = self.response()
        self.expect("~", "'~' after the response")
        rhs = self.sum(top=True)
        tok = self.peek()
        if tok.kind != "end":
            raise self.error(tok, "'+', '-', ':' or '*' between terms")
        return f"{response} ~ {rhs}"

    def response(self) -> str:
        """A column name, lme4's ``cbind(successes, failures)`` or brms's ``successes |
        trials(n)`` (``n`` a column name or a positive integer)."""
        tok = self.peek()
        if tok.kind == "name" and tok.text == "cbind" and self.toks[self.i + 1].text == "(":
            self.take()
            self.expect("(")
            successes = self.name()
            self.expect(",", "',' between the two columns of cbind(successes, failures)")
            failures = self.name()
            if self.peek().text == "-":  # cbind(s, n - s): lme4's successes out of n trials
                minus = self.take()
                tok = self.peek()
                if self.name() != successes:
                    raise self.error(tok, f"the successes column {successes!r} after '-' "
                                     f"(cbind(successes, n - successes))")
                if failures == successes:
                    raise self.error(minus, "a trials column before '-' in cbind(successes, "
                                     "n - successes)")
                self.expect(")", "')' closing cbind(successes, n - successes)")
                return f"{successes} | trials({failures})"
            self.expect(")", "')' closing cbind(successes, failures)")
            return f"cbind({successes}, {failures})"
        name = self.name()
        if self.peek().text != "|":
            return name
        self.take()
        fn = self.take()
        if fn.kind != "name" or fn.text != "trials" or self.peek().text != "(":
            raise self.error(fn, "trials(n) after 'successes |' (brms's binomial response)")
        self.expect("(")
        arg = self.peek()
        if arg.kind == "number":
            self.take()
            if not arg.text.isdigit() or int(arg.text) < 1 or len(arg.text) > 9:
                raise self.error(arg, "a column name or a positive integer in trials(n)")
            n = arg.text
        else:
            n = self.name()
        self.expect(")", "')' closing trials(n)")
        return f"{name} | trials({n})"

    def sum(self, *, top: bool) -> str:
        parts: list[str] = []
        if self.peek().text == "-":
            self.take()
            parts.append("-1" if self.one() else "")
        else:
            parts.append(self.item(top=top))
        while self.peek().text in ("+", "-"):
            op = self.take().text
            if op == "-":
                self.one()
                parts.append("- 1")
            else:
                parts.append("+ " + self.item(top=top))
        return " ".join(parts)

    def one(self) -> bool:
        tok = self.take()
        if tok.kind != "number" or tok.text != "1":
            raise self.error(tok, "'1' after '-' (only '- 1' removes a term)")
        return True

    def item(self, *, top: bool) -> str:
        if self.peek().text == "(":
            tok = self.take()
            if not top:
                raise self.error(tok, "a term (parentheses only enclose a top-level "
                                      "random-effects term '(terms | group)')")
            lhs = self.sum(top=False)
            bar = self.take()
            if bar.text not in ("|", "||") or bar.kind != "op":
                raise self.error(bar, "'|' or '||' in a random-effects term '(terms | group)'")
            group = self.name()
            while self.peek().text == ":":  # (1 | g:h), lme4's interaction of two factors
                self.take()
                group += ":" + self.name()
            self.expect(")", "')' closing the random-effects term")
            return f"({lhs} {bar.text} {group})"
        return self.product()

    def product(self) -> str:
        out = self.factor()
        while self.peek().text in (":", "*"):
            op = self.take().text
            nxt = self.factor()
            if out in ("0", "1") or nxt in ("0", "1"):
                raise self.error(self.toks[self.i - 1], "a column name in an interaction")
            out += ":" + nxt if op == ":" else " * " + nxt
        return out

    def factor(self) -> str:
        tok = self.peek()
        if tok.kind == "number":
            self.take()
            if tok.text not in ("0", "1"):
                raise self.error(tok, "a term (numbers other than 0 and 1 are not terms)")
            return tok.text
        if tok.kind == "name" and self.toks[self.i + 1].text == "(":
            return self.call()
        if tok.kind in ("name", "quoted"):
            return self.name()
        raise self.error(tok, "a term")

    def call(self) -> str:
        fn = self.take()
        if fn.text not in (*TRANSFORMS, *_FACTOR, "I"):
            raise _fail(self.where, self.text, f"function {fn.text!r} at character "
                        f"{fn.pos + 1} is not allowed (allowed: "
                        f"{', '.join((*TRANSFORMS, *_FACTOR, 'I'))})")
        self.expect("(")
        arg = self.name(in_call=True)
        if fn.text == "I":
            op = self.take()  # I(x ** 2) is the normal form, so checking is idempotent
            if op.text not in ("^", "**"):
                raise self.error(op, "'^' in I(x^power)")
            power = self.take()
            if power.kind != "number" or len(power.text) > 6:
                raise self.error(power, "a number (at most 6 characters) in I(x^power)")
            self.expect(")", "')' closing I(x^power)")
            return f"I({arg} ** {power.text})"
        self.expect(")", f"')' closing {fn.text}(...) (one column name only)")
        return f"{fn.text}({arg})"


def check_formula(text: str, *, where: str) -> str:
    """Check ``text`` against replic's formula grammar before anything evaluates it.

    Parameters
    ----------
    text : str
        An lme4/brms formula, e.g. ``"Reaction ~ 1 + Days + (1 + Days | Subject)"``.
    where : str
        What the text is, for the message (``"formula"``, ``"study.toml: formula"``).

    Returns
    -------
    str
        The formula in normal form (single spaces; ``I(x^2)`` as ``I(x ** 2)``;
        ``cbind(s, n - s)`` as ``s | trials(n)``); :func:`formulaic_text` of it is what
        formulaic reads as lme4 reads the original.

    Raises
    ------
    ReplicInputError
        For anything outside the grammar (braces, strings, calls other than the whitelisted
        transforms, attribute access, ``__``, non-ASCII or control characters, more than
        :data:`MAX_LENGTH` characters), naming ``where`` and the offending token.
    """
    return _Parser(_precheck(text, where), where).formula()


_FACTOR_CALL = re.compile(r"(?<![A-Za-z0-9._`])(factor|C)\(\s*(`[^`]*`|[^()`\s]*)\s*\)")


def formulaic_text(normal: str) -> str:
    """A checked formula (or one side of it) as formulaic reads it: R's ``factor(x)`` is
    formulaic's ``C(x)`` (lme4 names the columns after the call as written; see
    :func:`replic.spec.names.as_written`)."""
    return _FACTOR_CALL.sub(lambda m: f"C({m[2]})", normal)


def factor_calls(normal: str) -> tuple[tuple[str, str], ...]:
    """The ``factor(x)`` and ``C(x)`` calls of a checked formula (or one side of it): pairs
    (function, column as written, backquoted where the normal form quotes it), in order."""
    return tuple((m[1], m[2]) for m in _FACTOR_CALL.finditer(normal))


def check_name(text: object, *, where: str) -> str:
    """Check that ``text`` is a plain column or coefficient name (``Days``, ``Days:Group``).

    Raises
    ------
    ReplicInputError
        When it is not a string of names joined by ``:`` (no calls, braces, ``__``, ...).
    """
    if not isinstance(text, str) or not text or len(text) > 200 or "__" in text or not all(
            _PLAIN_NAME.fullmatch(p) for p in text.split(":")):
        raise ReplicInputError(f"{where} = {_show(str(text))}: expected a column or coefficient "
                               "name (letters, digits, '.', '_', names joined by ':')")
    return text


def check_column_names(names: Iterable[object], *, where: str) -> None:
    """Refuse data-file column names that could smuggle code into a formula.

    Any printable name is allowed except those containing ``{``, ``}``, backquotes,
    backslashes, quotes, ``__`` or control characters.

    Raises
    ------
    ReplicInputError
        Naming the file and the first offending column.
    """
    for i, name in enumerate(names):
        s = str(name)
        if not s or not s.isprintable() or "__" in s or any(c in s for c in "{}`\\'\""):
            raise ReplicInputError(f"{where}: column {i + 1} is named {_show(s)}; expected a "
                                   "plain column name (no braces, quotes, backquotes, "
                                   "backslashes, '__' or control characters)")
