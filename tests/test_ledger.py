"""Tests of the ledger: rnnlib.ledger (rules), rnnlib.ledger_measures and rnnlib.ledger_view."""
import math

import numpy as np
import pytest

import rnnlib
from rnnlib import ledger, ledger_view
from rnnlib.baselines import measure_random_features as rf_hook


def _fake_measured(**over):
    """Measured dicts of the shape each rule reads (numbers chosen per test)."""
    m = {
        "length": {"n_star": np.array([100.0, 200.0, 400.0]), "lengths": np.array([5.0, 10.0, 20.0]),
                   "target": 0.6, "exponent": 1.0, "exponent_se": 0.0, "rms_power": 0.0, "rms_exp": 0.1},
        "width": {"ratio": 0.9, "test_mse": np.array([0.5, 0.45]), "widths": np.array([64.0, 128.0]),
                  "n_train": 100},
        "pseudo": {"relative_error": 0.05, "width": 256, "length": 10},
        "forward": {"log10_growth": 0.1, "log10_norm_product": 9.0, "median_max_norm": 1.0, "length": 20},
        "coherence": {"ratio": 1.5, "coherence": 0.07, "inv_sqrt_m": 0.044},
        "interference": {"ratio": np.array([0.2, 0.1]), "widths": np.array([64.0, 256.0]),
                         "moved_at_target": np.array([0.8, 0.8]), "pair": (3, 6), "length": 8},
        "two_layer": {"max_diff": 0.0, "future_change": 0.0, "hidden": 3},
        "additive": {"mixed": 0.0, "single": 0.2},
        "normalization": {"norm_deviation": 0.0, "flips_small": 0.1, "flips_large": 0.3, "eps_small": 0.3,
                          "eps_large": 1.0},
        "theory_scales": ledger.measure_theory_scales(10, 256),
        "lazy": {"relative_move": 0.02},
        "random_features": {"length": 10, "n_train": np.array([100.0, 300.0]), "sgd": np.array([0.6, 0.4]),
                            "rf": np.array([0.62, 0.41]), "rel": 0.029},
    }
    m.update(over)
    return m


def test_two_layer_class_matches_definition():
    out = ledger.measure_two_layer_class(length=5, hidden=2, n=16)
    assert out["max_diff"] < 1e-12 and out["future_change"] < 1e-12


def test_additivity_has_no_interaction_but_tokens_matter():
    out = ledger.measure_additivity(length=5, n=16)
    assert out["mixed"] < 1e-12 < 0.01 < out["single"]


def test_coherence_near_inverse_sqrt_width():
    out = ledger.measure_coherence(128, 6, n=4)
    # theory: |cos| ~ 1/sqrt(m) between distinct backward maps
    assert 0 < out["coherence"] < 10 / math.sqrt(128)
    assert out["ratio"] == pytest.approx(out["coherence"] * math.sqrt(128))


def test_forward_stability_measure():
    out = ledger.measure_forward_stability(128, 12, seeds=[0, 1], n=4)
    assert out["log10_norm_product"] > 3 and abs(out["log10_growth"]) < 1


def test_theory_scales_far_below_practical():
    out = ledger.measure_theory_scales(10, 256)
    assert out["lambda_theory"] == pytest.approx(rnnlib.theory_output_scale(0.1, 10, 256))
    assert out["eta_practical"] == pytest.approx(rnnlib.ExperimentConfig(lr_scale=2.0).step_size)
    assert out["log10_eta_gap"] > 2 and out["log10_lambda_gap"] > 2


