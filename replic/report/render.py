"""Render a results directory into one self-contained HTML report.

``render_report(dir)`` reads the tables written by :func:`replic.results_io.write_results`,
builds the figures and tables, and fills the jinja2 template shipped in
``replic/report/templates/``.  ``write_report(dir)`` (re)writes ``dir/report.html`` atomically.
The output depends only on the files of the directory, so re-rendering a saved study gives the
same bytes.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import jinja2
import pandas as pd

from replic.errors import ReplicInputError
from replic.report.curves import HEADLINE, all_criteria_figure, headline_curve, type_sm_figure
from replic.report.data import add_series, data_columns, error_messages
from replic.report.figures import effects_figure, trajectory_figure
from replic.report.plan import plan_context
from replic.report.quality import diagnosands_table
from replic.report.questions import questions_figure, questions_sentences, questions_table
from replic.report.tables import (
    criteria_table,
    diagnostics_table,
    effects_table,
    k_needed_table,
    study_rows,
    type_sm_table,
)
from replic.report.text import (
    ANALYSIS_LABELS,
    READING_GUIDE,
    effect_sentences,
    fmt,
    fmt_prob,
    headline,
    observed_at,
    unit_names,
)

__all__ = ["TEMPLATE", "build_context", "headline_criterion", "render_html", "render_report",
           "write_report"]

#: The template file, in ``replic/report/templates/``.
TEMPLATE = "report.html.j2"


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).with_name("templates")),
        autoescape=jinja2.select_autoescape(["html", "j2"]), undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)


def build_context(results: dict) -> dict:
    """Everything the template shows, from :func:`~replic.results_io.read_results` output.

    Parameters
    ----------
    results : dict
        The tables of a results directory, as read by
        :func:`~replic.results_io.read_results` (``replicates`` a DataFrame, or the path of
        ``replicates.parquet``, streamed).

    Returns
    -------
    dict
        ``title``, ``term``, ``headlines``, ``guide``, ``study``, ``figures`` (name ->
        :class:`~replic.report.figures.Figure`), ``tables`` (name ->
        :class:`~replic.report.tables.Table`), ``errors``, ``versions`` and notes.
    """
    info, original = results["info"], results["original"]
    term = info["term"]
    summary, k_needed = results["summary"], results["k_needed"]
    target = float(info.get("target", 0.8))
    analyses = list(dict.fromkeys(summary["analysis"]))
    info = info | {"analyses": analyses}
    figures, tables = {}, {}
    data, cols = results.get("data"), None
    if data is not None:
        cols = data_columns(data, info, term)
    response = cols[0] if cols else (info.get("posterior") or {}).get("response") or "response"
    group = (info.get("posterior") or {}).get("group")
    units = str(info.get("units") or "")
    labelled = f"{response} ({units})" if units else response
    crit = headline_criterion(info, summary)
    ks = _recommended(k_needed, crit)
    if results.get("effect_draws") is not None:
        figures["effects"] = effects_figure(results["effect_draws"], term=term,
                                            response=labelled, group=group, recommended=ks)
    if results.get("effects") is not None:
        tables["effects"] = effects_table(results["effects"], group=group)
    if results.get("trajectories") is not None:
        figures["trajectories"] = trajectory_figure(results["trajectories"], term=term,
                                                    data=data, columns=cols, units=units,
                                                    group=group)
    figures["curve"] = headline_curve(summary, k_needed, term=term, target=target,
                                      direction=original.direction, criterion=crit)
    figures["criteria"] = all_criteria_figure(summary, k_needed, target=target)
    tables["k_needed"] = k_needed_table(k_needed)
    tables["criteria"] = criteria_table(summary)
    if results.get("type_sm") is not None and len(results["type_sm"]):
        figures["type_sm"] = type_sm_figure(results["type_sm"])
        tables["type_sm"] = type_sm_table(results["type_sm"])
    if results.get("diagnosands") is not None and len(results["diagnosands"]):
        tables["diagnosands"] = diagnosands_table(
            results["diagnosands"], excluded=bool(info.get("exclude_unconverged")))
    reps = results.get("replicates")
    if reps is not None:
        tables["diagnostics"] = diagnostics_table(reps)
    family = str((info.get("posterior") or {}).get("family") or "gaussian(identity)")
    questions = results.get("questions")
    if questions is not None:
        tables["questions"] = questions_table(questions, family=family, group=group)
    if results.get("trajectories_response") is not None:
        figures["questions"] = questions_figure(results["trajectories_response"], term=term,
                                                family=family, group=group)
    name = str(info.get("name") or "")
    return {
        "title": f"Replicating the effect of {term}" + (f": {name}" if name else ""),
        "name": name,
        "units": unit_names(group),
        "term": term,
        "response": response,
        "headlines": headlines(summary, k_needed, term=term, target=target,
                               direction=original.direction, reps=int(info.get("reps", 0)),
                               observed=observed_at(str(info.get("x_name") or term),
                                                    info.get("x")), group=group,
                               criterion=crit),
        "guide": guide(results.get("effects"), term=term, response=response, group=group),
        "effect_sentences": effect_sentences(results["effects"], term=term, response=response,
                                             group=group, units=units)
        if results.get("effects") is not None else [],
        "study": study_rows(info, original, term=term, summary=summary,
                            response=cols[0] if cols else None),
        "figures": figures,
        "tables": tables,
        "errors": error_messages(reps).to_dict("records") if reps is not None else [],
        "versions": info.get("versions", {}),
        "has_data": cols is not None,
        "several": len(add_series(summary)["series"].unique()) > 1,
        "plan": plan_context(results.get("plan"), summary),
        "family": family,
        "question_sentences": questions_sentences(questions, term=term, family=family,
                                                  group=group) if questions is not None else [],
    }


def headline_criterion(info: dict, summary: pd.DataFrame) -> str:
    """The criterion of the report's headline: the one the run chose (``replic run
    --criterion``, recorded in ``study.json``), by default significance in the original's
    direction; refused when the summary has no such criterion (a hand-edited study.json)."""
    crit = info.get("criterion") or HEADLINE
    if not isinstance(crit, str) or crit not in set(summary["criterion"]):
        raise ReplicInputError(f"study.json: criterion {crit!r} is not one of the criteria of "
                               f"summary.csv ({', '.join(dict.fromkeys(summary['criterion']))})")
    return crit


def _recommended(k_needed: pd.DataFrame, criterion: str = HEADLINE) -> list[int]:
    """The smallest k reaching the target for the headline criterion, per design family."""
    kn = k_needed[k_needed["criterion"] == criterion]
    return sorted({int(k) for k in pd.to_numeric(kn["k"], errors="coerce").dropna()})


def headlines(summary: pd.DataFrame, k_needed: pd.DataFrame, *, term: str, target: float,
              direction: float, reps: int, observed: str = "",
              group: str | None = None, criterion: str = HEADLINE) -> list[dict]:
    """One headline (sentence and fine print) per series, for the headline ``criterion``.

    Parameters
    ----------
    summary, k_needed : DataFrame
        ``summary.csv`` and ``k_needed.csv``.
    term : str
        The term.
    target : float
        The target probability.
    direction : float
        Sign of the original effect.
    reps : int
        Replicates per design (used when the summary lacks counts).
    observed : str
        Where each new subject is observed (:func:`~replic.report.text.observed_at`).
    group : str, optional
        The grouping factor.
    criterion : str
        The headline criterion (:func:`headline_criterion`).

    Returns
    -------
    list of dict
        ``text``, ``detail``, ``series`` and ``label`` per series.
    """
    s = add_series(summary)
    s = s[s["criterion"] == criterion]
    kn = add_series(k_needed)
    kn = kn[kn["criterion"] == criterion].set_index("series")
    several = s["series"].nunique() > 1
    out = []
    for name, g in s.groupby("series", sort=False):
        k = float(kn.loc[name, "k"]) if name in kn.index else math.nan
        at = g[g["k"] == k] if math.isfinite(k) else g[g["k"] == g["k"].max()]
        row = at.iloc[0]
        kc = float(kn.loc[name, "k_confident"]) if name in kn.index else math.nan
        h = headline(term=term, direction=direction, k=k, k_confident=kc,
                     prob=row["probability"], lower=row["lower"], upper=row["upper"],
                     target=target, k_max=int(g["k"].max()), reps=int(row["n"]) or reps,
                     series=name if several else "", observed=observed,
                     params=str(row.get("params", "")), group=group, criterion=criterion)
        bad = int(g["n_unconverged"].sum()) if "n_unconverged" in g else 0
        if bad:
            why = ("were flagged by bayes-fast's Pareto k-hat check (their importance-sampling "
                   "posteriors are unreliable)" if set(g["analysis"]) == {"bayes-fast"} else
                   "did not converge or were flagged")
            h["detail"] += (f" Warning: {bad} of the {reps * len(g)} replicate fits {why}; "
                            "see the fit diagnostics table.")
        out.append(h | {"series": name, "label": ANALYSIS_LABELS.get(name, name)})
    return out


def guide(effects: pd.DataFrame | None, *, term: str, response: str,
          group: str | None = None) -> list[dict]:
    """The reading guide, each question with its estimand's median and 95% interval.

    Single-valued estimands also get the posterior probability that the effect is below 0
    (``chance``); replication means list one line per k.

    Parameters
    ----------
    effects : DataFrame or None
        ``effects.csv``.
    term, response : str
        Names used in the questions.
    group : str, optional
        The grouping factor, whose levels the questions are about.

    Returns
    -------
    list of dict
        ``question``, ``estimand``, ``how``, ``numbers`` (list of str), ``chance``.
    """
    names = unit_names(group)
    rows = []
    for item in READING_GUIDE:
        numbers: list[str] = []
        chance = ""
        if effects is not None:
            e = effects[effects["estimand"] == item["id"]]
            for r in e.to_dict("records"):
                lev = str(r["level"]) if item["id"] == "replication_mean" else ""
                numbers.append((f"{lev.replace('k=', 'k = ')}: " if lev else "")
                               + f"{fmt(r['q50'], 1)} [{fmt(r['q2.5'], 1)}, "
                                 f"{fmt(r['q97.5'], 1)}]")
                if not lev:
                    p = float(r.get("P(<0)", math.nan))
                    if math.isfinite(p):
                        chance = f"Chance the effect is negative: {fmt_prob(p)}"
                    break
        rows.append({"question": item["question"].format(term=term, response=response, **names),
                     "estimand": item["estimand"].format(**names),
                     "how": item["how"].format(**names), "numbers": numbers, "chance": chance})
    return rows


def render_report(results_dir: str | Path) -> str:
    """The HTML report of a results directory, as text.

    Parameters
    ----------
    results_dir : str or Path
        A directory written by :func:`replic.results_io.write_results` (``report.html`` need
        not exist).

    Returns
    -------
    str
        One self-contained HTML5 document (figures embedded, no external requests).
    """
    from replic.results_io import read_plan, read_results

    # replicates.parquet is streamed by the diagnostics and error counts, never read whole
    results = read_results(results_dir, load_replicates=False)
    results["plan"] = read_plan(results_dir)
    return render_html(build_context(results))


def render_html(context: dict) -> str:
    """Fill the report template with a context from :func:`build_context`.

    Parameters
    ----------
    context : dict
        The output of :func:`build_context`.

    Returns
    -------
    str
        The HTML document.
    """
    return _environment().get_template(TEMPLATE).render(**context)


def write_report(results_dir: str | Path, *, out: str | Path | None = None) -> Path:
    """(Re)write the report of a results directory, atomically.

    Parameters
    ----------
    results_dir : str or Path
        A results directory.
    out : str or Path, optional
        The report's file (default ``results_dir/report.html``).  An existing file is
        replaced only when it is a report replic wrote; anything else is refused with a
        :class:`~replic.errors.ReplicInputError`.

    Returns
    -------
    Path
        The report's path.
    """
    d = Path(results_dir)
    target = d / "report.html" if out is None else Path(out)
    if target.is_dir():
        target = target / "report.html"
    _check_overwrite(target)
    if not target.parent.is_dir():
        raise ReplicInputError(f"--out {target}: no such directory {target.parent}")
    html = render_report(d)
    fd, tmp = tempfile.mkstemp(prefix=".report.", suffix=".html", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(html)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


#: Every report carries this in its head; a file without it was not written by replic.
_GENERATOR = '<meta name="generator" content="replic'


def _check_overwrite(path: Path) -> None:
    if not path.exists():
        return
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise ReplicInputError(f"{path}: cannot check the existing file ({exc})") from None
    if _GENERATOR not in head:
        raise ReplicInputError(f"{path} exists and is not a report written by replic; "
                               "refusing to overwrite it (choose another --out)")
