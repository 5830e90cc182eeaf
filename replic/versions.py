"""Versions of replic and of the packages it computes with, recorded beside every result."""

from __future__ import annotations

from importlib import metadata

__all__ = ["package_versions"]

_PACKAGES = ("replic", "numpy", "scipy", "pandas", "joblib", "statsmodels", "matplotlib",
             "seaborn", "jinja2", "pystan", "cmdstanpy", "dask", "distributed")


def package_versions() -> dict[str, str]:
    """Versions of replic and the packages it computes with (absent ones omitted)."""
    out = {}
    for p in _PACKAGES:
        try:
            out[p] = metadata.version(p)
        except metadata.PackageNotFoundError:
            continue
    return out
