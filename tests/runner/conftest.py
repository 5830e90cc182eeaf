"""Runner fixtures: a small study, and the test-only ``flaky`` analysis registered."""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import pytest

from replic import Design
from replic.analyses import ANALYSES

HERE = Path(__file__).parent
if str(HERE) not in sys.path:  # workers (loky, dask) import the flaky analysis from here too
    sys.path.insert(0, str(HERE))

DRAWS = Path(str(resources.files("replic") / "datasets" / "sleepstudy_brms_draws.csv.gz"))
X10 = tuple(range(10))
#: Three designs, one of them (missingness) simulated with whole data sets.
DESIGNS = (Design(3, x=X10), Design(8, x=X10), Design(5, x=X10, missing=0.25))


@pytest.fixture
def flaky(monkeypatch):
    """Register the ``flaky`` analysis (tests/runner/runner_flaky_analysis.py)."""
    import runner_flaky_analysis

    monkeypatch.setitem(ANALYSES, "flaky", "runner_flaky_analysis")
    monkeypatch.setattr(runner_flaky_analysis, "INTERRUPT_AT", None)
    return runner_flaky_analysis
