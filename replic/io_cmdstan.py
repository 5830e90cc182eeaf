"""Read CmdStan CSV output of replic's Stan program (``replic/stan/lmm.stan``).

A CmdStan CSV file holds one chain: ``#`` comment lines (configuration, adaptation, timing), a
header of flat Stan names (``b.1``, ``sd_1.2``, ``r_1.3.2``) and one row per draw.  The reader
needs no CmdStan installation.  Stan's names carry indices, not the model's terms; replic writes
them next to the CSV files in ``replic-model.json`` (:func:`write_model_names`) and reads them
back, so the draws get brms's names (``b_Days``, ``sd_Subject__Days``, ``r_Subject[308,Days]``).
Without that file, generic names are used (``x1``, ``z1``, group ``g``, levels ``1..J``).
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from replic.errors import ReplicFitError, ReplicInputError
from replic.posterior import Posterior

__all__ = ["NAMES_FILE", "posterior_from_cmdstan", "read_cmdstan_csv", "write_model_names"]

NAMES_FILE = "replic-model.json"
_CONFIG = re.compile(r"^#\s*(\w+)\s*=\s*(\S+)")
_KEYS = ("fixed", "varying", "group", "levels")


def _config(path: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    with open(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            m = _CONFIG.match(line)
            if m and m[1] not in out:
                out[m[1]] = m[2]
    return out


def read_cmdstan_csv(paths: Sequence[str | Path]) -> pd.DataFrame:
    """Read the sampling draws of CmdStan CSV files, one file per chain.

    Parameters
    ----------
    paths : sequence of path
        CmdStan output CSV files (``method = sample``).

    Returns
    -------
    DataFrame
        Stan's flat column names plus ``.chain`` (file order, from 1) and ``.iteration``.

    Raises
    ------
    ReplicInputError
        When a file is missing, not sampler output, or has no draws.
    """
    frames = []
    for chain, p in enumerate(map(Path, paths), start=1):
        if not p.is_file():
            raise ReplicInputError(f"{p}: no such CmdStan CSV file")
        cfg = _config(p)
        if cfg.get("method") != "sample":
            raise ReplicInputError(f"{p}: not CmdStan sampler output (expected a '# method = "
                                   f"sample' header line, found method={cfg.get('method')!r})")
        try:
            df = pd.read_csv(p, comment="#")
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ReplicInputError(f"{p}: not a readable CmdStan CSV ({exc})") from None
        if cfg.get("save_warmup") in ("1", "true"):
            df = df.iloc[int(cfg.get("num_warmup", 0)):]
        if df.empty or "lp__" not in df.columns:
            raise ReplicInputError(f"{p}: no draws (expected a header with lp__ and draw rows)")
        df = df.reset_index(drop=True)
        df[".chain"] = chain
        df[".iteration"] = range(1, len(df) + 1)
        frames.append(df)
    if not frames:
        raise ReplicInputError("read_cmdstan_csv: no CSV files given")
    cols = [list(f.columns) for f in frames]
    if any(c != cols[0] for c in cols):
        raise ReplicInputError(f"{paths[0]}: the CSV files do not have the same columns; "
                               "expected chains of one fit")
    return pd.concat(frames, ignore_index=True)


def write_model_names(directory: str | Path, names: Mapping) -> Path:
    """Write the model's term names next to CmdStan CSV files (``replic-model.json``).

    ``names`` holds ``fixed``, ``varying``, ``group``, ``levels`` and optionally ``formula``
    and ``response``.
    """
    path = Path(directory) / NAMES_FILE
    path.write_text(json.dumps({k: (list(v) if isinstance(v, tuple) else v)
                                for k, v in names.items()}, indent=1))
    return path


def _generic_names(flat: pd.DataFrame) -> dict:
    K = sum(bool(re.fullmatch(r"b\.\d+", c)) for c in flat.columns)
    M = sum(bool(re.fullmatch(r"sd_1\.\d+", c)) for c in flat.columns)
    J = sum(bool(re.fullmatch(r"r_1\.\d+\.1", c)) for c in flat.columns)
    has_icpt = "b_Intercept" in flat.columns and bool((flat["b_Intercept"] != 0).any())
    return {"fixed": ["Intercept"] * has_icpt + [f"x{k}" for k in range(1, K + 1)],
            "varying": [f"z{m}" for m in range(1, M + 1)], "group": "g",
            "levels": [str(j) for j in range(1, J + 1)]}


def posterior_from_cmdstan(paths: Sequence[str | Path], *,
                           names: Mapping | None = None) -> Posterior:
    """A :class:`~replic.Posterior` from CmdStan CSV output of replic's Stan program.

    Parameters
    ----------
    paths : sequence of path
        One CSV file per chain.
    names : mapping, optional
        ``fixed``, ``varying``, ``group``, ``levels`` (and optionally ``formula``,
        ``response``); by default read from ``replic-model.json`` beside the first file, else
        generic names.

    Returns
    -------
    Posterior
    """
    from replic.io_brms import posterior_from_brms
    from replic.stan.program import brms_draws

    paths = [Path(p) for p in paths]
    flat = read_cmdstan_csv(paths)
    source = str(paths[0]) if len(paths) == 1 else f"{paths[0]} (+{len(paths) - 1} chains)"
    if names is None:
        sidecar = paths[0].parent / NAMES_FILE
        if sidecar.is_file():
            try:
                names = json.loads(sidecar.read_text())
            except json.JSONDecodeError as exc:
                raise ReplicInputError(f"{sidecar}: not valid JSON ({exc})") from None
        else:
            names = _generic_names(flat)
    missing = [k for k in _KEYS if k not in names]
    if missing:
        raise ReplicInputError(f"model names for {source}: missing {', '.join(missing)}")
    try:
        table = brms_draws(flat, fixed=tuple(names["fixed"]), varying=tuple(names["varying"]),
                           group=str(names["group"]), levels=tuple(map(str, names["levels"])))
    except ReplicFitError as exc:
        raise ReplicInputError(f"{source}: {exc}") from None
    post = posterior_from_brms(table, source=source)
    return dataclasses.replace(post, formula=names.get("formula"), response=names.get("response"),
                               diagnostics={**post.diagnostics, "divergences": int(
                                   flat["divergent__"].sum()) if "divergent__" in flat else 0})
