"""``StudyResult``: what :func:`replic.study.run_study` returns (the replicate table, in memory
or in a parquet file read on each access, and the summaries computed from it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from replic.criteria import Original
from replic.posterior import Posterior

__all__ = ["StudyResult"]


class _Replicates:
    """The replicate table: a DataFrame held in memory, or a parquet file read on each access.

    A data descriptor used as the default of :attr:`StudyResult.replicates`, so that studies
    run with ``out=DIR`` never hold every row in memory unless asked to.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, obj: Any, owner: type | None = None) -> pd.DataFrame:
        if obj is None:
            raise AttributeError("replicates")  # no class-level default: the field is required
        value = obj.__dict__[self.slot]
        return pd.read_parquet(value) if isinstance(value, Path) else value

    def __set__(self, obj: Any, value: pd.DataFrame | Path) -> None:
        if not isinstance(value, pd.DataFrame | Path):
            raise TypeError(f"replicates: expected a DataFrame or a parquet Path, got "
                            f"{type(value).__name__}")
        obj.__dict__[self.slot] = value


@dataclass(frozen=True, eq=False)
class StudyResult:
    """The outcome of :func:`~replic.study.run_study`.

    Attributes
    ----------
    replicates : DataFrame
        One row per (design, replicate): draw, seed, true and realised effect, the analysis's
        estimate, se, df, interval, p and diagnostics, ``error`` ("" when the fit succeeded),
        and each criterion (1.0 / 0.0, NaN for failed fits).  Constructed from a DataFrame or
        from the Path of a parquet file; in the latter case (studies run with ``out=DIR``)
        every access reads the file, so keep the frame if you need it repeatedly, or read
        only the columns you need from :attr:`replicates_file`.
    summary : DataFrame
        Per (design, criterion): ``probability``, ``mcse``, 95% ``lower``/``upper``, counts.
    k_needed : DataFrame
        Smallest k reaching the target probability per criterion.
    type_sm : DataFrame
        Type S and Type M rates among significant replicates per design, with
        ``type_s_upper``, the one-sided 95% Clopper-Pearson bound of Type S.
    original : Original
        The original's estimate of the term (posterior mean, sd, 95% interval).
    info : dict
        Study settings, provenance and timing.
    posterior : Posterior or None
        The original's posterior.
    diagnosands : DataFrame or None
        Per (design, target) the analysis's bias, RMSE, 95% interval coverage and mean
        interval width against each replicate's truth, each with its MCSE
        (:func:`replic.diagnosands.diagnosands`); targets ``"beta"`` (the drawn population
        effect) and ``"replication_mean"`` (beta + the mean of the k new subjects' deviations).
    """

    replicates: pd.DataFrame = _Replicates()  # type: ignore[assignment]
    summary: pd.DataFrame
    k_needed: pd.DataFrame
    type_sm: pd.DataFrame
    original: Original
    info: dict = field(default_factory=dict)
    posterior: Posterior | None = None
    diagnosands: pd.DataFrame | None = None

    @property
    def replicates_file(self) -> Path | None:
        """The parquet file holding :attr:`replicates`, or None when they are in memory."""
        value = self.__dict__["_replicates"]
        return value if isinstance(value, Path) else None

    def __repr__(self) -> str:
        from replic.display import study_text

        return study_text(self)

    def _repr_html_(self) -> str:
        from replic.display import study_html

        return study_html(self)

    def plot(self, *, criterion: str = "sig_same_direction", ax=None):
        """The curve over k of ``criterion`` (default: significant in the original's
        direction) per design family, with 95% Monte Carlo bands and the target.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from replic.display import plot_study

        return plot_study(self, criterion=criterion, ax=ax)

    def write(self, directory: str | Path, *, report: bool = True) -> Path:
        """Write tables (and the HTML report) to ``directory``; see :mod:`replic.results_io`."""
        from replic.report import render_report
        from replic.results_io import write_results

        return write_results(self, directory, render=render_report if report else None)
