"""Several analyses of the same study side by side.

Every analysis of a study sees the same designs, seeds and posterior draws (replicate r of a
design has the same draw, seed and true effect whatever the analysis; its simulated data are
the same for analyses of the same representation — ``summary`` on a balanced design simulates
the per-subject summaries directly, so its realised effects differ from ``reml``'s), so their
tables can be stacked and compared curve against curve; the ``analysis`` column tells them
apart.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from replic.errors import ReplicInputError
from replic.study_result import StudyResult

__all__ = ["combine_results"]


def combine_results(results: Sequence[StudyResult], *,
                    into: str | Path | None = None) -> StudyResult:
    """Stack the tables of studies that differ only in their analysis.

    Parameters
    ----------
    results : sequence of StudyResult
        Runs of one study (same posterior, term, designs, replicates and seed) with different
        analyses.
    into : path, optional
        Where the concatenated replicate files go when every run kept its replicates on disk
        (moved there, complete, from the hidden file below; :func:`replic.study.run_study`
        puts them in ``OUT/replicates.parquet``).

    Returns
    -------
    StudyResult
        Tables concatenated in the given order; ``info["analysis"]`` lists the analyses and
        ``info["analyses"]`` keeps each run's own info.  When every run kept its replicates
        on disk (``out=``), so does the result: their files are concatenated, one row group
        at a time, into a hidden ``.combined-*.parquet`` file in the first run's parent
        folder (its :attr:`~replic.study.StudyResult.replicates_file`; remove it once the
        result is written, if you wish) unless ``into`` is given.
    """
    if not results:
        raise ReplicInputError("combine_results: expected at least one study result")
    first = results[0]
    if len(results) == 1:
        return first
    keys = ("term", "reps", "seed", "designs")
    for r in results[1:]:
        diff = [k for k in keys if r.info.get(k) != first.info.get(k)]
        if diff or r.original != first.original:
            what = ", ".join(diff) or "the original estimate"
            raise ReplicInputError(f"combine_results: runs differ in {what}; only the analysis "
                                   "may differ")
    names = [r.info["analysis"] for r in results]
    if len(set(names)) < len(names):
        raise ReplicInputError(f"combine_results: analyses listed twice ({', '.join(names)})")

    def cat(attr: str) -> pd.DataFrame:
        return pd.concat([getattr(r, attr) for r in results], ignore_index=True)

    info = dict(first.info) | {
        "analysis": ", ".join(names),
        "analyses": {r.info["analysis"]: r.info for r in results},
        "seconds": sum(r.info.get("seconds", 0.0) for r in results),
    }
    files = [r.replicates_file for r in results]
    replicates = _concat_files(files, into) if all(files) else cat("replicates")
    diag = [r.diagnosands for r in results if r.diagnosands is not None]
    return StudyResult(replicates=replicates, summary=cat("summary"),
                       k_needed=cat("k_needed"), type_sm=cat("type_sm"), original=first.original,
                       info=info, posterior=first.posterior,
                       diagnosands=pd.concat(diag, ignore_index=True) if diag else None)


def _concat_files(files: list[Path], into: str | Path | None) -> Path:
    """The runs' replicate files concatenated into a new file beside the first run's folder
    (then moved to ``into``, if given)."""
    from replic.runner.store import concat_parquet

    fd, name = tempfile.mkstemp(prefix=".combined-", suffix=".parquet",
                                dir=files[0].parent.parent)
    os.close(fd)
    try:
        path = concat_parquet(files, name)
        if into is None:
            return path
        os.replace(path, into)
        return Path(into)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
