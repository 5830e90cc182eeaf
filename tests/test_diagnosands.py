"""Diagnosands against closed forms: a balanced design under fixed parameters.

Each subject's OLS slope is ``beta + v_j + e_j`` with ``v_j ~ N(0, tau^2)``, ``e_j ~ N(0,
sigma^2 / Sxx)``; on a balanced design REML's estimate is their mean with the exact t(k - 1)
interval (when the variance estimate is interior), so against beta: bias 0, RMSE
``sqrt((tau^2 + sigma^2 / Sxx) / k)``, coverage 0.95, mean width ``2 t_{k-1} c4(k) sd / sqrt(k)``;
against the replication mean ``beta + mean v``: bias 0, RMSE ``sqrt(sigma^2 / (Sxx k))``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import special, stats

import replic
from replic.diagnosands import DIAGNOSAND_COLUMNS, diagnosands, diagnosands_from_file
from tests.plan.closed_form import slope_sd

K, REPS = 10, 4000


def _noise_sd(post) -> float:
    x = np.arange(10.0)
    return float(post.point("mean")["sigma"]) / np.sqrt(((x - x.mean()) ** 2).sum())


@pytest.fixture(scope="module", params=["reml", "summary"])
def diag(request, sleep_post):
    res = replic.run_study(sleep_post, replic.Design(K, x=range(10), params="mean"),
                           term="Days", analysis=request.param, reps=REPS, seed=21, n_jobs=1)
    return res.diagnosands.set_index("target")


def test_beta_coverage_bias_rmse_width(diag, sleep_post):
    d = diag.loc["beta"]
    assert d["n"] == REPS
    assert abs(d["coverage"] - 0.95) < 3 * d["coverage_mcse"]
    assert abs(d["bias"]) < 3 * d["bias_mcse"]
    sd = slope_sd(sleep_post, range(10))
    assert d["rmse"] == pytest.approx(sd / np.sqrt(K), abs=3 * d["rmse_mcse"])
    c4 = np.sqrt(2 / (K - 1)) * np.exp(special.gammaln(K / 2) - special.gammaln((K - 1) / 2))
    width = 2 * stats.t.isf(0.025, K - 1) * c4 * sd / np.sqrt(K)
    assert d["width"] == pytest.approx(width, abs=3 * d["width_mcse"])


def test_replication_mean_target(diag, sleep_post):
    d = diag.loc["replication_mean"]
    assert abs(d["bias"]) < 3 * d["bias_mcse"]
    assert d["rmse"] == pytest.approx(_noise_sd(sleep_post) / np.sqrt(K),
                                      abs=3 * d["rmse_mcse"])
    assert d["coverage"] > diag.loc["beta", "coverage"]  # an interval for beta is wider


def test_mcse_formulas():
    rng = np.random.default_rng(0)
    n = 500
    est = rng.normal(size=n)
    t = pd.DataFrame({"analysis": "a", "design": "k=3", "k": 3, "missing": 0.0,
                      "params": "mean", "error": [""] * (n - 1) + ["boom"], "estimate": est,
                      "lower": est - 1.96, "upper": est + 1.96, "true_effect": 0.0,
                      "realised_effect": 0.5})
    d = diagnosands(t).set_index("target")
    assert list(diagnosands(t).columns) == DIAGNOSAND_COLUMNS
    e = est[:-1]
    assert d.loc["beta", "n"] == n - 1  # the failed fit is left out
    assert d.loc["beta", "bias"] == pytest.approx(e.mean())
    assert d.loc["beta", "bias_mcse"] == pytest.approx(e.std(ddof=1) / np.sqrt(n - 1))
    rmse = np.sqrt((e**2).mean())
    assert d.loc["beta", "rmse"] == pytest.approx(rmse)
    assert d.loc["beta", "rmse_mcse"] == pytest.approx(
        (e**2).std(ddof=1) / np.sqrt(n - 1) / (2 * rmse))
    cov = (np.abs(e) <= 1.96).mean()
    assert d.loc["beta", "coverage"] == pytest.approx(cov)
    assert d.loc["replication_mean", "bias"] == pytest.approx(e.mean() - 0.5)
    assert d.loc["beta", "width"] == pytest.approx(3.92) and d.loc["beta", "width_mcse"] < 1e-9


def test_stored_study_reads_the_file_in_batches(sleep_post, tmp_path):
    designs = [replic.Design(k, x=range(10)) for k in (3, 6)]
    mem = replic.run_study(sleep_post, designs, term="Days", reps=3000, seed=2, n_jobs=1)
    disk = replic.run_study(sleep_post, designs, term="Days", reps=3000, seed=2, n_jobs=1,
                            out=tmp_path / "s")
    pd.testing.assert_frame_equal(mem.diagnosands, disk.diagnosands, rtol=1e-9)
    small = diagnosands_from_file(disk.replicates_file, batch_rows=700)
    pd.testing.assert_frame_equal(small, mem.diagnosands, rtol=1e-9)
    disk.write(tmp_path / "s")
    back = pd.read_csv(tmp_path / "s" / "diagnosands.csv")
    assert list(back.columns) == DIAGNOSAND_COLUMNS and len(back) == 4


def test_exclude_unconverged_leaves_out_what_the_criteria_leave_out(tmp_path):
    """Fits that succeeded but did not converge (or were flagged) count unless excluded; with
    ``exclude_unconverged`` the diagnosands are those of the remaining fits, from memory and
    from a file alike."""
    rng = np.random.default_rng(3)
    n = 400
    truth = rng.normal(10, 1, n)
    est = truth + rng.normal(0, 1, n)
    t = pd.DataFrame({"design": "k=5", "k": 5, "missing": 0.0, "params": "posterior",
                      "family": "", "analysis": "reml", "error": "", "estimate": est,
                      "lower": est - 2, "upper": est + 2, "true_effect": truth,
                      "realised_effect": truth, "converged": rng.random(n) > 0.2,
                      "flagged": rng.random(n) < 0.1})
    t.loc[~t["converged"] | t["flagged"], "estimate"] += 50  # the bad fits are far off
    bad = (~t["converged"] | t["flagged"]).to_numpy()
    kept = diagnosands(t)
    dropped = diagnosands(t, exclude_unconverged=True)
    clean = diagnosands(t.loc[~bad].drop(columns=["converged", "flagged"]))
    assert (kept["n"] == n).all() and (dropped["n"] == n - bad.sum()).all()
    pd.testing.assert_frame_equal(dropped, clean)
    assert (kept["bias"] > 5).all() and (dropped["bias"].abs() < 0.5).all()
    t.to_parquet(tmp_path / "r.parquet", index=False)
    from_file = diagnosands_from_file(tmp_path / "r.parquet", exclude_unconverged=True,
                                      batch_rows=64)
    pd.testing.assert_frame_equal(from_file, dropped, check_exact=False, rtol=1e-12)
