"""Sphinx configuration of replic's documentation (``sphinx-build -W docs docs/_build``)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # replic from this checkout

import replic

project = "replic"
author = "the replic developers"
copyright = "2026, the replic developers"
release = version = replic.__version__

extensions = ["sphinx.ext.autodoc", "numpydoc"]
autodoc_typehints = "none"  # numpydoc's Parameters sections say the types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_xref_param_type = False
exclude_patterns = ["_build"]
html_theme = "alabaster"
html_theme_options = {"description": "Replication and power analysis for multilevel models",
                      "fixed_sidebar": True}
html_static_path: list[str] = []
nitpicky = False
