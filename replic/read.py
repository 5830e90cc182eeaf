"""``read_draws``: one entry point for every posterior source.

brms draws CSV or DataFrame (:mod:`replic.io_brms`); CmdStan CSV output of replic's Stan program
(:mod:`replic.io_cmdstan`); ArviZ InferenceData, a netCDF file of one, or a cmdstanpy fit
(:mod:`replic.io_arviz`).
"""

from __future__ import annotations

import gzip
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from replic.errors import ReplicInputError
from replic.io_brms import posterior_from_brms
from replic.posterior import Posterior

__all__ = ["read_draws"]


def read_draws(source: str | Path | pd.DataFrame | Any, *,
               names: Mapping | None = None) -> Posterior:
    """Read posterior draws into a :class:`~replic.Posterior`.

    Parameters
    ----------
    source : path, DataFrame, InferenceData or CmdStanMCMC
        A brms draws CSV (optionally gzip-compressed), a CmdStan output CSV of replic's Stan
        program, a netCDF file of an InferenceData (``idata.to_netcdf``), a DataFrame with
        brms column names, an ArviZ ``InferenceData`` (PyMC, bambi, NumPyro,
        ``arviz.from_cmdstanpy``) or a cmdstanpy ``CmdStanMCMC`` of replic's Stan program.
        ``"replic:NAME"`` names a file shipped with replic
        (``"replic:sleepstudy_brms_draws.csv.gz"``).
    names : mapping, optional
        Term names (``fixed``, ``varying``, ``group``, ``levels``) of draws from replic's Stan
        program when they cannot be found beside the draws (``replic-model.json``).

    Returns
    -------
    Posterior
    """
    from replic import io_arviz

    if isinstance(source, Posterior):
        return source
    if isinstance(source, pd.DataFrame):
        return posterior_from_brms(source, source="DataFrame")
    if io_arviz.is_cmdstanpy(source):
        return io_arviz.posterior_from_cmdstanpy(source, names=names)
    if io_arviz.is_arviz(source):
        return io_arviz.posterior_from_arviz(source, names=names)
    if not isinstance(source, str | Path):
        raise ReplicInputError(f"read_draws: got a {type(source).__name__}; expected a path, a "
                               "DataFrame, an InferenceData or a CmdStanMCMC")
    path = _bundled(str(source)) if str(source).startswith("replic:") else Path(source)
    if not path.is_file():
        raise ReplicInputError(f"{path}: no such draws file")
    if io_arviz.is_netcdf(path):
        return io_arviz.posterior_from_netcdf(path, names=names)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt") as fh:
            first = fh.readline()
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplicInputError(f"{path}: cannot read as a text CSV ({exc})") from None
    if first.startswith("#"):
        from replic.io_cmdstan import posterior_from_cmdstan

        return posterior_from_cmdstan([path], names=names)
    try:
        df = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ReplicInputError(f"{path}: not a readable CSV ({exc})") from None
    return posterior_from_brms(df, source=str(path))


def _bundled(value: str) -> Path:
    """``replic:NAME``: a file shipped in ``replic/datasets``."""
    p = Path(str(resources.files("replic") / "datasets" / value.removeprefix("replic:")))
    if not p.is_file():
        raise ReplicInputError(f"{value}: no such file (looked for {p})")
    return p
