"""rnnlib.stats: growth-law fits, N* with its edge rule, standardized error, bootstrap."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import rnnlib
from rnnlib import stats
from rnnlib.training import standardized_mse


def test_power_law_fit_recovers_exponent_and_standard_error():
    L = np.array([5.0, 10.0, 20.0, 40.0])
    exact = stats.fit_power_law(L, 7.0 * L ** 1.6)
    assert exact.exponent == pytest.approx(1.6) and exact.prefactor == pytest.approx(7.0)
    assert exact.exponent_se == pytest.approx(0.0, abs=1e-9) and exact.n_points == 4
    y = 7.0 * L ** 1.6 * 10 ** np.random.default_rng(0).normal(0, 0.05, size=4)
    fit = stats.fit_power_law(L, y)
    # the OLS standard error agrees with numpy's covariance of the slope
    coef, cov = np.polyfit(np.log10(L), np.log10(y), 1, cov="unscaled")
    resid = np.log10(y) - np.polyval(coef, np.log10(L))
    assert fit.exponent == pytest.approx(coef[0])
    assert fit.exponent_se == pytest.approx(math.sqrt(cov[0, 0] * (resid @ resid) / 2))
    assert fit.residual_rms == pytest.approx(math.sqrt(np.mean(resid ** 2)))
    # NaN and inf (N* outside its grid) are left out; two points give no standard error
    two = stats.fit_power_law([5, 10, 20, 40], [10.0, np.nan, 40.0, np.inf])
    assert two.exponent == pytest.approx(1.0) and math.isnan(two.exponent_se) and two.n_points == 2
    with pytest.raises(ValueError, match="at least two"):
        stats.fit_power_law([5, 10], [np.nan, 3.0])


def test_lazy_tuple_form_is_the_same_fit():
    x = np.array([64, 128, 256, 512.0])
    y = 3.0 * x ** -0.5 * np.exp(np.random.default_rng(1).normal(0, 0.05, x.size))
    slope, c, se = rnnlib.fit_power_law(x, y)
    fit = stats.fit_power_law(x, y)
    assert (slope, c, se) == pytest.approx((fit.exponent, fit.prefactor, fit.exponent_se), rel=1e-12)


def test_exponential_fit():
    L = np.array([5.0, 10.0, 20.0, 40.0])
    fit = stats.fit_exponential(L, 3.0 * 10 ** (0.45 * L))
    assert fit.rate == pytest.approx(0.45) and fit.prefactor == pytest.approx(3.0)
    assert np.allclose(fit(L), 3.0 * 10 ** (0.45 * L))
    # a power law is curved on semi-log axes: the exponential fit leaves residuals
    assert stats.fit_exponential(L, L ** 2).residual_rms > 0.1


def test_samples_needed_inside_the_grid_is_log_log():
    n = np.array([100.0, 1000.0, 10000.0])
    # a power-law curve e = 9 N^-0.5 is reproduced exactly between grid points
    e = 9.0 * n ** -0.5
    for target in (0.5, 0.2, 0.15):
        assert stats.samples_needed(n, e, target) == pytest.approx((9.0 / target) ** 2)
    assert stats.samples_needed([100, 1000], [0.8, 0.2], 0.4) == pytest.approx(100 * 10 ** 0.5)
    # a grid point that hits the target exactly is N*
    assert stats.samples_needed(n, [0.9, 0.5, 0.3], 0.5) == pytest.approx(1000.0)
    # the first crossing counts, even if the noisy curve comes back up; NaN entries are skipped
    assert stats.samples_needed(n, [0.9, 0.5, 0.6], 0.55) < 1000
    assert stats.samples_needed([100, 300, 1000], [0.9, np.nan, 0.3], 0.6) == pytest.approx(
        100 * 10 ** (math.log(0.9 / 0.6) / math.log(0.9 / 0.3)))


def test_samples_needed_edges_are_never_extrapolated():
    n = [100, 300, 1000]
    below = stats.samples_needed(n, [0.4, 0.3, 0.2], 0.5)      # reached at N_min already
    never = stats.samples_needed(n, [0.9, 0.8, 0.7], 0.5)      # never reached
    assert math.isnan(below) and never == math.inf
    assert math.isnan(stats.samples_needed(n, [np.nan] * 3, 0.5))
    # the first *finite* point is the grid's start
    assert math.isnan(stats.samples_needed(n, [np.nan, 0.3, 0.2], 0.5))
    assert stats.n_star_bounds(n, [0.4, 0.3, 0.2], 0.5) == (0.0, 100.0)
    assert stats.n_star_bounds(n, [0.9, 0.8, 0.7], 0.5) == (1000.0, math.inf)
    lo, hi = stats.n_star_bounds(n, [0.9, 0.4, 0.2], 0.5)
    assert 100 < lo == hi < 300
    assert stats.format_n_star(below, n) == "<= 100"
    assert stats.format_n_star(never, n) == "> 1,000"
    assert stats.format_n_star(1234.4, n) == "1,234"
    assert stats.format_n_star(never, n, words=True) == "more than 1,000"
    assert stats.format_n_star(below, n, words=True) == "at most 100"


def test_samples_needed_bad_input():
    with pytest.raises(ValueError, match="increasing"):
        stats.samples_needed([300, 100], [0.9, 0.3], 0.5)
    with pytest.raises(ValueError, match="shape"):
        stats.samples_needed([100, 300], [0.9], 0.5)
    with pytest.raises(ValueError, match="target must be > 0"):
        stats.samples_needed([100, 300], [0.9, 0.3], -1.0)
    with pytest.raises(ValueError, match="errors must be positive"):
        stats.samples_needed([100, 300], [0.9, 0.0], 0.5)


def test_standardized_error_matches_the_trainer():
    rng = np.random.default_rng(0)
    y = rng.normal(size=(50, 3, 2))
    pred = y + rng.normal(scale=0.5, size=y.shape)
    got = stats.standardized_error(pred, y)
    ref = standardized_mse(torch.as_tensor(pred)[None], torch.as_tensor(y)[None])[0]
    assert got == pytest.approx(ref, rel=1e-12)
    # predicting the mean scores 1, the truth 0
    assert stats.standardized_error(np.broadcast_to(y.mean(axis=0), y.shape), y) == pytest.approx(1.0)
    assert stats.standardized_error(y, y) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        stats.standardized_error(pred[:, :1], y)


def test_bootstrap_resamples_seeds_per_group():
    rng = np.random.default_rng(0)
    values = rng.normal(size=(3, 4, 6)) + np.arange(3)[:, None, None]
    boot = stats.bootstrap(values, lambda v: float(v.mean()), n_boot=500, seed=2)
    assert boot.shape == (500,) and np.isfinite(boot).all()
    assert boot.mean() == pytest.approx(values.mean(), abs=0.05)
    assert np.array_equal(boot, stats.bootstrap(values, lambda v: float(v.mean()), n_boot=500, seed=2))
    # one seed per group: every resample is the data itself
    one = stats.bootstrap(values[..., :1], lambda v: float(v.sum()), n_boot=5)
    assert np.allclose(one, values[..., :1].sum())
    # a statistic that cannot be computed on a resample gives NaN, not an error

    def fails(v):
        raise ValueError("too few points")

    assert np.isnan(stats.bootstrap(values, fails, n_boot=3)).all()
    with pytest.raises(ValueError, match="2-d"):
        stats.bootstrap(np.ones(4), np.mean)
    with pytest.raises(TypeError, match="callable"):
        stats.bootstrap(values, "mean")
