"""Damaged chunks, merged files and manifests: detected on resume, recomputed to the undamaged
result (or refused with one clear error), never a traceback; only replic's files removed."""

from __future__ import annotations

import json
import os

import pandas as pd
import pyarrow.parquet as pq
import pytest

import replic
from replic import ReplicInputError
from replic.cli import main
from replic.runner.store import file_digest

from .conftest import DESIGNS, DRAWS

SEED = 7


def _study(post, out, **kw):
    kw = {"reps": 3000, "seed": SEED, "n_jobs": 1, "chunk_size": 1024} | kw
    return replic.run_study(post, DESIGNS, term="Days", analysis="flaky", out=out, **kw)


@pytest.fixture(scope="module")
def whole(sleep_post, tmp_path_factory):
    """The uninterrupted study, stored: what every repaired run must equal."""
    from replic.analyses import ANALYSES

    ANALYSES["flaky"] = "runner_flaky_analysis"
    try:
        return _study(sleep_post, tmp_path_factory.mktemp("whole"))
    finally:
        del ANALYSES["flaky"]


def _interrupted(post, out, flaky, at: int = 2500):
    """Start the study and interrupt it in its 3rd chunk (2 of 9 chunks stored)."""
    flaky.INTERRUPT_AT = at
    with pytest.raises(KeyboardInterrupt):
        _study(post, out)
    flaky.INTERRUPT_AT = None
    return sorted((out / "chunks").glob("*.parquet"))


def _same(res, whole):
    pd.testing.assert_frame_equal(res.summary, whole.summary, check_exact=True)
    pd.testing.assert_frame_equal(res.type_sm, whole.type_sm, check_exact=True)
    pd.testing.assert_frame_equal(res.replicates, whole.replicates, check_exact=True,
                                  check_dtype=False)


def _flip_estimate_page(path, n: int = 16) -> None:
    """Flip ``n`` bytes in the middle of the ``estimate`` column's data page (same size)."""
    meta = pq.ParquetFile(path).metadata
    names = [meta.schema.column(i).name for i in range(meta.num_columns)]
    col = meta.row_group(0).column(names.index("estimate"))
    start = col.data_page_offset + col.total_compressed_size // 2
    data = bytearray(path.read_bytes())
    size = len(data)
    for i in range(start, start + n):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))
    assert path.stat().st_size == size


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def _empty(path):
    path.write_bytes(b"")


def _garbage(path):
    path.write_bytes(os.urandom(path.stat().st_size))


@pytest.mark.parametrize("damage", [_flip_estimate_page, _truncate, _empty, _garbage])
def test_damaged_chunk_is_recomputed(sleep_post, flaky, whole, tmp_path, capsys, damage):
    chunks = _interrupted(sleep_post, tmp_path, flaky)
    assert len(chunks) == 2
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["chunks"] == {p.stem: file_digest(p) for p in chunks}
    victim = chunks[1]
    damage(victim)
    capsys.readouterr()
    res = _study(sleep_post, tmp_path, resume=True)
    err = capsys.readouterr().err.splitlines()
    assert err == [f"replic: {victim}: damaged (its content hash differs from the one "
                   "recorded when it was written); recomputing it"]
    assert res.info["chunks_resumed"] == 1
    _same(res, whole)
    assert not (tmp_path / "chunks").exists()  # merged, then removed: one copy on disk


def test_flipped_bytes_change_the_numbers_unless_caught(sleep_post, flaky, whole, tmp_path):
    """The damage of the test above is real: read as it is, the chunk's estimates differ (or
    the file cannot be read at all)."""
    chunks = _interrupted(sleep_post, tmp_path, flaky)
    before = pd.read_parquet(chunks[1])["estimate"]
    _flip_estimate_page(chunks[1])
    try:
        after = pd.read_parquet(chunks[1])["estimate"]
    except OSError:
        return
    assert not before.equals(after)


