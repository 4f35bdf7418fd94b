import math

import numpy as np
import pytest

import rnnlib
from rnnlib.headline import (METHODS, HeadlineDesign, HeadlinePoint, PointResult, headline_base,
                             make_headline_dataset, run_design, run_point)
from rnnlib.headline_stats import (THRESHOLDS, comparison_verdict, excess_rate, growth_verdict, method_curves,
                                   n_star_summary)


def _tiny(**kw):
    base = dict(length=4, n_train=40, n_test=60, width=16, epochs=2)
    base.update(kw)
    return headline_base(**base)


def test_dataset_matches_make_dataset_with_the_default_concept():
    cfg = rnnlib.ExperimentConfig(length=4, n_train=20, n_test=30, width=8, include_current=False, phi="z^2")
    a = rnnlib.make_dataset(cfg)
    b = make_headline_dataset(cfg, direction="sphere", center=False)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    np.testing.assert_array_equal(a.y_test, b.y_test)
    c = make_headline_dataset(cfg)
    np.testing.assert_array_equal(c.concept.w[..., -1], 0.0)
    np.testing.assert_array_equal(a.x_test, c.x_test)


def test_sgd_w_matches_run_experiment_on_the_same_data():
    # with the default concept the headline's SGD is run_experiment's (same init, order, averaging)
    cfg = rnnlib.ExperimentConfig(length=4, n_train=40, n_test=50, width=16, epochs=3, average=0.5,
                                  lr_scale=2.0, include_current=False, phi="z^2")
    ref = rnnlib.run_experiment(cfg)
    got = run_point(HeadlinePoint(cfg, "sgd_w", direction="sphere", center=False))
    assert got.test_mse == pytest.approx(ref.test_mse, rel=1e-4)
    assert got.train_mse == pytest.approx(ref.train_mse, rel=1e-4)


@pytest.mark.parametrize("method", METHODS)
def test_every_method_runs_and_is_deterministic(method):
    p = HeadlinePoint(_tiny(), method)
    a, b = run_point(p), run_point(p)
    assert math.isfinite(a.test_mse) and a.test_mse == b.test_mse
    assert a.noise_floor == 0.0 and a.info["cpu_seconds"] >= 0
    assert PointResult.from_dict(a.to_dict()).test_mse == a.test_mse


def test_linear_ridge_cannot_fit_the_headline_target():
    res = run_point(HeadlinePoint(_tiny(length=5, n_train=2000, n_test=1000, phi="z^2"), "linear_ridge"))
    assert res.test_mse > 0.97
    sphere = run_point(HeadlinePoint(_tiny(length=5, n_train=2000, n_test=1000, phi="z^2"), "linear_ridge",
                                     direction="sphere", center=False))
    assert sphere.test_mse < 0.93  # z^2 of sphere directions: about 40 % linear


def test_noise_floor_is_measured():
    res = run_point(HeadlinePoint(_tiny(noise_std=0.5), "linear_ridge"))
    assert 0.3 < res.noise_floor < 1.0


def test_design_points_grid_and_ntk_limit():
    d = HeadlineDesign(_tiny(), lengths=(3, 5), n_grid=(10, 30), seeds=(0, 1), widths={3: 8, 5: 16},
                       steps_at_10=20, methods=("sgd_w", "ntk_ridge"), ntk_max=100)
    assert d.replace(n_min={5: 30}).skipped()[-2:] == [("ntk_ridge", 5, 10), ("ntk_ridge", 5, 30)]
    pts = d.points()
    assert {p.config.width for p in pts if p.config.length == 5} == {16}
    assert ("ntk_ridge", 5, 30) in d.skipped() and ("ntk_ridge", 3, 30) not in d.skipped()
    assert len(pts) == 2 * 2 * 2 + (2 + 1) * 2
    assert all(p.config.epochs * math.ceil(p.config.n_train / 32) >= 20 for p in pts)
    with pytest.raises(ValueError, match="widths"):
        HeadlineDesign(_tiny(), lengths=(3, 5), n_grid=(10,), seeds=(0,), widths={3: 8})
    with pytest.raises(ValueError, match="n_grid"):
        HeadlineDesign(_tiny(), lengths=(3,), n_grid=(30, 10), seeds=(0,), widths={3: 8})
    with pytest.raises(ValueError, match="method"):
        HeadlinePoint(_tiny(), "adam")


