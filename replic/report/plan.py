"""The report's plan section: the answer of ``replic plan`` with the points it evaluated.

For a sample-size search, the curve through the evaluated k (each with its 95% Monte Carlo
interval and the order in which the search probed it), the target with its indifference zone,
the answer, and — when the study's grid is in the same directory — the grid's curve behind it.
For a cost search, the probability against the cost of every (schedule, k) evaluated, one
line per number of sessions, with the cheapest design reaching the target marked.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.ticker import MaxNLocator

from replic.report.curves import series_colours
from replic.report.figures import Figure, encode_svg, figure_style, new_figure
from replic.report.tables import Table
from replic.report.text import CRITERION_LABELS, fmt, fmt_pct

__all__ = ["cost_figure", "plan_context", "plan_curve_figure"]


def plan_curve_figure(plan: dict, summary: pd.DataFrame | None = None) -> Figure:
    """The evaluated points of a sample-size search, with the answer.

    Returns
    -------
    Figure
        ``data``: the search's table (``step``, ``k``, ``probability``, ``lower``, ``upper``,
        ``replicates``, ``decision``).
    """
    info, pts = plan["info"], plan["points"]
    target, tol, crit = float(info["target"]), float(info["tolerance"]), info["criterion"]
    with figure_style():
        fig = new_figure(9, 4.6)
        ax = fig.add_subplot()
        ax.axhspan(target - tol, target + tol, color="#999999", alpha=0.15, lw=0,
                   label=f"target {fmt_pct(target)} ± {fmt(tol)}")
        ax.axhline(target, color="#333333", lw=1, ls="--")
        if summary is not None and "analysis" in summary:
            g = summary[(summary["criterion"] == crit)
                        & (summary["analysis"] == info.get("analysis"))]
            g = g.groupby("k", as_index=False)["probability"].mean() if len(g) else g
            if len(g):
                ax.plot(g["k"], g["probability"], color="#bbbbbb", lw=1.2,
                        label="the study's grid")
        p = pts.sort_values("k")
        err = np.maximum(np.vstack([p["probability"] - p["lower"],
                                    p["upper"] - p["probability"]]), 0.0)
        ax.errorbar(p["k"], p["probability"], yerr=err, fmt="o", color="#0173b2", ms=5,
                    capsize=3, label="evaluated k (95% Monte Carlo interval)")
        for r in p.itertuples():
            ax.annotate(str(int(r.step)), (r.k, r.probability), xytext=(5, -11),
                        textcoords="offset points", fontsize=8, color="#0173b2")
        k = info.get("k")
        if k is not None:
            ax.axvline(k, color="#d55e00", lw=1.2, ls=":")
            ax.annotate(f"k = {int(k)}", (k, 0.05), xytext=(5, 0), textcoords="offset points",
                        color="#d55e00", fontweight="bold")
        ax.set_ylim(0, 1.02)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("k, number of new subjects")
        ax.set_ylabel(f"P({CRITERION_LABELS.get(crit, crit)})")
        ax.set_title("The search: points evaluated (numbers: the order probed)", loc="left")
        ax.legend(loc="lower right", fontsize=8.5)
        fig.tight_layout()
        svg = encode_svg(fig)
    probed = ", ".join(f"k = {int(r.k)}: {fmt_pct(r.probability, 1)}"
                       for r in pts.itertuples())
    alt = (f"Points of the sample-size search for {crit} against k, with 95% Monte Carlo "
           f"intervals, the target {fmt_pct(target)} and the answer "
           f"{'k = ' + str(int(k)) if k is not None else 'not reached'}. Probed: {probed}.")
    caption = ("Each point is one k the search evaluated, with as many replicates as its "
               "sequential test needed; the grey band is the indifference zone within which "
               "either answer is acceptable; the dotted line is the answer.")
    return Figure("plan-curve", svg, alt, caption, pts.reset_index(drop=True))


def cost_figure(plan: dict) -> Figure:
    """Probability against cost of every (schedule, k) a cost search evaluated."""
    info, pts, cands = plan["info"], plan["points"], plan["candidates"]
    target = float(info["target"])
    order = list(dict.fromkeys(pts["schedule"].astype(str)))
    colours = series_colours(order)
    with figure_style():
        fig = new_figure(9, 4.8)
        ax = fig.add_subplot()
        ax.axhline(target, color="#333333", lw=1, ls="--")
        for name in order:
            g = pts[pts["schedule"].astype(str) == name].sort_values("k")
            sessions = int(g["sessions"].iloc[0])
            label = f"{sessions} sessions" + ("" if name == str(sessions) else f" ({name})")
            ax.plot(g["cost"], g["probability"], marker="o", ms=4, lw=1, color=colours[name],
                    label=label)
        best = cands[cands["status"] == "cheapest"]
        if len(best):
            b = best.iloc[0]
            ax.plot([b["cost"]], [b["probability"]], marker="*", ms=16, color="#d55e00",
                    ls="none", label=f"cheapest: k = {int(b['k'])}, cost {b['cost']:g}")
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("expected cost of the replication")
        crit = info.get("criterion", "sig_same_direction")
        ax.set_ylabel(f"P({CRITERION_LABELS.get(crit, crit)})")
        ax.set_title("Cost against probability over (k, sessions)", loc="left")
        ax.legend(loc="lower right", fontsize=8, ncol=2)
        fig.tight_layout()
        svg = encode_svg(fig)
    reached = cands[cands["k"].notna()]
    parts = [f"{r['schedule']}: k = {int(r['k'])}, cost {r['cost']:g}"
             for r in reached.to_dict("records")]
    alt = (f"Scatter of the probability of the criterion against the expected cost for each "
           f"schedule and k evaluated, target {fmt_pct(target)}. Smallest k per schedule: "
           + ("; ".join(parts) or "none reached") + ".")
    caption = ("Each line is one schedule (number of sessions per subject); each point one k "
               "its search evaluated. The star is the cheapest design reaching the target.")
    return Figure("plan-cost", svg, alt, caption, pts.reset_index(drop=True))


def _plan_table(plan: dict) -> Table:
    pts = plan["points"]
    if plan["info"]["kind"] == "cheapest_design":
        c = plan["candidates"]
        rows = [[str(r["schedule"]), str(int(r["sessions"])), fmt(r["unit_cost"], 1),
                 "–" if not math.isfinite(r["k"]) else str(int(r["k"])),
                 "–" if not math.isfinite(r["cost"]) else fmt(r["cost"], 1),
                 fmt_pct(r["probability"], 1), str(int(r["reps_used"])), str(r["status"])]
                for r in c.to_dict("records")]
        head = ["schedule", "sessions", "cost per subject", "smallest k", "cost",
                "probability at k", "replicates", "status"]
        return Table("plan-table", head, rows, c, notes=[
            "Cost per subject: cost of a subject plus its expected observations (after "
            "dropout and missingness) times the cost of an observation. 'cannot be cheaper': "
            "not searched, since even the smallest k would cost more than the cheapest design "
            "found."])
    rows = [[str(int(r["step"])), str(int(r["k"])), fmt_pct(r["probability"], 1),
             f"{fmt_pct(r['lower'], 1)}–{fmt_pct(r['upper'], 1)}", str(int(r["replicates"])),
             str(r["decision"])] for r in pts.to_dict("records")]
    head = ["step", "k", "probability", "95% interval", "replicates", "decision"]
    return Table("plan-table", head, rows, pts, notes=[
        "Decision: the sequential test's verdict at the search's confidence level; "
        "'within tolerance' means the probability is within the indifference zone of the "
        "target, where either answer is acceptable."])


def plan_context(plan: dict | None, summary: pd.DataFrame | None = None) -> dict | None:
    """The plan section's figures, table and sentences (None without a plan)."""
    if plan is None or plan.get("points") is None or not len(plan["points"]):
        return None
    info = plan["info"]
    figs = []
    if info["kind"] == "cheapest_design":
        figs.append(cost_figure(plan))
    else:
        figs.append(plan_curve_figure(plan, summary))
    detail = (f"{int(info['reps_used'])} replicates ({info.get('analysis', '')}, seed "
              f"{info.get('seed', '')}); target {fmt_pct(float(info['target']))}, confidence "
              f"{fmt_pct(float(info['confidence']))}, tolerance {fmt(float(info['tolerance']))}.")
    return {"statement": info["statement"], "detail": detail, "figures": figs,
            "table": _plan_table(plan)}
