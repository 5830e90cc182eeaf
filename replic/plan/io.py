"""Write a plan (a :class:`~replic.plan.KSearch` or :class:`~replic.plan.CheapestDesign`) to
a results directory, and read it back for the report.

Files (beside a study's ``summary.csv`` when the directory holds one)::

    plan.json             the question, the answer in a sentence, its confidence, settings
    plan.csv              every (schedule,) k evaluated: probability, MCSE, replicates, decision
    plan_candidates.csv   cost searches: one row per schedule, its k and cost

Files are written to temporary names and moved into place when all are complete.  replic
writes a plan only into a directory that is new, empty, a study's results directory, or one
holding a plan it wrote before, and never overwrites a ``plan*`` file it did not write.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path

from replic.errors import ReplicInputError
from replic.plan.cost import CheapestDesign
from replic.plan.find_k import KSearch
from replic.results_io import PLAN_MARK as _MARK
from replic.results_io import is_plan_dir as _ours
from replic.results_io import read_plan

__all__ = ["PLAN_FILES", "check_plan_dir", "read_plan", "write_plan"]

PLAN_FILES = ("plan.json", "plan.csv", "plan_candidates.csv")


def _results_dir(d: Path) -> bool:
    """Whether ``d`` holds a study's results written by replic."""
    try:
        from replic.outdir import is_replic_dir
    except ImportError:  # before the output-safety module: study.json or a run manifest
        return (d / "study.json").is_file() or (d / "manifest.json").is_file()
    return is_replic_dir(d)


def _jsonable(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def check_plan_dir(directory: str | Path) -> Path:
    """Refuse (:class:`ReplicInputError`) a directory a plan may not be written into."""
    d = Path(directory)
    if d.is_symlink():
        raise ReplicInputError(f"{d}: is a symbolic link; give the real directory")
    if d.exists() and not d.is_dir():
        raise ReplicInputError(f"{d}: not a directory")
    present = [f for f in PLAN_FILES if (d / f).exists()]
    if present and not _ours(d):
        raise ReplicInputError(f"{d}: holds {', '.join(present)} not written by replic; "
                               "refusing to overwrite it (choose another --out)")
    if d.is_dir() and any(d.iterdir()) and not (_ours(d) or _results_dir(d)):
        raise ReplicInputError(f"{d}: a non-empty directory that replic did not write; "
                               "refusing to write a plan into it (choose another --out)")
    return d


def write_plan(plan: KSearch | CheapestDesign, directory: str | Path) -> list[Path]:
    """Write ``plan`` into ``directory`` (created if needed); returns the files written."""
    d = check_plan_dir(directory)
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(plan, KSearch):
        meta = {"kind": "find_k", "k": plan.k, "target": plan.target,
                "criterion": plan.criterion, "direction": plan.direction,
                "confidence": plan.confidence, "tolerance": plan.tolerance,
                "k_min": plan.k_min, "k_max": plan.k_max, "reps_used": plan.reps_used,
                "exact": plan.exact, "statement": plan.statement, **plan.info}
        tables = {"plan.csv": plan.table}
    else:
        meta = {"kind": "cheapest_design", "schedule": _jsonable(plan.schedule), "k": plan.k,
                "x": list(plan.x) if plan.x else None, "cost": _jsonable(plan.cost),
                "reps_used": plan.reps_used, "statement": plan.statement, **plan.info}
        tables = {"plan.csv": plan.points, "plan_candidates.csv": plan.table}
    meta = {"written_by": _MARK, **{k: _jsonable(v) for k, v in meta.items()}}
    staged: list[tuple[str, Path]] = []
    try:
        for name, table in tables.items():
            staged.append((name, _stage(d, lambda f, t=table: t.to_csv(f, index=False))))
        staged.append(("plan.json", _stage(d, lambda f: f.write(
            json.dumps(meta, indent=2, default=str)))))
    except BaseException:
        for _, tmp in staged:
            tmp.unlink(missing_ok=True)
        raise
    for name, tmp in staged:
        os.replace(tmp, d / name)
    stale = set(PLAN_FILES) - {n for n, _ in staged}
    for name in stale:  # a cost search's candidates do not belong to a later find_k
        (d / name).unlink(missing_ok=True)
    return [d / n for n, _ in staged]


def _stage(directory: Path, write) -> Path:
    fd, name = tempfile.mkstemp(prefix=".plan.", dir=directory)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        write(f)
    os.chmod(name, 0o644)
    return Path(name)
