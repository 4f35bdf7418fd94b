"""N*(L) interpolation, power-law fits with uncertainties, step budgets, iterate averaging, figures."""
from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import rnnlib  # noqa: E402
from rnnlib import ExperimentConfig, config_grid  # noqa: E402
from rnnlib.generalization import (Curves, bootstrap_exponent, fit_exponential, fit_power_law,  # noqa: E402
                                   learning_curves, n_star, prior_bounds, sample_complexity,
                                   steps_for_length, trained_weight_norms, with_step_budget)
from rnnlib.plots import generalization as gplots  # noqa: E402

TINY = ExperimentConfig(width=16, length=4, n_train=48, n_test=40, epochs=2, batch_size=16)


def test_sample_complexity_is_the_one_rule_of_stats():
    # the former name is rnnlib.stats.samples_needed (tested in tests/test_stats.py)
    from rnnlib import stats

    assert sample_complexity is stats.samples_needed
    assert fit_power_law is stats.fit_power_law and fit_exponential is stats.fit_exponential
    n = [100, 300, 1000]
    assert math.isinf(sample_complexity(n, [0.9, 0.8, 0.7], 0.5))   # never reached: N* > N_max
    assert math.isnan(sample_complexity(n, [0.4, 0.3, 0.2], 0.5))   # N* <= N_min, not extrapolated


def _synthetic_curves(exponent=1.5, noise=0.02, seeds=5, seed=0):
    """Errors e(N) = exp(-N / N0(L)) with N0 = 20 L^exponent, plus seed noise."""
    rng = np.random.default_rng(seed)
    L = np.array([5, 10, 20, 40])
    N = np.array([30, 100, 300, 1000, 3000, 10000, 30000], dtype=float)
    n0 = 20.0 * L ** exponent
    vals = np.exp(-N[None, :, None] / n0[:, None, None]) * 0.8 + 0.2
    vals = vals + rng.normal(0, noise, size=(len(L), len(N), seeds))
    return Curves(L, N, vals, np.arange(seeds), "length", "n_train", "test_mse")


def test_n_star_and_bootstrap_recover_a_known_growth_law():
    curves = _synthetic_curves()
    ns = n_star(curves, 0.6)
    assert np.all(np.isfinite(ns))
    fit = fit_power_law(curves.groups, ns)
    assert fit.exponent == pytest.approx(1.5, abs=0.15)  # interpolation on a half-decade grid
    boot = bootstrap_exponent(curves, 0.6, n_boot=300, seed=1)
    assert boot.shape == (300,) and np.isfinite(boot).mean() > 0.95
    lo, hi = np.nanpercentile(boot, [2.5, 97.5])
    assert lo < fit.exponent < hi and hi - lo < 0.5
    # same seed, same numbers
    assert np.array_equal(boot, bootstrap_exponent(curves, 0.6, n_boot=300, seed=1), equal_nan=True)


def test_step_budget():
    assert steps_for_length(5, 1000) == 1000
    assert steps_for_length(10, 1000) == 1000
    assert steps_for_length(40, 1000) == 4000
    cfg = with_step_budget(ExperimentConfig(n_train=1000, batch_size=32), 1000)
    assert cfg.epochs == 32  # 32 batches per epoch -> 1024 >= 1000 steps
    assert with_step_budget(ExperimentConfig(n_train=10000, batch_size=32), 1000).epochs == 4
    assert with_step_budget(ExperimentConfig(n_train=30, batch_size=32), 1000).epochs == 1000
    with pytest.raises(TypeError, match="cfg must be an ExperimentConfig"):
        with_step_budget({"n_train": 3}, 10)
    with pytest.raises(ValueError, match="steps_at_10"):
        steps_for_length(10, 0)


def test_learning_curves_from_results():
    res = rnnlib.sweep(config_grid(TINY, length=[3, 5], n_train=[16, 48], seed=[0, 1]), cache_dir=False,
                       progress=False)
    curves = learning_curves(res)
    assert curves.values.shape == (2, 2, 2)
    assert curves.groups.tolist() == [3, 5] and curves.x.tolist() == [16, 48]
    assert curves.values[1, 0, 1] == next(r.test_mse for r in res if (r.config.length, r.config.n_train,
                                                                      r.config.seed) == (5, 16, 1))
    gap = learning_curves(res, metric="gap")
    assert np.allclose(gap.values, curves.values - learning_curves(res, metric="train_mse").values)
    with pytest.raises(ValueError, match="share"):
        learning_curves(res, by="width")
    with pytest.raises(ValueError, match="neither"):
        learning_curves(res, metric="accuracy")
    with pytest.raises(ValueError, match="at least one"):
        learning_curves([])


