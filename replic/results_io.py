"""Write a :class:`~replic.study.StudyResult` to a results directory, and read it back.

Layout of a results directory (everything the report needs, so ``replic report DIR``
re-renders without rerunning)::

    study.json          settings, provenance, the original estimate, package versions
    summary.csv         probability of each criterion per design, with MCSE and 95% interval
    k_needed.csv        smallest k reaching the target per criterion
    type_sm.csv         Type S / Type M among significant replicates
    diagnosands.csv     bias, RMSE, coverage and interval width of the analysis, with MCSE
    replicates.parquet  one row per (design, replicate): copied from a stored run's file (or
                        left in place when the run was stored in the same directory)
    effects.csv         the effect of the term for every estimand (summary)
    effect_draws.parquet  draws behind the effects figure
    trajectories.csv    conditional, new-subject and prediction bands over the term
    data.csv            the original data, when the posterior carries it
    report.html         the self-contained report

Files are written to a hidden temporary directory (``.replic-write-*``, inside the results
directory) and moved into place only when complete: an error leaves no half-written results,
and what a killed run left there is removed by the next write.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from replic.criteria import Original
from replic.effects import effect_draws, summarise_draws, trajectory_bands
from replic.parquet_io import iter_replicates
from replic.versions import package_versions

__all__ = ["PLAN_MARK", "effect_ks", "is_plan_dir", "iter_replicates", "package_versions",
           "read_plan", "read_results", "remove_stale", "write_results"]

_REPLICATES = "replicates.parquet"
#: Hidden directory (inside the results directory) the files are written to before they are
#: moved into place; those of a killed run are removed by the next write.
_TMP_PREFIX = ".replic-write-"
_STALE = (re.compile(re.escape(_TMP_PREFIX) + r"\d+-[A-Za-z0-9_]+"),
          re.compile(r"\.report\.[A-Za-z0-9_]+\.html"))  # write_report's temporary file
_COMBINED = re.compile(r"\.combined-[A-Za-z0-9_]+\.parquet")  # replic.combine's


def effect_ks(ks: list[int], *, also: Sequence[int] = ()) -> list[int]:
    """A few k from the grid for the effects figure: smallest, a middle one, largest, and
    ``also`` (the recommended k)."""
    ks = sorted(set(ks))
    return sorted({ks[0], ks[len(ks) // 2], ks[-1], *map(int, also)})


def _recommended(result) -> list[int]:
    """The smallest k reaching the target for the headline criterion, per design family."""
    kn = result.k_needed
    if kn is None or "criterion" not in kn:
        return []
    crit = (result.info or {}).get("criterion") or "sig_same_direction"  # replic run --criterion
    k = pd.to_numeric(kn.loc[kn["criterion"] == crit, "k"], errors="coerce")
    return sorted({int(v) for v in k.dropna()})


def _write_questions(post, term: str, info: dict, draws: pd.DataFrame, tmp: Path) -> None:
    """GLMMs: ``questions.csv`` (the four questions on the response scale, for the k of the
    effects figure) and ``trajectories_response.csv`` (expected response over x) when the
    term is a main effect (a contrast of one variable)."""
    from replic.questions import four_questions, response_trajectories

    if term == "Intercept" or ":" in term:
        return
    ks = sorted({int(str(v).removeprefix("k=")) for v in
                 draws.loc[draws["estimand"] == "replication_mean", "level"]}) or [2]
    four_questions(post, term, k=ks, seed=int(info.get("seed", 0))).to_csv(
        tmp / "questions.csv", index=False)
    x = info.get("x")
    if x:
        response_trajectories(post, term, x=x, seed=int(info.get("seed", 0))).to_csv(
            tmp / "trajectories_response.csv", index=False)


def write_results(result, directory: str | Path, *,
                  render: Callable[[Path], str] | None = None) -> Path:
    """Write every table of ``result`` into ``directory``, and ``report.html`` when a
    ``render`` function is given (``replic.report.render_report``: the report layer sits above
    this one, so the caller passes it in).  ``directory`` must be new, empty, or one replic
    wrote (:func:`replic.outdir.check_out_dir`)."""
    from replic.outdir import check_out_dir

    directory = check_out_dir(directory, where="results directory")
    created = not directory.exists()
    directory.mkdir(parents=True, exist_ok=True)
    remove_stale(directory, keep=result.replicates_file)
    tmp = Path(tempfile.mkdtemp(prefix=f"{_TMP_PREFIX}{os.getpid()}-", dir=directory))
    try:
        info = dict(result.info) | {"original": asdict(result.original),
                                    "versions": package_versions()}
        post, term = result.posterior, result.info["term"]
        if post is not None:
            draws = effect_draws(post, term, k=effect_ks(_replicate_ks(result),
                                                         also=_recommended(result)),
                                 seed=result.info["seed"])
            summarise_draws(draws).to_csv(tmp / "effects.csv", index=False)
            keep = draws["estimand"] != "fitted"
            draws[keep].to_parquet(tmp / "effect_draws.parquet", index=False)
            bands = trajectory_bands(post, term, x=result.info["x"], seed=result.info["seed"])
            if not post.family.gaussian:  # GLMMs: the expected response (probability, count)
                from replic.questions import response_trajectories

                bands = response_trajectories(post, term, x=result.info["x"],
                                              seed=result.info["seed"])
                bands = bands[bands["band"] != "population"].replace(
                    {"band": {"average_subject": "conditional"}})
            bands.to_csv(tmp / "trajectories.csv", index=False)
            if not post.family.gaussian:
                _write_questions(post, term, result.info, draws, tmp)
            if post.data is not None:
                post.data.to_csv(tmp / "data.csv", index=False)
            info["posterior"] = {"source": post.source, "draws": post.n_draws,
                                 "fixed": list(post.fixed), "varying": list(post.varying),
                                 "group": post.group, "levels": len(post.levels),
                                 "formula": post.formula, "response": post.response,
                                 "family": str(post.family),
                                 "diagnostics": {k: v for k, v in (post.diagnostics or {}).items()
                                                 if isinstance(v, bool | int | float | str)}}
        (tmp / "study.json").write_text(json.dumps(info, indent=2, default=str))
        result.summary.to_csv(tmp / "summary.csv", index=False)
        result.k_needed.to_csv(tmp / "k_needed.csv", index=False)
        result.type_sm.to_csv(tmp / "type_sm.csv", index=False)
        if getattr(result, "diagnosands", None) is not None:
            result.diagnosands.to_csv(tmp / "diagnosands.csv", index=False)
        in_place = _write_replicates(result, tmp, directory)
        if render is not None:
            if in_place:  # the report reads it from tmp
                (tmp / _REPLICATES).symlink_to(in_place)
            (tmp / "report.html").write_text(render(tmp), encoding="utf-8")
            if in_place:
                (tmp / _REPLICATES).unlink()
        _replace_dir(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        if created and not any(directory.iterdir()):
            directory.rmdir()
        raise
    return directory


def _replicate_ks(result) -> list[int]:
    """The ``k`` of the study's designs (from the summary: no replicate row is read)."""
    return [int(k) for k in pd.unique(result.summary["k"])]


