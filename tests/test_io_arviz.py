"""read_draws on posteriors from the Python ecosystem: InferenceData, netCDF, cmdstanpy.

The bambi fixture (``data/bambi/sleepstudy_bambi.nc``) is a real bambi/PyMC fit of
``Reaction ~ 1 + Days + (1 + Days | Subject)`` made by ``tests/py/make_bambi_sleepstudy.py``
(versions in ``data/bambi/VERSIONS.txt``); the brms export of the same model is the reference.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import replic
from replic import ReplicInputError
from tests.conftest import DATA, DATASETS, DRAWS

az = pytest.importorskip("arviz")
xr = pytest.importorskip("xarray")
pytest.importorskip("h5netcdf")

BAMBI = DATA / "bambi" / "sleepstudy_bambi.nc"
CMDSTAN = DATA.parent / "stan" / "data" / "cmdstan"
CHAINS = sorted(str(p) for p in CMDSTAN.glob("lmm-*.csv"))


@pytest.fixture(scope="module")
def bambi_idata():
    return az.from_netcdf(BAMBI)


@pytest.fixture(scope="module")
def bambi_post():
    return replic.read_draws(BAMBI)


def _mcse(x: np.ndarray, chain: np.ndarray) -> float:
    """Monte Carlo standard error of the mean of ``x`` (draws by chain), from arviz's ESS."""
    by_chain = np.stack([x[chain == c] for c in np.unique(chain)])
    return float(x.std(ddof=1) / np.sqrt(az.ess(by_chain, method="bulk")))


def test_bambi_names(bambi_post, bambi_idata):
    p = bambi_post
    assert p.fixed == ("Intercept", "Days")
    assert p.varying == ("Intercept", "Days")
    assert p.group == "Subject"
    levels = pd.read_csv(DATASETS / "sleepstudy.csv", dtype={"Subject": str})["Subject"]
    assert p.levels == tuple(dict.fromkeys(levels))  # 18 subjects, bambi's coordinate order
    assert p.n_draws == 2000 and list(np.bincount(p.chain)[1:]) == [500] * 4
    assert p.response == "Reaction" and p.source == str(BAMBI)
    assert p.diagnostics["modeling_interface"].startswith("bambi")
    post = bambi_idata.posterior
    np.testing.assert_array_equal(p.b[:, 1], post["Days"].values.ravel())
    np.testing.assert_array_equal(p.sd[:, 0], post["1|Subject_sigma"].values.ravel())
    np.testing.assert_array_equal(p.sd[:, 1], post["Days|Subject_sigma"].values.ravel())
    np.testing.assert_array_equal(p.sigma, post["sigma"].values.ravel())
    j = p.levels.index("335")
    np.testing.assert_array_equal(p.r[:, j, 1],
                                  post["Days|Subject"].sel(Subject__factor_dim="335").values.ravel())
    # bambi's group-specific intercept and slope are independent: correlation 0
    np.testing.assert_array_equal(p.cor[:, 0, 1], 0.0)


@pytest.mark.parametrize(("col", "pick"), [
    ("b_Intercept", lambda p: p.b[:, 0]), ("b_Days", lambda p: p.b[:, 1]),
    ("sd_Subject__Intercept", lambda p: p.sd[:, 0]), ("sd_Subject__Days", lambda p: p.sd[:, 1]),
    ("sigma", lambda p: p.sigma)])
def test_bambi_agrees_with_brms(bambi_post, sleep_df, col, pick):
    """Posterior means of the same model agree within Monte Carlo error (4 combined MCSE);
    the priors differ (bambi's defaults vs brms's), which these data swamp."""
    ours = pick(bambi_post)
    ref = sleep_df[col].to_numpy()
    se = np.hypot(_mcse(ours, bambi_post.chain), _mcse(ref, sleep_df[".chain"].to_numpy()))
    assert abs(ours.mean() - ref.mean()) < 4 * se, (col, ours.mean(), ref.mean(), se)
    assert abs(ours.std() / ref.std() - 1) < 0.15  # posterior sds within 15%


def test_bambi_effects_agree_with_brms(bambi_post, sleep_post):
    """The Days effect for a new subject and for the fitted subjects, bambi vs brms."""
    a = replic.summarise_draws(replic.effect_draws(bambi_post, "Days", k=[5]))
    b = replic.summarise_draws(replic.effect_draws(sleep_post, "Days", k=[5]))
    for est in ("conditional", "fitted_mean", "new_gaussian", "replication_mean"):
        x, y = a[a["estimand"] == est].iloc[0], b[b["estimand"] == est].iloc[0]
        assert abs(x["mean"] - y["mean"]) < 0.15 * y["sd"] + 0.1, est
        assert abs(x["sd"] / y["sd"] - 1) < 0.15, est


