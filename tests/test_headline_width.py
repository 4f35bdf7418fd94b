"""Chapter 5's width study, the choice of SGD's step constant by validation, and the per-token errors."""
import math

import numpy as np
import pytest

from rnnlib.engine import is_cached, run_many
from rnnlib.experiment import initial_model, make_dataset, run_experiment
from rnnlib.headline import HeadlineDesign, HeadlinePoint, PointResult, headline_base, run_point
from rnnlib.headline_probes import C_GRID, StepTuning, TuningResult, token_errors, token_positions, validation_error
from rnnlib.headline_stats import jackknife_se, token_profile
from rnnlib.headline_width import WIDTH_THRESHOLDS, width_summary, width_verdict


def _tiny(**kw):
    return headline_base(**{**dict(length=5, n_train=200, n_test=200, width=16, epochs=2, eps_x=1.0), **kw})


def test_token_errors_are_zero_for_the_concept_and_one_for_a_blind_model():
    cfg = HeadlinePoint(_tiny(length=6), "sgd_w").experiment
    data = make_dataset(cfg)
    model = initial_model(cfg)
    assert token_positions(cfg) == [2, 3, 4, 5] and token_positions(cfg.replace(include_current=True))[-1] == 6
    model.B.zero_()  # a constant output ignores every token: error 1 on each term
    np.testing.assert_allclose(token_errors(cfg, model, data, n_probe=100), 1.0)
    e, scale = token_errors(cfg, model, data, n_probe=100, with_scale=True)
    assert scale.shape == (4,) and np.all(scale > 0)
    trained = run_experiment(cfg.replace(epochs=20), keep_model=True).model
    e = token_errors(cfg, trained, data, n_probe=100)
    assert e.shape == (4,) and np.all(np.isfinite(e)) and np.all(e >= 0)
    np.testing.assert_array_equal(e, token_errors(cfg, trained, data, n_probe=100))  # seeded
    with pytest.raises(TypeError, match="cfg"):
        token_errors(None, trained, data)


def test_sgd_points_carry_token_errors_and_round_trip():
    r = run_point(HeadlinePoint(_tiny(), "sgd_w"))
    assert len(r.token_mse) == len(r.token_scale) == 3 and all(math.isfinite(v) for v in r.token_mse)
    back = PointResult.from_dict(r.to_dict())
    assert back.token_mse == r.token_mse and back.token_scale == r.token_scale
    with pytest.raises(ValueError, match="token_scale"):
        PointResult.from_dict({**r.to_dict(), "token_scale": [1.0]})
    old = {k: v for k, v in r.to_dict().items() if k not in ("token_mse", "token_scale")}  # still reads
    assert PointResult.from_dict(old).token_mse == ()
    with pytest.raises(ValueError, match="token_mse"):
        PointResult.from_dict({**r.to_dict(), "token_mse": [float("nan")]})
    assert run_point(HeadlinePoint(_tiny(), "linear_ridge")).token_mse == ()


def test_validation_error_uses_a_held_out_fifth_and_diverging_runs_score_infinity():
    cfg = HeadlinePoint(_tiny(), "sgd_w").experiment
    e = validation_error(cfg)
    assert 0 < e < 2 and e == validation_error(cfg)
    assert validation_error(cfg.replace(lr_scale=1e6)) == math.inf


def test_step_tuning_is_a_cached_kind(tmp_path):
    t = StepTuning(HeadlinePoint(_tiny(), "sgd_w").experiment, (1.0, 4.0, 1e6))
    assert StepTuning.kind == "step_tuning" and StepTuning.result_type is TuningResult
    (r,) = run_many([t], cache_dir=tmp_path, progress=False)
    assert r.errors[-1] == math.inf and r.chosen == t.grid[int(np.argmin(r.errors))] and r.chosen != 1e6
    assert is_cached([t], tmp_path) == [True]
    (again,) = run_many([t], cache_dir=tmp_path, progress=False)
    assert again.to_dict() == r.to_dict()
    with pytest.raises(ValueError, match="chosen"):
        TuningResult.from_dict({**r.to_dict(), "chosen": 3.0})
    with pytest.raises(ValueError, match="grid"):
        StepTuning(t.config, (1.0, -2.0))
    assert C_GRID[1] == 2.0  # the book's c is in the grid


def _design(**kw):
    return HeadlineDesign(_tiny(), lengths=(4, 6, 8), n_grid=(50, 100), seeds=(0, 1, 2), widths={4: 16, 6: 16, 8: 16},
                          steps_at_10=20, methods=("sgd_w", "sgd_wa", "linear_ridge"), **kw)


def test_design_tuning_and_width_points():
    d = _design(tune_grid=(1.0, 2.0), tune_lengths=(4, 6), width_grid=(8, 16), width_lengths=(4,))
    tune = d.tuning_points()
    assert len(tune) == 2 * 2 * 2 and {t.config.trained for t in tune} == {"W", "WA"}
    assert {t.config.n_train for t in tune} == {50, 100} and {t.config.lr_scale for t in tune} == {2.0}
    fake = [TuningResult(t, (0.5, 0.4), 2.0 if t.config.length == 4 else 1.0 if t.config.n_train == 50 else 2.0,
                         0.0) for t in tune]
    tuned = d.with_tuning(fake)
    assert tuned.lr_scale("sgd_w", 4, 50) == 2.0 and tuned.lr_scale("sgd_w", 8, 50) == 1.0  # L = 8 takes L = 6's
    assert tuned.lr_scale("sgd_w", 8, 100) == 2.0 and tuned.lr_scale("sgd_w", 6, 30) == 1.0  # N < grid: smallest
    assert tuned.lr_scale("sgd_w", 6, 1000) == 2.0 and tuned.lr_scale("sgd_w", 3, 50) == d.base.lr_scale
    assert {p.config.lr_scale for p in tuned.points(("sgd_w",)) if p.config.length == 8} == {1.0, 2.0}
    assert {p.config.lr_scale for p in tuned.points(("linear_ridge",))} == {2.0}
    assert [t.to_dict() for t in tuned.tuning_points()] == [t.to_dict() for t in tune]  # same cache keys
    wide = d.width_points()
    assert len(wide) == 2 * 2 * 3 and {p.config.width for p in wide} == {8, 16}
    w = d.work()
    assert w["tuning"] > 0 and 0 < w["width"] < sum(p.config.width ** 2 for p in wide) * 1e9
    with pytest.raises(ValueError, match="width_lengths"):
        _design(width_grid=(8,), width_lengths=(5,))
    with pytest.raises(ValueError, match="grid"):
        _design(tune_grid=(0.0,))


