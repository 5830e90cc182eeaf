"""The progress bar: replicates done, rate and ETA on stderr (tqdm).

Shown only when stderr is a terminal and not ``quiet``, so logs, pipes and CI stay clean.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from tqdm import tqdm

__all__ = ["progress", "shows_progress"]


def shows_progress(*, quiet: bool, stream: TextIO | None = None) -> bool:
    """Whether a bar would be drawn: not ``quiet`` and ``stream`` (stderr) is a terminal."""
    stream = sys.stderr if stream is None else stream
    try:
        return not quiet and stream.isatty()
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
    bar = tqdm(total=total, initial=initial, desc=desc, unit="rep", unit_scale=True,
               file=stream, disable=not shows_progress(quiet=quiet, stream=stream),
               smoothing=0.1)
    try:
        yield bar
    finally:
        bar.close()
