"""Names of model terms and parameters, in lme4's and brms's spelling: the one place they are made
and read.

Term names (columns of ``X`` and ``Z``): formulaic writes ``Sex[T.Male]``, ``age:Sex[T.Male]``,
``Type[T2]`` (full dummy coding); lme4 writes ``SexMale``, ``age:SexMale``, ``TypeT2`` and
``(Intercept)``.  brms takes lme4's names through its ``rename()`` (``(Intercept)`` becomes
``Intercept``, spaces and brackets vanish, ``-`` becomes ``M``, ``^`` ``E`` ...): replic's term
names are brms's.

Parameter names (brms ``as_draws_df`` columns): ``b_<term>``, ``sd_<group>__<term>``,
``cor_<group>__<term1>__<term2>``, ``sigma``, ``r_<group>[<level>,<term>]``.
:func:`parameter_names` makes them from terms; :func:`parse_parameter` turns a name back into
its kind, group, terms and level.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from replic.formula_grammar import factor_calls

__all__ = ["Parameter", "as_written", "b_name", "brms_term", "cor_name", "lme4_term",
           "parameter_names", "parse_parameter", "r_name", "sd_name"]

# brms 2.18 rename(): patterns replaced in order (fixed strings)
_BRMS_RENAME = ((" ", ""), ("(", ""), (")", ""), ("[", ""), ("]", ""), (",", ""), ('"', ""),
                ("'", ""), ("?", ""), ("+", "P"), ("-", "M"), ("*", "MU"), ("/", "D"),
                ("^", "E"), ("=", "EQ"))
_SYNTACTIC_QUOTED = re.compile(r"`([A-Za-z.][A-Za-z0-9._]*)`")
_CODED = re.compile(r"^(?P<var>.+?)\[(?:T\.)?(?P<level>.*)\]$", re.S)
_R_COL = re.compile(r"^r_(?P<group>[^\[]+)\[(?P<level>.+),(?P<term>[^,\]]+)\]$", re.S)


def _split_colon(name: str) -> list[str]:
    """Split a formulaic column name at the ``:`` outside brackets and parentheses."""
    parts, depth, cur = [], 0, ""
    for c in name:
        depth += c in "[("
        depth -= c in "])"
        if c == ":" and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    return [*parts, cur]


def lme4_term(column: str) -> str:
    """lme4's name of a formulaic column: ``Sex[T.Male]`` -> ``SexMale``, ``Intercept`` ->
    ``(Intercept)``, ``I(x ** 2)`` -> ``I(x^2)``, ``log(`Sepal.Length`)`` ->
    ``log(Sepal.Length)`` (R quotes only names that are not syntactic)."""
    if column == "Intercept":
        return "(Intercept)"
    out = []
    for part in _split_colon(column):
        m = _CODED.match(part)
        out.append(f"{m['var']}{m['level']}" if m else re.sub(r"\s*\*\*\s*", "^", part))
    return _SYNTACTIC_QUOTED.sub(r"\1", ":".join(out))   # log(`Sepal.Length`) as R: no quotes


def as_written(lme4_name: str, rhs: str) -> str:
    """An lme4 name with formulaic's ``C(x)`` spelt ``factor(x)`` where the formula's side
    ``rhs`` writes the call so: lme4 names a column after the call as written
    (``factor(period)2``; brms: ``factorperiod2``), formulaic reads both as ``C(x)``."""
    for var in dict.fromkeys(_SYNTACTIC_QUOTED.sub(r"\1", v) for fn, v in factor_calls(rhs)
                             if fn == "factor"):
        lme4_name = re.sub(rf"(?<![A-Za-z0-9._`])C\({re.escape(var)}\)", f"factor({var})",
                           lme4_name)
    return lme4_name


def brms_term(lme4_name: str) -> str:
    """brms's name of an lme4 term (brms's ``rename()``): ``(Intercept)`` -> ``Intercept``."""
    out = lme4_name
    for pat, rep in _BRMS_RENAME:
        out = out.replace(pat, rep)
    return out


def b_name(term: str) -> str:
    """``b_<term>``."""
    return f"b_{term}"


def sd_name(group: str, term: str) -> str:
    """``sd_<group>__<term>``."""
    return f"sd_{group}__{term}"


def cor_name(group: str, term1: str, term2: str) -> str:
    """``cor_<group>__<term1>__<term2>``."""
    return f"cor_{group}__{term1}__{term2}"


def r_name(group: str, level: str, term: str) -> str:
    """``r_<group>[<level>,<term>]``."""
    return f"r_{group}[{level},{term}]"


@dataclass(frozen=True)
class Parameter:
    """A brms parameter name read back.

    Attributes
    ----------
    kind : {"b", "sd", "cor", "sigma", "r"}
    group : str or None
    terms : tuple of str
        One term (``b``, ``sd``, ``r``), two (``cor``) or none (``sigma``).
    level : str or None
        The group level of an ``r`` parameter.
    index : tuple of int
        Position of the term(s) among ``fixed`` (``b``) or ``varying`` (``sd``, ``cor``, ``r``).
    """

    kind: str
    group: str | None = None
    terms: tuple[str, ...] = ()
    level: str | None = None
    index: tuple[int, ...] = ()


def parameter_names(fixed: tuple[str, ...], varying: tuple[str, ...], group: str, *,
                    levels: tuple[str, ...] = ()) -> list[str]:
    """Every brms parameter name of the model, in brms's column order (``b``, ``sd``, ``cor``,
    ``sigma``, ``r`` level by level)."""
    names = [b_name(t) for t in fixed] + [sd_name(group, t) for t in varying]
    names += [cor_name(group, a, b) for i, a in enumerate(varying) for b in varying[i + 1:]]
    names.append("sigma")
    names += [r_name(group, lv, t) for t in varying for lv in levels]
    return names


def parse_parameter(name: str, *, fixed: tuple[str, ...] = (), varying: tuple[str, ...] = (),
                    group: str | None = None) -> Parameter | None:
    """Read a brms parameter name; None when it is not one of the model's parameters.

    With ``fixed``/``varying``/``group`` given, the terms must be the model's (this also splits
    ``cor_g__a__b`` unambiguously when term names contain ``__``).  Without them, ``b_``,
    ``sd_``, ``cor_`` and ``r_`` names are split at the first ``__`` (the group) and, for
    ``cor_``, at the remaining ``__``.
    """
    if name == "sigma":
        return Parameter("sigma")
    if name.startswith("b_"):
        term = name[2:]
        if fixed and term not in fixed:
            return None
        return Parameter("b", terms=(term,), index=(fixed.index(term),) if fixed else ())
    m = _R_COL.match(name)
    if m:
        if (group is not None and m["group"] != group) or (varying and m["term"] not in varying):
            return None
        return Parameter("r", m["group"], (m["term"],), m["level"],
                         (varying.index(m["term"]),) if varying else ())
    for kind in ("sd", "cor"):
        if not name.startswith(f"{kind}_") or "__" not in name:
            continue
        g, rest = name[len(kind) + 1:].split("__", 1)
        if group is not None and g != group:
            return None
        if kind == "sd":
            if varying and rest not in varying:
                return None
            return Parameter("sd", g, (rest,), index=(varying.index(rest),) if varying else ())
        pairs = ([(a, b) for i, a in enumerate(varying) for b in varying[i + 1:]] if varying
                 else [tuple(rest.split("__", 1))] if "__" in rest else [])
        for a, b in pairs:
            if rest == f"{a}__{b}":
                idx = (varying.index(a), varying.index(b)) if varying else ()
                return Parameter("cor", g, (a, b), index=idx)
        return None
    return None
