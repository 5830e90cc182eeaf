"""The model specification every engine and the simulator build their matrices through, and the
one holder of a data set's matrices under every engine.

:class:`ModelSpec` records every encoding decision of an LMM or GLMM with one grouping factor:
the formula's response, fixed and varying terms and grouping factor, the family, the level order
of every factor (R's, :mod:`replic.spec.levels`), the missing-value policy (lme4's and brms's:
rows with a missing value in a used column are dropped and counted) and the term names (lme4's
and brms's spelling, :mod:`replic.spec.names`).  :meth:`ModelSpec.bind` learns the levels from a
data set and returns its :class:`ModelData`; the bound spec then materialises design matrices for
rows it has never seen (:meth:`ModelSpec.design`: new subjects of a replication design) with the
same columns, names and level order.  Matrices are built by formulaic on the spec's encoding.
:class:`ModelData` is what every engine fits (REML, glmer's Laplace, bayes-fast, Stan): a bound
data set, or (:meth:`ModelData.of_arrays`) matrices built elsewhere, such as a replicate's new
subjects, named by a spec that only carries the names (:meth:`ModelSpec.named`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd

from replic.errors import ReplicInputError
from replic.family import GAUSSIAN, Family
from replic.spec.formula import LmmFormula, parse_formula
from replic.spec.levels import as_factors, called_factors, is_categorical, level_label, r_levels
from replic.spec.names import as_written, brms_term, lme4_term
from replic.spec.response import (
    check_trials_given,
    read_trials,
    response_family,
    response_values,
    trials_columns,
)

__all__ = ["DesignMatrices", "ModelData", "ModelSpec"]

@dataclass(frozen=True)
class DesignMatrices:
    """Design matrices of some rows: ``X`` (N, P) and ``Z`` (N, Q), columns named as the spec's
    ``fixed`` and ``varying``; ``trials`` (N,) for a binomial model whose trials the rows give
    (the formula's ``trials(n)`` column or number, or ``cbind``'s successes + failures), else
    None."""

    X: np.ndarray = field(compare=False)
    Z: np.ndarray = field(compare=False)
    fixed: tuple[str, ...]
    varying: tuple[str, ...]
    trials: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True)
class ModelSpec:
    """An LMM or GLMM with one grouping factor and all its encoding decisions (frozen, hashable).

    Attributes
    ----------
    formula : str
        The formula as given (lme4/brms syntax).
    response, group : str
        Response and grouping-factor columns.
    fixed_formula, random_formula : str
        Right-hand sides of the fixed part and of the varying part (formulaic syntax).
    family : Family
        Response family and link (:class:`replic.family.Family`); :attr:`link` is its link.
    trials : str or int, optional
        Binomial: the trials column (or fixed number) of ``successes | trials(n)``.
    failures : str, optional
        Binomial: the failures column of ``cbind(successes, failures)``.
    factors : tuple of (str, tuple)
        Each categorical variable of the terms with its levels in R's order (bound specs).
    group_levels : tuple of str
        Levels of the grouping factor in R's order, as R prints them (bound specs).
    fixed, varying : tuple of str
        brms names of the columns of ``X`` and ``Z`` (``Intercept``, ``SexMale``,
        ``age:SexMale``) (bound specs).
    lme4_fixed : tuple of str
        lme4's names of the columns of ``X`` (``(Intercept)``, ...).
    """

    formula: str
    response: str
    group: str
    fixed_formula: str
    random_formula: str
    family: Family = GAUSSIAN
    trials: str | int | None = None
    failures: str | None = None
    factors: tuple[tuple[str, tuple], ...] = ()
    group_levels: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    varying: tuple[str, ...] = ()
    lme4_fixed: tuple[str, ...] = ()
    _encoders: tuple = field(default=(), compare=False, repr=False)

    @classmethod
    def parse(cls, formula: str | LmmFormula, *, family: str | Family | None = None,
              link: str | None = None) -> ModelSpec:
        """An unbound spec of ``formula`` (lme4 syntax, one ``(terms | group)`` term).

        ``family`` (:meth:`replic.family.Family.of`: ``"bernoulli"``, ``"binomial"``,
        ``"poisson"``, default Gaussian, or binomial for a ``cbind``/``trials`` response) and
        ``link`` (default: the family's first).  Which engines fit which family is the
        analyses' business (they refuse clearly); the spec only records it.
        """
        f = formula if isinstance(formula, LmmFormula) else parse_formula(formula)
        fam = response_family(f, family, link)
        return cls(formula=f.text, response=f.response, group=f.group, fixed_formula=f.fixed,
                   random_formula=f.random, family=fam, trials=f.trials, failures=f.failures)

    @classmethod
    def from_terms(cls, fixed: tuple[str, ...], varying: tuple[str, ...], group: str, *,
                   response: str = "y", family: Family = GAUSSIAN) -> ModelSpec:
        """A bound spec of a model known only by its brms term names (draws without data).

        Every term but ``Intercept`` must be a numeric column or an interaction of numeric
        columns (``Days``, ``x:z``); factor terms (``SexMale``) need the data.  The spec's
        ``fixed``/``varying`` hold the same names, possibly in another order (formulaic orders
        terms by degree).
        """
        import re

        ident = re.compile(r"[A-Za-z.][A-Za-z0-9._]*")
        for t in (*fixed, *varying):
            if t != "Intercept" and not all(ident.fullmatch(p) for p in t.split(":")):
                raise ReplicInputError(f"term {t!r}: replic needs the model's formula and data "
                                       "to build designs for terms other than numeric columns "
                                       "and their interactions")

        columns = sorted({p for t in (*fixed, *varying) if t != "Intercept"
                          for p in t.split(":")})
        rng = np.random.default_rng(0)
        n = 4 * (len(fixed) + len(varying) + 2)
        data = pd.DataFrame({response: rng.standard_normal(n), group: np.arange(n) % 3,
                             **{c: rng.standard_normal(n) for c in columns}})
        spec = cls.parse(f"{response} ~ {_rhs(fixed)} + ({_rhs(varying)} | {group})").bind(
            data).spec
        spec = replace(spec, family=family)
        if set(spec.fixed) != set(fixed) or set(spec.varying) != set(varying):
            raise ReplicInputError(f"terms {fixed} / {varying}: formulaic names them "
                                   f"{spec.fixed} / {spec.varying}")
        return replace(spec, group_levels=())

    @classmethod
    def named(cls, fixed: tuple[str, ...], varying: tuple[str, ...], group: str,
              levels: tuple[str, ...], *, response: str = "y",
              family: Family = GAUSSIAN) -> ModelSpec:
        """A spec that only names the columns of matrices built elsewhere (brms term names, the
        grouping factor and its levels): it has no encoders, so it builds no designs.  Its
        formula is written from the names (``y ~ 1 + Days + (1 + Days | subject)``)."""
        f, r = _rhs(fixed), _rhs(varying)
        return cls(formula=f"{response} ~ {f} + ({r} | {group})", response=response,
                   group=group, fixed_formula=f, random_formula=r, family=family,
                   group_levels=tuple(levels), fixed=tuple(fixed), varying=tuple(varying))

    @property
    def bound(self) -> bool:
        """True once :meth:`bind` has fixed the levels and names."""
        return bool(self._encoders)

    @property
    def link(self) -> str:
        """The link function's name (``family.link``)."""
        return self.family.link

    @property
    def trials_columns(self) -> tuple[str, ...]:
        """Data columns the binomial trials come from (``trials(n)``'s column, or cbind's
        successes and failures); empty otherwise."""
        return trials_columns(self.response, self.trials, self.failures)

    @property
    def parsed(self) -> LmmFormula:
        """The parsed formula."""
        return LmmFormula(text=self.formula, response=self.response, fixed=self.fixed_formula,
                          random=self.random_formula, group=self.group, trials=self.trials,
                          failures=self.failures)

    def variables(self) -> tuple[tuple[str, ...], ...]:
        """Variables of the fixed and of the varying terms (:meth:`LmmFormula.variables`)."""
        return self.parsed.variables()

    def bind(self, data: pd.DataFrame, *, source: str = "data") -> ModelData:
        """Learn levels and names from ``data`` and build its matrices.

        Rows with a missing value in any used column (response, grouping factor, variables of
        the terms) are dropped, as lme4 and brms do; :attr:`ModelData.n_dropped` counts them.

        Raises
        ------
        ReplicInputError
            ``data`` not a DataFrame, a missing column, a non-numeric response, no complete
            rows, terms formulaic cannot build, or a rank-deficient fixed-effect design.
        """
        from replic.spec.rcoding import check_full_rank, model_matrix

        if not isinstance(data, pd.DataFrame):
            raise ReplicInputError(f"{source}: expected a pandas DataFrame, got "
                                   f"{type(data).__name__}")
        cols = ", ".join(map(str, data.columns))
        for col, role in ((self.response, "response"), (self.group, "grouping factor")):
            if col not in data.columns:
                raise ReplicInputError(f"formula={self.formula!r}: column {col!r} ({role}) is "
                                       f"not in the {source}; columns are {cols}")
        fixed_vars, random_vars = self.variables()
        for names, what in ((fixed_vars, "fixed-effect"), (random_vars, "random-effect")):
            for var in names:
                if var not in data.columns:
                    raise ReplicInputError(f"formula={self.formula!r}: column {var!r} ({what}) "
                                           f"is not in the {source}; columns are {cols}")
        extra = check_trials_given(self.formula, self.family, self.trials, self.failures,
                                   data.columns, source)
        used = list(dict.fromkeys([self.response, self.group, *extra, *fixed_vars,
                                   *random_vars]))
        complete = data[used].notna().all(axis=1).to_numpy()
        df = data.loc[complete].reset_index(drop=True)
        y = response_values(data, df, self.response, used, source)
        trials = read_trials(df, self.response, self.trials, self.failures, source)
        self.family.check_response(y, trials=trials,
                                   where=f"{source}: column {self.response!r} (response)")
        variables = [v for v in dict.fromkeys([*fixed_vars, *random_vars])]
        factors = tuple((v, r_levels(df[v])) for v in variables if is_categorical(df[v]))
        glevels = r_levels(df[self.group])
        spec = replace(self, factors=factors,
                       group_levels=tuple(level_label(v) for v in glevels))
        called = f"{self.fixed_formula} + {self.random_formula}"
        prepared = called_factors(as_factors(df, spec.factors), called)
        encoders, mats, names = [], [], []
        for rhs, what in ((self.fixed_formula, "fixed-effect"),
                          (self.random_formula, "random-effect")):
            mm = model_matrix(rhs, prepared, self.formula, what)
            encoders.append(mm.model_spec)
            mats.append(np.asarray(mm, dtype=float))
            names.append(tuple(str(c) for c in mm.columns))
        lme4 = tuple(as_written(lme4_term(c), self.fixed_formula) for c in names[0])
        fixed = tuple(brms_term(n) for n in lme4)
        varying = tuple(brms_term(as_written(lme4_term(c), self.random_formula))
                        for c in names[1])
        for what, nm in (("fixed-effect", fixed), ("varying", varying)):
            if len(set(nm)) != len(nm):
                raise ReplicInputError(f"formula={self.formula!r}: the {what} terms {nm} are "
                                       "not distinct after brms's renaming")
        spec = replace(spec, fixed=fixed, varying=varying, lme4_fixed=lme4,
                       _encoders=tuple(encoders))
        X, Z = mats
        check_full_rank(X, lme4, self.formula)
        codes = pd.Categorical(df[self.group], categories=list(glevels)).codes.astype(int)
        return ModelData(spec=spec, y=y, X=X, Z=Z, codes=codes, data=df,
                         rows=np.flatnonzero(complete), n_dropped=int((~complete).sum()),
                         trials=trials)

    def design(self, rows: pd.DataFrame, *, where: str = "design") -> DesignMatrices:
        """``X`` and ``Z`` of ``rows`` (e.g. one new subject's observations) with this spec's
        encoding: same columns, names, level order and transform state as the bound data.

        Parameters
        ----------
        rows : DataFrame
            Every variable of the terms (the response and grouping factor are not needed).
        where : str
            What the rows are, for error messages.

        Raises
        ------
        ReplicInputError
            Unbound spec, a missing column or value, or a level the bound data did not have.
        """
        if not self.bound:
            raise ReplicInputError(f"{where}: the model specification of {self.formula!r} has "
                                   "not been bound to data; call ModelSpec.bind(data) first")
        if not isinstance(rows, pd.DataFrame):
            raise ReplicInputError(f"{where}: expected a pandas DataFrame of rows, got "
                                   f"{type(rows).__name__}")
        fixed_vars, random_vars = self.variables()
        variables = list(dict.fromkeys([*fixed_vars, *random_vars, *(v for v, _ in self.factors)]))
        for v in variables:
            if v not in rows.columns:
                raise ReplicInputError(f"{where}: column {v!r} (used by {self.formula!r}) is "
                                       f"missing; columns are {', '.join(map(str, rows.columns))}")
            if rows[v].isna().any():
                raise ReplicInputError(f"{where}: column {v!r} has {int(rows[v].isna().sum())} "
                                       "missing value(s); a design needs every value")
        prepared = called_factors(as_factors(rows.reset_index(drop=True), self.factors,
                                             where=where),
                                  f"{self.fixed_formula} + {self.random_formula}")
        import replic.spec.rcoding  # noqa: F401 (registers R's coding, named in the encoders)

        mats = []
        for enc, what in zip(self._encoders, ("fixed-effect", "random-effect"), strict=True):
            try:
                mats.append(np.asarray(enc.get_model_matrix(prepared, na_action="raise"),
                                       dtype=float))
            except Exception as exc:  # formulaic's errors on unusable values
                raise ReplicInputError(f"{where}: cannot build the {what} design of "
                                       f"{self.formula!r}: {exc}") from None
        trials = read_trials(rows.reset_index(drop=True), self.response, self.trials,
                             self.failures, where) if self.family.needs_trials else None
        return DesignMatrices(X=mats[0], Z=mats[1], fixed=self.fixed, varying=self.varying,
                              trials=trials)


@dataclass(frozen=True, eq=False)
class ModelData:
    """One data set of a model: its response, matrices and groups, named by a spec.

    Attributes
    ----------
    spec : ModelSpec
        The bound spec (levels and names learnt from this data), or a spec naming matrices built
        elsewhere (:meth:`of_arrays`).
    y : ndarray, shape (N,)
    X : ndarray, shape (N, P)
    Z : ndarray, shape (N, Q)
    codes : ndarray of int, shape (N,)
        Each row's level, indexing ``spec.group_levels``.
    data : DataFrame, optional
        The rows used (complete cases of the used columns; every column), index reset; None
        for matrices built elsewhere.
    rows : ndarray of int, shape (N,), optional
        Their positions in the data given.
    n_dropped : int
        Rows dropped for missing values.

    Raises
    ------
    ReplicInputError
        Arrays whose shapes disagree with each other or with the spec's names and levels.
    trials : ndarray, shape (N,), optional
        Binomial models: each row's number of trials (``y`` counts the successes).
    """

    spec: ModelSpec
    y: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    codes: np.ndarray
    data: pd.DataFrame | None = None
    rows: np.ndarray | None = None
    n_dropped: int = 0
    trials: np.ndarray | None = None

    def __post_init__(self) -> None:
        N = self.y.shape[0]
        if self.y.shape != (N,) or self.X.shape != (N, len(self.fixed)) or \
                self.Z.shape != (N, len(self.varying)) or self.codes.shape != (N,) or \
                not np.issubdtype(self.codes.dtype, np.integer) or (
                self.trials is not None and np.shape(self.trials) != (N,)) or (
                N and not 0 <= self.codes.min() <= self.codes.max() < len(self.levels)):
            raise ReplicInputError(
                f"model data: inconsistent arrays y {self.y.shape}, X {self.X.shape}, Z "
                f"{self.Z.shape}, codes {self.codes.shape}, trials {np.shape(self.trials)} for "
                f"the terms {self.fixed} / {self.varying} and {len(self.levels)} levels of "
                f"{self.group!r}")

    @classmethod
    def of_arrays(cls, y: np.ndarray, X: np.ndarray, Z: np.ndarray, codes: np.ndarray, *,
                  fixed: tuple[str, ...], varying: tuple[str, ...], levels: tuple[str, ...],
                  group: str = "subject", response: str = "y", family: Family = GAUSSIAN,
                  trials: np.ndarray | None = None) -> ModelData:
        """Matrices built elsewhere (a replicate's new subjects), named by
        :meth:`ModelSpec.named`: ``X``'s columns ``fixed``, ``Z``'s ``varying``, row ``i`` in
        level ``levels[codes[i]]`` of ``group``."""
        spec = ModelSpec.named(fixed, varying, group, levels, response=response, family=family)
        return cls(spec=spec, y=y, X=X, Z=Z, codes=codes, trials=trials)

    @property
    def fixed(self) -> tuple[str, ...]:
        """brms names of the columns of ``X``."""
        return self.spec.fixed

    @property
    def varying(self) -> tuple[str, ...]:
        """brms names of the columns of ``Z``."""
        return self.spec.varying

    @property
    def levels(self) -> tuple[str, ...]:
        """Levels of the grouping factor, R's order."""
        return self.spec.group_levels

    @property
    def response(self) -> str:
        """The response's column."""
        return self.spec.response

    @property
    def group(self) -> str:
        """The grouping factor's column."""
        return self.spec.group


def _rhs(terms: tuple[str, ...]) -> str:
    """A right-hand side of brms term names (``1 + Days``; ``0 + ...`` without ``Intercept``)."""
    return " + ".join(["1" if "Intercept" in terms else "0",
                       *(t for t in terms if t != "Intercept")])
