"""Reading brms draws: both shipped posteriors, and every kind of bad input."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import replic
from replic import ReplicInputError
from tests.conftest import DRAWS, RI_DRAWS


def test_sleepstudy_draws(sleep_df):
    post = replic.read_draws(DRAWS)
    assert post.fixed == ("Intercept", "Days")
    assert post.varying == ("Intercept", "Days")
    assert post.group == "Subject"
    assert post.n_draws == 4000 and len(post.levels) == 18
    assert np.array_equal(post.b[:, 1], sleep_df["b_Days"].to_numpy())
    assert np.array_equal(post.r[:, 3, 1], sleep_df["r_Subject[330,Days]"].to_numpy())
    assert np.array_equal(post.cor[:, 0, 1], sleep_df["cor_Subject__Intercept__Days"].to_numpy())
    assert np.array_equal(np.unique(post.chain), [1, 2, 3, 4])
    S = post.Sigma
    sd = sleep_df[["sd_Subject__Intercept", "sd_Subject__Days"]].to_numpy()
    assert np.allclose(S[:, 1, 1], sd[:, 1] ** 2)
    assert np.allclose(S[:, 0, 1], sd[:, 0] * sd[:, 1] * sleep_df["cor_Subject__Intercept__Days"])
    # brms summary (shared/data/README.md)
    assert post.b[:, 1].mean() == pytest.approx(10.34, abs=0.01)
    assert post.sd[:, 1].mean() == pytest.approx(6.62, abs=0.01)


def test_random_intercept_only():
    post = replic.read_draws(RI_DRAWS)
    assert post.varying == ("Intercept",)
    assert post.cor.shape == (4000, 1, 1) and np.all(post.cor == 1)
    assert post.r.shape == (4000, 18, 1)


def test_dataframe_equals_file(sleep_df, sleep_post):
    post = replic.read_draws(DRAWS)
    assert np.array_equal(post.b, sleep_post.b) and np.array_equal(post.r, sleep_post.r)


def _write(tmp_path, df, name="draws.csv"):
    p = tmp_path / name
    df.to_csv(p, index=False)
    return p


def test_missing_file(tmp_path):
    with pytest.raises(ReplicInputError, match=r"no such draws file"):
        replic.read_draws(tmp_path / "absent.csv")


def test_no_b_columns(tmp_path, sleep_df):
    p = _write(tmp_path, sleep_df.drop(columns=["b_Intercept", "b_Days"]).head(10))
    with pytest.raises(ReplicInputError, match=r"draws\.csv: no fixed-effect columns 'b_<term>'"):
        replic.read_draws(p)


def test_truncated_row(tmp_path, sleep_df):
    p = _write(tmp_path, sleep_df.head(20))
    text = p.read_text()
    p.write_text(text[: len(text) - 200])  # cut the last row short
    with pytest.raises(ReplicInputError, match=r"draw row 20 .*truncated"):
        replic.read_draws(p)


def test_nan_value(tmp_path, sleep_df):
    df = sleep_df.head(30).copy()
    df.loc[7, "sd_Subject__Days"] = np.nan
    with pytest.raises(ReplicInputError, match=r"column 'sd_Subject__Days' .* draw row 8"):
        replic.read_draws(_write(tmp_path, df))


def test_non_pd_covariance(tmp_path, sleep_df):
    df = sleep_df.head(30).copy()
    df.loc[4, "cor_Subject__Intercept__Days"] = 1.5
    with pytest.raises(ReplicInputError, match=r"draw row 5 is not positive definite"):
        replic.read_draws(_write(tmp_path, df))


def test_non_positive_sd(sleep_df):
    df = sleep_df.head(30).copy()
    df.loc[2, "sigma"] = -1.0
    with pytest.raises(ReplicInputError, match=r"'sigma' is -1 in draw row 3"):
        replic.read_draws(df)


def test_two_grouping_factors(sleep_df):
    df = sleep_df.head(10).assign(sd_Lab__Intercept=3.0)
    with pytest.raises(ReplicInputError,
                       match=r"2 grouping factors \(Lab, Subject\).*one grouping"):
        replic.read_draws(df)


def test_non_gaussian_family(sleep_df):
    df = sleep_df.head(10).drop(columns="sigma").assign(shape=2.0)
    with pytest.raises(ReplicInputError,
                       match=r"column\(s\) shape belong to a family or distributional"):
        replic.read_draws(df)
    with pytest.raises(ReplicInputError, match=r"no 'sigma' column"):
        replic.read_draws(sleep_df.head(10).drop(columns="sigma"))


def test_gzip_and_binary(tmp_path, sleep_df):
    p = tmp_path / "d.csv.gz"
    with gzip.open(p, "wt") as fh:
        sleep_df.head(5).to_csv(fh, index=False)
    assert replic.read_draws(p).n_draws == 5
    b = tmp_path / "bin.csv"
    b.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ReplicInputError, match=r"bin\.csv"):
        replic.read_draws(b)


def test_unknown_term(sleep_post):
    with pytest.raises(ReplicInputError,
                       match=r"term 'Dayz' is not a fixed effect.*Intercept, Days"):
        replic.effect_draws(sleep_post, "Dayz")


def test_extra_columns_ignored(sleep_df):
    post = replic.read_draws(sleep_df.head(10).assign(prior_sigma=1.0))
    assert post.diagnostics["ignored_columns"] == ["prior_sigma"]
    assert isinstance(pd.DataFrame(post.b), pd.DataFrame)


def _bomb(path, *, members: int, member_mb: int = 64):
    """A gzip file of ``members`` copies of one member holding ``member_mb`` MB of one CSV row
    repeated (gzip readers concatenate members): ~64 KB per member, 64 MB each expanded."""
    row = b"1.5,2.5,3.5\n"
    one = gzip.compress(b"b_Intercept,b_Days,sigma\n" + row * (member_mb * 2**20 // len(row)),
                        compresslevel=9)
    with open(path, "wb") as fh:
        for _ in range(members):
            fh.write(one)
    return path


def test_gzip_bomb_is_refused_before_it_is_read(tmp_path, monkeypatch):
    """4 MB on disk, 16 GB expanded: refused after decompressing at most the cap (here 8 MB,
    set through the environment), never parsed; the error names the file and the setting."""
    import resource
    import time

    bomb = _bomb(tmp_path / "bomb.csv.gz", members=256)
    assert bomb.stat().st_size < 32 * 2**20
    monkeypatch.setenv("REPLIC_MAX_GUNZIPPED_MB", "8")
    peak, started = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, time.perf_counter()
    with pytest.raises(ReplicInputError, match=r"bomb\.csv\.gz: the gzip-compressed draws "
                       r"file expands to more than 8 MB .*REPLIC_MAX_GUNZIPPED_MB"):
        replic.read_draws(bomb)
    assert time.perf_counter() - started < 30  # whole: minutes of decompression and parsing
    grown_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak
    assert grown_kb < 200 * 2**10  # parsing 16 GB of CSV would take gigabytes


def test_gzip_under_the_cap_is_read(tmp_path, monkeypatch, sleep_df):
    monkeypatch.setenv("REPLIC_MAX_GUNZIPPED_MB", "200")
    small = tmp_path / "d.csv.gz"
    small.write_bytes(gzip.compress(sleep_df.to_csv(index=False).encode()))
    assert replic.read_draws(small).n_draws == 4000
    monkeypatch.setenv("REPLIC_MAX_GUNZIPPED_MB", "0.5")  # the draws expand to ~6 MB
    with pytest.raises(ReplicInputError, match=r"expands to more than 0\.5 MB"):
        replic.read_draws(small)
    monkeypatch.setenv("REPLIC_MAX_GUNZIPPED_MB", "lots")
    with pytest.raises(ReplicInputError, match="REPLIC_MAX_GUNZIPPED_MB='lots': expected a "
                       "positive number of megabytes"):
        replic.read_draws(small)
