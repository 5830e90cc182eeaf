"""``read_results``: a saved study (``replic run``, ``StudyResult.write``) as a StudyResult.

Only the small tables are read (``study.json``, ``summary.csv``, ``k_needed.csv``,
``type_sm.csv``); the replicate table stays on disk and is read when
:attr:`~replic.StudyResult.replicates` is accessed, so reopening a study of millions of
replicates in a notebook is instant.  :func:`replic.results_io.read_results` returns every
table of the directory as a dict (what the report renders from).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from replic.criteria import Original
from replic.errors import ReplicInputError
from replic.study_result import StudyResult

__all__ = ["read_results"]


def read_results(directory: str | Path) -> StudyResult:
    """Reopen a results directory as a :class:`~replic.StudyResult`.

    Parameters
    ----------
    directory : path
        A directory written by ``replic run`` or :meth:`StudyResult.write`.

    Returns
    -------
    StudyResult
        ``summary``, ``k_needed``, ``type_sm``, ``original`` and ``info`` (with the saved
        package versions); ``replicates`` reads ``replicates.parquet`` on access; no
        ``posterior`` (the draws are not saved with the results: ``info["source"]`` names
        them).
    """
    d = Path(directory)
    if not (d / "study.json").is_file() or not (d / "summary.csv").is_file():
        raise ReplicInputError(f"{d}: not a replic results directory (expected study.json and "
                               "summary.csv, as written by 'replic run')")
    try:
        info = json.loads((d / "study.json").read_text())
        original = Original(**info["original"])
    except (json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ReplicInputError(f"{d / 'study.json'}: not a replic study record ({exc})") from None
    tables = {}
    for name in ("summary", "k_needed", "type_sm"):
        f = d / f"{name}.csv"
        tables[name] = (pd.read_csv(f, keep_default_na=False, na_values=[""]) if f.is_file()
                        else pd.DataFrame())
    return StudyResult(replicates=d / "replicates.parquet", original=original, info=info,
                       **tables)
