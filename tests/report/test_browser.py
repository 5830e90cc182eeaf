"""The report in a real browser: headless Chromium, no network, a screenshot of the page.

Checks that the page renders (the screenshot is not blank and shows the figures' colours),
that every embedded figure decodes (a probe injected into a copy of the report logs each
image's natural size on ``load``), and that the browser logs no console error and requests
nothing from the network.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.browser



def _find_chromium() -> str | None:
    """``$REPLIC_CHROMIUM`` when set (only it), else Debian's chromium or one on PATH."""
    if "REPLIC_CHROMIUM" in os.environ:
        candidates = [os.environ["REPLIC_CHROMIUM"]]
    else:
        candidates = ["/usr/bin/chromium", shutil.which("chromium"),
                      shutil.which("chromium-browser")]
    return next((p for p in candidates if p and Path(p).is_file()), None)


CHROMIUM = _find_chromium()

PROBE = """<script>
window.addEventListener("load", () => {
  const imgs = Array.from(document.images);
  const ok = imgs.filter(i => i.complete && i.naturalWidth > 0 && i.naturalHeight > 0);
  console.log("REPLIC-PROBE images=" + imgs.length + " loaded=" + ok.length +
              " height=" + document.documentElement.scrollHeight);
});
</script>
"""
CONSOLE = re.compile(r'CONSOLE[^\]]*\] "(.*)", source: (\S+)')


def run_chromium(html: str, work: Path) -> tuple[subprocess.CompletedProcess, Path, Path]:
    """Open ``html`` (with the probe) in headless Chromium without network; screenshot it."""
    if CHROMIUM is None:
        pytest.skip("headless Chromium not found: install Debian's 'chromium' package (as "
                    ".ci/run does) or set REPLIC_CHROMIUM to the browser's path")
    page = work / "report.html"
    page.write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    shot = work / "screenshot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--no-first-run", "--disable-component-update",
           "--disable-sync", "--disable-default-apps", "--disable-extensions",
           "--hide-scrollbars", f"--user-data-dir={work / 'profile'}",
           # no network: every host name fails to resolve, and no proxy is consulted
           "--host-resolver-rules=MAP * ~NOTFOUND", "--no-proxy-server",
           "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000",
           f"--screenshot={shot}", "--window-size=1280,4000", page.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120,
                          env=os.environ | {"HOME": str(work)}, check=False)
    return proc, shot, page


def probe(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """The probe's report: images, loaded, height."""
    found = [m.group(1) for m in CONSOLE.finditer(proc.stderr)
             if m.group(1).startswith("REPLIC-PROBE")]
    assert len(found) == 1, proc.stderr[-2000:]
    return {k: int(v) for k, v in (kv.split("=") for kv in found[0].split()[1:])}


@pytest.fixture(scope="module")
def browser_run(request, tmp_path_factory):
    if CHROMIUM is None:  # before building the study, so that the skip costs nothing
        run_chromium("", tmp_path_factory.getbasetemp())
    study_dir = request.getfixturevalue("study_dir")
    html = (study_dir / "report.html").read_text(encoding="utf-8")
    return run_chromium(html, tmp_path_factory.mktemp("browser"))


def test_screenshot_not_blank(browser_run):
    from PIL import Image

    proc, shot, _ = browser_run
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert shot.is_file()
    img = np.asarray(Image.open(shot).convert("RGB"), dtype=float)
    assert img.shape == (4000, 1280, 3)
    assert img.std() > 20
    ink = (img < 200).any(axis=2).mean()
    assert ink > 0.02
    # the figures' colours: saturated pixels (violins, bands, curves) cover a real area
    sat = img.max(axis=2) - img.min(axis=2)
    assert (sat > 60).mean() > 0.01


def test_every_figure_decoded(browser_run, doc_images):
    got = probe(browser_run[0])
    assert got["images"] == doc_images == 5
    assert got["loaded"] == doc_images
    assert got["height"] > 4000


def test_probe_sees_a_broken_figure(tmp_path):
    """Negative control: a figure whose data does not decode is reported as not loaded."""
    html = ('<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>t</title>'
            '</head><body><img src="data:image/svg+xml;base64,PHN2Zz4=" alt="broken">'
            '<img src="data:image/svg+xml;base64,' + "PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv"
            'MjAwMC9zdmciIHdpZHRoPSI0IiBoZWlnaHQ9IjQiLz4=" alt="ok"></body></html>')
    got = probe(run_chromium(html, tmp_path)[0])
    assert got["images"] == 2 and got["loaded"] == 1


def test_no_console_errors_or_requests(browser_run):
    proc = browser_run[0]
    others = [m.group(0) for m in CONSOLE.finditer(proc.stderr)
              if not m.group(1).startswith("REPLIC-PROBE")]
    assert others == []
    assert not re.search(r"net::ERR_|Failed to load resource|Refused to", proc.stderr)


@pytest.fixture(scope="module")
def doc_images(study_dir) -> int:
    return (study_dir / "report.html").read_text(encoding="utf-8").count("<img ")
