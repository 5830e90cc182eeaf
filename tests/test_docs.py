"""The documentation site: it builds with warnings as errors, and its examples run."""

from __future__ import annotations

import sys

import pytest

from tests.docblocks import ROOT, rst_blocks, run, run_python, sandbox

DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.rst") if "_build" not in p.parts
               and any(b.lang == "python" for b in rst_blocks(p.read_text(encoding="utf-8"))))


def test_docs_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("numpydoc")
    proc = run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                str(DOCS), str(tmp_path / "html")], ROOT, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    html = tmp_path / "html"
    for page in ("index", "estimands", "python", "api", "gallery/index",
                 "gallery/subjects_vs_sessions", "gallery/two_groups",
                 "gallery/smallest_effect", "gallery/comparing_analyses"):
        assert (html / f"{page}.html").is_file(), page
    api = (html / "api.html").read_text(encoding="utf-8")
    for name in ("read_draws", "Posterior.to_frame", "run_study", "StudyResult.plot",
                 "read_results", "k_needed", "Design", "fit_lmm"):
        assert f'id="replic.{name}"' in api, name


@pytest.mark.parametrize("page", PAGES, ids=[str(p.relative_to(DOCS)) for p in PAGES])
def test_page_examples_run(page, tmp_path):
    """A page's Python blocks, in order, as one script, from the root of a clone."""
    blocks = [b for b in rst_blocks(page.read_text(encoding="utf-8"))
              if b.lang == "python" and b.mark != "skip"]
    code = "\n".join(b.code for b in blocks)
    proc = run_python(code, sandbox(tmp_path))
    assert proc.returncode == 0, f"{page.name}:\n{code}\n{proc.stdout}\n{proc.stderr}"
