"""Figures of the effect of the term and of the trajectories over it.

Each builder returns a :class:`Figure`: the image (SVG, embedded as a data URI), its alt text,
and the DataFrame it plotted, so tests check the numbers behind a figure rather than pixels.
Figures are drawn on :class:`matplotlib.figure.Figure` objects directly (no pyplot, no
display), and the SVG is byte-for-byte reproducible (fixed hash salt, no date).
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import matplotlib as mpl
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure as MplFigure

from replic.report.data import effect_intervals
from replic.report.text import estimand_label, fmt, unit_names

__all__ = ["GROUP_COLOURS", "Figure", "effects_figure", "encode_svg", "figure_style",
           "new_figure", "trajectory_figure"]

#: Colours of the estimand groups (colour-blind-safe, from seaborn's "colorblind").
GROUP_COLOURS = {"population": "#0173b2", "study": "#029e73", "new": "#d55e00",
                 "replication": "#cc78bc"}
BAND_COLOURS = {"prediction": "#d9d9d9", "new_subject": "#f5b27f", "conditional": "#0173b2"}
BAND_LABELS = {"conditional": "Average {unit}: expected curve (95%)",
               "new_subject": "New {unit}: expected curve (95%)",
               "prediction": "New {unit}: observations (95% prediction, dashed edges)"}

_RC = {"svg.hashsalt": "replic-report", "svg.fonttype": "path", "font.family": "DejaVu Sans",
       "font.size": 10, "axes.titlesize": 11, "axes.labelsize": 10, "figure.dpi": 100,
       "path.simplify": True}


@dataclass(frozen=True)
class Figure:
    """A rendered figure and the data behind it.

    Attributes
    ----------
    name : str
        Identifier (also the HTML id of the figure).
    svg : bytes
        The SVG image.
    alt : str
        Alt text: what the figure shows, with its key numbers.
    caption : str
        The caption printed under the figure.
    data : DataFrame
        The numbers plotted.
    """

    name: str
    svg: bytes
    alt: str
    caption: str
    data: pd.DataFrame

    @property
    def src(self) -> str:
        """The image as a ``data:`` URI (self-contained HTML)."""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg).decode("ascii")


@contextmanager
def figure_style() -> Iterator[None]:
    """seaborn's whitegrid style with replic's reproducible SVG settings, locally."""
    with sns.axes_style("whitegrid"), mpl.rc_context(_RC):
        yield


def new_figure(width: float, height: float) -> MplFigure:
    """A matplotlib figure on the Agg canvas: never a window, never pyplot's global state."""
    fig = MplFigure(figsize=(width, height))
    FigureCanvasAgg(fig)
    return fig


def encode_svg(fig: MplFigure) -> bytes:
    """The figure as SVG bytes without date or random ids (identical for identical input)."""
    with mpl.rc_context(_RC):
        buf = io.BytesIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    return buf.getvalue()


def effects_figure(draws: pd.DataFrame, *, term: str, response: str = "the response",
                   group: str | None = None, recommended: Sequence[int] = ()) -> Figure:
    """Distributions of the effect of ``term`` for each estimand, side by side.

    Parameters
    ----------
    draws : DataFrame
        ``effect_draws.parquet``: ``estimand``, ``draw``, ``level``, ``value``.
    term : str
        The term.
    response : str
        The response's name (with its units), for the axis label.
    group : str, optional
        The grouping factor, whose levels the labels count.
    recommended : sequence of int
        The k recommended by the study (smallest reaching the target); their rows are
        marked.

    Returns
    -------
    Figure
        ``data`` is :func:`~replic.report.data.effect_intervals` plus the row ``label``.
    """
    rows = effect_intervals(draws)
    marks = {f"k={int(k)}" for k in recommended}
    rows.insert(0, "label", [estimand_label(e, lev, group=group)
                             + (" (recommended)" if e == "replication_mean" and lev in marks
                                else "")
                             for e, lev in zip(rows["estimand"], rows["level"], strict=True)])
    long = pd.concat([draws.loc[(draws["estimand"] == r.estimand) & (draws["level"] == r.level),
                                ["value"]].assign(label=r.label, group=r.group)
                      for r in rows.itertuples()], ignore_index=True)
    with figure_style():
        fig = new_figure(8, 0.62 * len(rows) + 1.4)
        ax = fig.add_subplot()
        sns.violinplot(data=long, x="value", y="label", hue="group", order=list(rows["label"]),
                       palette=GROUP_COLOURS, density_norm="width", cut=0, inner=None,
                       linewidth=0.5, saturation=0.9, alpha=0.55, legend=False, ax=ax)
        for i, r in enumerate(rows.to_dict("records")):
            ax.plot([r["q2.5"], r["q97.5"]], [i, i], color="#222222", lw=2.2,
                    solid_capstyle="butt")
            ax.plot([r["q50"]], [i], "o", ms=5, mfc="white", mec="#222222", mew=1.4)
        ax.axvline(0, color="#555555", lw=1, ls="--")
        ax.set_xlabel(f"Effect of {term}: change in {response} per unit of {term}")
        ax.set_ylabel("")
        ax.set_title(f"Effect of {term}: median (o) and 95% interval (—)", loc="left")
        fig.tight_layout()
        svg = encode_svg(fig)
    parts = [f"{r['label']}: median {fmt(r['q50'], 1)}, 95% interval {fmt(r['q2.5'], 1)} to "
             f"{fmt(r['q97.5'], 1)}" for r in rows.to_dict("records")]
    alt = (f"Violin plots of the posterior distribution of the effect of {term} for "
           f"{len(rows)} estimands, a dashed line at zero. " + "; ".join(parts) + ".")
    names = unit_names(group)
    caption = (f"Each violin is the posterior distribution of the effect of {term} for one "
               "question; the black bar is its 95% interval and the circle its median. "
               f"Intervals widen from the average {names['unit']} to a new {names['unit']}; a "
               f"new experiment's mean over k {names['units']} sits in between and narrows as "
               "k grows." + (" 'Recommended': the smallest k whose replications reach the "
                             "target probability." if marks else ""))
    return Figure("effects", svg, alt, caption, rows)


