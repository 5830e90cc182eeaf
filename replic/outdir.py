"""Where replic may write: study names and results directories.

replic writes only inside the results directory it is given (default ``reports/<name>/``) and
never deletes or overwrites a file it did not write.  A study name is a plain name (it becomes
one path component), and a results directory must be new, empty, or one replic wrote before
(it holds a run manifest or ``study.json``); anything else is refused before anything is
written.

:func:`locked_out_dir` keeps two runs from writing into one directory at the same time: the
run holds an exclusive ``flock`` on ``DIR/.replic.lock`` (a file it creates and removes); a
second run is refused at once with one clear error.  The kernel drops the lock of a killed
process, so a lock file left by ``kill -9`` is taken over by the next run.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path

from replic.errors import ReplicInputError

__all__ = ["LOCK", "check_out_dir", "check_study_name", "is_replic_dir", "locked_out_dir"]

#: The lock file of a results directory while a run writes into it.
LOCK = ".replic.lock"
_HELD: dict[Path, tuple[int, int]] = {}  # directory -> (thread holding it, depth)

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
        if any(p.name != LOCK for p in d.iterdir()) and not is_replic_dir(d) and not (
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


def _holder(path: Path) -> str:
    try:
        pid = path.read_text(encoding="ascii").strip()
    except (OSError, ValueError):
        return ""
    return f" (process {pid})" if pid.isdigit() else ""


@contextlib.contextmanager
def locked_out_dir(directory: str | Path, *, where: str = "--out") -> Iterator[Path]:
    """Hold ``directory``'s lock (``DIR/.replic.lock``, created and removed here) while the
    block runs; the directory is created if needed (and removed again, with the parents this
    created, if it is still empty: a run refused inside the block leaves no trace).

    Re-entrant within one thread (the CLI locks ``--out`` and the study it runs locks it again).

    Raises
    ------
    ReplicInputError
        When another run (another process, or another thread of this one) holds the lock.
    """
    try:
        import fcntl
    except ModuleNotFoundError:  # no flock (Windows): no lock
        yield Path(directory)
        return
    d = Path(directory)
    created = [p for p in (d, *d.parents) if not p.exists()]  # deepest first
    d.mkdir(parents=True, exist_ok=True)
    key, me = d.resolve(), threading.get_ident()
    if key in _HELD and _HELD[key][0] == me:
        _HELD[key] = (me, _HELD[key][1] + 1)
        try:
            yield d
        finally:
            _HELD[key] = (me, _HELD[key][1] - 1)
        return
    path = d / LOCK

    def busy() -> ReplicInputError:
        return ReplicInputError(f"{where} {d}: another replic run is writing into this "
                                f"directory (it holds {path}{_holder(path)}); wait for it to "
                                "finish or choose another directory")

    if key in _HELD:
        raise busy()
    for _ in range(10):
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise busy() from None
        try:  # the holder may have removed the file between our open and our flock
            same = os.stat(path, follow_symlinks=False).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    else:
        raise busy()
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    _HELD[key] = (me, 1)
    try:
        yield d
    finally:
        del _HELD[key]
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # while still holding the lock
        os.close(fd)
        with contextlib.suppress(OSError):
            for p in created:
                p.rmdir()  # only when empty: nothing was written
