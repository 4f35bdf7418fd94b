"""Tests of the ledger: rnnlib.ledger (claims), rnnlib.ledger_rules (verdicts with intervals),
rnnlib.ledger_measures / ledger_reads (measurements) and rnnlib.ledger_view (tables)."""
import math

import numpy as np
import pytest

import rnnlib
from rnnlib import ledger, ledger_rules, ledger_view
from rnnlib.tasks import steps_for_length, with_step_budget
from rnnlib.ledger_measures import across_seeds, wilson_interval
from rnnlib.studies import initialization

T = ledger.THRESHOLDS


def _comparison(verdicts, lengths=(4, 6)):
    k = len(verdicts)
    return {"method": "linear_ridge", "label": "linear ridge", "target": 0.85, "lengths": list(lengths)[:k],
            "verdicts": list(verdicts), "sgd": [150.0] * k, "sgd_low": [100.0] * k, "sgd_high": [200.0] * k,
            "other": [math.nan] * k, "other_low": [math.nan] * k, "other_high": [math.nan] * k,
            "status": ["above grid"] * k, "sgd_status": ["inside"] * k}


def _fake_measured(**over):
    """Measured dicts of the shape each rule reads, every row on its good side."""
    pseudo = {"relative_error": 0.05, "relative_error_low": 0.04, "relative_error_high": 0.06, "width": 256,
              "length": 10, "n_seeds": 3}
    m = {
        "length": {"target": 0.85, "lengths": [5, 10, 20], "n_star": [100.0, 200.0, 400.0], "low": [80.0, 150.0, 300.0],
                   "high": [120.0, 250.0, 500.0], "status": ["inside"] * 3, "n_inside": 3, "exponent": 1.0,
                   "exponent_low": 0.8, "exponent_high": 1.2, "power_rms": 0.01, "exp_rms": 0.1,
                   "growth": "power law", "min_lengths": 3},
        "width": {"widths": np.array([64.0, 128.0]), "error": np.array([0.5, 0.45]), "error_low": np.array([0.49, 0.44]),
                  "error_high": np.array([0.51, 0.46]), "n_train": 100, "length": 5, "ratio": 0.9},
        "pseudo": pseudo,
        "lazy": {**pseudo, "pattern_flips": 0.01, "pattern_flips_low": 0.008, "pattern_flips_high": 0.012,
                 "relative_move": 0.02},
        "forward": {"log10_growth": 0.1, "growth_low": 0.0, "growth_high": 0.2, "log10_norm_product": 9.0,
                    "median_max_norm": 1.0, "length": 20, "width": 128},
        "forward_long": {"widths": [256, 1024], "length": 200, "n_seeds": 12, "drift": [0.0, 0.0],
                         "drift_low": [0.0, 0.0], "drift_high": [0.02, 0.02]},
        "coherence": {"ratio": 1.5, "ratio_low": 1.4, "ratio_high": 1.6, "coherence": 0.07, "inv_sqrt_m": 0.044,
                      "width": 512},
        "interference": {"ratio": np.array([0.2, 0.1]), "ratio_low": np.array([0.18, 0.08]),
                         "ratio_high": np.array([0.22, 0.12]), "widths": np.array([64.0, 256.0]), "length": 8},
        "normalization": {"norm_deviation": 0.0, "flips_small": 0.1, "flips_large": 0.3, "eps_small": 0.3,
                          "eps_large": 1.0, "ratio": 3.0, "ratio_low": 2.8, "ratio_high": 3.2},
        "linear_ridge": _comparison(["not reached in the grid", "more samples"]),
        "ntk_ridge": _comparison(["about the same", "about the same"]),
        "random_features": _comparison(["fewer samples", "undetermined"]),
        "two_layer": {"max_diff": 0.0, "future_change": 0.0, "hidden": 3},
        "additive": {"mixed": 0.0, "single": 0.2},
        "theory_scales": ledger.measure_theory_scales(10, 256),
    }
    m.update(over)
    return m


def _verdicts(measured):
    return {r.claim.key: r.verdict for r in ledger.evaluate(measured)}


def test_every_row_on_its_good_side():
    v = _verdicts(_fake_measured())
    for key in ("length", "width", "pseudo", "lazy", "forward", "forward_long", "coherence", "interference",
                "normalization"):
        assert v[key] == ledger.SUPPORTED, key
    assert v["linear_ridge"] == ledger.SEPARATION and v["ntk_ridge"] == ledger.NO_SEPARATION
    assert v["random_features"] == ledger.BASELINE_BETTER
    assert {v[k] for k in ("two_layer", "additive", "theory_scales")} == {ledger.BY_CONSTRUCTION}


