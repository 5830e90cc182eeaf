"""Replication designs: a data set of k new subjects, observed how, allocated how, under which
parameters.

A :class:`Design` is the user's experiment: ``k`` new subjects, each observed at the rows of a
within-subject template (any number of rows, repeats allowed), allocated to between-subject
groups in given proportions, with subject-level covariates resampled from the original subjects
or drawn from a stated distribution, observations missing at random, and the parameters the data
are simulated from.  Everything that defines it enters its :attr:`~Design.key` (the seed of its
random numbers) and its :attr:`~Design.label` (its row in every table): two designs that differ
in anything are two rows.  New subjects' design matrices are built by :mod:`replic.newsubjects`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError

__all__ = ["ORIGINAL", "Design", "allocate"]

_MODES = ("posterior", "mean", "median")
_DISTRIBUTIONS = {"normal": 2, "uniform": 2}
#: ``within=ORIGINAL``: each new subject is observed like an original subject, resampled whole.
ORIGINAL = "original"

Column = tuple[str, tuple]


def allocate(k: int, proportions: Sequence[float]) -> np.ndarray:
    """Numbers of subjects per group: exact allocation by the largest-remainder rule.

    Group ``g`` first gets ``floor(k p_g)`` subjects; the subjects left over go one each to the
    groups with the largest remainders ``k p_g - floor(k p_g)``, ties to the earlier group (groups
    in sorted level order).  So ``k = 9`` at 50/50 gives 5 and 4; the counts always sum to ``k``.
    """
    p = np.asarray(proportions, dtype=float)
    base = np.floor(k * p + 1e-9).astype(int)
    rest = k - int(base.sum())
    order = np.argsort(-(k * p - base), kind="stable")
    base[order[:rest]] += 1
    return base


def _values(v: object, where: str) -> tuple:
    vals = list(np.asarray(v, dtype=object).ravel()) if not isinstance(v, str) else None
    if vals is None or not vals:
        raise ReplicInputError(f"{where}: expected a non-empty sequence of values")
    out = []
    for x in vals:
        if isinstance(x, bool | np.bool_):
            out.append(str(x))
        elif isinstance(x, int | float | np.integer | np.floating):
            if not np.isfinite(float(x)):
                raise ReplicInputError(f"{where}: {x!r} is not a finite number")
            out.append(float(x))
        elif isinstance(x, str):
            out.append(x)
        else:
            raise ReplicInputError(f"{where}: {x!r}; expected numbers or text")
    if len({type(x) for x in out}) > 1:
        raise ReplicInputError(f"{where}: mixes numbers and text")
    return tuple(out)


def _within(within: object) -> tuple[Column, ...] | int | str | None:
    """Canonical within-subject template: columns with rows sorted (row order is irrelevant)."""
    if within is None or (isinstance(within, str) and within == ORIGINAL):
        return within  # type: ignore[return-value]
    if isinstance(within, tuple) and all(isinstance(c, tuple) and len(c) == 2 for c in within):
        within = dict(within)  # the canonical form itself
    if isinstance(within, int | np.integer) and not isinstance(within, bool):
        if within < 1:
            raise ReplicInputError(f"Design: within={within!r}; expected a positive number of "
                                   "observations per subject")
        return int(within)
    if isinstance(within, pd.DataFrame):
        cols = {str(c): within[c].tolist() for c in within.columns}
    elif isinstance(within, Mapping):
        cols = {str(c): v for c, v in within.items()}
    else:
        raise ReplicInputError(f"Design: within={within!r}; expected a DataFrame or a mapping of "
                               "column names to values (one subject's rows), a number of rows, or "
                               f"{ORIGINAL!r}")
    if not cols:
        raise ReplicInputError("Design: within has no columns")
    vals = {c: _values(v, f"Design within column {c!r}") for c, v in cols.items()}
    n = {len(v) for v in vals.values()}
    if len(n) != 1:
        raise ReplicInputError(f"Design: within columns have different lengths "
                               f"{ {c: len(v) for c, v in vals.items()} }")
    names = sorted(vals)
    rows = sorted(zip(*(vals[c] for c in names), strict=True), key=repr)
    return tuple((c, tuple(r[i] for r in rows)) for i, c in enumerate(names))


def _between(between: object) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    if between is None:
        return ()
    if isinstance(between, tuple):  # the canonical form itself
        between = {v: dict(levels) for v, levels in between}
    if not isinstance(between, Mapping):
        raise ReplicInputError(f"Design: between={between!r}; expected a mapping such as "
                               "{'Sex': {'Female': 0.5, 'Male': 0.5}}")
    out = []
    for var, props in sorted(between.items()):
        if not isinstance(props, Mapping) or len(props) < 2:
            raise ReplicInputError(f"Design: between[{var!r}]={props!r}; expected a mapping of at "
                                   "least two levels to proportions")
        try:
            levels = tuple(sorted((str(lv), float(p)) for lv, p in props.items()))
        except (TypeError, ValueError):
            raise ReplicInputError(f"Design: between[{var!r}]: proportions must be numbers") \
                from None
        ps = np.array([p for _, p in levels])
        if np.any(~np.isfinite(ps)) or np.any(ps < 0) or abs(ps.sum() - 1) > 1e-6:
            raise ReplicInputError(f"Design: between[{var!r}]={dict(props)}; expected "
                                   "non-negative proportions summing to 1")
        out.append((str(var), levels))
    return tuple(out)


def _covariates(cov: object) -> tuple[tuple[str, tuple], ...]:
    if cov is None:
        return ()
    if isinstance(cov, tuple):  # the canonical form itself
        cov = dict(cov)
    if not isinstance(cov, Mapping):
        raise ReplicInputError(f"Design: covariates={cov!r}; expected a mapping such as "
                               "{'baseline': ('normal', 50, 10)}")
    out = []
    for var, spec in sorted(cov.items()):
        if isinstance(spec, Mapping) and len(spec) == 1:
            ((name, args),) = spec.items()
            spec = (name, *np.atleast_1d(args).tolist())
        if (isinstance(spec, Sequence) and not isinstance(spec, str) and spec
                and spec[0] in _DISTRIBUTIONS and len(spec) == 1 + _DISTRIBUTIONS[spec[0]]):
            try:
                a, b = float(spec[1]), float(spec[2])
            except (TypeError, ValueError):
                a = b = float("nan")
            if np.isfinite(a) and np.isfinite(b) and b > (0 if spec[0] == "normal" else a):
                out.append((str(var), (spec[0], a, b)))
                continue
        raise ReplicInputError(f"Design: covariates[{var!r}]={spec!r}; expected ('normal', mean, "
                               "sd) or ('uniform', low, high)")
    return tuple(out)


@dataclass(frozen=True)
class Design:
    """A replication experiment with ``k`` new subjects.

    Parameters
    ----------
    k : int
        Number of new subjects (at least 2).
    x : sequence of float, optional
        Shorthand for a one-column template: the values of the studied term's variable at
        which each subject is observed, repeats allowed (sleepstudy: Days 0..9; 20 trials per
        condition: ``[0] * 20 + [1] * 20``).
    within : DataFrame, mapping, int or "original", optional
        One subject's rows: a DataFrame (or mapping of column name to values) with every
        within-subject variable of the model, any number of rows; an int for models without
        within-subject variables (observations per subject); ``"original"`` for the original
        subjects' own observation patterns, resampled whole.  Default (neither ``x`` nor
        ``within``): the original subjects' patterns when the posterior carries its data.
    between : mapping, optional
        Between-subject allocation, ``{"Sex": {"Female": 0.5, "Male": 0.5}}``: the subjects are
        allocated to levels exactly by :func:`allocate` (largest remainder).
    covariates : mapping, optional
        Subject-level covariates drawn from a distribution, ``{"baseline": ("normal", 50,
        10)}`` or ``("uniform", lo, hi)``; subject-level variables given neither here nor in
        ``between`` are resampled from the original subjects.
    missing : float
        Probability that each observation is missing (completely at random), in [0, 1).
    dropout : float
        Probability that a subject is lost after each session (missing at random, so
        missingness is monotone): a subject is observed at its first row (of ``x`` or the
        template, in order) and at the ``t``-th with probability ``(1 - dropout) ** t``.
    params : str or mapping
        ``"posterior"``: each replicate uses one posterior draw (assurance); ``"mean"`` /
        ``"median"``: the posterior mean or median (conditional power); a mapping of brms
        parameter names to values (``{"b_Days": 3.0}``), the rest from the posterior mean.
    trials : int, optional
        Binomial models: the number of trials of every observation (otherwise the model's
        trials column, given in ``within`` or taken with the original subjects' rows).
    name : str, optional
        A label to show instead of the generated one (not part of the design's identity).
    x_name : str
        The variable ``x`` stands for, in labels (set by :func:`replic.study.resolve_designs`).
    tag : str
        Appended to the label and family to tell apart designs whose generated labels
        coincide (set by :func:`replic.study.resolve_designs`; not part of the identity).
    """

    k: int
    x: tuple[float, ...] | None = None
    within: tuple[Column, ...] | int | str | None = None
    between: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    covariates: tuple[tuple[str, tuple], ...] = ()
    missing: float = 0.0
    params: str | tuple[tuple[str, float], ...] = "posterior"
    dropout: float = 0.0
    name: str | None = None
    x_name: str = "x"
    tag: str = ""
    trials: int | None = None

    def __init__(self, k: int, *, x: Sequence[float] | None = None, within: object = None,
                 between: Mapping | None = None, covariates: Mapping | None = None,
                 missing: float = 0.0, params: str | Mapping[str, float] | tuple = "posterior",
                 name: str | None = None, x_name: str = "x", tag: str = "",
                 dropout: float = 0.0, trials: int | None = None) -> None:
        if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 2:
            raise ReplicInputError(f"Design: k={k!r}; expected an integer number of new subjects "
                                   ">= 2 (a replication's effect needs at least two subjects)")
        xs = None
        if isinstance(x, str | bytes):  # a string is a sequence of characters, not numbers
            raise ReplicInputError(f"Design: x={x!r}; expected a sequence of numbers")
        if x is not None:
            try:
                xs = tuple(float(v) for v in x)
            except (TypeError, ValueError):
                raise ReplicInputError(f"Design: x={x!r}; expected a sequence of numbers") from None
            if not xs or not np.all(np.isfinite(xs)):
                raise ReplicInputError(f"Design: x={x!r}; expected a non-empty sequence of "
                                       "finite values of the term")
            if within is not None:
                raise ReplicInputError("Design: give x (the term's values) or within (one "
                                       "subject's rows), not both")
        if not (isinstance(missing, int | float) and not isinstance(missing, bool)
                and 0.0 <= float(missing) < 1.0):
            raise ReplicInputError(f"Design: missing={missing!r}; expected a probability in [0, 1)")
        if isinstance(dropout, bool) or not (isinstance(dropout, int | float)
                                             and 0.0 <= float(dropout) < 1.0):
            raise ReplicInputError(f"Design: dropout={dropout!r}; expected a probability in "
                                   "[0, 1) that a subject is lost after each session")
        if isinstance(params, str):
            if params not in _MODES:
                raise ReplicInputError(f"Design: params={params!r}; expected one of {_MODES} or a "
                                       "mapping of brms parameter names to values")
            p: str | tuple = params
        else:
            try:
                p = tuple(sorted((str(n), float(v)) for n, v in dict(params).items()))
                if not np.all(np.isfinite([v for _, v in p])):
                    raise ValueError("not finite")
            except (TypeError, ValueError):
                raise ReplicInputError(f"Design: params={params!r}; expected a mapping of brms "
                                       "parameter names to finite numbers") from None
        if trials is not None and (isinstance(trials, bool) or not isinstance(
                trials, int | np.integer) or not 1 <= trials <= 10**9):
            raise ReplicInputError(f"Design: trials={trials!r}; expected a positive integer "
                                   "number of trials per observation (binomial models)")
        between_c, cov_c = _between(between), _covariates(covariates)
        clash = {v for v, _ in between_c} & {v for v, _ in cov_c}
        if clash:
            raise ReplicInputError(f"Design: {', '.join(sorted(clash))} given both in between and "
                                   "covariates")
        for attr, value in (("k", int(k)), ("x", xs), ("within", _within(within)),
                            ("between", between_c), ("covariates", cov_c),
                            ("missing", float(missing)), ("params", p),
                            ("dropout", float(dropout)),
                            ("name", None if name is None else str(name)),
                            ("x_name", str(x_name)), ("tag", str(tag)),
                            ("trials", None if trials is None else int(trials))):
            object.__setattr__(self, attr, value)

    @property
    def balanced(self) -> bool:
        """True when no observation is missing by design (no missingness, no dropout)."""
        return self.missing == 0.0 and self.dropout == 0.0

    @property
    def resolved(self) -> bool:
        """True when the design says how each subject is observed (``x`` or ``within``)."""
        return self.x is not None or self.within is not None

    @cached_property
    def key(self) -> int:
        """A stable 32-bit key of what the design is (not where it sits in a grid).

        It seeds the design's random numbers, so adding a design to a study leaves the others'
        numbers unchanged.  Designs given by ``k`` and ``x`` alone keep the key they always had.
        """
        if self.within is None and not self.between and not self.covariates:
            spec = [self.k, self.x, self.missing, self.params]
        else:
            spec = [self.k, self.x, self.within, self.between, self.covariates, self.missing,
                    self.params]
        if self.dropout:  # appended only when set: designs without dropout keep their keys
            spec.append(["dropout", self.dropout])
        if self.trials is not None:  # likewise
            spec.append(["trials", self.trials])
        text = json.dumps(spec, sort_keys=True)
        return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")

    @property
    def family(self) -> str:
        """The label without ``k``: designs of one family form one curve over k."""
        parts = []
        if self.x is not None:
            parts.append(describe(self.x_name, self.x))
        elif isinstance(self.within, tuple):
            parts.append("; ".join(describe(c, v) for c, v in self.within))
        elif isinstance(self.within, int):
            parts.append(f"{self.within} obs")
        elif self.within == ORIGINAL:
            parts.append("original patterns")
        for var, levels in self.between:
            ps = [100 * p for _, p in levels]
            if len(set(ps)) == 1:
                parts.append(f"{var} " + "/".join(f"{p:.0f}" for p in ps))
            else:
                parts.append(f"{var} " + "/".join(f"{lv} {p:g}" for lv, p in levels))
        for var, (dist, a, b) in self.covariates:
            parts.append(f"{var}~{dist}({a:g}, {b:g})")
        if self.missing:
            parts.append(f"missing={self.missing:g}")
        if self.dropout:
            parts.append(f"dropout={self.dropout:g}")
        if self.trials is not None:
            parts.append(f"trials={self.trials}")
        if self.params != "posterior":
            parts.append("params=" + (self.params if isinstance(self.params, str) else
                                       ",".join(f"{n}={v:g}" for n, v in self.params)))
        if self.tag:
            parts.append(f"#{self.tag}")
        return ", ".join(parts)

    @property
    def label(self) -> str:
        """Human label, e.g. ``k=8, Days 0–3`` or ``k=16, Sex 50/50`` (or ``name``)."""
        if self.name:
            return self.name
        return ", ".join(p for p in (f"k={self.k}", self.family) if p)

    def with_x(self, x: Sequence[float]) -> Design:
        """The same design observed at ``x`` (unchanged when it already says how)."""
        return replace(self, x=tuple(float(v) for v in x)) if not self.resolved else self

    def named(self, name: str) -> Design:
        """The same design shown as ``name``."""
        return replace(self, name=name)

    def with_x_name(self, name: str) -> Design:
        """The same design, its ``x`` shown as the values of ``name``."""
        return replace(self, x_name=str(name))

    def tagged(self, tag: str) -> Design:
        """The same design with ``tag`` appended to its label and family."""
        return replace(self, tag=str(tag))


def describe(name: str, values: Sequence) -> str:
    """``Days 0–9``, ``cond 0,1 ×20``, ``Days 0,2,5``: a column of a template in a few words.

    Lossless for consecutive integers and short value lists with equal repeat counts; longer or
    irregular columns add their row count.
    """
    vals = list(values)
    uniq, counts = np.unique(np.asarray(vals, dtype=object).astype(str) if isinstance(
        vals[0], str) else np.asarray(vals, dtype=float), return_counts=True)
    if isinstance(vals[0], str):
        text = ",".join(map(str, uniq))
    else:
        u = uniq.astype(float)
        ints = np.all(u == np.round(u))
        if ints and u.size >= 3 and np.all(np.diff(u) == 1):
            text = f"{u[0]:g}–{u[-1]:g}"
        elif u.size <= 6:
            text = ",".join(f"{v:g}" for v in u)
        else:
            text = f"{u[0]:g}…{u[-1]:g} ({u.size} values)"
    if np.all(counts == counts[0]):
        if counts[0] > 1:
            text += f" ×{counts[0]}"
    else:
        text += f" ({len(vals)} rows)"
    return f"{name} {text}"
