"""Where replic may write: study names and results directories.

replic writes only inside the results directory it is given (default ``reports/<name>/``) and
never deletes or overwrites a file it did not write.  A study name is a plain name (it becomes
one path component), and a results directory must be new, empty, or one replic wrote before
(it holds a run manifest or ``study.json``); anything else is refused before anything is
written.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from replic.errors import ReplicInputError

__all__ = ["check_out_dir", "check_study_name", "is_replic_dir"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_MANIFEST_FORMAT = "replic-run/1"


def check_study_name(name: object, *, where: str) -> str:
    """A study name usable as one directory name: ``[A-Za-z0-9][A-Za-z0-9._-]*``, at most 100
    characters, not ``.`` or ``..``; refused (:class:`ReplicInputError`) otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise ReplicInputError(f"{where} = {name!r}: expected a plain study name (letters, "
                               "digits, '.', '_', '-', starting with a letter or digit, at most "
                               "100 characters; no path separators)")
    return name


def _json_dict(path: Path) -> dict | None:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _is_manifest(path: Path) -> bool:
    doc = _json_dict(path) if path.is_file() and not path.is_symlink() else None
    return doc is not None and doc.get("format") == _MANIFEST_FORMAT


def is_replic_dir(directory: str | Path) -> bool:
    """True when ``directory`` holds a study replic wrote: a run manifest (``manifest.json``,
    also under ``runs/<analysis>/`` for studies comparing analyses) or ``study.json`` with the
    original's estimate."""
    d = Path(directory)
    if _is_manifest(d / "manifest.json"):
        return True
    study = d / "study.json"
    doc = _json_dict(study) if study.is_file() and not study.is_symlink() else None
    if doc is not None and isinstance(doc.get("original"), dict) and "term" in doc:
        return True
    runs = d / "runs"
    return runs.is_dir() and not runs.is_symlink() and any(
        _is_manifest(p / "manifest.json") for p in runs.iterdir() if p.is_dir())


def check_out_dir(directory: str | Path, *, where: str = "--out") -> Path:
    """Check that replic may write its results into ``directory``.

    Allowed: a directory that does not exist yet (its parent is created), an empty directory,
    or a results directory replic wrote before.  Refused with a :class:`ReplicInputError`: a
    path naming a file, a non-empty directory that is not a replic results directory, and
    symbolic links for the directory or its ``chunks``/``runs`` subfolders (writes could land
    outside it).

    Returns
    -------
    Path
    """
    d = Path(directory)
    try:
        if d.is_symlink():
            raise ReplicInputError(f"{where} {d}: is a symbolic link; give the real directory")
        if d.exists() and not d.is_dir():
            raise ReplicInputError(f"{where} {d}: expected a directory for the results, not "
                                   "a file")
        for parent in d.parents:
            if parent.exists() and not parent.is_dir():
                raise ReplicInputError(f"{where} {d}: {parent} is a file, not a directory")
        if not d.is_dir():
            return d
        for sub in ("chunks", "runs", "replicates.parquet", "manifest.json", "study.json"):
            if (d / sub).is_symlink():
                raise ReplicInputError(f"{where} {d}: {sub} is a symbolic link; replic writes "
                                       "only real files inside its results directory")
        # a manifest.json that is a file: the runner checks it (and refuses a damaged one)
        if any(d.iterdir()) and not is_replic_dir(d) and not (
                (d / "manifest.json").is_file() and not (d / "manifest.json").is_symlink()):
            raise ReplicInputError(f"{where} {d}: the directory is not empty and is not a "
                                   "replic results directory (no replic manifest.json or "
                                   "study.json); choose a new or empty directory, so that no "
                                   "file replic did not write is overwritten")
    except ReplicInputError:
        raise
    except (OSError, ValueError) as exc:  # unreadable, NUL bytes, name too long
        raise ReplicInputError(f"{where} {directory!r}: cannot use it as a results directory "
                               f"({exc})") from None
    return d
