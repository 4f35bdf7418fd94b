"""Targets outside the additive class (E10)."""
import math

import numpy as np
import pytest

import rnnlib
from rnnlib.outside import (ExactlyOneConcept, NonAdditiveConcept, ParityConcept, make_target, run_outside,
                            samples_needed)


def test_targets_have_the_advertised_statistics():
    xs = rnnlib.sample_tokens(20_000, 10, 8, seed=0)
    one = ExactlyOneConcept(10, 8, seed=1)
    assert abs(one.bits(xs).mean() - 1 / 9) < 0.01
    assert abs(one(xs)[:, -1, 0].mean() - (8 / 9) ** 8) < 0.02
    for k in (2, 3, 5):
        par = ParityConcept(10, 8, k, seed=2)
        y = par(xs)[:, -1, 0]
        assert set(np.unique(y)) == {-1.0, 1.0} and abs(y.mean()) < 0.03
        assert len(par.positions) == k
    na = NonAdditiveConcept(10, 8, "sin(3z)", seed=3)
    assert na(xs).shape == (20_000, 10, 1) and np.all(na(xs)[:, :-1] == 0)


def test_parity_is_invisible_to_each_token_alone():
    xs = rnnlib.sample_tokens(20_000, 6, 8, seed=0)
    par = ParityConcept(6, 8, 2, seed=0)
    y = par(xs)[:, -1, 0]
    for p in par.positions:  # correlation with any single token's sign is ~ 0
        s = np.sign(xs[:, p] @ par.v[list(par.positions).index(p)])
        assert abs(np.mean(s * y)) < 0.03


def test_additive_target_in_ensemble_equals_run_experiment():
    cfg = rnnlib.ExperimentConfig(length=5, width=32, n_train=100, n_test=60, epochs=2)
    res = run_outside(cfg, ["parity-2", "additive"])
    assert [r.target for r in res] == ["parity-2", "additive"]
    assert res[1].test_mse == pytest.approx(rnnlib.run_experiment(cfg).test_mse, rel=1e-5)


def test_samples_needed():
    # the book's one rule (rnnlib.stats): log-log inside the grid, NaN for N* <= N_min, inf for N* > N_max
    from rnnlib import stats

    assert samples_needed is stats.samples_needed
    assert samples_needed([100, 1000], [0.8, 0.2], 0.4) == pytest.approx(100 * 10 ** 0.5)
    assert math.isnan(samples_needed([100, 1000], [0.3, 0.2], 0.4))
    assert samples_needed([100, 1000], [0.9, 0.8], 0.4) == float("inf")


def test_bad_input():
    cfg = rnnlib.ExperimentConfig(length=5, width=16, n_train=20, n_test=10, epochs=1)
    with pytest.raises(ValueError, match="name"):
        make_target("xor", cfg)
    with pytest.raises(ValueError, match="k"):
        ParityConcept(5, 8, 5)
    with pytest.raises(ValueError, match="labels"):
        run_outside(cfg.replace(labels="all"))
    with pytest.raises(ValueError, match="x_star"):
        ExactlyOneConcept(5, 8)(rnnlib.sample_tokens(3, 6, 8))
    with pytest.raises(ValueError, match="increasing"):
        samples_needed([1000, 100], [0.5, 0.4], 0.3)


def test_measure_outside_and_averaging():
    from rnnlib.outside import measure_outside
    cfg = rnnlib.ExperimentConfig(length=6, width=32, n_train=100, n_test=60, epochs=2, average=0.5)
    res = rnnlib.sweep([cfg], cache_dir=False, measure=measure_outside, progress=False)[0]
    assert set(res.extras) == set(rnnlib.OUTSIDE_TARGETS)
    # the additive target trained inside the ensemble equals run_experiment, averaging included
    solo = run_outside(cfg, ["additive"])[0]
    assert solo.test_mse == pytest.approx(res.test_mse, rel=1e-5)


def test_targets_follow_the_configs_direction():
    """On chapter 5's headline task (directions orthogonal to the constant coordinate, centred) the
    additive target of run_outside is the task's own concept and the non-additive one has no
    component along the constant coordinate."""
    cfg = rnnlib.ExperimentConfig(length=5, width=16, n_train=40, n_test=30, phi="z^2", include_current=False,
                                  direction="orthogonal_to_constant", center=True, epochs=1)
    data = rnnlib.make_dataset(cfg)
    additive = make_target("additive", cfg)
    np.testing.assert_allclose(additive(data.x_star_test), data.concept(data.x_star_test))
    na = make_target("non-additive", cfg)
    assert np.all(na.w[:, -1] == 0) and np.allclose(np.linalg.norm(na.w, axis=1), 1)
    assert not np.all(make_target("non-additive", cfg.replace(direction="sphere")).w[:, -1] == 0)
    with pytest.raises(ValueError, match="direction"):
        NonAdditiveConcept(5, 8, "z^2", direction="diagonal")
