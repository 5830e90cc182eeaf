"""Bit-identical results in this process, on loky workers and on a real dask LocalCluster."""

from __future__ import annotations

import pandas as pd
import pytest

import replic
from replic import ReplicInputError
from replic.runner import resolve_backend

from .conftest import DESIGNS

distributed = pytest.importorskip("distributed")

REPS = 3000  # 3 chunks of 1024 per design: tasks finish out of order on 2 workers


def _study(post, **kw):
    return replic.run_study(post, DESIGNS, term="Days", reps=REPS, seed=11, chunk_size=1024,
                            **kw)


@pytest.fixture(scope="module")
def serial(sleep_post):
    return _study(sleep_post, n_jobs=1)


@pytest.fixture(scope="module")
def cluster():
    """A real dask LocalCluster: 2 single-threaded worker processes on loopback."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=":0") as c, \
            distributed.Client(c) as client:
        yield client


def _same(a, b):
    pd.testing.assert_frame_equal(a.summary, b.summary, check_exact=True)
    pd.testing.assert_frame_equal(a.type_sm, b.type_sm, check_exact=True)
    pd.testing.assert_frame_equal(a.replicates, b.replicates, check_exact=True)


def test_serial_runs_here(serial):
    assert serial.info["backend"] == "serial"
    assert serial.info["tasks"] == 9
    assert len(serial.replicates) == 3 * REPS


def test_loky_two_workers_bit_identical(sleep_post, serial):
    res = _study(sleep_post, n_jobs=2)
    assert res.info["backend"] == "loky x 2"
    _same(serial, res)


def test_dask_client_bit_identical(sleep_post, serial, cluster):
    res = _study(sleep_post, scheduler=cluster)
    assert res.info["backend"] == "dask Client"
    _same(serial, res)


def test_dask_address_bit_identical(sleep_post, serial, cluster, tmp_path):
    res = _study(sleep_post, scheduler=cluster.scheduler.address, out=tmp_path / "dask")
    assert res.info["backend"].startswith("dask tcp://127.0.0.1:")
    serial_stored = _study(sleep_post, n_jobs=1, out=tmp_path / "serial")
    _same(serial_stored, res)


def test_stored_equals_in_memory(sleep_post, serial, tmp_path):
    res = _study(sleep_post, n_jobs=2, out=tmp_path, keep_chunks=True)
    assert res.replicates_file == tmp_path / "replicates.parquet"
    assert serial.replicates_file is None
    pd.testing.assert_frame_equal(serial.summary, res.summary, check_exact=True)
    pd.testing.assert_frame_equal(serial.type_sm, res.type_sm, rtol=1e-12)
    pd.testing.assert_frame_equal(serial.replicates, res.replicates, check_exact=True,
                                  check_dtype=False)
    assert sorted(p.name for p in (tmp_path / "chunks").iterdir()) == sorted(
        f"{i:04d}-{d.key:08x}-{lo:010d}-{min(lo + 1024, REPS):010d}.parquet"
        for i, d in enumerate(DESIGNS) for lo in range(0, REPS, 1024))


def test_local_cluster_started_and_stopped(sleep_post, serial, tmp_path):
    """scheduler="local": a LocalCluster of 2 processes whose workers store their own chunks."""
    res = _study(sleep_post, scheduler="local", n_jobs=2, out=tmp_path, keep_chunks=True)
    assert res.info["backend"] == "dask LocalCluster x 2"
    assert len(list((tmp_path / "chunks").glob("*.parquet"))) == 9
    pd.testing.assert_frame_equal(serial.summary, res.summary, check_exact=True)
    pd.testing.assert_frame_equal(serial.replicates, res.replicates, check_exact=True,
                                  check_dtype=False)


@pytest.mark.timeout(180)
def test_local_cluster_inside_another_clients_block(sleep_post):
    """A caller's ``with Client(...)`` block makes that client dask's current one; the run's
    futures must still be tracked on the run's own client (a closed current client, whose
    event loop no longer runs, made this wait forever)."""
    kw = {"term": "Days", "reps": 600, "seed": 11, "chunk_size": 256}
    expected = replic.run_study(sleep_post, DESIGNS[:1], n_jobs=1, **kw)
    with distributed.LocalCluster(n_workers=0, host="127.0.0.1", dashboard_address=":0") as other, \
            distributed.Client(other.scheduler_address) as current:
        current.close()
        res = replic.run_study(sleep_post, DESIGNS[:1], scheduler="local", n_jobs=2, **kw)
    _same(expected, res)


@pytest.mark.parametrize(("kw", "match"), [
    ({"n_jobs": 0}, "n_jobs=0"),
    ({"n_jobs": "2"}, "n_jobs='2'"),
    ({"scheduler": 3}, "scheduler=3"),
    ({"scheduler": " "}, "scheduler=''"),
])
def test_bad_backend_arguments(kw, match):
    kw = {"n_jobs": 1} | kw
    with pytest.raises(ReplicInputError, match=match):
        resolve_backend(**kw)


def test_unreachable_scheduler(sleep_post):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}), \
            pytest.raises(ReplicInputError, match="cannot connect"):
        replic.run_study(sleep_post, DESIGNS[:1], term="Days", reps=10, seed=1,
                         scheduler="tcp://127.0.0.1:1")


def test_default_uses_all_cores():
    from joblib import cpu_count

    b = resolve_backend(n_jobs=None)
    assert b.workers == cpu_count() and b.kind == ("serial" if cpu_count() == 1 else "loky")