# -- every threshold: an interval just below it, just above it, and one that contains it ------------------

def _at(t, where):
    """(value, low, high) just below ``t``, just above it, or with an interval that contains it."""
    return {"below": (0.97 * t, 0.96 * t, 0.99 * t), "above": (1.03 * t, 1.01 * t, 1.04 * t),
            "within": (0.99 * t, 0.95 * t, 1.05 * t)}[where]


def _pseudo(v, lo, hi):
    p = {**_fake_measured()["pseudo"], "relative_error": v, "relative_error_low": lo, "relative_error_high": hi}
    return {"pseudo": p, "lazy": {**_fake_measured()["lazy"], **p}}


def _width(v, lo, hi):
    return {"width": {**_fake_measured()["width"], "error": np.array([1.0, v]), "error_low": np.array([1.0, lo]),
                      "error_high": np.array([1.0, hi])}}


def _flips(v, lo, hi):
    return {"lazy": {**_fake_measured()["lazy"], "pattern_flips": v, "pattern_flips_low": lo,
                     "pattern_flips_high": hi}}


def _growth(v, lo, hi):
    return {"forward": {**_fake_measured()["forward"], "log10_growth": v, "growth_low": lo, "growth_high": hi}}


def _drift(v, lo, hi):
    return {"forward_long": {**_fake_measured()["forward_long"], "drift": [0.5, v], "drift_low": [0.3, lo],
                             "drift_high": [0.7, hi]}}


def _coherence(v, lo, hi):
    return {"coherence": {**_fake_measured()["coherence"], "ratio": v, "ratio_low": lo, "ratio_high": hi}}


def _interference(v, lo, hi):
    return {"interference": {**_fake_measured()["interference"], "ratio": np.array([0.9, v]),
                             "ratio_low": np.array([0.8, lo]), "ratio_high": np.array([1.0, hi])}}


def _flip_ratio(v, lo, hi):
    return {"normalization": {**_fake_measured()["normalization"], "ratio": v, "ratio_low": lo, "ratio_high": hi}}


S, P, B, N, F = (ledger.SUPPORTED, ledger.PARTLY, ledger.BORDERLINE, ledger.NOT_OBSERVABLE, ledger.FAILS_AT_SCALE)
CASES = [  # row, builder, threshold, verdict below / within / above
    ("pseudo", _pseudo, "pseudo_error_supported", (S, B, P)),
    ("pseudo", _pseudo, "pseudo_error_partly", (P, B, N)),
    ("lazy", _pseudo, "pseudo_error_supported", (S, B, P)),
    ("lazy", _pseudo, "pseudo_error_partly", (P, B, N)),
    ("lazy", _flips, "lazy_flips_supported", (S, B, P)),
    ("lazy", _flips, "lazy_flips_partly", (P, B, N)),
    ("width", _width, "width_degradation_max", (S, B, P)),
    ("width", _width, "width_degradation_partly", (P, B, F)),
    ("forward", _growth, "hidden_growth_log10_max", (S, B, F)),
    ("forward_long", _drift, "drift_fraction_max", (S, B, F)),
    ("coherence", _coherence, "coherence_supported", (S, B, P)),
    ("coherence", _coherence, "coherence_partly", (P, B, N)),
    ("interference", _interference, "interference_ratio_max", (S, B, N)),
    ("normalization", _flip_ratio, "flip_ratio_min", (P, B, S)),
]