def test_damaged_merged_file_is_recomputed(sleep_post, flaky, whole, tmp_path, capsys):
    _study(sleep_post, tmp_path)
    merged = tmp_path / "replicates.parquet"
    _flip_estimate_page(merged)
    capsys.readouterr()
    res = _study(sleep_post, tmp_path, resume=True)
    assert capsys.readouterr().err == (
        f"replic: {merged}: damaged (its content hash differs from the one recorded when it "
        "was written); recomputing the replicates it held\n")
    assert res.info["chunks_resumed"] == 0
    _same(res, whole)
    again = _study(sleep_post, tmp_path, resume=True)  # now intact: nothing recomputed
    assert again.info["chunks_resumed"] == again.info["tasks"] == 9
    _same(again, whole)


def test_complete_run_keeps_one_copy_unless_asked(sleep_post, flaky, whole, tmp_path, capsys):
    res = _study(sleep_post, tmp_path / "one")
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == ["manifest.json",
                                                                    "replicates.parquet"]
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    assert manifest["chunks"] == {}
    assert manifest["merged"] == {"file": "replicates.parquet", "rows": 9000,
                                  "sha256": file_digest(res.replicates_file)}
    kept = _study(sleep_post, tmp_path / "kept", keep_chunks=True)
    assert len(list((tmp_path / "kept" / "chunks").glob("*.parquet"))) == 9
    _same(res, whole)
    _same(kept, whole)
    assert capsys.readouterr().err == ""


def test_chunk_without_recorded_hash_is_recomputed(sleep_post, flaky, whole, tmp_path, capsys):
    chunks = _interrupted(sleep_post, tmp_path, flaky)
    path = tmp_path / "manifest.json"
    manifest = json.loads(path.read_text())
    del manifest["chunks"][chunks[0].stem]
    path.write_text(json.dumps(manifest))
    capsys.readouterr()
    res = _study(sleep_post, tmp_path, resume=True)
    assert "1 chunk file(s) finished after the manifest was last saved" in capsys.readouterr().err
    assert res.info["chunks_resumed"] == 1
    _same(res, whole)


def _set(key, value):
    def edit(m):
        m[key] = value
        return json.dumps(m)
    return edit


@pytest.mark.parametrize(("damage", "match"), [
    (lambda m: json.dumps(m)[:200], "damaged or unreadable run manifest"),
    (lambda m: b"\xff\xfe" + json.dumps(m).encode(), "damaged or unreadable run manifest"),
    (lambda m: "", "damaged or unreadable run manifest"),
    (lambda m: "[1, 2]", "not a replic run manifest"),
    (_set("chunk_size", "1024"), "'chunk_size' must be a positive integer"),
    (_set("chunks", {"0000-x": "not a hash"}), "'chunks' must map chunk names to SHA-256"),
    (_set("fingerprint", None), "'fingerprint' must hold"),
    (_set("runs", {}), "'runs' must be a list"),
    (_set("merged", {"file": "../elsewhere.parquet", "sha256": "0" * 64}), "'merged' must"),
])
def test_damaged_manifest_is_one_clear_error(sleep_post, flaky, tmp_path, capsys, damage, match):
    _interrupted(sleep_post, tmp_path, flaky)
    path = tmp_path / "manifest.json"
    text = damage(json.loads(path.read_text()))
    (path.write_bytes if isinstance(text, bytes) else path.write_text)(text)
    with pytest.raises(ReplicInputError, match=match) as err:
        _study(sleep_post, tmp_path, resume=True)
    assert str(path) in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ReplicInputError, match=match):  # a fresh run is refused too
        _study(sleep_post, tmp_path)