def trajectory_figure(bands: pd.DataFrame, *, term: str, data: pd.DataFrame | None = None,
                      columns: tuple[str, str, str] | None = None, units: str = "",
                      group: str | None = None) -> Figure:
    """Expected and predicted trajectories over ``term``, with the observed data if known.

    Parameters
    ----------
    bands : DataFrame
        ``trajectories.csv``: ``band``, ``x``, ``mean``, ``lower``, ``median``, ``upper``.
    term : str
        The term on the x axis.
    data : DataFrame, optional
        The original data.
    columns : tuple of str, optional
        Its (response, term, group) columns; the data is not drawn without them.
    units : str
        The response's units, for the axis label.
    group : str, optional
        The grouping factor, whose levels the legend names.

    Returns
    -------
    Figure
        ``data``: the band rows (``layer`` = band name) and, when drawn, the observed rows
        (``layer = "observed"``, ``y``, ``group``).
    """
    b = bands.rename(columns={"band": "layer"})[["layer", "x", "lower", "median", "upper",
                                                 "mean"]]
    layers = [b]
    resp = "response"
    if data is not None and columns is not None:
        resp, t, g = columns
        obs = pd.DataFrame({"layer": "observed", "x": data[t].to_numpy(float),
                            "y": data[resp].to_numpy(float), "group": data[g].astype(str)})
        layers.append(obs)
    plotted = pd.concat(layers, ignore_index=True)
    names = unit_names(group)
    with figure_style():
        fig = new_figure(9, 5)
        ax = fig.add_subplot()
        for band in ("prediction", "new_subject", "conditional"):
            d = b[b["layer"] == band].sort_values("x")
            if d.empty:
                continue
            ax.fill_between(d["x"], d["lower"], d["upper"], color=BAND_COLOURS[band],
                            alpha=0.8 if band == "conditional" else 1.0, lw=0,
                            label=BAND_LABELS[band].format(**names))
            if band == "prediction":  # its edges dashed, so it never reads as the middle band
                for edge in ("lower", "upper"):
                    ax.plot(d["x"], d[edge], color="#555555", lw=1, ls="--")
        d = b[b["layer"] == "conditional"].sort_values("x")
        ax.plot(d["x"], d["median"], color="#023858", lw=2,
                label=f"Average {names['unit']}: median")
        if len(layers) > 1:
            for i, (_, s) in enumerate(obs.groupby("group", sort=True)):
                s = s.sort_values("x")
                ax.plot(s["x"], s["y"], color="#444444", lw=0.7, alpha=0.55, marker=".",
                        ms=3, label=f"Observed {names['units']}" if i == 0 else None)
        ax.set_xlabel(term)
        ax.set_ylabel(f"{resp} ({units})" if units else resp)
        ax.set_title(f"Trajectories over {term}", loc="left")
        ax.legend(loc="upper left", fontsize=8.5, frameon=True)
        fig.tight_layout()
        svg = encode_svg(fig)
    alt = _trajectory_alt(b, term, obs if len(layers) > 1 else None, names)
    unit, units_ = names["unit"], names["units"]
    caption = (f"Dark blue band: where the average {unit}'s expected {resp} lies (95%). "
               f"Orange band: a new {unit}'s expected curve, which adds how much {units_} "
               "differ.")
    if (b["layer"] == "prediction").any():
        caption += (f" Grey band with dashed edges: a new {unit}'s actual observations, which "
                    "add the residual noise (σ) of single observations.")
    if len(layers) > 1:
        caption += f" Grey lines: the {units_} of the original study, as observed."
    return Figure("trajectories", svg, alt, caption, plotted)


def _trajectory_alt(b: pd.DataFrame, term: str, obs: pd.DataFrame | None,
                    names: dict[str, str]) -> str:
    parts = []
    for band in ("conditional", "new_subject", "prediction"):
        d = b[b["layer"] == band].sort_values("x")
        if d.empty:
            continue
        first, last = d.iloc[0], d.iloc[-1]
        parts.append(f"{BAND_LABELS[band].format(**names)}: from {fmt(first['lower'], 0)}–"
                     f"{fmt(first['upper'], 0)} at {term} = {fmt(first['x'], 0)} to "
                     f"{fmt(last['lower'], 0)}–{fmt(last['upper'], 0)} at {term} = "
                     f"{fmt(last['x'], 0)}")
    text = f"Bands of trajectories over {term}. " + "; ".join(parts) + "."
    if obs is not None:
        text += (f" Observed data of {obs['group'].nunique()} {names['units']} drawn as grey "
                 "lines.")
    else:
        text += " Observed data not available."
    return text
