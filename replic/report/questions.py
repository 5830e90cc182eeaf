"""The report's "four questions" section for GLMMs: the effect of the term for the average
subject, the population, a new subject and a replication with k new subjects, on the
probability (or count) scale, and the expected-response curves behind them.

Inputs are ``questions.csv`` (:func:`replic.questions.four_questions`) and
``trajectories_response.csv`` (:func:`replic.questions.response_trajectories`), written by
:func:`replic.results_io.write_results` for non-Gaussian posteriors.
"""

from __future__ import annotations

import pandas as pd

from replic.report.figures import Figure, encode_svg, figure_style, new_figure
from replic.report.tables import Table
from replic.report.text import fmt, fmt_prob, unit_names

__all__ = ["questions_figure", "questions_sentences", "questions_table", "scale_words"]

_COLOURS = {"average_subject": "#0173b2", "population": "#029e73", "new_subject": "#d55e00"}
_LABELS = {"average_subject": "The average {unit} (random effects at 0)",
           "population": "The population (mean over {units})",
           "new_subject": "A new {unit}"}


def scale_words(family: str) -> tuple[str, str]:
    """(scale, quantity) in words: ``("probability", "probability of y = 1")`` for binary and
    binomial outcomes, ``("count", "expected count")`` for poisson."""
    if str(family).startswith("poisson"):
        return "count", "expected count"
    return "probability", "probability"


def _question(q: str, group: str | None) -> str:
    names = unit_names(group)
    return (q.replace("subjects", names["units"]).replace("subject", names["unit"])
            .capitalize())


def questions_table(questions: pd.DataFrame, *, family: str, group: str | None = None) -> Table:
    """``questions.csv`` as the section's table (posterior mean, 95% interval, P(> 0), MCSE)."""
    scale, _ = scale_words(family)
    rows = [[_question(r["question"], group), r["estimand"], fmt(r["mean"], 3),
             fmt(r["q2.5"], 3), fmt(r["q97.5"], 3), fmt_prob(r["P(>0)"]), fmt(r["mcse"], 4)]
            for r in questions.to_dict("records")]
    return Table("questions-table", ["The effect for ...", "estimand", "mean", "2.5%", "97.5%",
                                     "P(> 0)", "MCSE of mean"], rows, questions,
                 notes=[f"Differences in the {scale} between the two values of the term "
                        "(the contrast), per posterior draw. MCSE: Monte Carlo standard error "
                        "of the mean over the draws."])


def questions_sentences(questions: pd.DataFrame, *, term: str, family: str,
                        group: str | None = None) -> list[str]:
    """One sentence per question, in words, with the numbers of the table."""
    scale, _ = scale_words(family)
    out = []
    for r in questions.to_dict("records"):
        out.append(f"{_question(r['question'], group)}: the {scale} changes by "
                   f"{fmt(r['mean'], 3)} (95% interval {fmt(r['q2.5'], 3)} to "
                   f"{fmt(r['q97.5'], 3)}) when {term} changes as in the contrast.")
    return out


def questions_figure(bands: pd.DataFrame, *, term: str, family: str,
                     group: str | None = None) -> Figure:
    """Expected response over ``term``: bands for the average subject, the population and a
    new subject (``trajectories_response.csv``)."""
    names = unit_names(group)
    scale, quantity = scale_words(family)
    with figure_style():
        fig = new_figure(9, 4.8)
        ax = fig.add_subplot()
        for band in ("new_subject", "population", "average_subject"):
            d = bands[bands["band"] == band].sort_values("x")
            if d.empty:
                continue
            label = _LABELS[band].format(**names)
            ax.fill_between(d["x"], d["lower"], d["upper"], color=_COLOURS[band],
                            alpha=0.25 if band == "new_subject" else 0.45, lw=0,
                            label=f"{label}: 95% band")
            ax.plot(d["x"], d["mean"], color=_COLOURS[band], lw=2, label=f"{label}: mean")
        ax.set_xlabel(term)
        ax.set_ylabel(quantity)
        ax.set_title(f"Expected {quantity} over {term}", loc="left")
        ax.legend(loc="best", fontsize=8, frameon=True)
        fig.tight_layout()
        svg = encode_svg(fig)
    parts = []
    for band in ("average_subject", "population", "new_subject"):
        d = bands[bands["band"] == band].sort_values("x")
        if not d.empty:
            parts.append(f"{_LABELS[band].format(**names)}: mean {fmt(d['mean'].iloc[0], 2)} at "
                         f"{term} = {fmt(d['x'].iloc[0], 0)}, {fmt(d['mean'].iloc[-1], 2)} at "
                         f"{term} = {fmt(d['x'].iloc[-1], 0)}")
    alt = f"Expected {quantity} over {term}. " + "; ".join(parts) + "."
    caption = (f"Blue: the average {names['unit']}'s {scale} (random effects at 0). Green: the "
               f"population's mean {scale}, the {names['units']}' differences integrated out: "
               f"not the average {names['unit']}'s curve (it is pulled towards the middle, so "
               f"its change can be smaller or larger). "
               f"Orange: where one new {names['unit']}'s expected {scale} lies.")
    return Figure("questions", svg, alt, caption, bands)
