"""The probes of chapters 1-4 as cached kinds of the engine (issue 12): a cached read is bitwise a fresh
computation, keys follow the config, payloads round-trip exactly and damaged ones are refused."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import rnnlib
from rnnlib.concept_kinds import LabelNoiseConfig, VarianceConfig
from rnnlib.engine import is_cached, kind_key, run_many
from rnnlib.init_kinds import (BackwardNormConfig, CoherenceConfig, FlipConfig, ForwardConfig, InputsSpec,
                               PriorBoundsConfig)
from rnnlib.probe_payload import ProbeRecord, decode, encode
from rnnlib.sgd_kinds import TrackedRunConfig
from rnnlib.studies import initialization

SPEC = InputsSpec(n=3, length=5)
RUN = rnnlib.ExperimentConfig(length=4, width=16, n_train=32, n_test=32, epochs=2)
CONFIGS = [
    PriorBoundsConfig(widths=(8, 16), n_nets=2, n_sequences=3, max_length=6),
    ForwardConfig(width=16, length=8, seeds=(0, 1), n=3),
    FlipConfig(width=16, length=5, n=4, eps_values=(0.1, 0.3)),
    BackwardNormConfig(widths=(8, 16), inputs=SPEC),
    CoherenceConfig(widths=(8, 16), seeds=(0, 1), inputs=SPEC, heat_width=8),
    VarianceConfig(lengths=(2, 3), n_variance=50, n_concepts=2),
    LabelNoiseConfig(n_noise=200, levels=(0.0, 0.5)),
    TrackedRunConfig(RUN, n_probe=8, every=1),
]


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as the engine computes: a result must not depend on where it ran
    yield
    torch.set_num_threads(threads)


def _payload(result) -> dict:
    d = result.to_dict()
    if "result" in d:  # a tracked run: its wall-clock time is the one field that may differ
        d = {**d, "result": {k: v for k, v in d["result"].items() if k != "seconds"}}
    return d


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: type(c).kind)
def test_cached_read_is_bitwise_a_fresh_computation(config, tmp_path):
    first = run_many([config], cache_dir=tmp_path, progress=False)[0]
    assert is_cached([config], tmp_path) == [True]
    read = run_many([config], cache_dir=tmp_path, progress=False)[0]
    fresh = config.run()
    assert type(read) is type(fresh) is type(config).result_type
    assert json.dumps(_payload(read)) == json.dumps(_payload(fresh)) == json.dumps(_payload(first))


def test_keys_follow_kind_and_config():
    keys = {kind_key(c) for c in CONFIGS}
    assert len(keys) == len(CONFIGS)
    assert kind_key(ForwardConfig(16, 8, (0, 1), n=3)) == kind_key(CONFIGS[1])
    assert kind_key(ForwardConfig(16, 8, (0, 2), n=3)) != kind_key(CONFIGS[1])
    assert kind_key(BackwardNormConfig((8, 16), InputsSpec(n=3, length=5, seed=4))) != kind_key(CONFIGS[3])


def test_codec_is_exact_and_keeps_types():
    value = {64: (np.array([1.0, np.nan], dtype=np.float32), (1, 2)), "k": [0.1, float("inf")], 3: np.arange(3)}
    back = decode(json.loads(json.dumps(encode(value))), finite=False)
    assert set(back) == {64, "k", 3} and isinstance(back[64], tuple) and back[64][1] == (1, 2)
    assert back[64][0].dtype == np.float32 and np.array_equal(back[64][0], value[64][0], equal_nan=True)
    assert back["k"] == [0.1, float("inf")] and back[3].dtype == value[3].dtype
    with pytest.raises(ValueError, match="non-finite"):
        decode(encode(value))
    with pytest.raises(TypeError, match="cannot encode"):
        encode({1: object()})


def test_damaged_payloads_are_refused(tmp_path):
    cfg = CONFIGS[2]
    result_type = type(cfg).result_type
    good = cfg.run().to_dict()
    with pytest.raises(ValueError, match="fields"):
        result_type.from_dict({k: v for k, v in good.items() if k != "free"})
    bad = dict(good, other=encode(np.array([[np.nan]])))
    with pytest.raises(ValueError, match="non-finite"):
        result_type.from_dict(bad)
    with pytest.raises(ValueError, match="dtype"):
        result_type.from_dict(dict(good, eps={"a": "complex128", "s": [1], "b": ""}))
    assert issubclass(result_type, ProbeRecord)


def test_backward_studies_from_a_spec_equal_those_from_inputs(tmp_path):
    x = initialization.backward_inputs(3, 5)
    spec = initialization.backward_design(3, 5)
    a = initialization.backward_norm_study([8, 16], x)
    b = initialization.backward_norm_study([8, 16], spec, cache_dir=tmp_path)
    assert all(np.array_equal(a.norms[m][0], b.norms[m][0], equal_nan=True) and a.norms[m][1] == b.norms[m][1]
               for m in (8, 16))
    c = initialization.coherence_study([8, 16], [0], x, heat_width=8)
    d = initialization.coherence_study([8, 16], [0], spec, heat_width=8, cache_dir=tmp_path)
    assert c.pairs == d.pairs and np.array_equal(c.cos_heat, d.cos_heat) and c.coherence.keys() == d.coherence.keys()


def test_forward_drift_is_the_chapters_drifting_share(tmp_path):
    drift = initialization.forward_drift((16, 64), length=30, seeds=range(4), n=3, threshold=2.0, cache_dir=tmp_path)
    study = initialization.forward_study((16, 64), 30, range(4), n=3, cache_dir=tmp_path)
    assert drift.widths == (16, 64) and drift.length == 30 and drift.n_seeds == 4
    for m, frac, top, r in zip(drift.widths, drift.fraction_above, drift.max_norm, study.results):
        assert r.width == m and frac == np.mean(r.typical[:, -1] > 2.0) and top == r.typical[:, -1].max()
    assert drift.numbers() == {"drift-above-16": drift.fraction_above[0], "drift-above-64": drift.fraction_above[1]}
    with pytest.raises(ValueError, match="threshold"):
        initialization.forward_drift((16,), length=5, seeds=(0,), threshold=-1.0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="seeds"):
        initialization.forward_study((16,), 5, (), n=2, cache_dir=tmp_path)


def test_training_runs_reuse_known_runs_and_read_the_rest_from_the_cache(tmp_path):
    from rnnlib.lazy import scaled_config
    from rnnlib.studies import sgd
    known = rnnlib.run_experiment(RUN.replace(width=8))
    runs = sgd.training_runs(RUN, [8, 16], [4, 8], known=[known], cache_dir=tmp_path)
    assert set(runs) == {scaled_config(RUN, m, L) for m in (8, 16) for L in (4, 8)} and runs[known.config] is known
    fresh = rnnlib.run_experiment(scaled_config(RUN, 16, 8))
    assert fresh.config.epochs == 2 * RUN.epochs
    again = sgd.training_runs(RUN, [16], [8], cache_dir=tmp_path)[fresh.config]
    assert {k: v for k, v in again.to_dict().items() if k != "seconds"} == \
        {k: v for k, v in fresh.to_dict().items() if k != "seconds"}
    assert is_cached([scaled_config(RUN, 16, 4)], tmp_path) == [True] and is_cached([known.config], tmp_path) == [False]