def test_a_method_stops_at_a_length_and_says_so():
    d = HeadlineDesign(_tiny(), lengths=(3, 5), n_grid=(10, 30), seeds=(0,), widths={3: 8, 5: 8},
                       steps_at_10=20, methods=("sgd_w", "sgd_wa"), stops={"sgd_wa": 3})
    assert {(p.method, p.config.length) for p in d.points()} == {("sgd_w", 3), ("sgd_w", 5), ("sgd_wa", 3)}
    assert d.skipped() == [("sgd_wa", 5, 10), ("sgd_wa", 5, 30)]
    with pytest.raises(ValueError, match="stops"):
        d.replace(stops={"adam": 3})


def _fake(method, errors, lengths=(5, 10, 20), ns=(10, 100, 1000, 10000), seeds=(0, 1, 2)):
    out = []
    for L in lengths:
        for N in ns:
            for s in seeds:
                cfg = _tiny(length=L, n_train=N, seed=s)
                out.append(PointResult(HeadlinePoint(cfg, method), 0.0, float(errors(L, N, s)), 0.0, 0.0))
    return out


def test_n_star_summary_recovers_a_power_law():
    # a power law in N (as the log-log interpolation assumes), 0.5 at N = 10 L^2: N* = 10 L^2 exactly
    res = _fake("sgd_w", lambda L, N, s: min(1.0, 0.5 * (N / (10 * L ** 2)) ** -0.3) * (1 + 0.01 * (s - 1)))
    summ = n_star_summary(res, "sgd_w", 0.5, n_boot=200)
    np.testing.assert_allclose(summ.n_star, 10.0 * np.array([5, 10, 20]) ** 2, rtol=1e-9)
    assert summ.exponent == pytest.approx(2.0, abs=0.05)
    assert summ.exponent_low <= summ.exponent <= summ.exponent_high
    assert np.all(summ.low <= summ.n_star) and np.all(summ.n_star <= summ.high)
    assert summ.status == ("inside",) * 3
    assert summ.power_rms < 0.02 < summ.exp_rms and summ.verdict == "power law"


def test_n_star_status_and_comparison():
    sgd = n_star_summary(_fake("sgd_w", lambda L, N, s: min(1.0, (N / L ** 2) ** -0.5)), "sgd_w", 0.5, n_boot=50)
    flat = n_star_summary(_fake("linear_ridge", lambda L, N, s: 0.99), "linear_ridge", 0.5, n_boot=50)
    fast = n_star_summary(_fake("random_features", lambda L, N, s: min(1.0, (N / L) ** -0.5)), "random_features",
                          0.5, n_boot=50)
    assert flat.status == ("above grid",) * 3 and np.isnan(flat.n_star).all()
    assert comparison_verdict(sgd, flat, 10) == "not reached in the grid"
    assert comparison_verdict(sgd, fast, 20) == "fewer samples"
    assert comparison_verdict(fast, sgd, 20) == "more samples"
    assert comparison_verdict(sgd, sgd, 10) == "about the same"


def test_growth_verdict_thresholds():
    r = THRESHOLDS["fit_ratio"]
    assert growth_verdict(0.1, 0.1 * r, 4) == "power law"
    assert growth_verdict(0.1 * r, 0.1, 4) == "exponential"
    assert growth_verdict(0.1, 0.11, 4) == "undecided"
    assert growth_verdict(0.01, 1.0, THRESHOLDS["min_lengths"] - 1) == "undecided"


