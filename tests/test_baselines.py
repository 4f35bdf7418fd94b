"""Every baseline runs on the same data, returns sane numbers, and rejects bad input (E7)."""
import numpy as np
import pytest

import rnnlib
from rnnlib.baselines import (BASELINES, kernel_ridge_select, ridge_select, run_baseline, sgd_w)

CFG = rnnlib.ExperimentConfig(length=5, width=32, n_train=120, n_test=80, epochs=3)


@pytest.mark.parametrize("name", list(BASELINES))
def test_each_baseline_runs(name):
    data = rnnlib.make_dataset(CFG)
    r = run_baseline(name, CFG, data)
    assert r.name == name and r.config == CFG
    assert np.isfinite(r.train_mse) and np.isfinite(r.test_mse)
    assert 0 <= r.train_mse < 5 and 0 <= r.test_mse < 5
    assert r.seconds >= 0
    again = run_baseline(name, CFG)  # same config, same numbers, data drawn again
    assert again.test_mse == pytest.approx(r.test_mse, rel=1e-6, abs=1e-9)
    assert rnnlib.baselines.BaselineResult.from_dict(r.to_dict()).test_mse == r.test_mse


def test_sgd_w_is_run_experiment():
    assert sgd_w(CFG).test_mse == rnnlib.run_experiment(CFG).test_mse


def test_full_training_sgd_is_trained_wab():
    r = run_baseline("full_training", CFG, optimizer="sgd")
    assert r.test_mse == rnnlib.run_experiment(CFG.replace(trained="WAB")).test_mse


def test_linear_ridge_learns_a_linear_target():
    # phi = z: the target is linear in the tokens, so a linear model is near perfect
    cfg = CFG.replace(phi="z", n_train=400)
    assert run_baseline("linear_ridge", cfg).test_mse < 0.02


def test_random_features_beats_the_mean_with_enough_data():
    cfg = CFG.replace(width=128, n_train=600)
    assert run_baseline("random_features", cfg).test_mse < 0.8


def test_ridge_selection_picks_small_reg_for_clean_data():
    rng = np.random.default_rng(0)
    F = rng.standard_normal((200, 5))
    y = F @ rng.standard_normal((5, 1))
    _, pred, reg = ridge_select(F, y, F)
    assert reg <= 1e-3 and np.abs(pred - y).max() < 1e-2
    K = F @ F.T
    _, pk, _ = kernel_ridge_select(K, y, K)
    assert np.abs(pk - y).max() < 0.05


def test_bad_input():
    with pytest.raises(ValueError, match="name"):
        run_baseline("svm", CFG)
    with pytest.raises(TypeError, match="cfg"):
        run_baseline("linear_ridge", {"length": 5})
    with pytest.raises(TypeError, match="data"):
        run_baseline("random_features", CFG, data="data")
    with pytest.raises(ValueError, match="make_dataset"):
        run_baseline("random_features", CFG, rnnlib.make_dataset(CFG.replace(n_train=50)))
    with pytest.raises(ValueError, match="labels"):
        run_baseline("ntk_ridge", CFG.replace(labels="all"))
    with pytest.raises(ValueError, match="optimizer"):
        run_baseline("full_training", CFG, optimizer="lbfgs")
    with pytest.raises(ValueError, match="lr"):
        run_baseline("full_training", CFG, lr=-1.0)
    with pytest.raises(ValueError, match="F_train"):
        ridge_select(np.ones((5, 2)), np.ones((5, 1)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="K_train"):
        kernel_ridge_select(np.ones((5, 4)), np.ones((5, 1)), np.ones((3, 4)))


def test_verdict_and_table():
    from rnnlib.baselines import summary_table, verdict
    ref = np.array([[0.5, 0.6], [0.3, 0.3]])
    assert verdict(ref * 0.5, ref) == "better than SGD on W"
    assert verdict(ref * 1.05, ref) == "as good as SGD on W"
    assert verdict(ref * 2, ref) == "worse than SGD on W"
    table = summary_table([300, 1000], {"sgd_w": ref, "linear_ridge": ref * 0.5}, {"sgd_w": "SGD"})
    lines = table.splitlines()
    assert len(lines) == 4 and "N = 1,000" in lines[0] and "| SGD | 0.550 (0.500–0.600)" in lines[2]
    assert lines[3].endswith("better than SGD on W |")
    with pytest.raises(ValueError, match="shape"):
        verdict(ref, ref[:1])
    with pytest.raises(ValueError, match="reference"):
        summary_table([300, 1000], {"x": ref})


def test_measure_hooks_in_a_sweep(tmp_path):
    from rnnlib.baselines import measure_baselines, measure_random_features
    cfg = CFG.replace(average=0.5)
    res = rnnlib.sweep([cfg], cache_dir=tmp_path, measure=measure_baselines, progress=False)[0]
    assert res.test_mse == rnnlib.run_experiment(cfg).test_mse
    for name in BASELINES:
        if name != "sgd_w":
            assert res.extras[name] == pytest.approx(run_baseline(name, cfg).test_mse, rel=1e-6, abs=1e-9)
    again = rnnlib.sweep([cfg], cache_dir=tmp_path, measure=measure_baselines, progress=False)[0]
    assert again.extras == res.extras  # read back from the cache
    rf = rnnlib.sweep([cfg], cache_dir=False, measure=measure_random_features, progress=False)[0]
    assert rf.extras["random_features"] == pytest.approx(res.extras["random_features"])