def test_interference_measure_and_rule():
    cfg = rnnlib.ExperimentConfig(length=6, labels="all", n_train=120, n_test=100, epochs=10, lr_scale=0.3)
    res = [rnnlib.interference(cfg.replace(width=m, seed=s), (3, 5)) for m in (32, 128) for s in (0, 1)]
    out = ledger.measure_interference(res)
    assert out["ratio"].shape == (2,) and np.all(out["ratio"] > 0) and np.all(out["moved_at_target"] > 0)
    # the mean over seeds at each width
    assert out["ratio"][0] == pytest.approx((res[0].ratio + res[1].ratio) / 2)
    assert out["pair"] == (3, 5) and out["length"] == 6
    with pytest.raises(ValueError, match="widths"):
        ledger.measure_interference(res[:2])
    with pytest.raises(TypeError, match="InterferenceResult"):
        ledger.measure_interference([cfg])
    base = _fake_measured()
    assert _verdicts(base)["interference"] == ledger.SUPPORTED
    grows = {**base["interference"], "ratio": np.array([0.1, 0.2])}
    assert _verdicts(_fake_measured(interference=grows))["interference"] == ledger.PARTLY
    large = {**base["interference"], "ratio": np.array([0.9, 0.8])}
    assert _verdicts(_fake_measured(interference=large))["interference"] == ledger.NOT_OBSERVABLE


def test_random_features_measure_reads_the_sweep_entries_and_rule():
    cfgs = ledger.length_sweep_configs([6], [60, 120], [0], width=32, steps_at_10=50, n_test=80)
    runs = rnnlib.sweep(cfgs, cache_dir=False, measure=rf_hook, progress=False)
    out = ledger.measure_random_features(runs)
    assert out["sgd"][0] == runs[0].test_mse and out["rf"][0] == runs[0].extras["random_features"]
    assert out["rel"] == pytest.approx(np.mean((out["rf"] - out["sgd"]) / out["sgd"]))
    with pytest.raises(ValueError, match="length"):
        ledger.measure_random_features(runs, 7)
    with pytest.raises(ValueError, match="measure_baselines"):
        ledger.measure_random_features(rnnlib.sweep(cfgs[:1], cache_dir=False, progress=False))
    base = _fake_measured()
    assert _verdicts(base)["random_features"] == ledger.SUPPORTED      # within 10%: no separation
    sep = {**base["random_features"], "rel": 0.5}
    assert _verdicts(_fake_measured(random_features=sep))["random_features"] == ledger.PARTLY


def test_width_and_pseudo_measures_read_results():
    cfgs = ledger.width_sweep_configs([16, 32], length=4, n_train=40, seeds=[0, 1], steps_at_10=20, n_test=40)
    extra = cfgs[0].replace(n_train=80)                       # an N trained at one width only
    runs = [rnnlib.run_experiment(c) for c in cfgs + [extra]]
    out = ledger.measure_width_dependence(runs)
    assert out["n_train"] == 40 and list(out["widths"]) == [16.0, 32.0]
    assert out["test_mse"][0] == pytest.approx(np.mean([runs[0].test_mse, runs[1].test_mse]))
    assert out["ratio"] == pytest.approx(out["test_mse"][1] / out["test_mse"][0])
    with pytest.raises(ValueError, match="every width"):
        ledger.measure_width_dependence(runs, n_train=80)
    with pytest.raises(TypeError, match="sweep the design"):
        ledger.measure_width_dependence(cfgs)
    cfg = cfgs[0]
    tracker = rnnlib.PseudoNetworkTracker.for_config(cfg, n_probe=16)
    res = rnnlib.run_experiment(cfg, callback=tracker)
    pseudo = ledger.measure_pseudo_network(res, tracker)
    assert pseudo["relative_error"] == tracker.relative_error[-1]
    assert pseudo["relative_move"] == pytest.approx(res.w_displacement / res.w_init_norm)
    assert ledger.measure_lazy(pseudo)["relative_move"] == pseudo["relative_move"]


def _verdicts(measured):
    return {r.claim.key: r.verdict for r in ledger.evaluate(measured)}


def test_rules_follow_thresholds():
    by = {r.claim.key: r.verdict for r in ledger.evaluate(_fake_measured())}
    assert by["length"] == ledger.SUPPORTED and by["width"] == ledger.SUPPORTED
    assert by["pseudo"] == ledger.SUPPORTED and by["lazy"] == ledger.SUPPORTED
    worse = _fake_measured(pseudo={"relative_error": 0.3, "width": 64, "length": 10},
                           width={"ratio": 3.0, "test_mse": np.array([0.3, 0.9]),
                                  "widths": np.array([64.0, 128.0]), "n_train": 100},
                           length={**_fake_measured()["length"], "n_star": np.array([100.0, np.nan, np.nan])})
    by = {r.claim.key: r.verdict for r in ledger.evaluate(worse)}
    assert by["pseudo"] == ledger.PARTLY
    assert by["width"] == ledger.NOT_OBSERVABLE
    assert by["length"] == ledger.NOT_OBSERVABLE


