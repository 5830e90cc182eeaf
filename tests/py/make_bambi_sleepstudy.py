"""Fit sleepstudy with bambi and save the posterior as compressed netCDF (a test fixture).

    Reaction ~ 1 + Days + (1 + Days | Subject)      # bambi's default priors, 4 chains x 500

Run from the repository root in a separate environment that has bambi (not replic's)::

    python3.11 -m venv /tmp/venv-bambi
    /tmp/venv-bambi/bin/pip install bambi h5netcdf "matplotlib<3.11"  # arviz_plots 0.8
    /tmp/venv-bambi/bin/python tests/py/make_bambi_sleepstudy.py

Writes ``tests/data/bambi/sleepstudy_bambi.nc`` (posterior, sample_stats and observed_data
groups; the non-centred ``*_offset`` variables are dropped to keep the file small, the
group-specific effects ``1|Subject`` and ``Days|Subject`` are kept) and
``tests/data/bambi/VERSIONS.txt``.  bambi models the group-specific intercept and slope as
independent (no correlation parameter), unlike brms's LKJ-correlated pair.
"""

from __future__ import annotations

import platform
import sys
from importlib import metadata
from pathlib import Path

import bambi as bmb
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "tests" / "data" / "bambi"
PACKAGES = ("bambi", "pymc", "pytensor", "arviz", "xarray", "h5netcdf", "numpy", "pandas")


def main() -> None:
    data = pd.read_csv(ROOT / "replic" / "datasets" / "sleepstudy.csv", dtype={"Subject": str})
    model = bmb.Model("Reaction ~ 1 + Days + (1 + Days | Subject)", data)
    idata = model.fit(draws=500, tune=1000, chains=4, cores=2, random_seed=2026,
                      progressbar=False)
    print(model)
    post = idata.posterior
    idata.posterior = post.drop_vars([v for v in post.data_vars if v.endswith("_offset")])
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "sleepstudy_bambi.nc"
    groups = [g for g in ("posterior", "sample_stats", "observed_data") if g in idata.groups()]
    idata.to_netcdf(str(path), compress=True, groups=groups)  # zlib
    print(idata.posterior)
    versions = [f"python {platform.python_version()}", f"platform {sys.platform}"]
    versions += [f"{p} {metadata.version(p)}" for p in PACKAGES]
    (OUT / "VERSIONS.txt").write_text(
        "tests/data/bambi/sleepstudy_bambi.nc made by tests/py/make_bambi_sleepstudy.py\n"
        "model: Reaction ~ 1 + Days + (1 + Days | Subject), bambi default priors, "
        "4 chains x 500 draws after 1000 tuning steps, random_seed 2026\n"
        + "\n".join(versions) + "\n")
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