def test_inference_data_object_and_datatree_equal_the_file(bambi_post, bambi_idata):
    for obj in (bambi_idata, bambi_idata.posterior):
        p = replic.read_draws(obj)
        np.testing.assert_array_equal(p.b, bambi_post.b)
        np.testing.assert_array_equal(p.r, bambi_post.r)
    assert replic.read_draws(bambi_idata).source == "InferenceData (bambi)"
    if hasattr(xr, "open_datatree"):
        with xr.open_datatree(BAMBI, engine="h5netcdf") as tree:
            p = replic.read_draws(tree)
        np.testing.assert_array_equal(p.sd, bambi_post.sd)


def test_bambi_correlation_when_present(bambi_idata):
    post = bambi_idata.posterior
    cor = xr.full_like(post["sigma"], 0.3)
    p = replic.read_draws(post.assign({"1|Subject_Days|Subject_cor": cor}))
    np.testing.assert_array_equal(p.cor[:, 0, 1], 0.3)


def test_brms_named_inference_data(sleep_df):
    """An InferenceData whose variables carry brms's names (r_Subject over level x term)."""
    ref = replic.read_draws(DRAWS)
    chains, draws = 4, 1000
    scalars = ["b_Intercept", "b_Days", "sd_Subject__Intercept", "sd_Subject__Days",
               "cor_Subject__Intercept__Days", "sigma"]
    data = {c: sleep_df[c].to_numpy().reshape(chains, draws) for c in scalars}
    data["r_Subject"] = ref.r.reshape(chains, draws, *ref.r.shape[1:])
    idata = az.from_dict(posterior=data, coords={"level": list(ref.levels),
                                                 "term": list(ref.varying)},
                         dims={"r_Subject": ["level", "term"]})
    p = replic.read_draws(idata)
    assert (p.fixed, p.varying, p.group, p.levels) == (ref.fixed, ref.varying, ref.group,
                                                       ref.levels)
    np.testing.assert_array_equal(p.b, ref.b)
    np.testing.assert_array_equal(p.cor, ref.cor)
    np.testing.assert_array_equal(p.r, ref.r)


def test_cmdstanpy_fit_and_from_cmdstanpy():
    cmdstanpy = pytest.importorskip("cmdstanpy")
    fit = cmdstanpy.from_csv(CHAINS)
    p = replic.read_draws(fit)  # names from replic-model.json beside the CSV files
    assert p.fixed == ("Intercept", "Days") and p.group == "Subject"
    np.testing.assert_array_equal(p.r, fit.stan_variable("r_1"))
    idata = az.from_cmdstanpy(fit)
    generic = replic.read_draws(idata)
    assert generic.fixed == ("Intercept", "x1") and generic.varying == ("z1", "z2")
    named = replic.read_draws(idata, names=json.loads((CMDSTAN / "replic-model.json").read_text()))
    assert (named.fixed, named.varying, named.levels) == (p.fixed, p.varying, p.levels)
    for a in ("b", "sd", "cor", "sigma", "r"):
        np.testing.assert_allclose(getattr(named, a), getattr(p, a), rtol=1e-12, atol=1e-12)
    assert named.diagnostics["divergences"] == int(fit.divergences.sum())


def test_replic_prefix():
    assert replic.read_draws("replic:sleepstudy_brms_draws.csv.gz").n_draws == 4000
    with pytest.raises(ReplicInputError, match="no such file"):
        replic.read_draws("replic:nothing.csv")


def test_bad_inference_data(bambi_idata, tmp_path):
    post = bambi_idata.posterior
    with pytest.raises(ReplicInputError, match="sigma"):
        replic.read_draws(post.drop_vars("sigma"))
    with pytest.raises(ReplicInputError, match="'chain' dimension"):
        replic.read_draws(post.isel(chain=0))
    with pytest.raises(ReplicInputError, match="one level dimension"):
        replic.read_draws(post.assign({"Days|Subject": post["Days|Subject"].expand_dims(
            extra=2, axis=-1)}))
    f = tmp_path / "stats.nc"
    bambi_idata.sample_stats.to_netcdf(f, engine="h5netcdf", group="sample_stats")
    with pytest.raises(ReplicInputError, match="no 'posterior' group"):
        replic.read_draws(f)
    with pytest.raises(ReplicInputError, match="expected a path"):
        replic.read_draws(42)
