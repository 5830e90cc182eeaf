"""New subjects' data sets: a :class:`~replic.design.Design` made into design matrices.

A design's ``k`` subjects each get rows: the within-subject template (or, for ``within =
"original"``, the rows of an original subject resampled whole), with their subject-level
variables set by the between-subject allocation, a covariate distribution, or the resampled
original subject.  Resampling is done once per design, seeded by the design's key, so a design is
one fixed data set of ``k`` new subjects and its replicates differ in parameters, deviations
and residuals only.  The model-matrix columns of those rows come from the posterior's
brms-named coefficients through one :class:`~replic.terms.TermMap`, shared by simulation and
every analysis.

Subjects whose rows differ are laid out on the union of their distinct row patterns: ``X`` and
``Z`` hold every pattern's rows once (``U`` rows) and :attr:`ModelFrame.present` says which rows
each subject has; the other rows are unobserved (padding).  When every subject has the same rows,
``present`` is None and ``U`` is the template's length.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from replic.design import ORIGINAL, Design, allocate
from replic.errors import ReplicInputError
from replic.streams import DESIGN_PATTERNS
from replic.terms import TermMap, variable_kinds

__all__ = ["ModelFrame", "design_frame", "model_spec", "x_variable"]

_PATTERN_STREAM = DESIGN_PATTERNS
#: Column of a subject's rows holding its trials while patterns are compared (not a variable).
_TRIALS = ".trials"


@dataclass(frozen=True, eq=False)
class ModelFrame:
    """The new subjects of one design, as model matrices.

    Attributes
    ----------
    term : str
        The coefficient whose effect is studied (brms name).
    x : ndarray, shape (U,)
        Values of the template's x variable on each row (0 when the model has none).
    X : ndarray, shape (U, P)
        Fixed-effect columns (posterior's ``fixed`` order) of the rows.
    Z : ndarray, shape (U, Q)
        Varying-term columns (posterior's ``varying`` order) of the rows.
    t : int
        Column of the term in ``X``.
    qt : int or None
        Column of the term in ``Z`` (None when the term does not vary by subject).
    present : ndarray of bool, shape (k, U), optional
        Which rows each subject has; None when every subject has every row.
    realised : ndarray, shape (k, Q), optional
        Weights ``A`` with ``beta_t + sum_i A_i v_i`` the replication's realised effect: the
        term's coefficient in the least-squares fit of the noise-free data ``X beta + Z v``.
    subjects : DataFrame, optional
        The subject-level variables of the ``k`` subjects (one row each).
    fixed_map : TermMap, optional
        The decoded fixed-effect names.
    within_vars : tuple of str
        Variables that vary within subjects.
    trials : ndarray, shape (U,), optional
        Binomial models: each row's number of trials (the design's ``trials``, the template's
        trials column, or the original subjects' rows); bernoulli: ones; else None.
    """

    term: str
    x: np.ndarray
    X: np.ndarray
    Z: np.ndarray
    t: int
    qt: int | None
    present: np.ndarray | None = None
    realised: np.ndarray | None = None
    subjects: pd.DataFrame | None = None
    fixed_map: TermMap | None = None
    within_vars: tuple[str, ...] = ()
    trials: np.ndarray | None = None

    @property
    def g(self) -> float:
        """``[(X'X)^-1]_tt``: residual variance factor of a per-subject OLS estimate of the term
        (for designs whose subjects share their rows)."""
        return float(np.linalg.inv(self.X.T @ self.X)[self.t, self.t])

    @property
    def shared(self) -> bool:
        """True when every subject has the same rows."""
        return self.present is None


def _template(design: Design, xvar: str | None) -> pd.DataFrame | None:
    if design.x is not None:
        if xvar is None:
            return pd.DataFrame(index=range(len(design.x)))
        return pd.DataFrame({xvar: np.asarray(design.x, dtype=float)})
    if isinstance(design.within, int):
        return pd.DataFrame(index=range(design.within))
    if isinstance(design.within, tuple):
        return pd.DataFrame({c: list(v) for c, v in design.within})
    return None


def x_variable(posterior, term: str, *, factors: dict | None = None,
               exclude: set[str] | frozenset[str] = frozenset()) -> str | None:
    """The variable ``x`` stands for: the studied term's one numeric component, else the model's
    only numeric variable, else None (a model without numeric variables).  Variables in
    ``exclude`` (the design's subject-level variables) are never ``x``."""
    factors = factors or {}

    def numeric_of(names) -> list[str]:
        out = []
        for name in names:
            for c in ([] if name == "Intercept" else str(name).split(":")):
                if c not in exclude and not any(c == v + lv for v, ls in factors.items()
                                                for lv in ls):
                    out.append(c)
        return list(dict.fromkeys(out))

    own = numeric_of([term])
    if len(own) == 1:
        return own[0]
    every = numeric_of([*posterior.fixed, *posterior.varying])
    if len(every) == 1:
        return every[0]
    if not every:
        return None
    raise ReplicInputError(f"x is shorthand for the values of one variable, but the model has "
                           f"{', '.join(every)}; give within= (one subject's rows)")


def _subject_level(data: pd.DataFrame, group: str, var: str) -> bool:
    return bool(data.groupby(group, sort=False)[var].nunique(dropna=False).max() <= 1)


def design_frame(posterior, design: Design, term: str) -> ModelFrame:
    """The new subjects of ``design`` as model matrices (see the module docstring).

    Raises
    ------
    ReplicInputError
        A variable of the model that the design does not give and the original data cannot
        supply; a template column that is not a variable of the model; a rank-deficient design.
    """
    where = f"Design {design.label}"
    data = getattr(posterior, "data", None)
    group = posterior.group
    if data is not None and group not in data.columns:
        data = None
    between = {v: levels for v, levels in design.between}
    blevels = {v: [lv for lv, _ in levels] for v, levels in design.between}
    for var, levs in blevels.items():
        if data is not None and var in data.columns:
            known = set(data[var].dropna().astype(str))
            unknown = sorted(set(levs) - known)
            if unknown:
                raise ReplicInputError(f"{where}: between[{var!r}] level(s) "
                                       f"{', '.join(unknown)} are not levels of {var!r} in the "
                                       f"original data ({', '.join(sorted(known))})")
    _, fac0 = variable_kinds(data, levels=blevels)
    given = {v for v, _ in design.between} | {v for v, _ in design.covariates}
    xvar = x_variable(posterior, term, factors=fac0, exclude=given) if design.x is not None \
        else None
    template = _template(design, xvar)
    numeric, factors = variable_kinds(data, template, levels=blevels)
    for var, _ in design.covariates:
        numeric, factors = numeric | {var}, {v: ls for v, ls in factors.items() if v != var}
    t = posterior.fixed_index(term)
    spec = model_spec(posterior)
    try:
        fmap = TermMap.build(posterior.fixed, numeric=numeric, factors=factors, where=where)
        zmap = TermMap.build(posterior.varying, numeric=numeric, factors=factors, where=where)
        used = list(dict.fromkeys([*fmap.variables, *zmap.variables]))
    except ReplicInputError:
        if spec is None:
            raise
        fmap = zmap = None  # names the decoder cannot read (transforms): the spec builds them
        used = list(dict.fromkeys(v for vs in spec.variables() for v in vs))
    tcols = _trials_columns(posterior, spec)
    if template is not None:
        extra = [c for c in template.columns if c not in used and c not in tcols]
        if extra:
            raise ReplicInputError(f"{where}: within column(s) {', '.join(extra)} are not "
                                   f"variables of the model ({', '.join(used) or 'none'})")
    given_within = set(template.columns) if template is not None else set()
    subject_vars, resample, within_vars = [], [], []
    for v in used:
        if v in between or v in dict(design.covariates):
            subject_vars.append(v)
        elif v in given_within:
            within_vars.append(v)
        elif data is not None and v in data.columns:
            if _subject_level(data, group, v):
                subject_vars.append(v)
                resample.append(v)
            elif design.within == ORIGINAL:
                within_vars.append(v)
            else:
                raise ReplicInputError(f"{where}: the model's variable {v!r} varies within "
                                       "subjects; give it in within= (one subject's rows)")
        else:
            raise ReplicInputError(f"{where}: the model needs variable {v!r}; give it in within=, "
                                   "between= or covariates= (the posterior carries no data "
                                   "to resample it from; a factor level such as SexMale needs "
                                   "its factor in between=)")
    if design.within == ORIGINAL and data is None:
        raise ReplicInputError(f"{where}: within='original' needs the original data")
    k = design.k
    rng = np.random.default_rng([design.key, _PATTERN_STREAM])
    originals = None
    if design.within == ORIGINAL or resample:
        ids = pd.unique(data[group])
        originals = ids[rng.integers(0, ids.size, size=k)]
    slot_level = _allocation(design, k)
    covs = {v: (rng.normal(a, b, size=k) if dist == "normal" else rng.uniform(a, b, size=k))
            for v, (dist, a, b) in design.covariates}
    subjects, patterns = [], []
    for i in range(k):
        if design.within == ORIGINAL:
            cols = [*within_vars, *(c for c in tcols if c in data.columns)]
            rows = data.loc[data[group] == originals[i], cols].reset_index(drop=True)
        else:
            rows = template.copy()
        values = {}
        for v in subject_vars:
            if v in between:
                values[v] = slot_level[i][v]
            elif v in covs:
                values[v] = float(covs[v][i])
            else:
                values[v] = data.loc[data[group] == originals[i], v].iloc[0]
        for v, val in values.items():
            rows[v] = val
        subjects.append(values)
        pattern = rows[used].copy() if used else pd.DataFrame(index=rows.index)
        trials = _row_trials(rows, design, posterior, spec, tcols, where)
        if trials is not None:
            pattern[_TRIALS] = trials
        patterns.append(pattern)
    return _assemble(posterior, design, term, t, patterns, subjects, (fmap, zmap, spec), xvar,
                     tuple(within_vars), where)


def _trials_columns(posterior, spec) -> tuple[str, ...]:
    """Columns the binomial trials come from (the formula's), empty when unknown."""
    if not posterior.family.needs_trials or spec is None:
        return ()
    return tuple(getattr(spec, "trials_columns", ()))


def _row_trials(rows: pd.DataFrame, design: Design, posterior, spec, tcols: tuple[str, ...],
                where: str) -> np.ndarray | None:
    """Trials of each of a subject's rows: ones (bernoulli), the design's ``trials``, the
    formula's fixed number, or the rows' trials column(s) (binomial); None otherwise."""
    fam = posterior.family
    if fam.name == "bernoulli":
        return np.ones(len(rows))
    if not fam.needs_trials:
        return None
    if design.trials is not None:
        return np.full(len(rows), float(design.trials))
    if spec is not None and isinstance(spec.trials, int):
        return np.full(len(rows), float(spec.trials))
    if tcols and all(c in rows.columns for c in tcols):
        n = sum(pd.to_numeric(rows[c], errors="coerce").to_numpy(dtype=float) for c in tcols)
        if not np.all(np.isfinite(n) & (n >= 1) & (n == np.round(n))):
            raise ReplicInputError(f"{where}: the trials column(s) {', '.join(tcols)} must hold "
                                   "positive integers")
        return n
    named = f" or a {tcols[0]!r} column in within=" if len(tcols) == 1 else ""
    raise ReplicInputError(f"{where}: a binomial model needs the number of trials of each "
                           f"observation; give trials = n in the design{named}")


def _allocation(design: Design, k: int) -> list[dict[str, str]]:
    if not design.between:
        return [{} for _ in range(k)]
    names = [v for v, _ in design.between]
    combos = list(itertools.product(*[levels for _, levels in design.between]))
    props = [float(np.prod([p for _, p in c])) for c in combos]
    counts = allocate(k, props)
    out = []
    for combo, n in zip(combos, counts, strict=True):
        out += [{v: lv for v, (lv, _) in zip(names, combo, strict=True)}] * int(n)
    return out


def model_spec(posterior):
    """The posterior's bound model specification when it has one (a fit run by replic, or a
    formula with its data), else None: new subjects' matrices then come from the brms names
    (:class:`~replic.terms.TermMap`)."""
    get = getattr(posterior, "model_spec", None)
    if get is None or not (getattr(posterior, "spec", None) is not None or (
            posterior.formula is not None and posterior.data is not None)):
        return None
    spec = get()
    return spec if getattr(spec, "bound", False) else None


def _matrices(maps, union: pd.DataFrame, posterior, where: str) -> tuple[np.ndarray, np.ndarray]:
    fmap, zmap, spec = maps
    if spec is None:
        return fmap.matrix(union), zmap.matrix(union)
    m = spec.design(union, where=where)
    try:
        return (m.X[:, [m.fixed.index(n) for n in posterior.fixed]],
                m.Z[:, [m.varying.index(n) for n in posterior.varying]])
    except ValueError:
        raise ReplicInputError(f"{where}: the model specification names its terms {m.fixed} / "
                               f"{m.varying}, the posterior {posterior.fixed} / "
                               f"{posterior.varying}") from None


def _assemble(posterior, design, term, t, patterns, subjects, maps, xvar, within_vars,
              where) -> ModelFrame:
    k = design.k
    keys: dict[str, int] = {}
    frames: list[pd.DataFrame] = []
    index = []
    for rows in patterns:
        canon = rows.sort_values(list(rows.columns)).reset_index(drop=True) if len(
            rows.columns) else rows.reset_index(drop=True)
        key = f"{len(canon)}\n{canon.to_csv(index=False)}"
        if key not in keys:
            keys[key] = len(frames)
            frames.append(rows.reset_index(drop=True))
        index.append(keys[key])
    union = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if len(union) == 0:
        raise ReplicInputError(f"{where}: a subject has no rows")
    trials = union.pop(_TRIALS).to_numpy(dtype=float) if _TRIALS in union else None
    X, Z = _matrices(maps, union, posterior, where)
    starts = np.cumsum([0] + [len(f) for f in frames])
    present = np.zeros((k, len(union)), dtype=bool)
    for i, g in enumerate(index):
        present[i, starts[g]:starts[g + 1]] = True
    w = present.sum(axis=0).astype(float)
    XtX = (X * w[:, None]).T @ X
    if np.linalg.matrix_rank(XtX) < X.shape[1]:
        raise ReplicInputError(f"{where}: the new subjects' fixed-effect design is rank deficient "
                               f"({', '.join(posterior.fixed)}): the design cannot estimate every "
                               "coefficient (does each term's variable vary?)")
    h = np.linalg.solve(XtX, X.T)[t]                       # (U,): row t of (X'WX)^-1 X'
    realised = (present * h[None, :]) @ Z                  # (k, Q)
    x = union[xvar].to_numpy(dtype=float) if xvar in union else np.zeros(len(union))
    subj = pd.DataFrame(subjects, index=range(k))
    return ModelFrame(term=term, x=x, X=X, Z=Z, t=t, qt=posterior.varying_index(term),
                      present=None if len(frames) == 1 else present, realised=realised,
                      subjects=subj, fixed_map=maps[0], within_vars=within_vars,
                      trials=trials)
