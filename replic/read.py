"""``read_draws``: one entry point for every posterior source.

brms draws CSV or DataFrame (:mod:`replic.io_brms`); CmdStan CSV output of replic's Stan program
(:mod:`replic.io_cmdstan`); ArviZ InferenceData, a netCDF file of one, or a cmdstanpy fit
(:mod:`replic.io_arviz`).

A gzip-compressed CSV is first decompressed as a stream, counting bytes and keeping none, and
refused when it expands beyond a cap (:data:`MAX_GUNZIPPED`, 2 GiB; environment variable
``REPLIC_MAX_GUNZIPPED_MB`` to change it): a small file that expands to terabytes (a gzip bomb)
is stopped after at most the cap, in constant memory, before anything parses it.
"""

from __future__ import annotations

import csv
import gzip
import os
import zlib
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import pandas as pd

from replic.errors import ReplicInputError
from replic.family import Family
from replic.formula_grammar import check_column_names
from replic.io_brms import posterior_from_brms
from replic.posterior import Posterior

__all__ = ["MAX_GUNZIPPED", "read_data", "read_draws"]

#: Default largest decompressed size (bytes) of a gzip-compressed CSV replic reads.
MAX_GUNZIPPED = 2 << 30
_CAP_VARIABLE = "REPLIC_MAX_GUNZIPPED_MB"

#: What reading a damaged, truncated or mis-encoded (optionally gzip-compressed) CSV raises.
_READ_ERRORS = (OSError, EOFError, zlib.error, UnicodeDecodeError, pd.errors.ParserError,
                pd.errors.EmptyDataError, csv.Error)


def _header(path: Path, what: str) -> list[str]:
    """The first line of a CSV as column names (gzip read transparently); refuses files that
    are not a readable text CSV and duplicated column names (pandas would rename them)."""
    if not path.is_file():
        raise ReplicInputError(f"{path}: no such {what} file")
    if path.suffix == ".gz":
        _check_gunzipped(path, what)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rt", encoding="utf-8-sig", newline="") as fh:
            first = fh.readline()
    except _READ_ERRORS as exc:
        raise ReplicInputError(f"{path}: cannot read as a UTF-8 text CSV"
                               f"{' (gzip)' if opener is gzip.open else ''} ({exc})") from None
    if first.startswith("#"):
        return ["#"]
    try:
        names = next(csv.reader([first]), [])
    except csv.Error as exc:
        raise ReplicInputError(f"{path}: unreadable CSV header ({exc})") from None
    if not names or not any(n.strip() for n in names):
        raise ReplicInputError(f"{path}: empty file; expected a CSV with a header line")
    seen: set[str] = set()
    for n in names:
        if n in seen:
            raise ReplicInputError(f"{path}: column {n!r} appears more than once in the header; "
                                   "expected distinct column names")
        seen.add(n)
    return names


def _gunzip_cap() -> int:
    value = os.environ.get(_CAP_VARIABLE, "").strip()
    if not value:
        return MAX_GUNZIPPED
    try:
        mb = float(value)
    except ValueError:
        mb = -1.0
    if not 0 < mb < 2**40:
        raise ReplicInputError(f"{_CAP_VARIABLE}={value!r}: expected a positive number of "
                               "megabytes (the largest decompressed size of a .gz CSV)")
    return int(mb * 2**20)


