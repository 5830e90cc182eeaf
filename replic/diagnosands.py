"""Diagnosands: how good each analysis is at estimating the effect, against the known truth.

Every replicate knows what it estimates (DESIGN.md): the population (average-subject) effect
``beta`` it was drawn with, and the replication's realised effect ``beta + mean of the k new
subjects' deviations``.  Against each of these targets, per design and analysis (Morris, White
& Crowther 2019, Table 6, for the Monte Carlo standard errors):

``bias``
    ``mean(estimate - truth)``, MCSE ``sd(error) / sqrt(n)``;
``rmse``
    ``sqrt(mean((estimate - truth)^2))``, MCSE by the delta method
    ``sd(error^2) / (2 rmse sqrt(n))``;
``coverage``
    share of 95% intervals containing the truth, MCSE ``sqrt(c (1 - c) / n)``;
``width``
    mean width of the 95% interval, MCSE ``sd(width) / sqrt(n)``.

Only successful fits count (``n``) -- and, with ``exclude_unconverged``, only those that
converged and were not flagged (as for the criteria); a stored study's file is read in record
batches, a few columns at a time, so memory stays bounded.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from replic.summarise import DESIGN_COLUMNS, DIAGNOSTIC_FLAGS, unconverged

__all__ = ["DIAGNOSAND_COLUMNS", "TARGETS", "diagnosands", "diagnosands_from_file"]

#: Truth columns of the replicate table for each target.
TARGETS = {"beta": "true_effect", "replication_mean": "realised_effect"}
#: The columns of :func:`diagnosands`.
DIAGNOSAND_COLUMNS = [*DESIGN_COLUMNS, "target", "n", "bias", "bias_mcse", "rmse", "rmse_mcse",
                      "coverage", "coverage_mcse", "width", "width_mcse"]
_READ = [*DESIGN_COLUMNS, "error", "estimate", "lower", "upper", *TARGETS.values(),
         *DIAGNOSTIC_FLAGS]
_SUMS = ["n", "e1", "e2", "e4", "covered", "w1", "w2"]


def _sums(table: pd.DataFrame, exclude_unconverged: bool = False) -> pd.DataFrame:
    """Per (design, target): the sums from which every diagnosand follows."""
    if "family" not in table:  # tables written before designs had families
        table = table.assign(family="")
    ok = (table["error"].astype(str).to_numpy() == "") & np.isfinite(
        table["estimate"].to_numpy(dtype=float))
    if exclude_unconverged:
        ok &= ~unconverged(table)
    t = table.loc[ok]
    est = t["estimate"].to_numpy(dtype=float)
    lo, hi = t["lower"].to_numpy(dtype=float), t["upper"].to_numpy(dtype=float)
    parts = []
    for target, col in TARGETS.items():
        truth = t[col].to_numpy(dtype=float)
        e = est - truth
        w = hi - lo
        d = t[DESIGN_COLUMNS].assign(target=target, n=1, e1=e, e2=e**2, e4=e**4,
                                     covered=((lo <= truth) & (truth <= hi)).astype(float),
                                     w1=w, w2=w**2)
        parts.append(d)
    d = pd.concat(parts, ignore_index=True)
    return d.groupby([*DESIGN_COLUMNS, "target"], sort=False, dropna=False)[_SUMS].sum()


def _finish(sums: pd.DataFrame) -> pd.DataFrame:
    s = sums.reset_index()
    rank = {d: i for i, d in enumerate(dict.fromkeys(s["design"]))}
    order = s["design"].map(rank) * len(TARGETS) + s["target"].map(
        {t: i for i, t in enumerate(TARGETS)})
    s = s.iloc[np.argsort(order.to_numpy(), kind="stable")].reset_index(drop=True)
    n = s["n"].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        bias = s["e1"] / n
        var_e = (s["e2"] - n * bias**2) / (n - 1)
        mse = s["e2"] / n
        var_e2 = (s["e4"] - n * mse**2) / (n - 1)
        rmse = np.sqrt(mse)
        cov = s["covered"] / n
        width = s["w1"] / n
        var_w = (s["w2"] - n * width**2) / (n - 1)
        out = s[[*DESIGN_COLUMNS, "target"]].assign(
            n=s["n"].astype(int), bias=bias, bias_mcse=np.sqrt(np.maximum(var_e, 0) / n),
            rmse=rmse, rmse_mcse=np.sqrt(np.maximum(var_e2, 0) / n) / (2 * rmse),
            coverage=cov, coverage_mcse=np.sqrt(cov * (1 - cov) / n), width=width,
            width_mcse=np.sqrt(np.maximum(var_w, 0) / n))
    return out[DIAGNOSAND_COLUMNS]


def diagnosands(replicates: pd.DataFrame, *, exclude_unconverged: bool = False
                ) -> pd.DataFrame:
    """Bias, RMSE, coverage and interval width of the analysis, per design and target.

    Parameters
    ----------
    replicates : DataFrame
        A replicate table (:attr:`replic.study.StudyResult.replicates`): the design columns,
        ``error``, ``estimate``, ``lower``, ``upper``, ``true_effect`` (beta) and
        ``realised_effect`` (beta + mean of the k new deviations).
    exclude_unconverged : bool
        Leave out fits that succeeded but did not converge or were flagged (``converged``
        False, ``flagged`` True), as the criteria do under the same option.

    Returns
    -------
    DataFrame
        Columns :data:`DIAGNOSAND_COLUMNS`, one row per (design, target) with target
        ``"beta"`` or ``"replication_mean"``, each diagnosand with its MCSE.
    """
    return _finish(_sums(replicates, exclude_unconverged))


def diagnosands_from_file(path: str | Path, *, exclude_unconverged: bool = False,
                          batch_rows: int = 262_144) -> pd.DataFrame:
    """:func:`diagnosands` of a replicate parquet file, read in record batches."""
    from replic.parquet_io import iter_replicates  # row group by row group: bounded memory

    total, order = None, {}

    def add(batches: list[pd.DataFrame]) -> None:
        nonlocal total
        part = _sums(pd.concat(batches, ignore_index=True) if len(batches) > 1 else batches[0],
                     exclude_unconverged)
        order.update(dict.fromkeys(part.index))
        total = part if total is None else total.add(part, fill_value=0)

    pending: list[pd.DataFrame] = []  # small row groups (one per chunk) summed together
    held = 0
    for batch in iter_replicates(path, columns=_READ, batch_rows=batch_rows):
        pending.append(batch)
        held += len(batch)
        if held >= batch_rows:
            add(pending)
            pending, held = [], 0
    if pending:
        add(pending)
    if total is None:
        return pd.DataFrame(columns=DIAGNOSAND_COLUMNS)
    return _finish(total.reindex(list(order)))
