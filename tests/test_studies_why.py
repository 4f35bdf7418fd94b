"""Chapter 6's kinds (lemma_rate, lemma_noise, existence, single_position_sgd, interference) and
studies (rnnlib.studies.why): round trips through the engine's cache, refusal of damaged payloads,
and the chapter's checks at small sizes (the fast profile's)."""
import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from rnnlib import engine, tasks
from rnnlib.existence_kinds import ExistenceConfig, ExistenceResult, SinglePositionSGDConfig
from rnnlib.glue import glue_values
from rnnlib.interference import InterferenceConfig, InterferenceResult, InterferenceRun
from rnnlib.lemma_kinds import LemmaNoiseConfig, LemmaNoiseResult, LemmaRateConfig, LemmaRateResult
from rnnlib.plots import why as plots
from rnnlib.studies import why

torch.set_num_threads(1)

SMALL_INT = tasks.interference_design(fast=True)


def _tiny_configs():
    d = SMALL_INT
    return [LemmaRateConfig("z^2", (100, 300), 2, curve_ms=(100,)), LemmaNoiseConfig("z^2", (0.0, 1.0), 2000, 2),
            ExistenceConfig(64, 0, ("z", "z^2"), 32, 40, scatter_phi="z"),
            SinglePositionSGDConfig(tasks.single_position_sgd(fast=True).replace(width=32, n_train=50, n_test=50,
                                                                                 epochs=1), "z", 10),
            InterferenceConfig(d.base.replace(width=32, n_train=40, n_test=40, epochs=1), d.pair)]


def test_kinds_round_trip_through_the_cache(tmp_path):
    cfgs = _tiny_configs()
    first = engine.run_many(cfgs, cache_dir=tmp_path, progress=False)
    assert engine.is_cached(cfgs, tmp_path) == [True] * len(cfgs)
    again = engine.run_many(cfgs, cache_dir=tmp_path, progress=False)
    for a, b, cfg in zip(first, again, cfgs):
        assert type(a) is type(b) is type(cfg).result_type
        assert b.config == cfg
        assert json.dumps(a.to_dict(), sort_keys=True) == json.dumps(b.to_dict(), sort_keys=True)
    # same config, same numbers without the cache
    fresh = engine.run_many(cfgs[:3], cache_dir=False, progress=False)
    assert np.array_equal(fresh[0].errors, first[0].errors)
    assert np.array_equal(fresh[2].values["pseudo_error"], first[2].values["pseudo_error"])


def test_interference_run_is_the_interference_result(tmp_path):
    run = engine.run_many([_tiny_configs()[-1]], cache_dir=tmp_path, progress=False)[0]
    res = run.result
    assert isinstance(run, InterferenceRun) and isinstance(res, InterferenceResult)
    assert res.config == run.config.run_config and res.pair == SMALL_INT.pair
    assert 0 < run.coherence < 1 and np.isfinite(res.ratio)


@pytest.mark.parametrize("kind, payload, error", [
    (LemmaRateResult, {"config": {"phi": "z", "ms": [10], "n_draws": 1, "seed": 0, "curve_ms": [], "n_curve": 3},
                       "errors": [[float("nan")]], "second_moment": 1.0, "bias": 0.0, "curves": [[]]}, ValueError),
    (LemmaNoiseResult, {"config": {"phi": "z", "taus": [0.0], "M": 10, "n_draws": 1, "seed": 0},
                        "plain": "x", "aware": [[1.0]], "aware_second": [1.0]}, TypeError),
    (ExistenceResult, {"config": {"width": 8}, "values": {}, "tau": 1.0, "sigma_b": 1.0, "rnn_error": -1.0,
                       "scatter": [[]]}, ValueError),
])
def test_damaged_payloads_are_refused(kind, payload, error):
    with pytest.raises(error):
        kind.from_dict(payload)


@pytest.fixture(scope="module")
def lemma():
    return why.lemma_study(["z^2", "sin(3z)", "exp(z)-1"], [300, 1_000, 3_000, 10_000], 2,
                           taus=[0.0, 0.1, 0.3, 1.0], m_noise=20_000, cache_dir=False)


def test_lemma_study_checks_and_glue(lemma):
    lemma.check()
    values = glue_values(lemma, {"fig-ch6-fits": plots.plot_lemma_study(lemma)[0]})
    assert {"ch6-slope-mean", "ch6-EH2-sin", "ch6-noise-sq-aware-1", "ch6-M-noise"} <= set(values)
    assert -0.75 < values["ch6-slope-mean"] < -0.3
    assert plots.plot_lemma_noise_study(lemma) is not None


def test_lemma_check_fails_on_a_wrong_rate(lemma):
    bad = LemmaRateResult(lemma.rates[0].config, lemma.rates[0].errors[::-1].copy(), 1.0, 0.0,
                          lemma.rates[0].curves)
    with pytest.raises(AssertionError, match="fall with M"):
        why.LemmaStudy((bad,) + lemma.rates[1:], lemma.noise, lemma.log10_ceps).check()


def test_existence_study_checks_and_glue():
    with ThreadPoolExecutor(1) as pool:   # on an executor the engine starts the costliest first
        st = why.existence_study([128, 512, 2048], [0], ["z", "z^2", "sin(3z)"], n_design=64, n_probe=150,
                                 sgd_config=tasks.single_position_sgd(fast=True), cache_dir=False, executor=pool)
    st.check()
    values = glue_values(st, {"fig-ch6-wstar": plots.plot_existence_study(st)})
    assert {"ch6-sgd-z-10", "ch6-sgd-sin-5", "ch6-w-m-needed-sin", "ch6-w-target-err", "ch6-rnn-err",
            "ch6-sgd-steps"} <= set(values)
    assert values["ch6-rnn-err"] >= 0 and values["ch6-mW-max"] == 2048


def test_interference_study_checks_and_glue():
    st = why.interference_study(SMALL_INT, cache_dir=False)
    # through an executor the engine starts the widest (costliest) runs first; the runs come back
    # in the design's order with the same numbers
    with ThreadPoolExecutor(1) as pool:
        on_executor = why.interference_runs(SMALL_INT, cache_dir=False, executor=pool)
    assert [r.config.run_config for r in on_executor] == SMALL_INT.configs()
    assert [r.moved.tolist() for r in on_executor] == [r.moved.tolist() for row in st.runs for r in row]
    costs = [InterferenceConfig(c, SMALL_INT.pair).estimated_cost() for c in SMALL_INT.configs()]
    assert costs == sorted(costs) and costs[0] < costs[-1]   # the design lists widths in increasing order
    st.check()
    values = glue_values(st, {"fig-ch6-interference": plots.plot_interference_study(st)})
    assert values["ch6-int-m-max"] == SMALL_INT.widths[-1] and values["ch6-int-ratio-max"] < 0.5
    moved = np.array(st.runs[-1][0].moved)
    broken = why.InterferenceStudy(st.widths, st.seeds, st.pair, tuple(
        tuple(InterferenceRun(r.config, r.positions, r.target_change, 10 * np.ones_like(moved), r.test_mse,
                              r.seconds, r.coherence) for r in row) for row in st.runs))
    with pytest.raises(AssertionError, match="interference should be small"):
        broken.check()
