"""Tests of rnnlib.ledger: measurements, verdict rules, rendering and the theory calculator."""
import math

import numpy as np
import pytest

import rnnlib
from rnnlib import ledger


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
    out = ledger.measure_interference(cfg, [32, 128], pair=(3, 5))
    assert out["ratio"].shape == (2,) and np.all(out["ratio"] > 0) and np.all(out["moved_at_target"] > 0)
    with pytest.raises(ValueError, match="widths"):
        ledger.measure_interference(cfg, [32])
    base = _fake_measured()
    assert _verdicts(base)["interference"] == ledger.SUPPORTED
    grows = {**base["interference"], "ratio": np.array([0.1, 0.2])}
    assert _verdicts(_fake_measured(interference=grows))["interference"] == ledger.PARTLY
    large = {**base["interference"], "ratio": np.array([0.9, 0.8])}
    assert _verdicts(_fake_measured(interference=large))["interference"] == ledger.NOT_OBSERVABLE


def test_random_features_measure_and_rule():
    cfgs = ledger.length_sweep_configs([6], [60], [0], width=32, steps_at_10=50, n_test=80)
    runs = [rnnlib.run_experiment(c) for c in cfgs]
    out = ledger.measure_random_features(runs, 6)
    assert out["sgd"][0] == runs[0].test_mse and out["rf"][0] > 0
    assert out["rel"] == pytest.approx((out["rf"][0] - out["sgd"][0]) / out["sgd"][0])
    with pytest.raises(ValueError, match="length"):
        ledger.measure_random_features(runs, 7)
    base = _fake_measured()
    assert _verdicts(base)["random_features"] == ledger.SUPPORTED      # within 10%: no separation
    sep = {**base["random_features"], "rel": 0.5}
    assert _verdicts(_fake_measured(random_features=sep))["random_features"] == ledger.PARTLY


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


def test_length_dependence_on_a_tiny_sweep(tmp_path):
    cfgs = ledger.length_sweep_configs([4, 8], [40, 200], [0], width=32, steps_at_10=60, n_test=100)
    assert len(cfgs) == 4 and cfgs[0].lr_scale == 2.0
    out = ledger.measure_length_dependence(cfgs, 0.9, cache_dir=tmp_path)
    again = ledger.measure_length_dependence(cfgs, 0.9, cache_dir=tmp_path)  # read from the cache
    np.testing.assert_array_equal(out["mean_error"], again["mean_error"])
    assert out["mean_error"].shape == (2, 2)


def test_markdown_table_has_every_row():
    rows = ledger.evaluate(_fake_measured())
    text = ledger.ledger_markdown(rows)
    assert text.count("\n") == len(ledger.CLAIMS) + 1
    assert "05_generalization.html" in text and "**supported**" in text


def test_calculator_values():
    c = ledger.theory_calculator("sin(3z)", 0.1, 10, 1, 256)
    assert c["rho"] == pytest.approx(100 * 10 * math.log(256))
    assert c["eta"] == pytest.approx(1 / (0.1 * c["rho"] ** 2 * 256))
    assert c["log10_C_s"] <= c["log10_C_eps"]
    table = ledger.theory_table_markdown([c])
    assert "sin(3z)" in table and table.count("\n") == 2


def test_bad_input():
    with pytest.raises(ValueError, match="measured lacks"):
        ledger.evaluate({})
    with pytest.raises(TypeError, match="measured must be a dict"):
        ledger.evaluate([1])
    with pytest.raises(ValueError, match="eps"):
        ledger.theory_calculator(eps=2.0)
    with pytest.raises(ValueError, match="width"):
        ledger.length_sweep_configs([5], [40], [0], width=0, steps_at_10=10, n_test=10)
    with pytest.raises(ValueError, match="at least one"):
        ledger.width_sweep_configs([], length=5, n_train=40, seeds=[0], steps_at_10=10, n_test=10)
    with pytest.raises(TypeError, match="Row"):
        ledger.ledger_markdown(["x"])


def test_html_tables():
    rows = ledger.evaluate(_fake_measured())
    text = ledger.ledger_html(rows)
    assert text.count("<tr>") == len(ledger.CLAIMS) + 1
    assert '<a href="05_generalization.html">' in text and "&lt;" not in ledger._link_html("[a](b.html)")
    assert ledger.theory_table_html([ledger.theory_calculator()]).count("<tr>") == 2


def test_length_rule_needs_a_clear_preference_for_the_power_law():
    base = _fake_measured()
    assert _verdicts(base)["length"] == ledger.SUPPORTED                 # rms 0.0 vs 0.1
    close = {**base["length"], "rms_power": 0.148, "rms_exp": 0.158}     # chapter 5's situation
    assert _verdicts(_fake_measured(length=close))["length"] == ledger.PARTLY
    steep = {**base["length"], "exponent": 4.0}
    assert _verdicts(_fake_measured(length=steep))["length"] == ledger.PARTLY
