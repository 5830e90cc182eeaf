"""``read_draws``: one entry point for every posterior source.

brms draws CSV or DataFrame (:mod:`replic.io_brms`); CmdStan CSV output of replic's Stan program
(:mod:`replic.io_cmdstan`, added with the Stan engine).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd

from replic.errors import ReplicInputError
from replic.io_brms import posterior_from_brms
from replic.posterior import Posterior

__all__ = ["read_draws"]


def read_draws(source: str | Path | pd.DataFrame) -> Posterior:
    """Read posterior draws into a :class:`~replic.Posterior`.

    Parameters
    ----------
    source : path or DataFrame
        A brms draws CSV (optionally gzip-compressed), a CmdStan output CSV of replic's Stan
        program, or a DataFrame with brms column names.

    Returns
    -------
    Posterior
    """
    if isinstance(source, Posterior):
        return source
    if isinstance(source, pd.DataFrame):
        return posterior_from_brms(source, source="DataFrame")
    path = Path(source)
    if not path.is_file():
        raise ReplicInputError(f"{path}: no such draws file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplicInputError(f"{path}: cannot read as a text CSV ({exc})") from None
    if first.startswith("#"):
        from replic.io_cmdstan import posterior_from_cmdstan

        return posterior_from_cmdstan([path])
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReplicInputError(f"{path}: not a readable CSV ({exc})") from None
    return posterior_from_brms(df, source=str(path))