def _fake(errors, widths=(32, 64, 128, 512), ns=(100, 300, 1000, 3000, 10000), seeds=(0, 1, 2)):
    out = []
    for m in widths:
        for N in ns:
            for s in seeds:
                cfg = headline_base(length=5, width=m, n_train=N, seed=s)
                out.append(PointResult(HeadlinePoint(cfg, "sgd_w"), 0.0, errors(m, N, s), 0.0, 0.0))
    return out


def test_width_summary_recovers_the_slope_and_verdicts():
    # N* ~ m^b: error = (N / (100 m^b))^-0.5 reaches 0.5 at N* = 400 m^b
    def curve(b):
        return lambda m, N, s: (N / (100 * m ** b)) ** -0.5 * (1 + 0.01 * (s - 1))
    flat = width_summary(_fake(curve(0.0)), (0.5,), n_boot=50)
    assert flat.length == 5 and flat.errors.shape == (4, 5) and flat.n_seeds.min() == 3
    np.testing.assert_allclose(flat.n_star[0.5], 400, rtol=0.05)
    assert abs(flat.slope[0.5][0]) < 0.05 and flat.verdict[0.5] == "stays"
    rising = width_summary(_fake(curve(0.5)), (0.5,), n_boot=50)
    assert rising.slope[0.5][0] == pytest.approx(0.5, abs=0.05) and rising.verdict[0.5] == "rises"
    d = rising.to_dict()
    assert set(d) >= {"widths", "n_values", "errors", "sems", "n_star", "n_star_interval", "verdict"}
    assert len(d["n_star_interval"][0.5]) == 4 and all(lo <= hi for lo, hi in d["n_star_interval"][0.5])
    none = width_summary(_fake(lambda m, N, s: 1.0), (0.5,), n_boot=10)
    assert none.status[0.5] == ("above grid",) * 4 and none.verdict[0.5] == "undecided"
    with pytest.raises(ValueError, match="method"):
        width_summary(_fake(curve(0.0)), (0.5,), method="sgd_wa")


def test_width_verdict_thresholds():
    t = WIDTH_THRESHOLDS["slope"]
    assert width_verdict(0.0, -t / 2, t / 2, 4) == "stays"
    assert width_verdict(1.0, t * 1.1, 2.0, 4) == "rises"
    assert width_verdict(-1.0, -2.0, -t * 1.1, 4) == "falls"
    assert width_verdict(0.3, 0.0, 0.6, 4) == "borderline"
    assert width_verdict(0.0, -0.1, 0.1, WIDTH_THRESHOLDS["min_widths"] - 1) == "undecided"


def test_token_profile_pools_seeds_as_a_ratio_of_sums():
    res = []
    for s, (err, scale) in enumerate((((1.0, 0.5, 0.2), (1.0, 1.0, 1.0)), ((3.0, 0.5, 0.2), (1.0, 1.0, 1.0)),
                                      ((1000.0, 0.5, 0.2), (1e-6, 1.0, 1.0)))):  # seed 2: a tiny term at i = 2
        cfg = headline_base(length=5, n_train=100, seed=s)
        res.append(PointResult(HeadlinePoint(cfg, "sgd_w"), 0.0, 0.5, 0.0, 0.0, {}, err, scale))
    p = token_profile(res, "sgd_w", 5, 100)
    np.testing.assert_array_equal(p.positions, [2, 3, 4])
    np.testing.assert_allclose(p.mean, [(4.0 + 1e-3) / (2 + 1e-6), 0.5, 0.2])  # the tiny term hardly counts
    assert p.sem[1] == pytest.approx(0.0) and p.sem[0] > 0
    loo, both = p.pooled([0, 1])
    assert both == pytest.approx((4.0 + 1e-3 + 1.5) / (5 + 1e-6)) and loo.shape == (3,)
    assert math.isnan(jackknife_se([1.0])) and jackknife_se([1.0, 1.0, 1.0]) == 0.0
    with pytest.raises(ValueError, match="per-token"):
        token_profile(res, "sgd_w", 5, 300)


def test_a_diverging_sgd_point_trains_again_with_half_the_step_constant():
    # width 16, L = 5: c = 32 diverges, c = 16 does not (so 64 runs after two halvings; 1e6 never runs)
    cfg = _tiny(epochs=5, lr_scale=64.0)
    r = run_point(HeadlinePoint(cfg, "sgd_w"))
    assert r.info["halved"] == 2 and math.isfinite(r.test_mse)
    assert r.point.config.lr_scale == 64.0  # the cache key keeps the chosen c
    ref = run_point(HeadlinePoint(cfg.replace(lr_scale=16.0), "sgd_w"))
    assert ref.info["halved"] == 0 and ref.test_mse == r.test_mse
    with pytest.raises(ValueError, match="diverged"):
        run_point(HeadlinePoint(cfg.replace(lr_scale=1e6), "sgd_w"))
