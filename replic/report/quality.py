"""The report's table of diagnosands: how good each analysis is against the known truth."""

from __future__ import annotations

import math

import pandas as pd

from replic.report.data import add_series
from replic.report.tables import Table
from replic.report.text import fmt

__all__ = ["TARGET_LABELS", "diagnosands_table"]

TARGET_LABELS = {"beta": "average subject (beta)",
                 "replication_mean": "replication mean (beta + mean of k deviations)"}


def _pm(x: float, se: float, digits: int = 3) -> str:
    if not math.isfinite(x):
        return "–"
    return f"{fmt(x, digits)} ± {fmt(se, digits)}" if math.isfinite(se) else fmt(x, digits)


def diagnosands_table(diag: pd.DataFrame, *, excluded: bool = False) -> Table:
    """Bias, RMSE, coverage and width per (series, k, target), each ± its MCSE (``excluded``:
    the study left unconverged and flagged fits out, which the notes say)."""
    d = add_series(diag)
    several = d["series"].nunique() > 1
    rows = [([r["series"]] if several else []) + [
        str(int(r["k"])), TARGET_LABELS.get(r["target"], r["target"]), str(int(r["n"])),
        _pm(r["bias"], r["bias_mcse"]), _pm(r["rmse"], r["rmse_mcse"]),
        _pm(r["coverage"], r["coverage_mcse"]), _pm(r["width"], r["width_mcse"])]
        for r in d.to_dict("records")]
    head = (["analysis"] if several else []) + ["k", "truth", "fits", "bias ± MCSE",
                                                "RMSE ± MCSE", "95% coverage ± MCSE",
                                                "interval width ± MCSE"]
    return Table("diagnosands-table", head, rows, d, notes=[
        "Each replicate's estimate against the truth it was simulated from: the population "
        "(average-subject) effect drawn for it, or the realised mean effect of its k new "
        "subjects. Bias: mean error; RMSE: root mean squared error; coverage: share of 95% "
        "intervals containing the truth (0.95 for a calibrated interval of beta); width: mean "
        "interval width. ± one Monte Carlo standard error.",
        *(["Fits that did not converge or were flagged are left out (exclude_unconverged), "
           "as they are from the criteria."] if excluded else [])])
