"""PyStan chains run in the thread that loaded the compiled module.

That chains one at a time and side by side give the same draws, on both backends, is tested in
``test_backends.py``.
"""

from __future__ import annotations

import threading

import pytest

pytest.importorskip("stan", reason="PyStan is not installed")


def test_chain_runs_only_in_the_thread_that_loads_the_model(pystan_model):
    from replic.stan.pystan_chain import module_path, runs_here

    assert module_path(pystan_model.model_name) is not None
    assert module_path("models/notcompiled") is None
    seen = []
    t = threading.Thread(target=lambda: seen.append(runs_here(pystan_model.model_name)))
    t.start()
    t.join(timeout=60)
    assert seen == [False]