def test_excess_rate_slope():
    n = np.array([100, 300, 1000, 3000])
    fit = excess_rate(n, 2.0 * n ** -0.5)
    assert fit.slope == pytest.approx(-0.5, abs=1e-9) and fit.n_points == 4


def test_method_curves_shape_and_errors():
    res = _fake("sgd_w", lambda L, N, s: 0.5)
    c = method_curves(res, "sgd_w")
    assert c.values.shape == (3, 4, 3)
    with pytest.raises(ValueError, match="no run"):
        method_curves(res, "ntk_ridge")
    with pytest.raises(ValueError, match="metric"):
        method_curves(res, "sgd_w", metric="loss")


def test_run_design_serial_runs_in_order():
    d = HeadlineDesign(_tiny(), lengths=(3,), n_grid=(20, 40), seeds=(0,), widths={3: 8}, steps_at_10=4,
                       methods=("linear_ridge",))
    res = run_design(d)
    assert [r.point.config.n_train for r in res] == [20, 40]
    with pytest.raises(TypeError, match="points"):
        run_design([1])


def test_work_and_rate():
    from rnnlib.headline import point_work, seconds_per_work
    d = HeadlineDesign(_tiny(), lengths=(3, 6), n_grid=(32, 64), seeds=(0,), widths={3: 8, 6: 16}, steps_at_10=10,
                       methods=("sgd_w", "linear_ridge", "ntk_ridge"))
    w = d.work()
    assert w["linear_ridge"] == 0.0 and w["sgd_w"] > 0 and w["ntk_ridge"] > 0
    p = d.points(methods=("sgd_w",))[-1]  # L = 6, N = 64, 10 steps of 32 on width 16
    assert point_work(p) == 10 * 32 * 6 * 16 ** 2
    res = PointResult(p, 0.0, 0.5, 0.0, 1.0, {"cpu_seconds": 2.0})
    assert seconds_per_work([res])["sgd_w"] == pytest.approx(2.0 / point_work(p))


def test_headline_design_profiles():
    from rnnlib.headline import headline_design
    full, fast = headline_design(False), headline_design(True)
    assert full.lengths == (5, 10, 20, 40, 80) and len(full.seeds) >= 3
    assert fast.base.n_test < full.base.n_test and max(fast.n_grid) < max(full.n_grid)
    assert all(p.config.include_current is False and p.direction == "orthogonal_to_constant" for p in full.points())
    assert {N for (m, L, N) in full.skipped() if m == "sgd_w"} == {100, 300, 1000, 3000}
    # SGD on W and A stops one length short of the longest, in both profiles (the same structure)
    assert ("sgd_wa", 80, 10000) in full.skipped() and ("sgd_wa", 40, 10000) not in full.skipped()
    assert fast.stops["sgd_wa"] == fast.lengths[-2] and full.stops["sgd_wa"] == full.lengths[-2]
    with pytest.raises(TypeError, match="fast"):
        headline_design("yes")


def test_headline_summary_rows():
    from rnnlib.headline_stats import headline_summary, n_star_rows
    res = (_fake("sgd_w", lambda L, N, s: min(1.0, 0.5 * (N / (10 * L ** 2)) ** -0.3))
           + _fake("linear_ridge", lambda L, N, s: 1.0))
    summ = headline_summary(res, (0.5, 0.7), n_boot=20)
    assert set(summ) == {"sgd_w", "linear_ridge"} and set(summ["sgd_w"]) == {0.5, 0.7}
    rows = n_star_rows(summ)
    assert len(rows) == 4 and all(len(r) == len(rows[0]) for r in rows)
    lin = [r for r in rows if r[0] == "linear_ridge"][0]
    assert lin[2:5] == ["above grid"] * 3 and "not reached in the grid" in lin[-1]


