"""README.md runs as written: its Python blocks, its ``replic`` commands and its study files,
from the root of a clone after the setup command (``tests/docblocks.py``).

A block preceded by ``<!-- readme-test: skip REASON -->`` is left out (the reason is reported);
``<!-- readme-test: stan -->`` marks a block that compiles and samples Stan programs, run only
with ``REPLIC_TEST_STAN=1`` (minutes on a small machine).
"""

from __future__ import annotations

import os
import re
import tomllib

import pytest

from replic.studyfile import load_study
from tests.docblocks import ROOT, Block, markdown_blocks, run, run_python, sandbox

README = ROOT / "README.md"
BLOCKS = markdown_blocks(README.read_text(encoding="utf-8"))
STAN = os.environ.get("REPLIC_TEST_STAN") == "1"
#: The setup and test commands themselves: the README test runs after the first and inside
#: the second.
_SETUP = re.compile(r"^(python3(\.\d+)? -m venv \.venv|\.venv/bin/pip install |"
                    r"\.venv/bin/python -m pytest|python -m pytest)")


def _skipped(b: Block) -> bool:
    return b.mark == "skip" or (b.mark == "stan" and not STAN)


def commands() -> list[tuple[int, str]]:
    """(line, command) of every shell command: bash blocks' lines and console blocks' ``$``
    lines, continuation lines joined, ``&&`` chains split, the setup steps left out."""
    out = []
    for b in BLOCKS:
        if b.lang not in ("bash", "console", "sh", "shell") or _skipped(b):
            continue
        lines = b.code.splitlines()
        if b.lang == "console":
            lines = [ln[2:] for ln in lines if ln.startswith("$ ")]
        joined, buf = [], ""
        for ln in lines:
            ln = re.sub(r"\s+#.*$", "", ln).rstrip()
            if not ln or ln.startswith("#"):
                continue
            buf = f"{buf} {ln[:-1].strip()}" if ln.endswith("\\") else f"{buf} {ln}".strip()
            if not ln.endswith("\\"):
                joined.append(buf.strip())
                buf = ""
        for cmd in joined:
            for part in cmd.split("&&"):
                part = part.strip()
                if part and not _SETUP.match(part):
                    out.append((b.line, part))
    # a command shown twice (``.venv/bin/replic X`` and, activated, ``replic X``) runs once
    seen: set[str] = set()
    return [(ln, c) for ln, c in out
            if not (c.removeprefix(".venv/bin/") in seen or seen.add(c.removeprefix(".venv/bin/")))]


def test_readme_documents_setup_and_activation():
    text = README.read_text(encoding="utf-8")
    assert 'python3.11 -m venv .venv && .venv/bin/pip install -e ".[all]"' in text
    assert "source .venv/bin/activate" in text


def test_readme_python_blocks_run(tmp_path):
    """Every Python block, in order, as one session (later blocks use earlier names)."""
    blocks = [b for b in BLOCKS if b.lang == "python" and not _skipped(b)]
    assert blocks, "README has no Python block"
    code = "\n".join(f"# README.md line {b.line}\n{b.code}" for b in blocks)
    proc = run_python(code, sandbox(tmp_path))
    assert proc.returncode == 0, f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"


@pytest.fixture(scope="module")
def shell_box(tmp_path_factory):
    """One clone for every command, in README order (``--resume`` follows a run, as it would
    for a reader)."""
    return sandbox(tmp_path_factory.mktemp("readme-shell"))


@pytest.mark.parametrize(("line", "command"), commands(),
                         ids=[f"L{ln}:{c[:40]}" for ln, c in commands()])
def test_readme_command_runs(line, command, shell_box):
    proc = run(command, shell_box, shell=True, timeout=900)
    assert proc.returncode == 0, (f"README.md line {line}: {command}\n{proc.stdout[-2000:]}\n"
                                  f"{proc.stderr[-2000:]}")


@pytest.mark.parametrize("block", [b for b in BLOCKS if b.lang == "toml" and not _skipped(b)],
                         ids=lambda b: f"L{b.line}")
def test_readme_study_files_load(block, tmp_path):
    """A study-file block is a valid study (written one folder below the clone's root, as
    ``studies/*.toml`` are, so its relative paths resolve as the README means them)."""
    tomllib.loads(block.code)
    box = sandbox(tmp_path)
    (box / "readme-studies").mkdir()
    path = box / "readme-studies" / "study.toml"
    path.write_text(block.code)
    spec = load_study(path)
    assert spec.designs and spec.term


def test_skips_are_few_and_say_why():
    skipped = [b for b in BLOCKS if b.mark in ("skip", "stan")]
    for b in skipped:
        assert b.mark == "stan" or b.reason, f"README.md line {b.line}: a skip needs a reason"
    assert len(skipped) <= 6