def test_length_dependence_from_the_runs(tmp_path):
    cfgs = ledger.length_sweep_configs([4, 8], [40, 200], [0], width=32, steps_at_10=60, n_test=100)
    assert len(cfgs) == 4 and cfgs[0].lr_scale == 2.0 and cfgs[0].average == 0.5
    runs = rnnlib.sweep(cfgs, cache_dir=tmp_path, progress=False)
    out = ledger.measure_length_dependence(runs, 0.9)
    assert out["mean_error"].shape == (2, 2) and out["runs"] == runs
    # N* by the one rule of rnnlib.stats on the mean curves
    for i in range(2):
        assert out["n_star"][i] == pytest.approx(rnnlib.stats.samples_needed([40, 200], out["mean_error"][i], 0.9),
                                                 nan_ok=True)
    with pytest.raises(TypeError, match="sweep the design"):
        ledger.measure_length_dependence(cfgs, 0.9)


def test_length_figure_names_the_edges_of_the_grid():
    m = {**_fake_measured()["length"], "n_star": np.array([np.nan, 200.0, np.inf]),
         "n_values": np.array([30.0, 100.0, 300.0, 1000.0]),
         "mean_error": np.array([[0.5, 0.4, 0.3, np.nan], [0.9, 0.8, 0.5, 0.4], [np.nan, 0.9, 0.8, 0.7]])}
    row = ledger.evaluate(_fake_measured(length=m))[0]
    assert "N* = <= 30, 200, > 1000" in row.figure


def test_markdown_table_has_every_row():
    rows = ledger.evaluate(_fake_measured())
    text = ledger_view.ledger_markdown(rows)
    assert text.count("\n") == len(ledger.CLAIMS) + 1
    assert "05_generalization.html" in text and "**supported**" in text


def test_calculator_values():
    c = ledger_view.theory_calculator("sin(3z)", 0.1, 10, 1, 256)
    assert c["rho"] == pytest.approx(100 * 10 * math.log(256))
    assert c["eta"] == pytest.approx(1 / (0.1 * c["rho"] ** 2 * 256))
    assert c["log10_C_s"] <= c["log10_C_eps"]
    table = ledger_view.theory_table_markdown([c])
    assert "sin(3z)" in table and table.count("\n") == 2


def test_bad_input():
    with pytest.raises(ValueError, match="measured lacks"):
        ledger.evaluate({})
    with pytest.raises(TypeError, match="measured must be a dict"):
        ledger.evaluate([1])
    with pytest.raises(ValueError, match="eps"):
        ledger_view.theory_calculator(eps=2.0)
    with pytest.raises(ValueError, match="width"):
        ledger.length_sweep_configs([5], [40], [0], width=0, steps_at_10=10, n_test=10)
    with pytest.raises(ValueError, match="at least one"):
        ledger.width_sweep_configs([], length=5, n_train=40, seeds=[0], steps_at_10=10, n_test=10)
    with pytest.raises(TypeError, match="Row"):
        ledger_view.ledger_markdown(["x"])


def test_html_tables():
    rows = ledger.evaluate(_fake_measured())
    text = ledger_view.ledger_html(rows)
    assert text.count("<tr>") == len(ledger.CLAIMS) + 1
    assert '<a href="05_generalization.html">' in text and "&lt;" not in ledger_view.link_html("[a](b.html)")
    assert ledger_view.theory_table_html([ledger_view.theory_calculator()]).count("<tr>") == 2


def test_length_rule_needs_a_clear_preference_for_the_power_law():
    base = _fake_measured()
    assert _verdicts(base)["length"] == ledger.SUPPORTED                 # rms 0.0 vs 0.1
    close = {**base["length"], "rms_power": 0.148, "rms_exp": 0.158}     # chapter 5's situation
    assert _verdicts(_fake_measured(length=close))["length"] == ledger.PARTLY
    steep = {**base["length"], "exponent": 4.0}
    assert _verdicts(_fake_measured(length=steep))["length"] == ledger.PARTLY
