"""The report's tables, as formatted cells with the raw numbers kept alongside.

A :class:`Table` holds the header, the rows of display strings and the DataFrame they came from;
the template only lays them out.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from replic.criteria import CRITERIA
from replic.report.data import add_series, diagnostics, model_formula
from replic.report.text import (
    ANALYSIS_LABELS,
    CRITERION_HELP,
    CRITERION_LABELS,
    CRITERION_SHORT,
    DIAGNOSTIC_HELP,
    estimand_label,
    fmt,
    fmt_prob,
    unit_names,
)

__all__ = ["Table", "criteria_table", "diagnostics_table", "effects_table", "k_needed_table",
           "study_rows", "type_sm_table"]


@dataclass(frozen=True)
class Table:
    """A table of the report.

    Attributes
    ----------
    name : str
        Identifier (HTML id).
    columns : list of str
        Header cells.
    rows : list of list of str
        Display cells.
    data : DataFrame
        The numbers behind the cells.
    notes : list of str
        Lines printed under the table.
    """

    name: str
    columns: list[str]
    rows: list[list[str]]
    data: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def study_rows(info: dict, original, *, term: str, summary: pd.DataFrame | None = None,
               response: str | None = None) -> list[tuple[str, str]]:
    """Label/value pairs describing the study: source, model, designs, analysis, seed, time.

    Parameters
    ----------
    info : dict
        ``study.json`` (plus ``analyses``, the analyses present in the summary).
    original : Original
        The original's estimate of the term.
    term : str
        The term.
    summary : DataFrame, optional
        ``summary.csv``, to describe the design families' missingness and parameter mode.
    response : str, optional
        The response's name for the model formula when the study's record lacks it.

    Returns
    -------
    list of (str, str)
    """
    post = info.get("posterior") or {}
    designs = info.get("designs") or []
    if summary is not None and "k" in summary:
        ks = sorted({int(k) for k in summary["k"]})
    else:
        ks = sorted({int(d.split("=")[1].split(",")[0]) for d in designs
                     if d.startswith("k=") and d.split("=")[1].split(",")[0].isdigit()})
    n = len(designs) or (len(summary.groupby(["design", "analysis"]).size()) // max(
        summary["analysis"].nunique(), 1) if summary is not None else 0)
    grid = f"k = {ks[0]} to {ks[-1]} ({n} designs)" if ks else ", ".join(designs)
    fams = list(dict.fromkeys(summary["family"].astype(str))) if (
        summary is not None and "family" in summary) else []
    x = info.get("x") or []
    xs = ", ".join(fmt(v, 0) if float(v).is_integer() else fmt(v, 2) for v in x)
    analyses = info.get("analyses") or [info.get("analysis", "")]
    started = info.get("started")
    when = (dt.datetime.fromtimestamp(float(started), tz=dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
            if started else "–")
    secs = info.get("seconds")
    jobs = f" with n_jobs = {info['n_jobs']}" if info.get("n_jobs") is not None else ""
    rows = [
        *([("Study", str(info["name"]) + (f" ({info['study']})" if info.get("study") else ""))]
          if info.get("name") else []),
        ("Posterior source", str(post.get("source") or info.get("source") or "–")),
        ("Posterior draws", f"{post.get('draws', '–')}"
         + (f"; {post.get('levels')} fitted levels of {post.get('group')}"
            if post.get("levels") else "")),
        *([("Original fit diagnostics", _fit_diagnostics(post["diagnostics"]))]
          if post.get("diagnostics") else []),
        ("Model", model_formula(info, term, response=response)),
        ("Term", term),
        *([("Units of the response", str(info["units"]))] if info.get("units") else []),
        ("Original estimate", f"{fmt(original.estimate)} (posterior sd {fmt(original.se)}), "
                              f"95% interval {fmt(original.lower)} to {fmt(original.upper)}"),
        ("Design grid", grid + _families(summary)),
        *([("Design families (each a curve over k)", "; ".join(fams))] if len(fams) > 1 else
          [(f"{term} values per new subject", xs or "–")]),
        ("Analysis", "; ".join(ANALYSIS_LABELS.get(a, a) for a in analyses)),
        ("Replicates per design", f"{info.get('reps', '–')}"),
        ("Root seed", f"{info.get('seed', '–')}"),
        ("Target probability", f"{fmt(100 * float(info.get('target', 0.8)), 0)}%"),
        ("Run", f"started {when}, took "
                + (f"{float(secs):.1f} s" if secs is not None else "–")
                + jobs),
        ("Package versions", ", ".join(f"{k} {v}" for k, v in
                                       (info.get("versions") or {}).items()) or "–"),
    ]
    return rows


def _fit_diagnostics(diag: dict) -> str:
    """``Pareto k-hat 0.76 (above 0.7: the draws are unreliable), ESS 538, ...``."""
    parts = []
    for key, value in diag.items():
        if key == "khat":
            v = float(value)
            parts.append(f"Pareto k-hat {fmt(v, 2)}" + (" (above 0.7: the importance-sampling "
                                                         "draws are unreliable)" if v > 0.7
                                                         else ""))
        elif isinstance(value, float):
            parts.append(f"{key} {fmt(value, 3 if abs(value) < 10 else 0)}")
        else:
            parts.append(f"{key} {value}")
    return ", ".join(parts)


def _families(summary: pd.DataFrame | None) -> str:
    if summary is None:
        return ""
    parts = []
    miss = sorted(summary["missing"].astype(float).unique()) if "missing" in summary else []
    if miss:
        parts.append("complete data" if miss == [0.0] else "missing observations: "
                     + ", ".join(f"{100 * m:.0f}%" for m in miss))
    modes = {"posterior": "parameters drawn from the posterior (assurance)",
             "mean": "parameters fixed at the posterior mean (conditional power)"}
    for p in dict.fromkeys(summary.get("params", pd.Series(dtype=str)).astype(str)):
        parts.append(modes.get(p, f"parameters fixed at {p} (conditional power)"))
    return "; " + "; ".join(parts) if parts else ""


def effects_table(effects: pd.DataFrame, *, group: str | None = None) -> Table:
    """``effects.csv`` with reader-facing estimand names.

    Parameters
    ----------
    effects : DataFrame
        ``effects.csv`` (see :func:`replic.effects.summarise_draws`).
    group : str, optional
        The grouping factor, whose levels the labels count.

    Returns
    -------
    Table
    """
    cols = ["mean", "sd", "q2.5", "q50", "q97.5"]
    rows = []
    for r in effects.to_dict("records"):
        lev = "" if pd.isna(r["level"]) else str(r["level"])
        label = estimand_label(r["estimand"], lev, group=group)
        rows.append([label, r["estimand"]] + [fmt(r[c], 2) for c in cols]
                    + [fmt_prob(r["P(<0)"])])
    unit = unit_names(group)["unit"]
    return Table("effects-table", ["Question", "estimand", "mean", "sd", "2.5%", "50%", "97.5%",
                                   "P(< 0)"], rows, effects,
                 notes=[f"{estimand_label('fitted', group=group)}: every fitted {unit}'s effect "
                        "in every draw, pooled. 'Picked at random' and 'reused for all draws' "
                        "are brms's sample_new_levels = 'uncertainty' and 'old_levels'. P(< 0): "
                        "posterior probability that the effect is negative."])


def criteria_table(summary: pd.DataFrame) -> Table:
    """Probability ± MCSE of every criterion, one row per (series, k).

    The replicate and failure counts get columns only when they vary (or are non-zero);
    otherwise a note states them.

    Parameters
    ----------
    summary : DataFrame
        ``summary.csv``.

    Returns
    -------
    Table
    """
    s = add_series(summary)
    crits = [c for c in CRITERIA if c in set(s["criterion"])] + \
        [c for c in dict.fromkeys(s["criterion"]) if c not in CRITERIA]
    several = s["series"].nunique() > 1
    show_n = s["n"].nunique() > 1 or s["n_failed"].any()
    show_failed = bool(s["n_failed"].any())
    rows = []
    for (series, k), g in s.groupby(["series", "k"], sort=False):
        cells = g.set_index("criterion")
        row = ([series] if several else []) + [str(int(k))]
        if show_n:
            row.append(str(int(cells["n"].iloc[0])))
        if show_failed:
            row.append(str(int(cells["n_failed"].iloc[0])))
        for c in crits:
            if c in cells.index:
                row.append(_pm(cells.loc[c, "probability"], cells.loc[c, "mcse"]))
            else:
                row.append("–")
        rows.append(row)
    head = (["analysis"] if several else []) + ["k"] + (["fits"] if show_n else []) + \
        (["failed"] if show_failed else []) + [CRITERION_SHORT.get(c, c) for c in crits]
    notes = []
    if not show_n:
        notes.append(f"Every design: {int(s['n'].iloc[0])} replicates, none failed.")
    notes += [f"{CRITERION_SHORT.get(c, c)} — {CRITERION_LABELS[c]}: {CRITERION_HELP[c]}."
              for c in crits if c in CRITERION_HELP]
    notes.append("Each cell: the share of replications meeting the criterion ± its Monte Carlo "
                 "standard error √(p(1 − p)/R). Failed fits are left out of the share.")
    return Table("criteria-table", head, rows, s, notes=notes)


def k_needed_table(k_needed: pd.DataFrame) -> Table:
    """Smallest k reaching the target, per criterion and series.

    Parameters
    ----------
    k_needed : DataFrame
        ``k_needed.csv``.

    Returns
    -------
    Table
    """
    kn = add_series(k_needed)
    order = list(dict.fromkeys(kn["series"]))
    target = float(kn["target"].iloc[0]) if len(kn) else 0.8
    notes = [f"Smallest k whose estimated probability reaches {fmt(100 * target, 0)}%, and the "
             "smallest whose 95% Monte Carlo interval lies wholly above it (the cautious "
             "choice). '> k' means no k in the grid reaches it."]
    if "answer" in kn:
        notes[0] = (f"Smallest k from which every larger k of the grid reaches "
                    f"{fmt(100 * target, 0)}% (estimate), and the same using the 95% Monte "
                    "Carlo intervals' lower bounds (the cautious choice). A criterion whose "
                    "probability falls with k says up to which k it reaches the target.")
    if len(order) <= 1:
        rows = [[CRITERION_LABELS.get(r["criterion"], r["criterion"]),
                 _answer(r), _k(r["k_confident"], r["k_max"])]
                for r in kn.to_dict("records")]
        head = ["criterion", "smallest k (estimate)", "smallest k (cautious)"]
        return Table("k-needed-table", head, rows, kn, notes=notes)
    # several analyses: one row per criterion, one column per analysis, "k (cautious k)"
    cells = {(r["criterion"], r["series"]): _k_pair(r) for r in kn.to_dict("records")}
    crits = list(dict.fromkeys(kn["criterion"]))
    rows = [[CRITERION_LABELS.get(c, c)] + [cells.get((c, name), "–") for name in order]
            for c in crits]
    notes[0] += " Cells: the estimate, with the cautious choice in brackets when it differs."
    return Table("k-needed-table", ["criterion", *order], rows, kn, notes=notes)


def _answer(r: dict) -> str:
    """The k needed, in words when the curve never reaches the target or falls below it."""
    a = r.get("answer")
    if isinstance(a, str) and a and not _finite(r["k"]) and not a.startswith("not reached"):
        return a  # falls below the target, or reaches it only here and there
    return _k(r["k"], r["k_max"])


def _k(k: float, k_max: float) -> str:
    return str(int(k)) if _finite(k) else f"> {int(k_max)}"


def _k_pair(r: dict) -> str:
    """``k``, or ``k (cautious k)`` when the two differ."""
    k, kc = _answer(r), _k(r["k_confident"], r["k_max"])
    return k if k == kc else f"{k} ({kc})"


def type_sm_table(type_sm: pd.DataFrame) -> Table:
    """Type S and Type M rates per (series, k).

    Parameters
    ----------
    type_sm : DataFrame
        ``type_sm.csv``.

    Returns
    -------
    Table
    """
    t = add_series(type_sm)
    several = t["series"].nunique() > 1
    rows = [([r["series"]] if several else []) + [
        str(int(r["k"])), str(int(r["n"])), str(int(r["n_significant"])), fmt(r["power"], 3),
        _type_s(r), _pm(r["type_m"], r["type_m_mcse"])]
        for r in t.to_dict("records")]
    head = (["analysis"] if several else []) + ["k", "fits", "significant", "share significant",
                                                "Type S ± MCSE", "Type M ± MCSE"]
    return Table("type-sm-table", head, rows, t, notes=[
        "Significant: the 95% interval excludes 0 on either side. Type S: share of those with "
        "the opposite sign of the replicate's true average-subject effect. Type M: mean of "
        "|estimate| / |true effect| among them (Gelman & Carlin 2014). With no wrong sign, "
        "the one-sided 95% Clopper-Pearson upper bound of Type S is shown instead."])


def _type_s(row: dict) -> str:
    """Type S with its MCSE, or, with no wrong-sign replicate, its 95% upper bound."""
    s, up = row.get("type_s", math.nan), row.get("type_s_upper", math.nan)
    if s == 0 and _finite(up):
        return f"0 of {int(row['n_significant'])} (95% upper bound {fmt(up, 4)})"
    return _pm(s, row["type_s_mcse"])


def diagnostics_table(replicates: pd.DataFrame | str | Path) -> Table:
    """Counts of failed, singular, non-converged or flagged fits; only designs with any.

    Parameters
    ----------
    replicates : DataFrame or path
        The replicate table, or ``replicates.parquet`` (streamed).

    Returns
    -------
    Table
        ``data`` holds every design's counts (see :func:`~replic.report.data.diagnostics`).
    """
    d = diagnostics(replicates)
    checks = [c for c in d.columns if c not in ("series", "k", "design", "replicates", "any")]
    several = d["series"].nunique() > 1
    shown = d[d["any"] > 0]
    rows = [([r["series"]] if several else []) + [str(int(r["k"])), str(int(r["replicates"]))]
            + [str(int(r[c])) for c in checks] for r in shown.to_dict("records")]
    head = (["analysis"] if several else []) + ["k", "replicates"] + checks
    notes = []
    if not rows:
        n = int(d["replicates"].sum())
        return Table("diagnostics-table", head, rows, d, notes=[
            f"None of the {n} replicate fits failed or was flagged ({', '.join(checks)})."])
    for name, g in d.groupby("series", sort=False):
        notes.append(f"{name}: {int(g['any'].sum())} of {int(g['replicates'].sum())} replicate "
                     f"fits failed or were flagged ({', '.join(checks)}).")
    notes += [f"{c}: {DIAGNOSTIC_HELP[c]}" for c in checks if c in DIAGNOSTIC_HELP]
    return Table("diagnostics-table", head, rows, d, notes=notes)


def _pm(value: float, se: float) -> str:
    """``value ± se`` with 3 decimals; a dash when the value is missing (no fits)."""
    if not _finite(value):
        return "–"
    return f"{fmt(value, 3)} ±\u00a0{fmt(se, 3)}"  # wraps before "±", never inside


def _finite(x) -> bool:
    try:
        return math.isfinite(float(x))
    except (TypeError, ValueError):
        return False