def test_damaged_manifest_cli_exit_2(tmp_path, capsys):
    out = tmp_path / "out"
    study = tmp_path / "s.toml"
    study.write_text(f'name = "s"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 100\nseed = 1\n'
                     '[design]\nk = [3]\nx = [0, 1, 2, 3, 4]\n')
    assert main(["run", str(study), "--out", str(out), "--quiet", "--jobs", "1"]) == 0
    (out / "manifest.json").write_text('{"format": "replic-run/1", "fingerprint": ')
    capsys.readouterr()
    assert main(["run", str(study), "--out", str(out), "--quiet", "--resume"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("replic: error: ")
    assert f"{out / 'manifest.json'}: damaged or unreadable run manifest" in err


def test_temporary_files_of_a_killed_run_are_removed(sleep_post, flaky, whole, tmp_path):
    chunks = _interrupted(sleep_post, tmp_path, flaky)
    ours = [tmp_path / ".manifest.json.4242.tmp", tmp_path / ".replicates.parquet.4242.tmp",
            tmp_path / "chunks" / f".{chunks[0].stem}.parquet.4242.tmp",
            tmp_path / ".report.k2j_x9ab.html"]
    theirs = [tmp_path / "notes.tmp", tmp_path / ".manifest.json.tmp",
              tmp_path / "chunks" / "README.txt", tmp_path / ".replicates.parquet.bak.tmp"]
    for p in ours + theirs:
        p.write_bytes(b"partial")
    (tmp_path / ".replic-write-4242-abc_123").mkdir()
    (tmp_path / ".replic-write-4242-abc_123" / "summary.csv").write_text("half")
    ours.append(tmp_path / ".replic-write-4242-abc_123")
    res = _study(sleep_post, tmp_path, resume=True)
    res.write(tmp_path)
    assert not any(p.exists() for p in ours)
    assert all(p.read_bytes() == b"partial" for p in theirs)
    assert (tmp_path / "chunks").is_dir()  # kept: it holds a file replic did not write
    _same(res, whole)


@pytest.mark.parametrize("where", ["out", "chunks", "replicates.parquet", "chunk"])
def test_files_that_are_not_files_are_refused(sleep_post, flaky, tmp_path, where):
    chunks = _interrupted(sleep_post, tmp_path / "out", flaky)
    target = {"out": tmp_path / "out", "chunks": tmp_path / "out" / "chunks",
              "replicates.parquet": tmp_path / "out" / "replicates.parquet",
              "chunk": chunks[0]}[where]
    if target.is_dir():
        import shutil

        shutil.rmtree(target)
        target.write_text("not a directory")
    else:
        target.unlink(missing_ok=True)
        target.mkdir()
    with pytest.raises(ReplicInputError, match=f"{target}: expected"):
        _study(sleep_post, tmp_path / "out", resume=True)


def test_manifest_written_when_a_run_starts_and_ends(sleep_post, flaky, whole, tmp_path,
                                                      monkeypatch):
    """Not once per chunk (O(chunks^2) bytes): each chunk's hash is one journal line."""
    from replic.runner import engine
    from replic.runner.store import JOURNAL

    writes, journal = [], []
    real_write, real_record = engine.write_manifest, engine.ChunkStore.record

    def counted(directory, manifest, **kw):
        writes.append(dict(manifest["chunks"]))
        return real_write(directory, manifest, **kw)

    def recorded(self, name, digest):
        real_record(self, name, digest)
        journal.append((self.chunks / JOURNAL).read_text().count("\n"))

    monkeypatch.setattr(engine, "write_manifest", counted)
    monkeypatch.setattr(engine.ChunkStore, "record", recorded)
    res = _study(sleep_post, tmp_path)
    assert len(writes) == 2 and writes[0] == {} and journal == list(range(1, 10))
    assert not (tmp_path / "chunks").exists()  # journal removed with the chunks
    _same(res, whole)


def test_journal_lines_cut_short_are_ignored(tmp_path):
    from replic.runner.store import JOURNAL, ChunkStore

    store = ChunkStore(tmp_path)
    store.open()
    name = "0000-0123abcd-0000000000-0000001024"
    store.record(name, "a" * 64)
    store.record(name, "b" * 64)  # the last line of a name wins
    with open(store.chunks / JOURNAL, "a") as fh:
        fh.write(f"{'c' * 64}  0001-0123abcd-0000000000-00000010")  # killed mid-line
    assert store.recorded() == {name: "b" * 64}
    store.clear()
    assert store.recorded() == {} and not store.chunks.exists()
