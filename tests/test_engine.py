"""The engine's kinds (rnnlib.engine): every cached computation round-trips through the cache, and
derived kinds (prior bounds of a run) read the stored weights instead of retraining."""
from __future__ import annotations

import sys
import warnings

import pytest

import rnnlib
from rnnlib import ExperimentConfig
from rnnlib.baselines import BaselineConfig, run_baseline
from rnnlib.engine import kind_key, run_many
from rnnlib.generalization import prior_bounds, trained_weight_norms
from rnnlib.existence import SinglePositionTarget, sgd_on_target
from rnnlib.existence_kinds import SinglePositionSGDConfig
from rnnlib.interference import InterferenceConfig
from rnnlib.lemma import LemmaRateConfig, fit_indicator, sup_error_vs_neurons
from rnnlib.ntk_kinds import NtkCostConfig
from rnnlib.outside import OutsideConfig, run_outside
from rnnlib.trained_bounds import PriorBoundsConfig

TINY = ExperimentConfig(width=16, length=6, n_train=48, n_test=40, epochs=2, batch_size=16)
KINDS = [PriorBoundsConfig(TINY), BaselineConfig("random_features", TINY), BaselineConfig("linear_ridge", TINY),
         OutsideConfig(TINY, ("parity-2",)), InterferenceConfig(TINY.replace(labels="all"), (3, 5)),
         NtkCostConfig(n=20, length=4, width=16, n_test=10), LemmaRateConfig(phi="z^2", ms=(50, 200), n_draws=2),
         SinglePositionSGDConfig(TINY, phi="z^2", position=3, target_seed=7)]


def test_every_kind_round_trips_through_the_cache(tmp_path):
    first = run_many(KINDS, cache_dir=tmp_path, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no damaged entry
        again = run_many(KINDS, cache_dir=tmp_path, progress=False)
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
    assert len({kind_key(c) for c in KINDS}) == len(KINDS)
    # the kinds give what the functions they wrap give
    assert first[1].test_mse == run_baseline("random_features", TINY).test_mse
    assert first[3].results[0].test_mse == run_outside(TINY, ("parity-2",))[0].test_mse
    direct = sup_error_vs_neurons(fit_indicator("z^2"), (50, 200), n_draws=2)
    assert first[6].errors.tolist() == direct.tolist()
    assert first[7].test_mse == sgd_on_target(SinglePositionTarget(6, 8, 3, "z^2", seed=7), TINY)


def test_prior_bounds_read_the_stored_weights_and_never_retrain(tmp_path, monkeypatch):
    via_measure = rnnlib.sweep([TINY], cache_dir=tmp_path, progress=False, measure=trained_weight_norms)[0]
    calls = []
    real = sys.modules["rnnlib.experiment"].run_experiment
    monkeypatch.setattr(sys.modules["rnnlib.experiment"], "run_experiment",
                        lambda cfg, **kw: calls.append(cfg) or real(cfg, **kw))
    (bounds,) = run_many([PriorBoundsConfig(TINY)], cache_dir=tmp_path, progress=False)
    assert calls == []
    assert bounds.log10_bounds == prior_bounds(via_measure)


def test_kind_configs_refuse_bad_input():
    with pytest.raises(ValueError, match="name must be one of"):
        BaselineConfig("svm", TINY)
    with pytest.raises(TypeError, match="run_config must be an ExperimentConfig"):
        PriorBoundsConfig({"width": 3})
    with pytest.raises(ValueError, match="position"):
        SinglePositionSGDConfig(TINY, phi="z^2", position=99).run()