@pytest.mark.parametrize("row, build, threshold, expected", CASES,
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_verdict_just_below_within_and_just_above_each_threshold(row, build, threshold, expected):
    got = tuple(_verdicts(_fake_measured(**build(*_at(T[threshold], where))))[row]
                for where in ("below", "within", "above"))
    assert got == expected


def test_forward_needs_an_exploding_norm_product():
    low = {**_fake_measured()["forward"], "log10_norm_product": 0.97 * T["norm_product_log10_min"]}
    assert _verdicts(_fake_measured(forward=low))["forward"] == ledger.NOT_OBSERVABLE


def test_interference_that_does_not_shrink_with_m_is_partly():
    flat = {**_fake_measured()["interference"], "ratio_low": np.array([0.05, 0.08]), "ratio_high": np.array([0.1, 0.12])}
    assert _verdicts(_fake_measured(interference=flat))["interference"] == ledger.PARTLY


def test_the_lazy_row_is_never_better_than_the_pseudo_row():
    rank = [S, B, P, N]
    for e in (0.05, 0.1, 0.3, 0.5, 0.8):
        for f in (0.01, 0.02, 0.05, 0.1, 0.2):
            both = _pseudo(e, 0.9 * e, 1.1 * e)
            both["lazy"].update(pattern_flips=f, pattern_flips_low=0.9 * f, pattern_flips_high=1.1 * f)
            v = _verdicts(_fake_measured(**both))
            assert rank.index(v["lazy"]) >= rank.index(v["pseudo"]), (e, f, v)


def test_construction_rows_just_below_and_above_round_off():
    tol = T["exact_tol"]
    assert _verdicts(_fake_measured(two_layer={"max_diff": 0.5 * tol, "future_change": 0.0, "hidden": 3}))[
        "two_layer"] == ledger.BY_CONSTRUCTION
    assert _verdicts(_fake_measured(two_layer={"max_diff": 2 * tol, "future_change": 0.0, "hidden": 3}))[
        "two_layer"] == ledger.CONSTRUCTION_FAILS
    assert _verdicts(_fake_measured(additive={"mixed": 2 * tol, "single": 0.2}))["additive"] == ledger.CONSTRUCTION_FAILS
    gap = T["theory_gap_log10_min"]
    th = {**_fake_measured()["theory_scales"], "log10_lambda_gap": 1.01 * gap, "log10_eta_gap": 1.01 * gap}
    assert _verdicts(_fake_measured(theory_scales=th))["theory_scales"] == ledger.BY_CONSTRUCTION
    th = {**th, "log10_eta_gap": 0.99 * gap}
    assert _verdicts(_fake_measured(theory_scales=th))["theory_scales"] == ledger.PARTLY
    dev = {**_fake_measured()["normalization"], "norm_deviation": 2 * tol}
    assert _verdicts(_fake_measured(normalization=dev))["normalization"] == ledger.CONSTRUCTION_FAILS


def test_length_rule_reads_chapter_5s_verdict_and_minimum():
    base = _fake_measured()["length"]
    few = {**base, "n_inside": base["min_lengths"] - 1}
    assert _verdicts(_fake_measured(length=few))["length"] == ledger.NOT_TESTABLE
    for growth, verdict in (("power law", S), ("exponential", ledger.CONTRADICTED), ("undecided", ledger.UNDECIDED)):
        assert _verdicts(_fake_measured(length={**base, "growth": growth}))["length"] == verdict


def test_comparison_rule():
    def v(*verdicts):
        return _verdicts(_fake_measured(linear_ridge=_comparison(verdicts)))["linear_ridge"]
    assert v("undetermined", "undetermined") == ledger.UNDECIDED
    assert v("about the same", "undetermined") == ledger.NO_SEPARATION
    assert v("about the same", "more samples") == ledger.UNDECIDED
    assert v("not reached in the grid", "undetermined") == ledger.SEPARATION


def test_tally_leaves_out_construction_rows():
    rows = ledger.evaluate(_fake_measured())
    tally = ledger.tally(rows)
    assert ledger.BY_CONSTRUCTION not in tally
    assert sum(tally.values()) == len(rows) - sum(r.claim.kind == "construction" for r in rows)
    assert tally[ledger.SUPPORTED] == 9
    with pytest.raises(TypeError, match="Row"):
        ledger.tally(["x"])


def test_against_and_bad_input():
    assert ledger_rules.against(0.1, 0.2, 0.3) == "below" and ledger_rules.against(0.4, 0.5, 0.3) == "above"
    assert ledger_rules.against(0.2, 0.4, 0.3) == "within" and ledger_rules.against(0.3, 0.3, 0.3) == "within"
    with pytest.raises(ValueError, match="low must not exceed high"):
        ledger_rules.against(0.5, 0.4, 0.3)
    with pytest.raises(ValueError, match="low must be a number"):
        ledger_rules.against(math.nan, 0.4, 0.3)
    with pytest.raises(ValueError, match="measured lacks"):
        ledger.evaluate({})
    with pytest.raises(TypeError, match="measured must be a dict"):
        ledger.evaluate([1])


def test_every_threshold_has_a_reason_and_every_verdict_a_tone():
    assert set(T) == set(ledger.THRESHOLD_REASONS)
    assert set(ledger.VERDICTS) == set(ledger.TONES)
    for c in ledger.CLAIMS:
        assert c.kind in ledger.KINDS and set(c.thresholds) <= set(T)


# -- measurements -------------------------------------------------------------------------------------

def test_wilson_interval_and_across_seeds():
    lo, hi = wilson_interval(4, 12)
    assert 0.1 < lo < 4 / 12 < hi < 0.6
    assert wilson_interval(0, 12)[0] == 0.0 < wilson_interval(0, 12)[1]
    with pytest.raises(ValueError, match="k must be at most"):
        wilson_interval(13, 12)
    out = across_seeds([{"a": 1.0, "w": 8}, {"a": 3.0, "w": 8}])
    assert out == {"n_seeds": 2, "a": 2.0, "a_low": 1.0, "a_high": 3.0, "w": 8, "w_low": 8.0, "w_high": 8.0}
    with pytest.raises(TypeError):
        across_seeds([])


def test_forward_stability_counts_drift_as_chapter_3():
    out = ledger.measure_forward_stability(64, 60, seeds=4, n=4)
    ch3 = initialization.forward_study([64], 60, range(4), n=4).numbers()
    assert out["drift"] * 100 == pytest.approx(ch3["ch3-drifting-64"])
    assert out["drift_low"] <= out["drift"] <= out["drift_high"] and out["n_seeds"] == 4
    assert out["growth_low"] <= out["log10_growth"] <= out["growth_high"]
    assert out["log10_norm_product"] > 3


def test_two_layer_class_matches_definition():
    out = ledger.measure_two_layer_class(length=5, hidden=2, n=16)
    assert out["max_diff"] < 1e-12 and out["future_change"] < 1e-12


def test_additivity_has_no_interaction_but_tokens_matter():
    out = ledger.measure_additivity(length=5, n=16)
    assert out["mixed"] < 1e-12 < 0.01 < out["single"]


def test_coherence_near_inverse_sqrt_width_across_seeds():
    out = ledger.measure_coherence(128, 6, n=4, seeds=2)
    assert 0 < out["coherence"] < 10 / math.sqrt(128) and out["n_seeds"] == 2
    assert out["ratio"] == pytest.approx(out["coherence"] * math.sqrt(128))
    assert out["ratio_low"] <= out["ratio"] <= out["ratio_high"]
    assert ledger.measure_coherence(128, 6, n=4)["n_seeds"] == 1


def test_normalization_interval():
    out = ledger.measure_normalization(64, 6, n=12, n_boot=200)
    assert out["norm_deviation"] < 1e-12 and out["flips_large"] > out["flips_small"] > 0
    assert out["ratio"] == pytest.approx(out["flips_large"] / out["flips_small"])
    assert out["ratio_low"] <= out["ratio"] <= out["ratio_high"]


def test_theory_scales_far_below_practical():
    out = ledger.measure_theory_scales(10, 256)
    assert out["lambda_theory"] == pytest.approx(rnnlib.theory_output_scale(0.1, 10, 256))
    assert out["eta_practical"] == pytest.approx(rnnlib.ExperimentConfig(lr_scale=2.0).step_size)
    assert out["log10_eta_gap"] > 2 and out["log10_lambda_gap"] > 2


def test_interference_measure():
    cfg = rnnlib.ExperimentConfig(length=6, labels="all", n_train=120, n_test=100, epochs=10, lr_scale=0.3)
    res = [rnnlib.interference(cfg.replace(width=m, seed=s), (3, 5)) for m in (32, 128) for s in (0, 1)]
    out = ledger.measure_interference(res)
    assert out["ratio"].shape == (2,) and np.all(out["ratio"] > 0) and np.all(out["moved_at_target"] > 0)
    assert out["ratio"][0] == pytest.approx((res[0].ratio + res[1].ratio) / 2)
    assert out["ratio_low"][0] == min(res[0].ratio, res[1].ratio) and out["ratio_high"][1] == max(res[2].ratio,
                                                                                                  res[3].ratio)
    assert out["pair"] == (3, 5) and out["length"] == 6
    with pytest.raises(ValueError, match="widths"):
        ledger.measure_interference(res[:2])
    with pytest.raises(TypeError, match="InterferenceResult"):
        ledger.measure_interference([cfg])


def test_width_and_pseudo_measures_read_results():
    cfgs = [with_step_budget(ledger.LEDGER_BASE.replace(length=4, width=m, n_train=40, seed=s, n_test=40),
                             steps_for_length(4, 20)) for m in (16, 32) for s in (0, 1)]
    extra = cfgs[0].replace(n_train=80)                       # an N trained at one width only
    runs = [rnnlib.run_experiment(c) for c in cfgs + [extra]]
    out = ledger.measure_width_dependence(runs)
    assert out["n_train"] == 40 and list(out["widths"]) == [16.0, 32.0]
    assert out["error"][0] == pytest.approx(np.mean([runs[0].test_mse, runs[1].test_mse]))
    assert out["error_low"][0] == min(runs[0].test_mse, runs[1].test_mse)
    assert out["error_high"][1] == max(runs[2].test_mse, runs[3].test_mse)
    assert out["ratio"] == pytest.approx(out["error"][1] / out["error"][0])
    assert _verdicts(_fake_measured(width=out))["width"] in ledger.VERDICTS   # the rule reads this dict
    with pytest.raises(ValueError, match="every width"):
        ledger.measure_width_dependence(runs, n_train=80)
    with pytest.raises(TypeError, match="sweep the design"):
        ledger.measure_width_dependence(cfgs)
    tracker = rnnlib.PseudoNetworkTracker.for_config(cfgs[0], n_probe=16)
    res = rnnlib.run_experiment(cfgs[0], callback=tracker)
    pseudo = ledger.measure_pseudo_network(res, tracker)
    assert pseudo["relative_error"] == tracker.relative_error[-1]
    lazy = ledger.measure_lazy(across_seeds([pseudo, pseudo]))
    assert lazy["relative_error"] == pseudo["relative_error"] and lazy["pattern_flips_low"] == pseudo["pattern_flips"]


# -- the view -----------------------------------------------------------------------------------------

def test_compact_html_table():
    rows = ledger.evaluate(_fake_measured())
    text = ledger_view.ledger_html(rows)
    assert text.count('<tr class="ledger-row"') == len(ledger.CLAIMS) and text.count("<th>") == 5
    assert text.count("<details>") == len(rows)
    assert "ledger-badge ledger-good" in text and "ledger-badge ledger-construction" in text
    assert 'html[data-theme="dark"] .ledger-good' in text
    assert '<a href="05_generalization.html">' in text and "&lt;" not in ledger_view.link_html("[a](b.html)")
    assert f"pseudo_error_supported = {T['pseudo_error_supported']:g}" in text
    lists = ledger_view.thresholds_html()
    assert all(f"<code>{k}</code>" in lists for k in T)
    md = ledger_view.ledger_markdown(rows)
    assert md.count("\n") == len(ledger.CLAIMS) + 1 and "**supported**" in md
    with pytest.raises(TypeError, match="Row"):
        ledger_view.ledger_html(["x"])


def test_calculator_values():
    c = ledger_view.theory_calculator("sin(3z)", 0.1, 10, 1, 256)
    assert c["rho"] == pytest.approx(100 * 10 * math.log(256))
    assert c["eta"] == pytest.approx(1 / (0.1 * c["rho"] ** 2 * 256))
    assert c["log10_C_s"] <= c["log10_C_eps"]
    assert "sin(3z)" in ledger_view.theory_table_markdown([c])
    assert ledger_view.theory_table_html([c]).count("<tr>") == 2
    with pytest.raises(ValueError, match="eps"):
        ledger_view.theory_calculator(eps=2.0)


def _width_point(width, n, seed, test_mse, length=5, method="sgd_w"):
    from rnnlib.headline import HeadlinePoint, PointResult
    cfg = rnnlib.ExperimentConfig(length=length, width=width, n_train=n, seed=seed)
    return PointResult(HeadlinePoint(cfg, method), 0.0, test_mse, 0.0, 1.0)


def test_width_row_reads_chapter_5s_width_study():
    from rnnlib.ledger_reads import measure_headline_width
    runs = [_width_point(m, n, s, e + 0.01 * s) for m, e in ((32, 0.5), (128, 0.4)) for n in (100, 1000)
            for s in range(3)]
    runs += [_width_point(32, 10000, 0, 0.1), _width_point(128, 1000, 0, 0.9, method="linear_ridge"),
             _width_point(128, 1000, 0, 0.9, length=10)]
    m = measure_headline_width(runs)
    # N = 10000 is not run at every width; ridge and the other length are not read
    assert m["length"] == 5 and m["n_train"] == 1000 and m["n_seeds"] == 3
    assert list(m["widths"]) == [32, 128]
    assert np.allclose(m["error"], [0.51, 0.41]) and np.allclose(m["error_low"], [0.5, 0.4])
    assert np.allclose(m["error_high"], [0.52, 0.42]) and m["ratio"] == pytest.approx(0.41 / 0.51)
    assert ledger.CLAIMS[[c.key for c in ledger.CLAIMS].index("width")].verdict(m)[0] == ledger.SUPPORTED
    with pytest.raises(ValueError, match="two or more widths"):
        measure_headline_width(runs, length=10)
