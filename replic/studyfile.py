"""Study files: a TOML description of a replication study.

Example (``studies/sleepstudy.toml``)::

    name = "sleepstudy"
    draws = "replic:sleepstudy_brms_draws.csv.gz"   # path relative to this file, or replic:NAME
    data = "replic:sleepstudy.csv"                  # optional: the original data
    term = "Days"
    analysis = "summary"        # or a list: ["summary", "reml", "bayes-fast"]
    reps = 2000
    seed = 2026
    target = 0.8
    exclude_unconverged = false # true: unconverged/flagged fits judge no criterion

    [design]                 # or [[design]] tables for several design families
    k = { from = 2, to = 30 }          # or a list [3, 5, 10]
    x = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]  # or within = { Days = [...], ... } / "one_subject.csv"
    between = { Sex = { Female = 0.5, Male = 0.5 } }   # optional between-subject allocation
    covariates = { baseline = ["normal", 50, 10] }   # optional subject-level distributions
    missing = 0.0
    dropout = 0.0                      # probability a subject is lost after each session
    params = "posterior"               # "mean", "median" or a table {b_Days = 3.0}

    [options]                # passed to the analysis (e.g. Stan's chains)

``replic:NAME`` names a file shipped in ``replic/datasets``.

A study may start from data instead of draws: give ``data`` and ``formula`` (lme4/brms syntax)
and no ``draws``; the original is then fitted with ``fit = "stan"`` (default: NUTS with brms's
priors) or ``fit = "bayes-fast"`` (the same posterior without MCMC), seeded by ``seed``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import pandas as pd

from replic.design import Design
from replic.errors import ReplicInputError
from replic.posterior import Posterior
from replic.read import read_draws

__all__ = ["BUILTIN_STUDY", "StudySpec", "load_study", "resolve_path"]

BUILTIN_STUDY = "replic:sleepstudy.toml"
_KEYS = {"name", "draws", "data", "formula", "fit", "term", "analysis", "reps", "seed",
         "target", "design", "options", "description", "exclude_unconverged", "units"}
_FITS = ("stan", "bayes-fast")
_DESIGN_KEYS = ("k", "x", "within", "between", "covariates", "missing", "dropout", "params",
                "name")


@dataclass(frozen=True)
class StudySpec:
    """A parsed study file."""

    name: str
    draws: Path | None
    term: str
    designs: tuple[Design, ...]
    analysis: tuple[str, ...] = ("summary",)
    reps: int = 2000
    seed: int = 0
    target: float = 0.8
    data: Path | None = None
    options: dict = field(default_factory=dict)
    formula: str | None = None
    fit: str = "stan"
    exclude_unconverged: bool = False
    units: str = ""
    source: str = ""
    digest: str = ""

    def posterior(self) -> Posterior:
        """The study's posterior: its draws (with the original data attached when the study
        names it), or a fit of ``formula`` to ``data``."""
        df = None
        if self.data is not None:
            df = pd.read_csv(self.data)
            comps = [] if self.term == "Intercept" else self.term.split(":")
            if not all(any(c.startswith(str(col)) for col in df.columns) for c in comps):
                raise ReplicInputError(f"{self.data}: no column for the study's term "
                                       f"{self.term!r}")
        if self.draws is not None:
            post = read_draws(self.draws)
            return post if df is None else dataclasses.replace(post, data=df)
        if self.fit == "bayes-fast":
            from replic.bayes_fast import fit_bayes_fast

            post = fit_bayes_fast(df, self.formula, seed=self.seed)
            from replic.fitcheck import warn_khat

            warn_khat(post, where=f"{self.source}: the original fit (bayes-fast)")
            return post
        from replic.stan.fit import fit_posterior

        return fit_posterior(df, self.formula, seed=self.seed, quiet=True)


def resolve_path(value: str, base: Path) -> Path:
    """A study path: ``replic:NAME`` (shipped with replic) or relative to the study file."""
    if value.startswith("replic:"):
        p = Path(str(resources.files("replic") / "datasets" / value.removeprefix("replic:")))
    else:
        p = (base / value).resolve() if not Path(value).is_absolute() else Path(value)
    if not p.is_file():
        raise ReplicInputError(f"{value}: no such file (looked for {p})")
    return p


def _ks(spec, where: str) -> list[int]:
    if isinstance(spec, dict):
        try:
            lo, hi, by = int(spec["from"]), int(spec["to"]), int(spec.get("by", 1))
        except (KeyError, TypeError, ValueError):
            raise ReplicInputError(f"{where}: k = {spec!r}; expected {{from = 2, to = 30}} "
                                   "(optionally by = 1) or a list of integers") from None
        return list(range(lo, hi + 1, by))
    if isinstance(spec, int):
        return [spec]
    if isinstance(spec, list) and all(isinstance(v, int) for v in spec):
        return spec
    raise ReplicInputError(f"{where}: k = {spec!r}; expected an integer, a list of integers or "
                           "{from = 2, to = 30}")


def load_study(path: str | Path) -> StudySpec:
    """Parse and validate a study file; errors name the file and the key."""
    path_s = str(path)
    if path_s.startswith("replic:"):
        path = resolve_path(path_s, Path.cwd())
    path = Path(path)
    if not path.is_file():
        raise ReplicInputError(f"{path}: no such study file")
    raw = path.read_bytes()
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ReplicInputError(f"{path}: not valid TOML ({exc})") from None
    unknown = set(doc) - _KEYS
    if unknown:
        raise ReplicInputError(f"{path}: unknown key(s) {', '.join(sorted(unknown))}; expected "
                               f"{', '.join(sorted(_KEYS))}")
    for key in ("term", "design"):
        if key not in doc:
            raise ReplicInputError(f"{path}: missing required key {key!r}")
    if "draws" not in doc and not {"data", "formula"} <= set(doc):
        raise ReplicInputError(f"{path}: missing required key 'draws' (or 'data' and 'formula' "
                               "to fit the original model)")
    if "draws" in doc and ("formula" in doc or "fit" in doc):
        raise ReplicInputError(f"{path}: give either 'draws' or 'formula' (with 'data'), not both")
    exclude = doc.get("exclude_unconverged", False)
    if not isinstance(exclude, bool):
        raise ReplicInputError(f"{path}: exclude_unconverged = {exclude!r}; expected true or "
                               "false")
    fit = str(doc.get("fit", "stan"))
    if fit not in _FITS:
        raise ReplicInputError(f"{path}: fit = {fit!r}; expected one of {', '.join(_FITS)}")
    base = path.parent
    tables = doc["design"] if isinstance(doc["design"], list) else [doc["design"]]
    designs: list[Design] = []
    for i, t in enumerate(tables):
        where = f"{path}: design {i + 1}"
        if not isinstance(t, dict) or "k" not in t:
            raise ReplicInputError(f"{where}: expected a table with at least k")
        bad = set(t) - set(_DESIGN_KEYS)
        if bad:
            raise ReplicInputError(f"{where}: unknown key(s) {', '.join(sorted(bad))}; expected "
                                   f"{', '.join(_DESIGN_KEYS)}")
        within = _within_table(t.get("within"), base, where)
        for k in _ks(t["k"], where):
            try:
                designs.append(Design(k, x=t.get("x"), within=within, between=t.get("between"),
                                      covariates=t.get("covariates"), name=t.get("name"),
                                      missing=t.get("missing", 0.0),
                                      params=t.get("params", "posterior"),
                                      dropout=t.get("dropout", 0.0)))
            except ReplicInputError as exc:
                raise ReplicInputError(f"{where}: {exc}") from None
    return StudySpec(
        name=str(doc.get("name", path.stem)),
        draws=resolve_path(str(doc["draws"]), base) if "draws" in doc else None,
        formula=str(doc["formula"]) if "formula" in doc else None, fit=fit,
        term=str(doc["term"]), designs=tuple(designs),
        analysis=_analyses(doc.get("analysis", "summary"), path),
        reps=_int(doc.get("reps", 2000), "reps", path), seed=_int(doc.get("seed", 0), "seed", path),
        target=float(doc.get("target", 0.8)),
        data=resolve_path(str(doc["data"]), base) if "data" in doc else None,
        options=dict(doc.get("options", {})), exclude_unconverged=exclude,
        units=_units(doc.get("units", ""), path), source=str(path),
        digest=hashlib.sha256(raw).hexdigest())


def _within_table(value, base: Path, where: str):
    """``within``: an inline table of columns, a CSV file of one subject's rows, or "original"."""
    if value is None or value == "original" or isinstance(value, dict | int):
        return value
    if isinstance(value, str):
        p = resolve_path(value, base)
        try:
            return pd.read_csv(p)
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise ReplicInputError(f"{where}: within = {value!r}: cannot read {p} as CSV "
                                   f"({exc})") from None
    raise ReplicInputError(f"{where}: within = {value!r}; expected a table of columns "
                           "({Days = [0, 1, 2]}), a CSV file of one subject's rows, a number of "
                           "rows or \"original\"")


def _units(value, path: Path) -> str:
    """``units = "ms"``: the response's units, shown on the report's axes."""
    if not isinstance(value, str) or len(value) > 40 or "\n" in value:
        raise ReplicInputError(f"{path}: units = {value!r}; expected a short text such as "
                               "\"ms\"")
    return value.strip()


def _analyses(value, path: Path) -> tuple[str, ...]:
    from replic.analyses import ANALYSES

    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ReplicInputError(f"{path}: analysis = {value!r}; expected a name or a list of "
                               f"names from {', '.join(ANALYSES)}")
    bad = [n for n in names if n not in ANALYSES]
    if bad or len(set(names)) < len(names):
        raise ReplicInputError(f"{path}: analysis = {value!r}; expected distinct names from "
                               f"{', '.join(ANALYSES)}")
    return tuple(names)


def _int(value, key: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ReplicInputError(f"{path}: {key} = {value!r}; expected an integer")
    return value
