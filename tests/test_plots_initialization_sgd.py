import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402

import rnnlib  # noqa: E402
from rnnlib.plots import initialization, sgd  # noqa: E402
from figures import assert_labelled  # noqa: E402


def _labelled(fig) -> None:
    assert_labelled(fig, data_axes_only=True)


def test_initialization_figures():
    fwd = [rnnlib.forward_stability(m, 20, seeds=[0, 1], n=2) for m in (16, 32)]
    _labelled(initialization.plot_forward_stability(fwd))
    model = rnnlib.ElmanRNN(9, 32)
    xs = rnnlib.sample_tokens(4, 6, 8, seed=0)
    eps = [0.1, 0.3]
    flips = rnnlib.flips_versus_eps_x(model, xs, rnnlib.sample_tokens(4, 6, 8, seed=1), eps)
    _labelled(initialization.plot_pattern_flips(eps, {"other": flips}, flips, width=32))
    x = rnnlib.embed(xs, 0.3)
    bm = rnnlib.backward_maps(model, x)
    _labelled(initialization.plot_backward_norms({32: (bm.relative_norms(), bm.outputs)}))
    pairs = rnnlib.distinct_pairs(bm.outputs, order="length")
    _labelled(initialization.plot_coherence_heatmap(bm.cos_matrix(pairs), pairs, width=32))
    _labelled(initialization.plot_coherence_vs_width([16, 32, 64], {"a": np.array([0.3, 0.2, 0.1])}, fits={"a": -0.5}))
    _labelled(initialization.plot_initialization(16, 5, n=2))


def test_sgd_figures_and_the_cached_widget():
    base = rnnlib.ExperimentConfig(width=16, n_train=40, n_test=40, epochs=2, eval_every=1)
    results, trackers = {}, {}
    for m in (16, 24, 32):
        cfg = base.replace(width=m)
        trackers[m] = rnnlib.PseudoNetworkTracker.for_config(cfg, n_probe=16, every=1)
        results[m] = rnnlib.run_experiment(cfg, callback=trackers[m])
    _labelled(sgd.plot_theory_versus_practice(results[16], results[32]))
    _labelled(sgd.plot_training_curves(list(results.values())))
    summary = rnnlib.lazy_summary(results.values())
    fits = {k: rnnlib.fit_power_law(summary["width"], summary[k])
            for k in ("displacement_fro", "displacement_spectral", "relative", "pattern_flips")}
    _labelled(sgd.plot_lazy_regime(summary, fits))
    errs = [trackers[m].relative_error[-1] for m in (16, 24, 32)]
    _labelled(sgd.plot_pseudo_network(trackers, base.output_scale, fit=rnnlib.fit_power_law([16, 24, 32], errs)))
    cache = {r.config: r for r in results.values()}
    fig = sgd.plot_training_run(16, 10, base=base, cache=cache)  # a hit: no training
    assert len(cache) == 3
    _labelled(fig)
    _labelled(sgd.plot_training_run(16, 5, base=base, cache=cache))  # a miss: trains and stores
    assert len(cache) == 4
