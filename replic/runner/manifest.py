"""The run manifest: what a stored study is, so that it can be resumed (or refused).

``DIR/manifest.json`` records the study's fingerprint (a hash of its spec — term, analysis,
options, replicates, root seed, designs, whether unconverged fits are excluded — and of the
posterior draws and data), the chunk size, package versions, the start, end and status
of every run (``running``, ``interrupted``, ``failed``, ``complete``), the SHA-256 of every
finished chunk file (``chunks``: name -> hash) and, once merged, of ``replicates.parquet``
(``replicates``: file, hash, rows).  A run killed outright stays ``running``; resuming is
allowed from any status, but only when the fingerprint is unchanged.  The manifest is always
replaced whole (a temporary file moved into place), never edited in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from replic.design import Design
from replic.errors import ReplicInputError
from replic.posterior import Posterior

__all__ = [
    "FORMAT",
    "MANIFEST",
    "check_manifest",
    "check_resumable",
    "fingerprint",
    "now",
    "posterior_digest",
    "read_manifest",
    "write_manifest",
]

MANIFEST = "manifest.json"
FORMAT = "replic-run/1"


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def posterior_digest(posterior: Posterior) -> str:
    """SHA-256 of the posterior's draws, names and (when attached) original data."""
    h = hashlib.sha256()
    family = getattr(posterior, "family", None)
    h.update(json.dumps([posterior.fixed, posterior.varying, posterior.group,
                         list(posterior.levels)] + (
        [] if family is None or family.gaussian else [str(family)])).encode())
    for a in (posterior.b, posterior.sd, posterior.cor, posterior.sigma, posterior.r):
        if a is not None:
            a = np.ascontiguousarray(a, dtype=float)
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
    if posterior.data is not None:
        h.update(json.dumps(list(map(str, posterior.data.columns))).encode())
        h.update(pd.util.hash_pandas_object(posterior.data, index=False).to_numpy().tobytes())
    return h.hexdigest()


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, sort_keys=True, default=repr))


def fingerprint(posterior: Posterior, designs: Sequence[Design], *, term: str, analysis: str,
                options: Mapping, reps: int, seed: int,
                exclude_unconverged: bool = False) -> dict[str, Any]:
    """What a study's replicate rows depend on, with its hashes.

    Returns
    -------
    dict
        ``spec`` (JSON-able), ``spec_hash`` and ``data_hash`` (hex SHA-256).
    """
    spec = {"term": term, "analysis": analysis, "options": _jsonable(dict(options)),
            "reps": int(reps), "seed": int(seed),
            "exclude_unconverged": bool(exclude_unconverged),
            "designs": [{"label": d.label, "key": d.key, "k": d.k, "x": list(d.x or ()),
                         "missing": d.missing, "params": _jsonable(d.params)} for d in designs]}
    text = json.dumps(spec, sort_keys=True)
    return {"spec": spec, "spec_hash": hashlib.sha256(text.encode()).hexdigest(),
            "data_hash": posterior_digest(posterior)}


def read_manifest(directory: Path) -> dict[str, Any] | None:
    """The manifest of ``directory``, or None when there is none."""
    path = Path(directory) / MANIFEST
    if not path.exists():
        return None
    try:
        manifest = json.loads(path.read_bytes().decode("utf-8"))
    except (OSError, ValueError) as exc:  # JSON and UTF-8 errors are ValueErrors
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ReplicInputError(f"{path}: damaged or unreadable run manifest ({reason}); "
                               "remove the directory to start afresh") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ReplicInputError(f"{path}: not a replic run manifest (expected format {FORMAT!r})")
    check_manifest(manifest, path)
    return manifest


_SHA256 = r"[0-9a-f]{64}"


def check_manifest(manifest: Mapping[str, Any], path: Path) -> None:
    """Refuse (``ReplicInputError``) a manifest whose entries are missing or of the wrong type."""
    def bad(what: str) -> ReplicInputError:
        return ReplicInputError(f"{path}: damaged run manifest ({what}); remove the directory "
                                "to start afresh")

    fp = manifest.get("fingerprint")
    if not isinstance(fp, dict) or not isinstance(fp.get("spec"), dict) or not all(
            isinstance(fp.get(k), str) for k in ("spec_hash", "data_hash")):
        raise bad("'fingerprint' must hold spec, spec_hash and data_hash")
    for key in ("chunk_size", "tasks", "replicates"):
        v = manifest.get(key)
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise bad(f"{key!r} must be a positive integer, found {v!r}")
    if not isinstance(manifest.get("versions"), dict):
        raise bad("'versions' must be a table of package versions")
    runs = manifest.get("runs")
    if not isinstance(runs, list) or not all(isinstance(r, dict) for r in runs):
        raise bad("'runs' must be a list of run records")
    chunks = manifest.get("chunks", {})
    if not isinstance(chunks, dict) or not all(
            isinstance(k, str) and isinstance(v, str) and re.fullmatch(_SHA256, v)
            for k, v in chunks.items()):
        raise bad("'chunks' must map chunk names to SHA-256 hashes")
    merged = manifest.get("merged")
    if merged is not None and not (
            isinstance(merged, dict) and merged.get("file") == "replicates.parquet" and
            isinstance(merged.get("sha256"), str) and re.fullmatch(_SHA256, merged["sha256"])):
        raise bad("'merged' must name replicates.parquet and its SHA-256")


def write_manifest(directory: Path, manifest: Mapping[str, Any], *,
                   durable: bool = True) -> Path:
    """Write ``manifest`` atomically (a temporary file moved into place).

    ``durable``: flush it to the disk before the move (the move itself is atomic either way).
    A run writes it when it starts and when it ends or stops; the hashes of chunks finished in
    between go to a journal (:meth:`replic.runner.store.ChunkStore.record`).
    """
    path = Path(directory) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(manifest, indent=1, default=str))
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _show(value: Any) -> str:
    if isinstance(value, list) and value and isinstance(value[0], dict) and "label" in value[0]:
        return "[" + "; ".join(d["label"] for d in value) + "]"
    return json.dumps(value, sort_keys=True)


def check_resumable(manifest: Mapping[str, Any], current: Mapping[str, Any],
                    directory: Path) -> None:
    """Refuse (``ReplicInputError``) to resume a study whose spec or data changed.

    The message names what changed, e.g. ``reps: 1000 -> 2000``.
    """
    old = manifest["fingerprint"]
    if old["spec_hash"] == current["spec_hash"] and old["data_hash"] == current["data_hash"]:
        return
    changes = []
    for key in sorted(set(old["spec"]) | set(current["spec"])):
        a, b = old["spec"].get(key), current["spec"].get(key)
        if a != b:
            changes.append(f"{key}: {_show(a)} -> {_show(b)}")
    if old["data_hash"] != current["data_hash"]:
        changes.append("the posterior draws or data differ")
    raise ReplicInputError(
        f"{Path(directory) / MANIFEST}: cannot resume: the study changed since it was started "
        f"({'; '.join(changes) or 'spec hash differs'}). Rerun without --resume (resume=False) "
        "into a new output directory, or remove this one to start afresh")