def _check_gunzipped(path: Path, what: str) -> None:
    """Refuse a gzip file that decompresses to more than the cap (read in 1 MiB blocks, kept
    nowhere: at most the cap is decompressed, in constant memory)."""
    cap, total = _gunzip_cap(), 0
    try:
        with gzip.open(path, "rb") as fh:
            while block := fh.read(1 << 20):
                total += len(block)
                if total > cap:
                    raise ReplicInputError(
                        f"{path}: the gzip-compressed {what} file expands to more than "
                        f"{cap / 2**20:,g} MB (from {path.stat().st_size / 2**20:,.1f} MB "
                        f"compressed); refused unread (a gzip bomb?). If the file is genuine, "
                        f"set {_CAP_VARIABLE} to a larger cap in MB")
    except _READ_ERRORS as exc:
        raise ReplicInputError(f"{path}: cannot read as a UTF-8 text CSV (gzip) ({exc})") \
            from None


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(path, encoding="utf-8-sig")  # a BOM (Excel) is not a name
    except _READ_ERRORS as exc:
        raise ReplicInputError(f"{path}: not a readable {what} CSV ({type(exc).__name__}: "
                               f"{' '.join(str(exc).split())})") from None
    if df.empty:
        raise ReplicInputError(f"{path}: no rows; expected a header line and at least one row")
    return df


def read_data(path: str | Path) -> pd.DataFrame:
    """Read a data CSV (one row per observation; gzip allowed) for a study or ``replic fit``.

    Raises
    ------
    ReplicInputError
        For a missing, empty, non-UTF-8, damaged or truncated file, duplicated column names, or
        column names that could smuggle code into a formula
        (:func:`replic.formula_grammar.check_column_names`).
    """
    path = Path(path)
    names = _header(path, "data")
    if names == ["#"]:
        raise ReplicInputError(f"{path}: starts with '#'; expected a data CSV with a header line")
    check_column_names(names, where=str(path))
    return _read_csv(path, "data")


def read_draws(source: str | Path | pd.DataFrame | Any, *,
               names: Mapping | None = None, family: str | Family | None = None) -> Posterior:
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
    family : str or Family, optional
        The model's family: ``"bernoulli"``, ``"binomial"``, ``"poisson"`` (optionally
        ``"bernoulli(probit)"``).  brms draws do not record it: draws without ``sigma`` need it,
        draws with ``sigma`` are Gaussian (giving another family for them is an error).

    Returns
    -------
    Posterior
    """
    from replic import io_arviz

    fam = None if family is None else Family.of(family, where="read_draws: family")
    if isinstance(source, Posterior):
        if fam is not None and fam != source.family:
            raise ReplicInputError(f"read_draws: family={str(fam)!r} but the posterior's "
                                   f"family is {source.family}")
        return source
    if isinstance(source, pd.DataFrame):
        return posterior_from_brms(source, source="DataFrame", family=fam)
    if fam is not None and not fam.gaussian and not isinstance(source, str | Path):
        raise ReplicInputError(f"read_draws: family={str(fam)!r} is read from brms draws "
                               "(a CSV or DataFrame) only so far")
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
        post = io_arviz.posterior_from_netcdf(path, names=names)
        if fam is not None and fam != post.family:
            raise ReplicInputError(f"{path}: family={str(fam)!r} but the draws are of a "
                                   f"{post.family} model")
        return post
    if _header(path, "draws") == ["#"]:
        if path.suffix == ".gz":
            raise ReplicInputError(f"{path}: a CmdStan CSV (it starts with '#') must be "
                                   "uncompressed; gunzip it first")
        from replic.io_cmdstan import posterior_from_cmdstan

        post = posterior_from_cmdstan([path], names=names)
        if fam is not None and fam != post.family:
            raise ReplicInputError(f"{path}: family={str(fam)!r} but the draws are of a "
                                   f"{post.family} model")
        return post
    return posterior_from_brms(_read_csv(path, "draws"), source=str(path), family=fam)


def _bundled(value: str) -> Path:
    """``replic:NAME``: a file shipped in ``replic/datasets``."""
    name = value.removeprefix("replic:")
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise ReplicInputError(f"{value!r}: expected replic:NAME naming a file shipped in "
                               "replic/datasets")
    p = Path(str(resources.files("replic") / "datasets" / name))
    if not p.is_file():
        raise ReplicInputError(f"{value}: no such file (looked for {p})")
    return p