def test_point_is_an_engine_kind_and_round_trips_through_the_cache(tmp_path):
    from rnnlib.engine import is_cached, kind_key, run_many
    pts = [HeadlinePoint(_tiny(), "linear_ridge"), HeadlinePoint(_tiny(epochs=1), "sgd_w")]
    assert HeadlinePoint.kind == "headline" and HeadlinePoint.result_type is PointResult
    assert is_cached(pts, tmp_path) == [False, False]
    first = run_many(pts, cache_dir=tmp_path, progress=False)
    assert is_cached(pts, tmp_path) == [True, True]
    again = run_many(pts, cache_dir=tmp_path, progress=False)
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
    assert all(isinstance(r, PointResult) and r.point == p for r, p in zip(again, pts))
    # the concept options are part of the key
    other = HeadlinePoint(_tiny(), "linear_ridge", direction="sphere", center=False)
    assert kind_key(other) != kind_key(pts[0])


def test_point_result_from_dict_refuses_damaged_entries():
    info = {"n_steps": 3, "optimizer": "sgd"}
    good = PointResult(HeadlinePoint(_tiny(), "sgd_w"), 0.1, 0.5, 0.0, 1.0, info).to_dict()
    assert PointResult.from_dict(good).info["optimizer"] == "sgd"
    for field, value, err in (("test_mse", float("nan"), ValueError), ("train_mse", -0.5, ValueError),
                              ("seconds", "1", TypeError), ("noise_floor", True, TypeError)):
        with pytest.raises(err, match=field):
            PointResult.from_dict({**good, field: value})
    with pytest.raises(ValueError, match="lacks"):
        PointResult.from_dict({k: v for k, v in good.items() if k != "test_mse"})
    with pytest.raises(ValueError, match="info"):
        PointResult.from_dict({**good, "info": {"lr": float("inf")}})


def test_experiment_config_direction_and_center_fields():
    base = rnnlib.ExperimentConfig()
    assert "direction" not in base.to_dict() and "center" not in base.to_dict()  # old cache keys unchanged
    cfg = base.replace(direction="orthogonal_to_constant", center=True)
    assert cfg.to_dict()["direction"] == "orthogonal_to_constant" and cfg.to_dict()["center"] is True
    assert rnnlib.ExperimentConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="direction"):
        base.replace(direction="cube")
    with pytest.raises(TypeError, match="direction"):
        base.replace(direction=1)
    with pytest.raises(TypeError, match="center"):
        base.replace(center=1)
    small = cfg.replace(length=4, n_train=20, n_test=30, width=8, phi="z^2", include_current=False)
    np.testing.assert_array_equal(rnnlib.make_dataset(small).concept.w[..., -1], 0.0)


def test_headline_contrasts_and_tasks_design():
    from rnnlib import tasks
    from rnnlib.headline import NOISE_STD, headline_contrasts
    d = tasks.headline_design(True)
    c = headline_contrasts(d)
    assert set(c) == {"current", "sin3z", "noise", "all"}
    assert all(p.config.include_current for p in c["current"].points())
    assert {p.method for p in c["sin3z"].points()} == {"sgd_w", "linear_ridge"}
    assert all(p.direction == "sphere" and not p.center for p in c["sin3z"].points())
    assert all(p.config.noise_std == NOISE_STD for p in c["noise"].points())
    assert all(p.config.labels == "all" for p in c["all"].points())
    with pytest.raises(TypeError, match="design"):
        headline_contrasts(d.base)


def test_points_and_tunings_give_the_pool_their_cost():
    from rnnlib.headline import HeadlinePoint
    from rnnlib.headline_probes import StepTuning
    short = HeadlinePoint(rnnlib.ExperimentConfig(length=5, width=128, n_train=1000))
    long = HeadlinePoint(rnnlib.ExperimentConfig(length=80, width=128, n_train=1000))
    assert long.estimated_cost() == 16 * short.estimated_cost() > 0
    assert HeadlinePoint(short.config, "linear_ridge").estimated_cost() == 0.0
    tune = StepTuning(short.experiment, (1.0, 2.0, 4.0))
    assert tune.estimated_cost() == 3 * short.experiment.estimated_cost() > 0
