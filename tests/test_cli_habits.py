"""Command-line habits: ``--version``, labelled progress bars on a terminal, a line while the
report renders, ``replic report DIR --out FILE`` that never clobbers a stranger's file."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

import replic
from replic.cli import main
from tests.conftest import DRAWS

ROOT = Path(__file__).resolve().parents[1]


def _study(tmp_path: Path) -> Path:
    p = tmp_path / "mini.toml"
    p.write_text(f'name = "mini"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 200\nseed = 5\n'
                 '[design]\nk = [3, 6]\nx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n')
    return p


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"replic {replic.__version__}"


def test_bars_name_their_analysis_on_a_terminal(tmp_path):
    """Run in a pseudo-terminal, as a user's shell would: one bar per analysis, each labelled,
    then a line saying the results and report are being written."""
    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = os.environ | {"PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "replic", "run", str(_study(tmp_path)),
                             "--analysis", "summary", "--analysis", "reml", "--jobs", "1",
                             "--out", str(tmp_path / "out")],
                            stdout=subprocess.PIPE, stderr=secondary, stdin=subprocess.DEVNULL,
                            env=env, cwd=tmp_path)
    os.close(secondary)
    chunks = []
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:  # never waits longer: a hung run fails the test
        if not select.select([primary], [], [], 1.0)[0]:
            continue
        try:
            data = os.read(primary, 4096)
        except OSError:  # the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    else:
        proc.kill()
    out, _ = proc.communicate(timeout=60)
    os.close(primary)
    err = b"".join(chunks).decode(errors="replace")
    assert proc.returncode == 0, err
    assert "summary: 100%" in err and "reml: 100%" in err
    last_bar = err.rindex("reml: 100%")
    assert err.index("writing the tables and the report to", last_bar) > last_bar
    assert b"Smallest k reaching 80%" in out


def test_report_out(tmp_path, capsys):
    out = tmp_path / "out"
    res = replic.run_study(DRAWS, [replic.Design(k, x=range(10)) for k in (3, 6)], term="Days",
                           reps=100, seed=1, n_jobs=1)
    res.write(out)  # with its report.html
    target = tmp_path / "elsewhere.html"
    assert main(["report", str(out), "--out", str(target)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {target}"
    assert target.read_text(encoding="utf-8") == (out / "report.html").read_text(
        encoding="utf-8")
    assert main(["report", str(out), "--out", str(target)]) == 0  # replic's own: replaced
    capsys.readouterr()
    mine = tmp_path / "notes.html"
    mine.write_text("<html>my notes</html>")
    assert main(["report", str(out), "--out", str(mine)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("replic: error: ") and "not a report written by replic" in err
    assert mine.read_text() == "<html>my notes</html>"
    assert main(["report", str(out), "--out", str(tmp_path / "no" / "such.html")]) == 2
    assert "no such directory" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.html", "notes.html", "out"]


def test_several_families_print_labelled_answers(tmp_path, capsys):
    p = tmp_path / "two.toml"
    p.write_text(f'name = "two"\ndraws = "{DRAWS}"\nterm = "Days"\nreps = 200\nseed = 5\n'
                 '[[design]]\nk = [4, 8]\nx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n'
                 '[[design]]\nk = [4, 8]\nx = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]\n'
                 'params = { b_Days = 5.0 }\n')
    assert main(["run", str(p), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines()
             if ln.startswith("Smallest k reaching 80%")]
    assert len(lines) == 2
    assert lines[0].startswith("Smallest k reaching 80% (Days 0–9, assurance): ")
    assert lines[1].startswith("Smallest k reaching 80% (Days 0–9, conditional power at "
                               "b_Days = 5): ")