def _write_replicates(result, tmp: Path, directory: Path) -> Path | None:
    """Put ``replicates.parquet`` in ``tmp``: written from memory, or copied from the run's
    file (never read whole).  A run stored in ``directory`` itself is left where it is: its
    path is returned (else None)."""
    f = result.replicates_file
    if f is None:
        result.replicates.to_parquet(tmp / _REPLICATES, index=False)
        return None
    if f.resolve() == (directory / _REPLICATES).resolve():
        return f.resolve()
    shutil.copyfile(f, tmp / _REPLICATES)
    return None


def remove_stale(directory: Path, *, keep: Path | None = None) -> list[Path]:
    """Remove what a killed :func:`write_results`, report rendering or combination of several
    analyses' runs (``runs/.combined-*.parquet``) left in ``directory``: only entries named
    the way they name their temporary files, never ``keep`` (the file being written out)."""
    gone = []
    runs = directory / "runs"
    combined = [p for p in runs.glob(".combined-*.parquet") if _COMBINED.fullmatch(p.name)] \
        if runs.is_dir() and not runs.is_symlink() else []
    keep = keep.resolve() if keep is not None else None
    for p in [*directory.iterdir(), *combined]:
        if p.is_symlink() or p.resolve() == keep or not (
                any(pat.fullmatch(p.name) for pat in _STALE) or p in combined):
            continue
        if p.is_dir():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)
        gone.append(p)
    return gone


