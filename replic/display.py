"""Notebook displays of a study: a short text and HTML summary, and the curve as a figure.

``repr(StudyResult)`` is a few lines (never the replicate table); ``_repr_html_`` adds the
headline curve as an inline SVG.  Nothing here reads a stored run's replicate file: a study's
display uses only its summary tables.  (A posterior's display: :mod:`replic.posterior_view`.)
"""

from __future__ import annotations

import html
import io
import math
from typing import Any

import pandas as pd

__all__ = ["HEADLINE", "answer", "plot_study", "study_html", "study_text"]

#: The headline criterion.
HEADLINE = "sig_same_direction"
_FAMILY = ("analysis", "family", "missing", "params")


def _families(table: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """(label, rows) per design family, labelled in words by what varies between families."""
    from replic.report.data import family_words

    cols = [c for c in _FAMILY if c in table]
    varying = [c for c in cols if table[c].nunique(dropna=False) > 1]
    out = []
    for keys, g in table.groupby(cols, sort=False, dropna=False):
        keys = dict(zip(cols, keys if isinstance(keys, tuple) else (keys,), strict=True))
        parts = [str(keys["analysis"])] if "analysis" in varying else []
        if "family" in varying:
            parts.append(family_words(str(keys["family"]), "params" in varying))
        else:
            if "missing" in varying:
                parts.append(f"{100 * float(keys['missing']):.0f}% missing")
            if "params" in varying:
                parts.append(_params_words(str(keys["params"])))
        out.append((", ".join(parts), g))
    return out


def _params_words(params: str) -> str:
    from replic.report.text import params_words

    return "assurance" if params == "posterior" else params_words(params)


def answer(row: pd.Series | dict) -> str:
    """A ``k_needed`` row in words: ``"k = 7"`` or ``"not reached for k <= 30"``."""
    if "answer" in row and isinstance(row["answer"], str) and row["answer"]:
        return str(row["answer"])
    k = row["k"]
    if k is None or (isinstance(k, float) and not math.isfinite(k)):
        return f"not reached for k <= {int(row['k_max'])}"
    return f"k = {int(k)}"


def _headline_rows(result: Any) -> list[tuple[str, str, pd.DataFrame]]:
    """(family label, answer, curve rows) for the headline criterion."""
    s = result.summary[result.summary["criterion"] == HEADLINE]
    kn = result.k_needed[result.k_needed["criterion"] == HEADLINE]
    answers = dict(_families(kn)) if len(kn) else {}
    out = []
    for label, g in _families(s):
        row = answers.get(label)
        out.append((label, answer(row.iloc[0]) if row is not None and len(row) else "–",
                    g.sort_values("k")))
    return out


def _design_words(result: Any) -> str:
    from replic.report.text import observed_at

    info = result.info
    seen = observed_at(str(info.get("x_name") or info.get("term", "")), info.get("x"))
    return f"new subjects observed at {seen}" if seen else "new subjects"


def study_text(result: Any) -> str:
    """A few lines: study, original estimate, headline answer per design family."""
    info, o = result.info, result.original
    s = result.summary
    ks = sorted(set(s["k"].astype(int)))
    analyses = ", ".join(dict.fromkeys(s["analysis"].astype(str)))
    lines = [f"StudyResult: effect of {info.get('term')}, {analyses}, "
             f"{len(set(s['design']))} designs (k = {_ks(ks)}) x {info.get('reps')} replicates, "
             f"seed {info.get('seed')}",
             f"  original: {o.estimate:.3g} (sd {o.se:.3g}, 95% [{o.lower:.3g}, {o.upper:.3g}]); "
             f"{_design_words(result)}"]
    target = float(info.get("target", 0.8))
    for label, ans, g in _headline_rows(result):
        k = int(ans.removeprefix("k = ")) if ans.startswith("k = ") else g["k"].max()
        at = g[g["k"] == k].iloc[0]
        lines.append(f"  {label + ': ' if label else ''}significant in the original's direction "
                     f"with {100 * target:.0f}% probability: {ans} "
                     f"(at k = {int(at['k'])}: {at['probability']:.3f} ± {at['mcse']:.3f})")
    f = result.replicates_file
    lines.append(f"  replicates: {f} (on disk)" if f is not None else
                 f"  replicates: {len(result.__dict__['_replicates'])} rows in memory")
    return "\n".join(lines)


def _ks(ks: list[int]) -> str:
    """``[2, 3, 4, 5, 10, 20]`` -> ``"2..5, 10, 20"``."""
    runs: list[list[int]] = []
    for k in ks:
        if runs and k == runs[-1][-1] + 1:
            runs[-1].append(k)
        else:
            runs.append([k])
    parts = [f"{r[0]}..{r[-1]}" if len(r) > 2 else ", ".join(map(str, r)) for r in runs]
    return ", ".join(parts[:6]) + (", …" if len(parts) > 6 else "")


def plot_study(result: Any, *, criterion: str = HEADLINE, ax: Any = None) -> Any:
    """The curve over k of ``criterion`` per design family, with 95% Monte Carlo bands.

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.figure import Figure

    s = result.summary[result.summary["criterion"] == criterion]
    if s.empty:
        from replic.errors import ReplicInputError

        have = ", ".join(dict.fromkeys(result.summary["criterion"]))
        raise ReplicInputError(f"criterion={criterion!r}: not in this study's summary "
                               f"(criteria: {have})")
    if ax is None:
        fig = Figure(figsize=(6, 3.4), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    target = float(result.info.get("target", 0.8))
    for label, g in _families(s):
        g = g.sort_values("k")
        line, = ax.plot(g["k"], g["probability"], marker="o", ms=3, label=label or None)
        ax.fill_between(g["k"], g["lower"], g["upper"], color=line.get_color(), alpha=0.2,
                        lw=0)
    ax.axhline(target, color="0.4", lw=0.8, ls="--")
    ax.set_ylim(0, 1)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_xlabel("k (new subjects)")
    ax.set_ylabel(f"P({criterion})" if criterion != HEADLINE else "P(significant, same sign)")
    ax.set_title(f"Replicating the effect of {result.info.get('term', '')}", fontsize=10)
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize=8, frameon=False)
    return fig


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    import matplotlib

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "replic"}):
        fig.savefig(buf, format="svg")
    text = buf.getvalue()
    return text[text.index("<svg"):]


def study_html(result: Any) -> str:
    """An HTML summary: the headline per family, the curve as inline SVG, k needed."""
    info, o = result.info, result.original
    term = html.escape(str(info.get("term", "")))
    target = float(info.get("target", 0.8))
    rows = "".join(
        f"<tr><td>{html.escape(label or str(g['analysis'].iloc[0]))}</td>"
        f"<td>{html.escape(ans)}</td></tr>" for label, ans, g in _headline_rows(result))
    return (
        '<div class="replic-study">'
        f"<p><strong>Replicating the effect of {term}</strong>: original "
        f"{o.estimate:.3g} (sd {o.se:.3g}, 95% [{o.lower:.3g}, {o.upper:.3g}]); "
        f"{html.escape(_design_words(result))}; {info.get('reps')} replicates per design.</p>"
        f"{_svg(plot_study(result))}"
        f"<table><thead><tr><th>design family</th><th>smallest k reaching "
        f"{100 * target:.0f}%</th></tr></thead><tbody>{rows}</tbody></table>"
        "</div>")
