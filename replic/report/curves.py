"""Figures over k: the probability of each criterion, and Type S / Type M rates.

Every probability is drawn with its 95% Monte Carlo interval (the Wilson interval of
``summary.csv``) as a band, so the reader sees how much of a curve's wiggle is simulation
noise.  Several analyses (summary, reml, stan, bayes-fast) or design families are overlaid.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.ticker import MaxNLocator

from replic.report.data import add_series
from replic.report.figures import Figure, encode_svg, figure_style, new_figure
from replic.report.text import CRITERION_HELP, CRITERION_LABELS, criterion_phrase, fmt, fmt_pct

__all__ = ["HEADLINE", "all_criteria_figure", "headline_curve", "series_colours",
           "type_sm_figure"]

#: The headline criterion.
HEADLINE = "sig_same_direction"


def series_colours(series: list[str]) -> dict[str, str]:
    """A fixed colour per series, in order of appearance."""
    pal = sns.color_palette("colorblind", max(len(series), 1)).as_hex()
    return dict(zip(series, pal, strict=False))


def _in_order(df: pd.DataFrame, *, first: tuple | list = ()) -> pd.DataFrame:
    """Sort by ``first``, then series in order of appearance, then k."""
    rank = {name: i for i, name in enumerate(dict.fromkeys(df["series"]))}
    keys = [*first, "_series", "k"]
    return (df.assign(_series=df["series"].map(rank)).sort_values(keys, kind="stable")
            .drop(columns="_series").reset_index(drop=True))


def _k_needed(k_needed: pd.DataFrame, criterion: str) -> pd.DataFrame:
    kn = add_series(k_needed) if not k_needed.empty else k_needed.assign(series=[])
    kn = kn[kn["criterion"] == criterion]
    return kn[["series", "k", "k_confident", "target"]].rename(
        columns={"k": "k_needed", "k_confident": "k_needed_confident"})


def headline_curve(summary: pd.DataFrame, k_needed: pd.DataFrame, *, term: str,
                   target: float, direction: float = 1.0, criterion: str = HEADLINE) -> Figure:
    """The probability that a replication meets the headline ``criterion`` (by default: finds
    a significant effect in the original's direction), over k.

    Returns
    -------
    Figure
        ``data``: ``series``, ``k``, ``probability``, ``mcse``, ``lower``, ``upper``, ``n``,
        ``n_failed`` and the series' ``k_needed`` (NaN when no k reaches the target).
    """
    s = _in_order(add_series(summary))
    s = s[s["criterion"] == criterion]
    d = s[["series", "k", "probability", "mcse", "lower", "upper", "n", "n_failed"]].merge(
        _k_needed(k_needed, criterion)[["series", "k_needed"]], on="series", how="left")
    order = list(dict.fromkeys(add_series(summary)["series"]))
    colours = series_colours(order)
    sign = "positive" if direction >= 0 else "negative"
    label = CRITERION_LABELS.get(criterion, criterion)
    significance = criterion == HEADLINE
    with figure_style():
        fig = new_figure(9, 4.8)
        ax = fig.add_subplot()
        ax.axhline(target, color="#333333", lw=1, ls="--")
        ax.text(d["k"].min(), target + 0.012, f"target {fmt_pct(target)}", fontsize=9,
                va="bottom", color="#333333")
        for i, name in enumerate(order):
            g = d[d["series"] == name]
            c = colours[name]
            one = len(order) == 1
            ax.fill_between(g["k"], g["lower"], g["upper"], color=c, alpha=0.25, lw=0,
                            label="95% Monte Carlo interval" if one else None)
            ax.plot(g["k"], g["probability"], color=c, lw=1.8, marker="o", ms=3.5,
                    label="estimated probability" if one else name)
            kk = g["k_needed"].iloc[0] if len(g) else np.nan
            if math.isfinite(kk):
                p = float(g.loc[g["k"] == kk, "probability"].iloc[0])
                ax.axvline(kk, color=c, lw=1, ls=":")
                ax.plot([kk], [p], "o", ms=8, mfc="none", mec=c, mew=1.6)
                ax.annotate(f"k = {int(kk)}", (kk, 0.04 + 0.07 * i), xytext=(5, 0),
                            textcoords="offset points", color=c, fontsize=10,
                            fontweight="bold")
        ax.set_ylim(0, 1.02)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("k, number of new subjects in the replication")
        ax.set_ylabel(f"P(significant {sign} effect)" if significance else f"P({label})")
        ax.set_title(f"How often does a replication with k new subjects find the effect of "
                     f"{term}?" if significance else f"How often does a replication with k "
                     f"new subjects {criterion_phrase(criterion, term=term, sign=sign)}?",
                     loc="left")
        if len(order) == 1:
            ax.legend(loc="lower right", fontsize=8.5, title=order[0], title_fontsize=8.5)
        else:  # below the axes, so it never hides a curve or a k label
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, fontsize=8.5,
                      frameon=False)
        fig.tight_layout()
        svg = encode_svg(fig)
    parts = []
    for name in order:
        g = d[d["series"] == name]
        kk = g["k_needed"].iloc[0]
        first, last = g.iloc[0], g.iloc[-1]
        reach = (f"reaching the {fmt_pct(target)} target at k = {int(kk)}"
                 if math.isfinite(kk) else f"not reaching the {fmt_pct(target)} target")
        parts.append(f"{name}: {fmt_pct(first['probability'])} at k = {int(first['k'])}, "
                     f"{fmt_pct(last['probability'])} at k = {int(last['k'])}, {reach}")
    alt = (f"Line chart of the probability that a replication "
           f"{criterion_phrase(criterion, term=term, sign=sign)}, against k, with Monte Carlo "
           f"error bands and a dashed target line. " + "; ".join(parts) + ".")
    meets = ("whose 95% interval excludes 0 on the original's side" if significance else
             f"meeting '{label}' ({CRITERION_HELP[criterion]})" if criterion in CRITERION_HELP
             else f"meeting the custom criterion '{criterion}'")
    caption = (f"Points: the share of simulated replications {meets}. Band: its 95% Monte "
               "Carlo interval (more replicates narrow it). Dotted line: the smallest k "
               "reaching the target.")
    return Figure("curve", svg, alt, caption, d.reset_index(drop=True))


def all_criteria_figure(summary: pd.DataFrame, k_needed: pd.DataFrame | None = None, *,
                        target: float) -> Figure:
    """Small multiples: every criterion's probability over k, with Monte Carlo bands.

    Parameters
    ----------
    summary : DataFrame
        ``summary.csv``.
    k_needed : DataFrame, optional
        ``k_needed.csv``; its smallest k per criterion is marked by a dotted line.
    target : float
        The target probability (dashed line).

    Returns
    -------
    Figure
        ``data``: ``series``, ``criterion``, ``k``, ``probability``, ``lower``, ``upper`` and
        ``k_needed`` (NaN when not reached or not given).
    """
    s = add_series(summary)
    order = list(dict.fromkeys(s["series"]))
    crits = list(dict.fromkeys(s["criterion"]))
    d = _in_order(s[["series", "criterion", "k", "probability", "lower", "upper"]],
                  first=["criterion"])
    if k_needed is not None and len(k_needed):
        kn = add_series(k_needed)[["series", "criterion", "k"]].rename(
            columns={"k": "k_needed"})
        d = d.merge(kn, on=["series", "criterion"], how="left", validate="m:1")
    else:
        d = d.assign(k_needed=np.nan)
    colours = series_colours(order)
    ncol = 4
    nrow = math.ceil(len(crits) / ncol)
    with figure_style():
        fig = new_figure(10, 2.6 * nrow + 0.6)
        axes = fig.subplots(nrow, ncol, sharex=True, sharey=True, squeeze=False).ravel()
        for ax, crit in zip(axes, crits, strict=False):
            for name in order:
                g = d[(d["criterion"] == crit) & (d["series"] == name)]
                ax.fill_between(g["k"], g["lower"], g["upper"], color=colours[name],
                                alpha=0.25, lw=0)
                ax.plot(g["k"], g["probability"], color=colours[name], lw=1.4, label=name)
                kk = g["k_needed"].iloc[0] if len(g) else np.nan
                if math.isfinite(kk):
                    ax.axvline(kk, color=colours[name], lw=0.9, ls=":")
            ax.axhline(target, color="#333333", lw=0.8, ls="--")
            ax.set_title(_wrap(CRITERION_LABELS.get(crit, crit)), fontsize=9, loc="left")
            ax.set_ylim(0, 1.02)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        for ax in axes[len(crits):]:
            ax.set_visible(False)
        for ax in axes[(nrow - 1) * ncol:]:
            ax.set_xlabel("k")
        for ax in axes[::ncol]:
            ax.set_ylabel("probability")
        fig.tight_layout()
        _figure_legend(fig, axes[0], len(order))
        svg = encode_svg(fig)
    parts = []
    for crit in crits:
        g = d[d["criterion"] == crit]
        lo, hi = g["probability"].min(), g["probability"].max()
        ks = [f"k = {int(v)}" for v in g.drop_duplicates("series")["k_needed"]
              if math.isfinite(v)]
        reach = f", target reached at {' / '.join(ks)}" if ks else ""
        parts.append(f"{CRITERION_LABELS.get(crit, crit)}: {fmt_pct(lo)} to {fmt_pct(hi)}"
                     + reach)
    alt = (f"{len(crits)} small line charts, one per replication criterion, of its probability "
           f"against k with Monte Carlo bands ({', '.join(order)}). Ranges over k: "
           + "; ".join(parts) + ".")
    caption = ("Every criterion of a 'successful' replication, over k. Bands are 95% Monte "
               "Carlo intervals; the dashed line is the target and the dotted line the "
               "smallest k reaching it. Some criteria (the original's estimate inside the "
               "replication's interval) become harder to meet as k grows, because larger "
               "replications give narrower intervals.")
    return Figure("criteria", svg, alt, caption, d)


def _figure_legend(fig, ax, n_series: int) -> None:
    """One legend under all panels, when several series are drawn."""
    if n_series > 1:
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                   ncol=min(n_series, 2), fontsize=8.5, frameon=False)


def _wrap(text: str, width: int = 30) -> str:
    words, lines, cur = text.split(), [], ""
    for w in words:
        if cur and len(cur) + len(w) + 1 > width:
            lines.append(cur)
            cur = w
        else:
            cur = f"{cur} {w}".strip()
    return "\n".join([*lines, cur])


def type_sm_figure(type_sm: pd.DataFrame) -> Figure:
    """Share significant, Type S rate and Type M (exaggeration) ratio over k.

    Returns
    -------
    Figure
        ``data``: ``series``, ``k``, ``power``, ``type_s``, ``type_s_mcse``, ``type_m``,
        ``type_m_mcse``, ``n_significant``.
    """
    t = _in_order(add_series(type_sm))
    d = t[["series", "k", "n", "n_significant", "power", "type_s", "type_s_mcse", "type_m",
           "type_m_mcse"]].reset_index(drop=True)
    order = list(dict.fromkeys(add_series(type_sm)["series"]))
    colours = series_colours(order)
    panels = [("type_s", "type_s_mcse", "Type S: wrong sign among significant"),
              ("type_m", "type_m_mcse", "Type M: |estimate| / |true effect| among significant")]
    with figure_style():
        fig = new_figure(10, 3.6)
        axes = fig.subplots(1, 2, sharex=True)
        for ax, (col, se, title) in zip(axes, panels, strict=True):
            for name in order:
                g = d[d["series"] == name]
                lo = g[col] - 1.96 * g[se].fillna(0)
                hi = g[col] + 1.96 * g[se].fillna(0)
                ax.fill_between(g["k"], lo, hi, color=colours[name], alpha=0.25, lw=0)
                ax.plot(g["k"], g[col], color=colours[name], lw=1.5, marker="o", ms=3,
                        label=name)
            ax.set_title(title, fontsize=10, loc="left")
            ax.set_xlabel("k")
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes[1].axhline(1, color="#333333", lw=0.8, ls="--")
        axes[0].set_ylim(bottom=0)
        fig.tight_layout()
        _figure_legend(fig, axes[0], len(order))
        svg = encode_svg(fig)
    first = d.groupby("series", sort=False).first()
    last = d.groupby("series", sort=False).last()
    parts = [f"{s}: Type S {fmt_pct(first.loc[s, 'type_s'], 1)} and Type M "
             f"{fmt(first.loc[s, 'type_m'])} at k = {int(first.loc[s, 'k'])}, Type S "
             f"{fmt_pct(last.loc[s, 'type_s'], 1)} and Type M {fmt(last.loc[s, 'type_m'])} at "
             f"k = {int(last.loc[s, 'k'])}" for s in order]
    alt = ("Two line charts over k with Monte Carlo bands: the Type S rate and the Type M "
           "exaggeration ratio among significant replications. " + "; ".join(parts) + ".")
    caption = ("Among replications that come out significant: how often the sign is wrong "
               "(Type S) and by how much the estimate exaggerates the true average-subject "
               "effect (Type M; 1 = no exaggeration). Small replications that 'succeed' tend "
               "to overstate the effect. Bands: ±1.96 Monte Carlo standard errors.")
    return Figure("type_sm", svg, alt, caption, d)

