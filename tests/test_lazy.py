import numpy as np
import pytest

import rnnlib


def test_fit_power_law_recovers_an_exact_law():
    x = np.array([64, 128, 256, 512, 1024.0])
    slope, c, err = rnnlib.fit_power_law(x, 3.0 * x ** -0.5)
    assert slope == pytest.approx(-0.5) and c == pytest.approx(3.0) and err == pytest.approx(0.0, abs=1e-10)
    noisy = 3.0 * x ** -0.5 * np.exp(np.random.default_rng(0).normal(0, 0.05, x.size))
    slope, _, err = rnnlib.fit_power_law(x, noisy)
    assert abs(slope + 0.5) < 4 * err + 0.05 and err > 0


def test_lazy_summary_and_scaled_config():
    base = rnnlib.ExperimentConfig(width=32, n_train=48, n_test=50, epochs=2)
    results = [rnnlib.run_experiment(base.replace(width=m)) for m in (48, 32)]
    s = rnnlib.lazy_summary(results)
    assert list(s["width"]) == [32, 48]
    assert np.allclose(s["relative"], s["displacement_fro"] / s["init_norm"])
    assert np.all(s["init_norm"] > 0) and np.all(s["pattern_flips"] >= 0)
    cfg = rnnlib.scaled_config(base, 64, 20)
    assert (cfg.width, cfg.length, cfg.epochs) == (64, 20, 4)
    assert rnnlib.scaled_config(base, 64, 5).epochs == 2


def test_bad_input():
    with pytest.raises(ValueError, match="same length >= 3"):
        rnnlib.fit_power_law([1, 2], [1, 2])
    with pytest.raises(ValueError, match="positive"):
        rnnlib.fit_power_law([1, 2, 3], [1, -2, 3])
    with pytest.raises(ValueError, match="at least one"):
        rnnlib.lazy_summary([])
    with pytest.raises(TypeError, match="base must be an ExperimentConfig"):
        rnnlib.scaled_config({}, 8, 10)
    with pytest.raises(ValueError, match="length must be an integer >= 2"):
        rnnlib.scaled_config(rnnlib.ExperimentConfig(), 8, 1)
