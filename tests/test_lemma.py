"""The indicator-to-function lemma in one dimension (paper.md 5.4, E4)."""
import math

import numpy as np
import pytest

from rnnlib import fit_power_law
from rnnlib.lemma import (fit_indicator, hermite, noisy_threshold_factors, noise_robustness,
                          shared_sup_errors, sup_error_vs_neurons, threshold_factors)


def test_threshold_factors_match_monte_carlo():
    # c_j(b) = E[He_j(g) 1{g >= -b}] for g ~ N(0, 1)
    g = np.random.default_rng(0).standard_normal(2_000_000)
    for b in (-1.0, 0.3, 1.5):
        mc = (hermite(4, g) * (g >= -b)).mean(axis=1)
        np.testing.assert_allclose(threshold_factors(4, np.array(b)), mc, atol=6e-3)


def test_noisy_factors_match_monte_carlo():
    rng = np.random.default_rng(1)
    g, n = rng.standard_normal((2, 2_000_000))
    mc = (hermite(3, g) * (g + 0.7 * n >= -0.4)).mean(axis=1)
    np.testing.assert_allclose(noisy_threshold_factors(3, np.array(0.4), 0.7), mc, atol=6e-3)


@pytest.mark.parametrize("phi", ["z^2", "sin(3z)", "exp(z)-1"])
def test_infinite_width_average_reproduces_phi(phi):
    fit = fit_indicator(phi, degree=14, reg=1e-9)
    assert fit.bias_error() < 2e-3


def test_expectation_matches_large_monte_carlo():
    # the analytic average E[H 1{...}] is what a large random layer actually computes
    fit = fit_indicator("z^3", degree=6)
    u = np.linspace(-1, 1, 41)
    est = fit.estimate(u, 400_000, seed=3)
    assert np.abs(est - fit.expectation(u)).max() < 6 * math.sqrt(fit.second_moment / 400_000)


def test_fit_improves_with_m_like_one_over_sqrt_m():
    fit = fit_indicator("sin(3z)", degree=12)
    Ms = [1_000, 10_000, 100_000]
    err = np.median(sup_error_vs_neurons(fit, Ms, n_draws=3, n_grid=101, seed=0), axis=1)
    assert err[0] > err[1] > err[2]
    assert -0.7 < fit_power_law(Ms, err)[0] < -0.3


def test_noise_hurts_and_a_noise_aware_fit_recovers():
    clean = fit_indicator("z^2", degree=6)
    aware = fit_indicator("z^2", degree=6, noise_std=0.5)
    e_clean = np.median(noise_robustness(clean, [0.0, 0.5], M=100_000, n_draws=2, n_grid=81), axis=1)
    e_aware = np.median(noise_robustness(aware, [0.5], M=100_000, n_draws=2, n_grid=81), axis=1)
    assert e_clean[1] > 2 * e_clean[0]
    assert e_aware[0] < 0.5 * e_clean[1]
    assert aware.second_moment > clean.second_moment  # robustness is paid for in the size of H


def test_bias_scale_changes_h_not_the_average():
    a = fit_indicator("z", degree=3, bias_scale=1.0)
    b = fit_indicator("z", degree=3, bias_scale=4.0)
    u = np.linspace(-1, 1, 11)
    np.testing.assert_allclose(a.expectation(u), b.expectation(u), atol=1e-4)
    assert b.second_moment > a.second_moment  # fewer neurons sit near their threshold


def test_bad_input():
    with pytest.raises(ValueError, match="phi|function"):
        fit_indicator("not-a-function")
    with pytest.raises(ValueError, match="u_range"):
        fit_indicator("z", u_range=(0.5, -0.5))
    with pytest.raises(ValueError, match="bias_scale"):
        fit_indicator("z", bias_scale=0.0)
    with pytest.raises(TypeError, match="degree"):
        fit_indicator("z", degree=2.5)
    fit = fit_indicator("z", degree=2)
    with pytest.raises(ValueError, match="u must"):
        fit.estimate(np.array([0.0, 1.5]), 10)
    with pytest.raises(ValueError, match="noise_kind"):
        fit.estimate(np.array([0.0]), 10, noise=0.1, noise_kind="uniform")
    with pytest.raises(ValueError, match="M"):
        fit.estimate(np.array([0.0]), 0)


def test_shared_draws_give_the_values_of_one_fit_at_a_time():
    # the noise study draws neurons and noise once for every fit and tau: each value must be the
    # one sup_error_vs_neurons gives for that fit and tau alone, bit for bit
    plain, aware = fit_indicator("sin(3z)", degree=8), fit_indicator("sin(3z)", degree=8, noise_std=0.5)
    taus = [0.0, 0.5, 1.0]
    shared = shared_sup_errors([[plain, aware]] * 3, taus, M=3000, n_draws=2, n_grid=41, seed=4)
    assert shared.shape == (3, 2, 2)
    for t, tau in enumerate(taus):
        for k, fit in enumerate((plain, aware)):
            alone = sup_error_vs_neurons(fit, [3000], n_draws=2, n_grid=41, seed=4, noise=tau)[0]
            assert np.array_equal(shared[t, k], alone), (tau, k)
    for kind in ("gaussian", "shift"):   # and noise_robustness, which now goes through it
        alone = [sup_error_vs_neurons(plain, [3000], n_draws=2, n_grid=41, seed=4, noise=tau, noise_kind=kind)[0]
                 for tau in taus]
        assert np.array_equal(noise_robustness(plain, taus, M=3000, n_draws=2, n_grid=41, seed=4, noise_kind=kind),
                              np.array(alone))
    # the estimate goes through the same kernel: it equals the plain loop over blocks of neurons
    u, nr = np.linspace(-1, 1, 7), plain.sample_neurons(500, 3)
    rng, total = np.random.default_rng([3, 1]), np.zeros(7)
    for s in range(0, 500, 64):
        pre = nr["alpha"][s:s + 64, None] * u + nr["beta"][s:s + 64, None] * np.sqrt(1 - u ** 2) + nr["b0"][s:s + 64, None]
        total += (nr["H"][s:s + 64, None] * (pre + 0.3 * rng.standard_normal(pre.shape) >= 0)).sum(axis=0)
    assert np.array_equal(plain.estimate(u, 500, seed=3, noise=0.3, chunk=64), total / 500)


def test_shared_sup_errors_refuses_mismatched_fits():
    a, b = fit_indicator("z", degree=2), fit_indicator("z", degree=2, bias_scale=2.0)
    with pytest.raises(ValueError, match="bias_scale"):
        shared_sup_errors([[a, b]], [0.0], M=10, n_draws=1)
    with pytest.raises(ValueError, match="one list"):
        shared_sup_errors([[a], [a, a]], [0.0, 0.1], M=10, n_draws=1)
    with pytest.raises(ValueError, match="one list"):
        shared_sup_errors([[a]], [0.0, 0.1], M=10, n_draws=1)
    with pytest.raises(ValueError, match="noise"):
        shared_sup_errors([[a]], [-0.1], M=10, n_draws=1)


def test_kinds_keep_their_old_import_path():
    import rnnlib.lemma as lemma
    import rnnlib.lemma_kinds as kinds
    assert lemma.LemmaRateConfig is kinds.LemmaRateConfig and lemma.LemmaNoiseResult is kinds.LemmaNoiseResult
    with pytest.raises(AttributeError, match="no_such_name"):
        lemma.no_such_name  # noqa: B018
