"""Code blocks of README.md and docs/*.rst, and a sandbox to run them as a user would.

A user runs them from the root of a fresh clone after the setup command; the sandbox is a
temporary directory whose entries link to the clone's (so files the examples write, such as
``reports/``, land in the sandbox) and where ``replic`` resolves to this checkout's
``python -m replic``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: ``<!-- readme-test: skip REASON -->`` (Markdown) or ``.. docs-test: skip REASON`` (reST) just
#: before a block leaves it out; ``stan`` instead of ``skip`` marks a block that compiles Stan
#: (run only when REPLIC_TEST_STAN=1).
_MARK = re.compile(r"(?:<!--\s*readme-test:|\.\.\s*docs-test:)\s*(\w+)\s*(.*?)\s*(?:-->)?\s*$")


@dataclass(frozen=True)
class Block:
    """One fenced (Markdown) or ``code-block`` (reST) block."""

    line: int
    lang: str
    code: str
    mark: str = ""
    reason: str = ""


def markdown_blocks(text: str) -> list[Block]:
    """Fenced blocks of a Markdown file (list items' indented ones too), each with the marker
    comment just above it."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^( *)```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, body, indent = i, [], len(m[1])
        i += 1
        while i < len(lines) and not lines[i].lstrip().startswith("```"):
            body.append(lines[i][indent:] if lines[i][:indent].strip() == "" else lines[i])
            i += 1
        mark = _mark_before(lines, start)
        out.append(Block(start + 1, m[2], "\n".join(body) + "\n", *mark))
        i += 1
    return out


def rst_blocks(text: str) -> list[Block]:
    """``.. code-block::`` blocks of a reST file (indented bodies)."""
    out, lines, i = [], text.splitlines(), 0
    while i < len(lines):
        m = re.match(r"^\.\. code-block::\s*(\w+)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, body = i, []
        i += 1
        while i < len(lines) and (not lines[i].strip() or lines[i].startswith("   ")):
            body.append(lines[i][3:])
            i += 1
        mark = _mark_before(lines, start)
        out.append(Block(start + 1, m[1], "\n".join(body).strip("\n") + "\n", *mark))
    return out


def _mark_before(lines: list[str], start: int) -> tuple[str, str]:
    j = start - 1
    while j >= 0 and not lines[j].strip():
        j -= 1
    m = _MARK.match(lines[j].strip()) if j >= 0 else None
    return (m[1], m[2]) if m else ("", "")


def sandbox(tmp: Path) -> Path:
    """A directory that looks like the clone's root after the setup command: its entries
    linked (so what the examples write, such as ``reports/``, lands here), and a ``.venv``
    whose ``bin/python``, ``bin/replic`` and ``bin/activate`` run this checkout's replic with
    this interpreter."""
    for entry in ROOT.iterdir():
        if entry.name == "docs":  # a real folder, so that a docs build lands here
            (tmp / "docs").mkdir()
            for sub in entry.iterdir():
                if sub.name != "_build":
                    (tmp / "docs" / sub.name).symlink_to(sub)
        elif entry.name != "reports" and not entry.name.startswith("."):
            (tmp / entry.name).symlink_to(entry)
    bindir = tmp / ".venv" / "bin"
    bindir.mkdir(parents=True)
    export = f'PYTHONPATH="{ROOT}"; export PYTHONPATH'
    for name, body in (("python", f'exec "{sys.executable}" "$@"'),
                       ("replic", f'exec "{sys.executable}" -m replic "$@"')):
        (bindir / name).write_text(f"#!/bin/sh\n{export}\n{body}\n")
        (bindir / name).chmod(0o755)
    (bindir / "activate").write_text(f'PATH="{bindir}:$PATH"; export PATH\n{export}\n')
    return tmp


def environment(tmp: Path, *, activated: bool = True) -> dict[str, str]:
    """The environment of a shell in the sandbox (with its venv activated, by default)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    if activated:
        env["PATH"] = f"{tmp / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["PYTHONPATH"] = str(ROOT)
    env["MPLBACKEND"] = "Agg"
    return env


def run(args: list[str] | str, cwd: Path, *, timeout: float = 600,
        shell: bool = False) -> subprocess.CompletedProcess:
    """Run a command in the sandbox, returning its completed process (output captured)."""
    return subprocess.run(args, cwd=cwd, env=environment(cwd), shell=shell, text=True,
                          capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
                          executable="/bin/bash" if shell else None)


def run_python(code: str, cwd: Path, *, timeout: float = 600) -> subprocess.CompletedProcess:
    """Run ``code`` as a script in the sandbox with this interpreter."""
    path = cwd / ".block.py"
    path.write_text(code)
    return run([sys.executable, str(path)], cwd, timeout=timeout)
