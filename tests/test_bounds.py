"""Tests of rnnlib.bounds: closed forms, agreement with direct computation, no overflow, bad input."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
import torch

import rnnlib
from rnnlib import bounds


@pytest.fixture(scope="module")
def net():
    return rnnlib.ElmanRNN(9, 64, seed=3)


def _exact_log10_lambda(beta: float, L: int) -> float:
    """log10 of sum_{t=1}^{L} t beta^(t-1) in exact rational arithmetic."""
    b = Fraction(beta)  # the float's exact binary value
    total = sum(t * b ** (t - 1) for t in range(1, L + 1))
    # math.log10 takes arbitrarily large Python integers without overflow
    return math.log10(total.numerator) - math.log10(total.denominator)


# -- Tu et al.'s Lambda ----------------------------------------------------------------------

@pytest.mark.parametrize("L", [1, 2, 3, 10, 100, 1000])
def test_tu_lambda_at_beta_one_is_L_plus_L2_over_2(L):
    assert bounds.log10_tu_lambda(1.0, L) == pytest.approx(math.log10((L + L * L) / 2), abs=1e-14)


@pytest.mark.parametrize("beta", [0.0, 0.3, 0.9, 0.999, 1 - 1e-7, 1 + 1e-7, 1.0004, 1.01, 2.0, 2.83, 36.1])
@pytest.mark.parametrize("L", [1, 2, 3, 10, 57, 400])
def test_tu_lambda_closed_form_matches_finite_sum(beta, L):
    assert bounds.log10_tu_lambda(beta, L) == pytest.approx(_exact_log10_lambda(beta, L), abs=1e-11)


def test_tu_lambda_closed_form_small_cases_by_hand():
    # Lambda(beta, 2) = 1 + 2 beta and Lambda(beta, 3) = 1 + 2 beta + 3 beta^2
    for beta in (0.5, 3.0):
        assert 10 ** bounds.log10_tu_lambda(beta, 2) == pytest.approx(1 + 2 * beta, rel=1e-13)
        assert 10 ** bounds.log10_tu_lambda(beta, 3) == pytest.approx(1 + 2 * beta + 3 * beta ** 2, rel=1e-13)


def test_tu_lambda_below_one_tends_to_inverse_square():
    beta = 0.8
    assert 10 ** bounds.log10_tu_lambda(beta, 10_000) == pytest.approx(1 / (1 - beta) ** 2, rel=1e-12)


def test_tu_lambda_near_one_uses_a_stable_branch():
    # L |beta - 1| straddles the switch between the finite sum and the closed form
    L = 200  # the switch is at |beta - 1| = 1e-3 / L = 5e-6
    for delta in (1e-7, 4.99e-6, 5.01e-6, 1e-4):
        for beta in (1 - delta, 1 + delta):
            assert bounds.log10_tu_lambda(beta, L) == pytest.approx(_exact_log10_lambda(beta, L), abs=1e-11)


def test_tu_lambda_vectorized_matches_scalar():
    Ls = [1, 5, 20, 300]
    vec = bounds.log10_tu_lambda(2.5, Ls)
    assert isinstance(vec, np.ndarray) and vec.shape == (4,)
    np.testing.assert_allclose(vec, [bounds.log10_tu_lambda(2.5, L) for L in Ls], rtol=0, atol=0)


# -- agreement with direct computation ------------------------------------------------------

def test_weight_norms_match_numpy(net):
    n = bounds.weight_norms(net)
    for key, M in (("W", net.W), ("A", net.A), ("B", net.B)):
        M = M.double().numpy()
        assert getattr(n, f"spectral_{key}") == pytest.approx(np.linalg.norm(M, 2), rel=1e-10)
        # numpy's ord=1 is the largest absolute column sum: of M^T, that is Tu et al.'s ||M^T||_1
        assert getattr(n, f"one_{key}") == pytest.approx(np.linalg.norm(M.T, 1), rel=1e-12)
        # Bartlett et al.: ||X||_{2,1} is the sum of the Euclidean norms of the columns of X; X = M^T
        two_one = sum(np.linalg.norm(M.T[:, c]) for c in range(M.T.shape[1]))
        assert getattr(n, f"two_one_{key}") == pytest.approx(two_one, rel=1e-12)
    assert n.width == 64


@pytest.mark.parametrize("L", [1, 2, 7, 30])
def test_zhang_factor_matches_direct_formula(net, L):
    W, A, B = (M.double().numpy() for M in (net.W, net.A, net.B))
    direct = L ** 2 * np.linalg.norm(A, 2) * np.linalg.norm(B, 2) * max(1.0, np.linalg.norm(W, 2) ** L)
    assert bounds.log10_zhang_factor(net, L) == pytest.approx(math.log10(direct), abs=1e-10)


@pytest.mark.parametrize("L", [1, 2, 7, 30])
def test_spectral_complexity_matches_unrolled_layers(net, L):
    W, A, B = (M.double().numpy() for M in (net.W, net.A, net.B))
    layers = [A] + [W] * (L - 1) + [B]
    spectral = [np.linalg.norm(M, 2) for M in layers]
    two_one = [np.linalg.norm(M.T, axis=0).sum() for M in layers]
    direct = np.prod(spectral) * sum((t / s) ** (2 / 3) for t, s in zip(two_one, spectral)) ** 1.5
    assert bounds.log10_spectral_complexity(net, L) == pytest.approx(math.log10(direct), abs=1e-10)


@pytest.mark.parametrize("L", [1, 4, 25])
def test_tu_factor_matches_direct_formula(net, L):
    W, A, B = (M.double().numpy() for M in (net.W, net.A, net.B))
    beta_w = np.linalg.norm(W.T, 1)
    lam = sum(t * beta_w ** (t - 1) for t in range(1, L + 1))
    direct = np.linalg.norm(B.T, 1) * np.linalg.norm(A.T, 1) * lam
    assert bounds.log10_tu_factor(net, L) == pytest.approx(math.log10(direct), abs=1e-10)


def test_all_input_forms_agree(net):
    Ls = [1, 10, 50]
    ref = bounds.evaluate_bounds(net, Ls)
    norms = bounds.weight_norms(net)
    as_numpy = tuple(M.numpy() for M in (net.W, net.A, net.B))
    for form in (norms, (net.W, net.A, net.B), as_numpy, list(as_numpy)):
        other = bounds.evaluate_bounds(form, Ls)
        for key in ("zhang", "bartlett", "tu_lambda", "tu_factor"):
            np.testing.assert_allclose(other[key], ref[key], rtol=1e-12)
    assert bounds.weight_norms(*as_numpy) == norms


def test_evaluate_bounds_matches_the_single_functions(net):
    Ls = np.arange(1, 40)
    out = bounds.evaluate_bounds(net, Ls)
    assert set(out) == {"length", "zhang", "bartlett", "tu_lambda", "tu_factor", "norms"}
    assert set(bounds.BOUNDS) == {"zhang", "bartlett", "tu_lambda", "tu_factor"}
    for key in ("length", "zhang", "bartlett", "tu_lambda", "tu_factor"):
        assert out[key].shape == (39,) and out[key].dtype == np.float64
    np.testing.assert_array_equal(out["zhang"], bounds.log10_zhang_factor(net, Ls))
    np.testing.assert_array_equal(out["bartlett"], bounds.log10_spectral_complexity(net, Ls))
    np.testing.assert_array_equal(out["tu_lambda"], bounds.log10_tu_lambda(out["norms"]["one_W"], Ls))
    np.testing.assert_array_equal(out["tu_factor"], bounds.log10_tu_factor(net, Ls))
    single = bounds.evaluate_bounds(net, 5)
    assert single["zhang"].shape == (1,) and single["zhang"][0] == bounds.log10_zhang_factor(net, 5)


def test_scalar_length_gives_float(net):
    assert isinstance(bounds.log10_zhang_factor(net, 5), float)
    assert isinstance(bounds.log10_spectral_complexity(net, np.int64(5)), float)
    assert isinstance(bounds.log10_tu_factor(net, 5), float)


def test_deterministic():
    a = bounds.evaluate_bounds(rnnlib.ElmanRNN(9, 32, seed=1), [3, 30])
    b = bounds.evaluate_bounds(rnnlib.ElmanRNN(9, 32, seed=1), [3, 30])
    for key in ("zhang", "bartlett", "tu_factor"):
        np.testing.assert_array_equal(a[key], b[key])


# -- behaviour at the paper's initialization -------------------------------------------------

def test_finite_at_L_1000_although_the_numbers_overflow_float64():
    out = bounds.evaluate_bounds(rnnlib.ElmanRNN(9, 256, seed=0), [1000])
    for key in ("zhang", "bartlett", "tu_lambda", "tu_factor"):
        assert np.isfinite(out[key]).all()
        assert out[key][0] > math.log10(np.finfo(np.float64).max)  # 10**value itself would be inf


def test_monotone_in_L_when_W_norm_exceeds_one(net):
    Ls = np.arange(1, 301)
    out = bounds.evaluate_bounds(net, Ls)
    assert out["norms"]["spectral_W"] > 1 and out["norms"]["one_W"] > 1
    for key in ("zhang", "bartlett", "tu_lambda", "tu_factor"):
        assert (np.diff(out[key]) > 0).all(), key
    # exponential: the slope per step tends to log10 of the norm that is raised to the power L
    # (after removing Zhang's polynomial L^2; Lambda's own polynomial factor is ~ L, a 1/L correction)
    step = np.diff(out["zhang"]) - 2 * np.diff(np.log10(Ls))
    np.testing.assert_allclose(step, math.log10(out["norms"]["spectral_W"]), rtol=1e-12)
    assert out["tu_lambda"][-1] - out["tu_lambda"][-2] == pytest.approx(
        math.log10(out["norms"]["one_W"]), abs=2 / Ls[-1])


def test_contractive_W_makes_zhang_polynomial(net):
    W = net.W * (0.5 / float(torch.linalg.matrix_norm(net.W, ord=2)))
    Ls = np.array([1, 10, 100, 1000])
    z = bounds.log10_zhang_factor((W, net.A, net.B), Ls)
    np.testing.assert_allclose(np.diff(z), 2 * np.diff(np.log10(Ls)), rtol=1e-12)


def test_norms_at_paper_init_match_random_matrix_predictions():
    m = 256
    net = rnnlib.ElmanRNN(9, m, seed=0)
    n = bounds.weight_norms(net)
    # N(0, 2/m) entries: spectral norm -> 2 sqrt(2); mean absolute row sum = 2 sqrt(m / pi)
    assert n.spectral_W == pytest.approx(2 * math.sqrt(2), rel=0.05)
    mean_row_sum = float(net.W.abs().sum(dim=1).mean())
    assert mean_row_sum == pytest.approx(2 * math.sqrt(m / math.pi), rel=0.02)
    assert mean_row_sum < n.one_W < 1.3 * mean_row_sum


# -- bad input -----------------------------------------------------------------------------

@pytest.mark.parametrize("length, exc", [(0, ValueError), (-3, ValueError), (2.5, TypeError), (True, TypeError),
                                         ("10", TypeError), ([], ValueError), ([[1, 2]], ValueError),
                                         ([1, 0], ValueError), ([1.0, 2.0], TypeError), (None, TypeError)])
def test_bad_length(net, length, exc):
    for fn in (bounds.log10_zhang_factor, bounds.log10_spectral_complexity, bounds.log10_tu_factor,
               bounds.evaluate_bounds):
        with pytest.raises(exc, match="length"):
            fn(net, length)
    with pytest.raises(exc, match="length"):
        bounds.log10_tu_lambda(2.0, length)


@pytest.mark.parametrize("beta, exc", [(-0.1, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
                                       ("2", TypeError), (None, TypeError)])
def test_bad_beta(beta, exc):
    with pytest.raises(exc, match="beta"):
        bounds.log10_tu_lambda(beta, 10)


def test_bad_matrices(net):
    W, A, B = net.W, net.A, net.B
    with pytest.raises(ValueError, match="W must be square"):
        bounds.weight_norms(W[:, :10], A, B)
    with pytest.raises(ValueError, match="A must have 64 rows"):
        bounds.weight_norms(W, A[:10], B)
    with pytest.raises(ValueError, match="B must have 64 columns"):
        bounds.weight_norms(W, A, B[:, :10])
    with pytest.raises(ValueError, match="W must have 2 dimensions"):
        bounds.weight_norms(W[0], A, B)
    bad = W.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="W must contain only finite"):
        bounds.weight_norms(bad, A, B)
    with pytest.raises(ValueError, match="nonzero"):
        bounds.weight_norms(torch.zeros_like(W), A, B)
    with pytest.raises(TypeError, match="A and B"):
        bounds.weight_norms(W)
    with pytest.raises(TypeError, match="must not be given"):
        bounds.weight_norms(net, A, B)
    with pytest.raises(TypeError, match="net must be"):
        bounds.log10_zhang_factor("rnn", 10)
    with pytest.raises(TypeError, match="net must be"):
        bounds.evaluate_bounds((W, A), [10])
