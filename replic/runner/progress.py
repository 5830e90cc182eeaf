"""The progress bar: replicates done, rate and ETA (tqdm).

Shown only when not ``quiet`` and stderr is a terminal (a text bar) or the code runs in a
Jupyter kernel (tqdm's notebook bar, via ``tqdm.auto``), so logs, pipes and CI stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

__all__ = ["in_notebook", "progress", "shows_progress"]


def in_notebook() -> bool:
    """Whether this code runs in a Jupyter kernel (where stderr is no terminal)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    ip = get() if get is not None else None
    return ip is not None and type(ip).__name__ == "ZMQInteractiveShell"


def shows_progress(*, quiet: bool, stream: TextIO | None = None) -> bool:
    """Whether a bar would be drawn: not ``quiet``, and ``stream`` (stderr) is a terminal or
    this is a notebook."""
    if quiet:
        return False
    stream = sys.stderr if stream is None else stream
    try:
        return stream.isatty() or (stream is sys.stderr and in_notebook())
    except (AttributeError, ValueError):  # closed or non-file streams
        return False


@contextmanager
def progress(total: int, *, initial: int = 0, quiet: bool = True, desc: str = "replicates",
             stream: TextIO | None = None) -> Iterator[tqdm]:
    """A tqdm bar counting replicates; ``bar.update(n)`` after each finished chunk.

    Parameters
    ----------
    total : int
        Replicates in the study.
    initial : int
        Replicates already done (a resumed study).
    quiet : bool
        No bar at all.
    desc : str
        The bar's label.
    stream : file, optional
        Where to draw (default stderr); the bar is disabled unless it is a terminal.
    """
    stream = sys.stderr if stream is None else stream
    bar_class = tqdm
    if not quiet and stream is sys.stderr and in_notebook():
        from tqdm.auto import tqdm as bar_class
    bar = bar_class(total=total, initial=initial, desc=desc, unit="rep", unit_scale=True,
               file=stream, disable=not shows_progress(quiet=quiet, stream=stream),
               smoothing=0.1)
    try:
        yield bar
    finally:
        bar.close()