def test_weight_norm_measure_and_prior_bounds():
    from rnnlib.bounds import evaluate_bounds
    res = rnnlib.sweep([TINY], cache_dir=False, measure=trained_weight_norms, progress=False)[0]
    again = rnnlib.run_experiment(TINY, keep_model=True)
    direct = evaluate_bounds(again.model, [TINY.length])
    bounds = prior_bounds(res)
    for key in ("zhang", "bartlett", "tu_factor"):
        assert bounds[key] == pytest.approx(float(direct[key][0]), rel=1e-12)
    with pytest.raises(ValueError, match="no weight norms"):
        prior_bounds(rnnlib.run_experiment(TINY))
    with pytest.raises(ValueError, match="keep_model"):
        trained_weight_norms(rnnlib.run_experiment(TINY))


def test_mean_prior_bounds_averages_per_length():
    from rnnlib.generalization import mean_prior_bounds
    cfgs = [TINY.replace(seed=s, length=L) for L in (4, 6) for s in (0, 1)]
    runs = rnnlib.sweep(cfgs, cache_dir=False, measure=trained_weight_norms, progress=False)
    out = mean_prior_bounds(runs, [6, 4], keys=("zhang", "tu_factor"))
    assert set(out) == {"zhang", "tu_factor"}
    for i, L in enumerate([6, 4]):
        at = [prior_bounds(r) for r in runs if r.config.length == L]
        assert out["zhang"][i] == pytest.approx(np.mean([b["zhang"] for b in at]), rel=1e-12)
        assert out["tu_factor"][i] == pytest.approx(np.mean([b["tu_factor"] for b in at]), rel=1e-12)
    with pytest.raises(ValueError, match="length 5"):
        mean_prior_bounds(runs, [5])


def test_average_from_last_step_equals_last_iterate_and_averages_iterates():
    data = rnnlib.make_dataset(TINY.replace(n_train=16))
    y = data.y_train.astype(np.float32)
    kw = dict(output_scale=0.3, epochs=4, batch_size=16, seed=3)  # one step per epoch
    iterates = []
    last = rnnlib.ElmanRNN(9, 16, seed=1)
    rnnlib.train_sgd(last, data.x_train, y, data.labelled, callback=lambda e, m: iterates.append(m.W.clone()),
                     **kw)
    same = rnnlib.ElmanRNN(9, 16, seed=1)
    rnnlib.train_sgd(same, data.x_train, y, data.labelled, average_from=3, **kw)
    assert torch.equal(same.W, last.W)  # averaging one iterate = the last iterate
    avg = rnnlib.ElmanRNN(9, 16, seed=1)
    rnnlib.train_sgd(avg, data.x_train, y, data.labelled, average_from=2, **kw)
    assert torch.allclose(avg.W, (iterates[2] + iterates[3]) / 2, atol=1e-7)
    assert torch.equal(avg.A, last.A) and torch.equal(avg.B, last.B)  # frozen
    with pytest.raises(ValueError, match="average_from"):
        rnnlib.train_sgd(avg, data.x_train, y, data.labelled, average_from=-1, **kw)


def test_average_config_field():
    plain = rnnlib.run_experiment(TINY.replace(average=0.0))  # the last iterate
    avg = rnnlib.run_experiment(TINY.replace(average=0.5))
    assert avg.n_steps == plain.n_steps and avg.test_mse != plain.test_mse
    # the book's task (ExperimentConfig's defaults) averages the second half of the iterates
    assert rnnlib.run_experiment(TINY).test_mse == avg.test_mse
    with pytest.raises(ValueError, match="average must be a fraction"):
        TINY.replace(average=1.5)
    with pytest.raises(ValueError, match="average must be >= 0"):
        TINY.replace(average=-0.1)


def test_result_figure_renders():
    ns = n_star(_synthetic_curves(), 0.6)
    L = np.array([5, 10, 20, 40])
    fig = gplots.plot_result(L, ns, fit_power_law(L, ns), bounds={"zhang": L * 0.45 + 2}, target=0.6, width=64)
    assert fig.axes and all(ax.get_xlabel() for ax in fig.axes)
    import matplotlib.pyplot as plt
    plt.close("all")
