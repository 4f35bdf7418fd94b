import json
import math

import pytest

import rnnlib
from rnnlib import ExperimentConfig, run_experiment


def test_default_experiment_learns():
    # the defaults must learn without tuning (design.md section 4)
    r = run_experiment(ExperimentConfig())
    assert r.test_mse < 0.5
    assert r.test_mse < 0.5 * r.test_mse_at_init
    assert 0.8 < r.test_mse_at_init < 1.5  # at init the prediction is about the mean
    assert r.w_displacement > 0 and r.w_displacement_spectral <= r.w_displacement
    assert 0 < r.pattern_flips < 0.5


def test_same_config_same_numbers():
    cfg = ExperimentConfig(length=5, width=64, n_train=200, n_test=100, epochs=3)
    a, b = run_experiment(cfg), run_experiment(cfg)
    for name in ("train_mse", "test_mse", "test_mse_at_init", "w_displacement", "pattern_flips"):
        assert getattr(a, name) == getattr(b, name)
    assert a.history == b.history
    c = run_experiment(cfg.replace(seed=1))
    assert c.test_mse != a.test_mse


def test_result_round_trips_through_json():
    r = run_experiment(ExperimentConfig(length=4, width=32, n_train=64, n_test=32, epochs=2), keep_model=True)
    assert isinstance(r.model, rnnlib.ElmanRNN)
    back = rnnlib.ExperimentResult.from_dict(json.loads(r.to_json()))
    assert back == r and back.model is None


def test_label_noise_sets_the_floor():
    cfg = ExperimentConfig(length=5, width=64, n_train=300, n_test=2000, epochs=5, noise_std=0.5)
    r = run_experiment(cfg)
    assert 0.2 < r.noise_floor < 1.0
    assert r.test_mse > 0.9 * r.noise_floor


def test_all_positions_and_other_trained_sets_run():
    for trained in ("W", "WA", "WAB"):
        r = run_experiment(ExperimentConfig(length=5, width=32, n_train=64, n_test=32, epochs=2,
                                            labels="all", trained=trained))
        assert math.isfinite(r.test_mse)


def test_step_size_defaults_to_the_practical_rule():
    cfg = ExperimentConfig(width=128, length=8, output_scale=0.5, lr_scale=0.5)
    assert cfg.step_size == pytest.approx(0.5 / (0.25 * 8 * 128))
    assert ExperimentConfig(lr=0.01).step_size == 0.01
