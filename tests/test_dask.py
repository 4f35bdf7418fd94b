"""A sweep on a Dask distributed cluster (worker processes) gives bitwise the numbers of a serial run.

Needs the optional extra ``pip install rnnlib[dask]``; skipped without it.  The client process
writes the cache; the workers only compute.
"""
from __future__ import annotations

import logging

import pytest

import rnnlib
from rnnlib import ExperimentConfig, config_grid
from rnnlib.generalization import trained_weight_norms
from rnnlib.sweep import cache_status

distributed = pytest.importorskip("dask.distributed")

TINY = ExperimentConfig(width=24, length=4, n_train=48, n_test=40, epochs=2, batch_size=16)


def _numbers(result):
    d = result.to_dict()
    d.pop("seconds")
    return d


def test_sweep_on_a_local_dask_cluster_matches_serial_bitwise(tmp_path):
    cfgs = config_grid(TINY, seed=[0, 1], length=[3, 5])
    serial = rnnlib.sweep(cfgs, cache_dir=False, progress=False, measure=trained_weight_norms)
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None,
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        pids = set(client.run(lambda: __import__("os").getpid()).values())
        assert len(pids) == 2  # two worker processes
        on_dask = rnnlib.sweep(cfgs, cache_dir=tmp_path, executor=client.get_executor(), progress=False,
                               measure=trained_weight_norms)
    assert [_numbers(r) for r in on_dask] == [_numbers(r) for r in serial]
    # the client wrote the cache: a later run reads the cluster's results without recomputing
    assert cache_status(cfgs, tmp_path, measure=trained_weight_norms) == [True] * len(cfgs)
    again = rnnlib.sweep(cfgs, cache_dir=tmp_path, progress=False, measure=trained_weight_norms)
    assert [r.to_dict() for r in again] == [r.to_dict() for r in on_dask]
