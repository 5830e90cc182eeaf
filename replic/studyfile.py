"""Study files: a TOML description of a replication study.

Example (``studies/sleepstudy.toml``)::

    name = "sleepstudy"
    draws = "replic:sleepstudy_brms_draws.csv.gz"   # path relative to this file, or replic:NAME
    data = "replic:sleepstudy.csv"                  # optional: the original data
    term = "Days"
    family = "gaussian"         # or "bernoulli", "binomial", "poisson" (brms draws without sigma)
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
    trials = 20                        # binomial models: trials per observation (optional)

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

from replic.design import Design
from replic.errors import ReplicInputError
from replic.family import Family
from replic.formula_grammar import check_formula, check_name
from replic.outdir import check_study_name
from replic.posterior import Posterior
from replic.read import read_data, read_draws

__all__ = ["BUILTIN_STUDY", "StudySpec", "load_study", "resolve_path"]

BUILTIN_STUDY = "replic:sleepstudy.toml"
_KEYS = {"name", "draws", "data", "formula", "fit", "term", "analysis", "reps", "seed",
         "target", "design", "options", "description", "exclude_unconverged", "units",
         "family", "link"}
_FITS = ("stan", "bayes-fast")
_DESIGN_KEYS = ("k", "x", "within", "between", "covariates", "missing", "dropout", "params",
                "name", "trials")
#: Designs one design table may expand to.
MAX_DESIGNS = 10_000
#: Replicates per design and values of x a study file may ask for.
MAX_REPS = 10**9
MAX_X = 100_000
#: Largest study file read (bytes).
MAX_BYTES = 1_000_000


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
    family: Family | None = None

    def posterior(self) -> Posterior:
        """The study's posterior: its draws (with the original data attached when the study
        names it), or a fit of ``formula`` to ``data``."""
        df = None
        if self.data is not None:
            df = read_data(self.data)
            comps = [] if self.term == "Intercept" else self.term.split(":")
            if not all(any(c.startswith(str(col)) for col in df.columns) for c in comps):
                raise ReplicInputError(f"{self.data}: no column for the study's term "
                                       f"{self.term!r}")
        if self.draws is not None:
            post = read_draws(self.draws, family=self.family)
            return post if df is None else dataclasses.replace(post, data=df)
        binomial = self.formula is not None and ("cbind(" in self.formula or
                                                 "trials(" in self.formula)
        if (self.family is not None and not self.family.gaussian) or binomial:
            raise ReplicInputError(f"{self.source}: fitting a {self.family or 'binomial'} "
                                   f"model from data (fit = {self.fit!r}) is not supported "
                                   "yet; fit it with brms and give its draws")
        if self.fit == "bayes-fast":
            from replic.bayes_fast import fit_bayes_fast

            post = fit_bayes_fast(df, self.formula, seed=self.seed)
            from replic.fitcheck import warn_khat

            warn_khat(post, where=f"{self.source}: the original fit (bayes-fast)")
            return post
        from replic.stan.fit import fit_posterior

        return fit_posterior(df, self.formula, seed=self.seed, quiet=True)

    def options_for(self, analyses: tuple[str, ...] | list[str]) -> dict[str, dict]:
        """The options of each of ``analyses``: ``[options]`` for a study with one analysis,
        ``[options.NAME]`` tables otherwise (the ``options`` of :func:`replic.run_study`).

        Raises
        ------
        ReplicInputError
            For options under a name that is not one of ``analyses`` (e.g. misspelled), or
            flat options in a study comparing several analyses.
        """
        opts = self.options
        if not self._per_analysis(analyses):
            if len(set(analyses)) > 1 and opts:
                raise ReplicInputError(
                    f"{self.source}: [options] with several analyses must be tables per "
                    f"analysis, [options.NAME] with NAME in {', '.join(analyses)}; got "
                    f"{', '.join(sorted(opts))}")
            return {a: dict(opts) for a in analyses}
        unknown = sorted(set(opts) - set(analyses))
        if unknown:
            raise ReplicInputError(
                f"{self.source}: [options.{unknown[0]}] is not one of the analyses run "
                f"({', '.join(analyses)}); expected [options.NAME] with NAME in "
                f"{', '.join(analyses)}")
        for k, v in opts.items():
            if not isinstance(v, dict):
                raise ReplicInputError(f"{self.source}: options.{k} = {v!r}; expected a table "
                                       f"[options.{k}]")
        return {a: dict(opts.get(a, {})) for a in analyses}

    def options_of(self, analysis: str) -> dict:
        """The options of one ``analysis`` (run or planned, perhaps not one of the study's own
        analyses): its ``[options.NAME]`` table ({} when it has none), or the flat
        ``[options]`` of a study with one analysis.  The study's tables are checked as
        :meth:`options_for` checks them."""
        if not self._per_analysis(self.analysis):
            return dict(self.options)
        return self.options_for(self.analysis).get(analysis, {})

    def _per_analysis(self, analyses: tuple[str, ...] | list[str]) -> bool:
        """True when ``[options]`` holds ``[options.NAME]`` tables: every key names an
        analysis, or (several analyses) every value is a table."""
        from replic.analyses import ANALYSES

        opts = self.options
        tables = {k for k, v in opts.items() if isinstance(v, dict)}
        return bool(opts) and (all(k in ANALYSES for k in opts) or (
            len(set(analyses)) > 1 and tables == set(opts)))


def resolve_path(value: str, base: Path, *, key: str = "path") -> Path:
    """A study path: ``replic:NAME`` (shipped with replic) or relative to the study file."""
    if not isinstance(value, str) or not value or "\0" in value:
        raise ReplicInputError(f"{key} = {value!r}: expected a file path (a string)")
    if value.startswith("replic:"):
        name = value.removeprefix("replic:")
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ReplicInputError(f"{key} = {value!r}: expected replic:NAME naming a file "
                                   "shipped in replic/datasets")
        p = Path(str(resources.files("replic") / "datasets" / name))
    else:
        p = (base / value).resolve() if not Path(value).is_absolute() else Path(value)
    try:
        ok = p.is_file()
    except OSError as exc:  # name too long, permission denied
        raise ReplicInputError(f"{key} = {value!r}: cannot use it ({exc})") from None
    if not ok:
        raise ReplicInputError(f"{value}: no such file (looked for {p})")
    return p


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _ks(spec, where: str) -> list[int]:
    if isinstance(spec, dict):
        lo, hi, by = spec.get("from"), spec.get("to"), spec.get("by", 1)
        if set(spec) - {"from", "to", "by"} or not all(map(_is_int, (lo, hi, by))) \
                or by < 1 or lo > hi:
            raise ReplicInputError(f"{where}: k = {spec!r}; expected {{from = 2, to = 30}} "
                                   "(optionally by = 1) with integers, from <= to and by >= 1, "
                                   "or a list of integers")
        if (hi - lo) // by + 1 > MAX_DESIGNS:
            raise ReplicInputError(f"{where}: k = {spec!r} gives {(hi - lo) // by + 1} designs; "
                                   f"expected at most {MAX_DESIGNS}")
        return list(range(lo, hi + 1, by))
    if _is_int(spec):
        return [spec]
    if isinstance(spec, list) and spec and all(map(_is_int, spec)) \
            and len(spec) <= MAX_DESIGNS:
        return spec
    raise ReplicInputError(f"{where}: k = {spec!r}; expected an integer, a list of integers or "
                           "{from = 2, to = 30}")


def load_study(path: str | Path) -> StudySpec:
    """Parse and validate a study file; errors name the file and the key."""
    path_s = str(path)
    if path_s.startswith("replic:"):
        path = resolve_path(path_s, Path.cwd(), key="study")
    path = Path(path)
    if not path.is_file():
        raise ReplicInputError(f"{path}: no such study file")
    if path.stat().st_size > MAX_BYTES:
        raise ReplicInputError(f"{path}: {path.stat().st_size} bytes; a study file is at most "
                               f"{MAX_BYTES} bytes")
    raw = path.read_bytes()
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else exc
        raise ReplicInputError(f"{path}: not valid TOML ({why})") from None
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
    fit = doc.get("fit", "stan")
    if fit not in _FITS:
        raise ReplicInputError(f"{path}: fit = {fit!r}; expected one of {', '.join(_FITS)}")
    for key in ("description",):
        if key in doc and not isinstance(doc[key], str):
            raise ReplicInputError(f"{path}: {key} = {doc[key]!r}; expected a string")
    options = doc.get("options", {})
    if not isinstance(options, dict):
        raise ReplicInputError(f"{path}: options = {options!r}; expected a table [options]")
    target = doc.get("target", 0.8)
    if isinstance(target, bool) or not isinstance(target, int | float) or not 0 < target < 1:
        raise ReplicInputError(f"{path}: target = {target!r}; expected a probability "
                               "between 0 and 1 (exclusive)")
    base = path.parent
    return StudySpec(
        name=check_study_name(doc.get("name", path.stem), where=f"{path}: name"),
        draws=resolve_path(doc["draws"], base, key=f"{path}: draws") if "draws" in doc
        else None,
        formula=check_formula(doc["formula"], where=f"{path}: formula") if "formula" in doc
        else None, fit=fit,
        term=check_name(doc["term"], where=f"{path}: term"), designs=_designs(doc, path),
        analysis=_analyses(doc.get("analysis", "summary"), path),
        reps=_int(doc.get("reps", 2000), "reps", path, low=1, high=MAX_REPS),
        seed=_int(doc.get("seed", 0), "seed", path, low=0, high=2**63 - 1),
        target=float(target),
        data=resolve_path(doc["data"], base, key=f"{path}: data") if "data" in doc else None,
        options=dict(options), exclude_unconverged=exclude,
        units=_units(doc.get("units", ""), path), source=str(path),
        digest=hashlib.sha256(raw).hexdigest(), family=_family(doc, path))


def _family(doc: dict, path: Path) -> Family | None:
    """``family = "bernoulli"`` (optionally ``link = "probit"``); None when not given."""
    if "family" not in doc:
        if "link" in doc:
            raise ReplicInputError(f"{path}: link = {doc['link']!r} needs family = ...")
        return None
    link = doc.get("link")
    if link is not None and not isinstance(link, str):
        raise ReplicInputError(f"{path}: link = {link!r}; expected a link name such as "
                               "\"logit\"")
    return Family.of(doc["family"], link=link, where=f"{path}: family")


def _designs(doc: dict, path: Path) -> tuple[Design, ...]:
    tables = doc["design"] if isinstance(doc["design"], list) else [doc["design"]]
    if not tables:
        raise ReplicInputError(f"{path}: design = []; expected at least one [[design]] table")
    designs: list[Design] = []
    for i, t in enumerate(tables):
        where = f"{path}: design {i + 1}"
        if not isinstance(t, dict) or "k" not in t:
            raise ReplicInputError(f"{where}: expected a table with at least k")
        bad = set(t) - set(_DESIGN_KEYS)
        if bad:
            raise ReplicInputError(f"{where}: unknown key(s) {', '.join(sorted(bad))}; expected "
                                   f"{', '.join(_DESIGN_KEYS)}")
        x = t.get("x")
        if x is not None and (not isinstance(x, list) or len(x) > MAX_X or not all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in x)):
            raise ReplicInputError(f"{where}: x = {x!r}; expected a list of at most {MAX_X} "
                                   "numbers, e.g. [0, 1, 2]")
        missing = t.get("missing", 0.0)
        if isinstance(missing, bool) or not isinstance(missing, int | float):
            raise ReplicInputError(f"{where}: missing = {missing!r}; expected a probability "
                                   "in [0, 1)")
        params = t.get("params", "posterior")
        if isinstance(params, dict) and not all(isinstance(v, int | float) and not isinstance(
                v, bool) for v in params.values()):
            raise ReplicInputError(f"{where}: params = {params!r}; expected a table of numbers "
                                   "such as {b_Days = 3.0}")
        for key in ("between", "covariates", "within"):  # their keys name data columns
            if isinstance(t.get(key), dict):
                for name in t[key]:
                    check_name(name, where=f"{where}: {key} column")
        within = _within_table(t.get("within"), path.parent, where)
        for k in _ks(t["k"], where):
            try:
                designs.append(Design(k, x=x, within=within, between=t.get("between"),
                                      covariates=t.get("covariates"), name=t.get("name"),
                                      missing=missing, params=params,
                                      dropout=t.get("dropout", 0.0),
                                      trials=t.get("trials")))
            except ReplicInputError as exc:
                raise ReplicInputError(f"{where}: {exc}") from None
    if len(designs) > MAX_DESIGNS:
        raise ReplicInputError(f"{path}: {len(designs)} designs; expected at most {MAX_DESIGNS}")
    if len({d.key for d in designs}) < len(designs):
        raise ReplicInputError(f"{path}: the same design is listed twice")
    return tuple(designs)


def _within_table(value, base: Path, where: str):
    """``within``: an inline table of columns, a CSV file of one subject's rows, or "original"."""
    if value is None or value == "original" or isinstance(value, dict | int):
        return value
    if isinstance(value, str):
        return read_data(resolve_path(value, base, key=f"{where}: within"))
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


def _int(value, key: str, path: Path, *, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ReplicInputError(f"{path}: {key} = {value!r}; expected an integer from {low} "
                               f"to {high}")
    return value
