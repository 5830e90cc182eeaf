"""Outputs stay in their directory, and files replic did not write are never touched."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import replic
from replic import ReplicInputError
from replic.cli import main
from replic.outdir import check_out_dir, check_study_name, is_replic_dir
from replic.studyfile import load_study
from tests.conftest import DRAWS


def _study(tmp: Path, name: str | None = "mini") -> Path:
    p = tmp / "mini.toml"
    head = f"name = {name!r}\n".replace("'", '"') if name is not None else ""
    p.write_text(head + f'draws = "{DRAWS}"\nterm = "Days"\nreps = 40\nseed = 3\n'
                 "[design]\nk = [3, 4]\nx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n")
    return p


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.mark.parametrize("name", ["../x", "/abs/x", "a/../../x", "x/y", "", ".", "..", "a\\b",
                                  ".hidden", "-rf", "a\u0000b", "caf\u00e9", "a" * 101])
def test_escaping_names_refused(tmp_path, monkeypatch, capsys, name):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ReplicInputError, match="plain study name"):
        check_study_name(name, where="name")
    p = tmp_path / "s.toml"
    quoted = json.dumps(name)  # a TOML basic string (\uXXXX escapes included)
    p.write_text(f'name = {quoted}\ndraws = "{DRAWS}"\nterm = "Days"\n[design]\nk = 3\n',
                 encoding="utf-8")
    with pytest.raises(ReplicInputError, match="name = "):
        load_study(p)
    assert main(["run", str(p), "--jobs", "1", "--quiet"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert sorted(os.listdir(tmp_path)) == ["s.toml"]  # no reports/ anywhere


@pytest.mark.parametrize("name", ["sleepstudy", "my-study_2.v1", "A", "0x"])
def test_plain_names_accepted(name):
    assert check_study_name(name, where="name") == name


def test_user_directory_refused(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("years of work")
    (out / "summary.csv").write_text("my own summary")
    before = _snapshot(tmp_path)
    assert main(["run", str(_study(tmp_path)), "--out", str(out), "--jobs", "1"]) == 2
    err = capsys.readouterr().err
    assert "not a replic results directory" in err and err.count("\n") == 1
    assert _snapshot(tmp_path) == before | {"mini.toml": (tmp_path / "mini.toml").read_bytes()}
    with pytest.raises(ReplicInputError, match="not a replic results directory"):
        replic.run_study(DRAWS, [replic.Design(3, x=range(10))], term="Days", reps=10, seed=1,
                         n_jobs=1, out=out)
    res = replic.run_study(DRAWS, [replic.Design(3, x=range(10))], term="Days", reps=10, seed=1,
                           n_jobs=1)
    with pytest.raises(ReplicInputError, match="not a replic results directory"):
        res.write(out)
    assert (out / "summary.csv").read_text() == "my own summary"


def test_user_files_survive_a_rerun(tmp_path):
    """A results directory replic wrote, with files of the user's added (also inside chunks/,
    and a subfolder there): a fresh run and a resumed one leave them alone."""
    out = tmp_path / "out"
    study = _study(tmp_path)
    keep = ["--jobs", "1", "--quiet", "--keep-chunks"]
    assert main(["run", str(study), "--out", str(out), *keep]) == 0
    assert is_replic_dir(out)
    mine = {out / "notes.txt": b"mine", out / "chunks" / "keep.parquet": b"not a chunk",
            out / "chunks" / "sub" / "deep.txt": b"deep",
            out / "chunks" / ".0000-00000000-0000000000-0000000001.parquet.tmpx": b"lookalike"}
    for path, data in mine.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    chunks = sorted(p.name for p in (out / "chunks").glob("0*.parquet"))
    assert chunks
    for more in ([], ["--resume"], ["--reps", "30"]):
        assert main(["run", str(study), "--out", str(out), *keep, *more]) == 0
        assert all(p.read_bytes() == data for p, data in mine.items())
    assert sorted(p.name for p in (out / "chunks").glob("0*.parquet")) != chunks  # rewritten


def test_out_naming_a_file(tmp_path, capsys):
    f = tmp_path / "results.txt"
    f.write_text("keep")
    assert main(["run", str(_study(tmp_path)), "--out", str(f), "--jobs", "1"]) == 2
    assert "for the results, not a file" in capsys.readouterr().err
    assert f.read_text() == "keep"


def test_symlinks_refused(tmp_path, capsys):
    """A chunks/ folder (or the results directory) that is a link elsewhere is refused, so a
    fresh start never deletes in the link's target."""
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    study = _study(tmp_path)
    assert main(["run", str(study), "--out", str(out), "--jobs", "1", "--quiet"]) == 0
    elsewhere.mkdir()
    victim = elsewhere / "0000-00000000-0000000000-0000000001.parquet"
    victim.write_bytes(b"named like a chunk")
    assert not (out / "chunks").exists()  # removed once merged
    (out / "chunks").symlink_to(elsewhere)
    assert main(["run", str(study), "--out", str(out), "--jobs", "1", "--quiet"]) == 2
    assert "chunks is a symbolic link" in capsys.readouterr().err
    assert victim.read_bytes() == b"named like a chunk"
    link = tmp_path / "link"
    link.symlink_to(out)
    with pytest.raises(ReplicInputError, match="symbolic link"):
        check_out_dir(link)


def test_fit_never_overwrites_a_user_file(tmp_path, capsys):
    data = Path(replic.__file__).parent / "datasets" / "sleepstudy.csv"
    mine = tmp_path / "draws.csv"
    mine.write_text("precious,data\n1,2\n")
    assert main(["fit", str(data), "Reaction ~ Days + (Days | Subject)", "--out",
                 str(mine)]) == 2
    assert "not a draws CSV replic wrote" in capsys.readouterr().err
    assert mine.read_text() == "precious,data\n1,2\n"
