"""Worker processes stop when the study's process is gone.

A worker (loky process, dask LocalCluster process) computing a chunk would otherwise go on —
for minutes with Stan refits — after its study was killed (``SIGKILL`` leaves no chance to tell
it), and keep writing chunk files nobody will read.  Each task carries the pid of the process
that runs the study (its *owner*); on its first task a worker starts a daemon thread that
checks every :data:`INTERVAL` seconds whether the owner still runs and whether the worker's own
parent is still the one it started with, and ends the worker (``os._exit``) when either is
gone.  :func:`check` makes the same test just before a chunk file is moved into place, so no
chunk appears after the owner died.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

__all__ = ["INTERVAL", "alive", "check", "guard"]

#: Seconds between two checks of the owner.
INTERVAL = 0.25
_EXIT = 70  # EX_SOFTWARE: the worker ends itself
_state: dict[str, int] = {}
_lock = threading.Lock()


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie — killed, not yet reaped — does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    except OSError:  # no /proc (not Linux): ask the kernel
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


def _gone() -> bool:
    owner, parent = _state.get("owner"), _state.get("parent")
    return owner is not None and (os.getppid() != parent or not alive(owner))


def _watch() -> None:
    while True:
        time.sleep(INTERVAL)
        if _gone():
            os._exit(_EXIT)


def guard(owner: int | None) -> None:
    """In a worker: end this process once ``owner`` (the study's process) is gone.

    Does nothing in the owner itself, for ``None`` (a remote cluster: its workers are not
    ours to stop) or when already guarding.
    """
    if owner is None or owner == os.getpid():
        return
    with _lock:
        if _state.get("owner") == owner:
            return
        _state.update(owner=owner, parent=os.getppid())
        if "thread" not in _state:
            threading.Thread(target=_watch, name="replic-watchdog", daemon=True).start()
            _state["thread"] = 1
    check()


def check() -> None:
    """End this worker now if its study's process is gone (no-op elsewhere)."""
    if _gone():
        os._exit(_EXIT)