def _replace_dir(tmp: Path, directory: Path) -> None:
    """Move the finished files of ``tmp`` into ``directory`` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    for f in tmp.iterdir():
        os.replace(f, directory / f.name)
    tmp.rmdir()


def read_results(directory: str | Path, *, replicate_columns: Sequence[str] | None = None,
                 load_replicates: bool = True) -> dict:
    """Read a results directory back: its tables and ``study.json`` as ``info``.

    Parameters
    ----------
    directory : path
        A directory written by :func:`write_results`.
    replicate_columns : sequence of str, optional
        Read only these columns (those present) of ``replicates.parquet``; default all.
    load_replicates : bool
        False: ``replicates`` is the path of ``replicates.parquet`` (not read), for readers
        that stream it row group by row group (the report).

    Returns
    -------
    dict
        ``info``, ``original`` and one entry per table (None when absent).
    """
    from replic.errors import ReplicInputError

    d = Path(directory)
    if not (d / "study.json").is_file() or not (d / "summary.csv").is_file():
        raise ReplicInputError(f"{d}: not a replic results directory (expected study.json and "
                               "summary.csv, as written by 'replic run')")
    out: dict = {"info": json.loads((d / "study.json").read_text())}
    out["original"] = Original(**out["info"]["original"])
    for name in ("summary", "k_needed", "type_sm", "diagnosands", "effects", "trajectories",
                 "data", "questions", "trajectories_response"):
        f = d / f"{name}.csv"
        out[name] = pd.read_csv(f, keep_default_na=False, na_values=[""]) if f.is_file() else None
    f = d / "replicates.parquet"
    columns = None
    if not load_replicates:
        out["replicates"] = f if f.is_file() else None
    elif f.is_file() and replicate_columns is not None:
        have = set(pq.read_schema(f).names)
        columns = [c for c in replicate_columns if c in have]
    if load_replicates:
        out["replicates"] = pd.read_parquet(f, columns=columns) if f.is_file() else None
    f = d / "effect_draws.parquet"
    out["effect_draws"] = pd.read_parquet(f) if f.is_file() else None
    return out


#: The mark in ``plan.json`` of a plan written by ``replic plan`` (:mod:`replic.plan.io`).
PLAN_MARK = "replic plan"


def is_plan_dir(directory: Path) -> bool:
    """Whether ``directory`` holds a plan written by ``replic plan``."""
    f = Path(directory) / "plan.json"
    try:
        return json.loads(f.read_text()).get("written_by") == PLAN_MARK
    except (OSError, ValueError, AttributeError):
        return False


def read_plan(directory: str | Path) -> dict | None:
    """The plan saved in ``directory`` (``info``, ``points``, ``candidates``), or None.

    Plans are written by :func:`replic.plan.io.write_plan`; reading them is results I/O, so the
    report can show them without importing the planning layer above it.
    """
    d = Path(directory)
    if not is_plan_dir(d):
        return None
    out: dict = {"info": json.loads((d / "plan.json").read_text())}
    for key, name in (("points", "plan.csv"), ("candidates", "plan_candidates.csv")):
        f = d / name
        out[key] = pd.read_csv(f, keep_default_na=False, na_values=[""]) if f.is_file() else None
    return out
