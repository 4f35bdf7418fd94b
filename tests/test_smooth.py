import math

import numpy as np
import pytest

import rnnlib
from rnnlib.smooth import SmoothFunction, smooth_function


@pytest.mark.parametrize("name", sorted(rnnlib.SMOOTH_FUNCTIONS))
def test_taylor_series_reproduces_the_function_inside_its_radius(name):
    phi = rnnlib.SMOOTH_FUNCTIONS[name]
    z = np.linspace(-0.3, 0.3, 11) * min(1.0, phi.radius / 0.4)
    np.testing.assert_allclose(phi.taylor(z, 60), phi(z), atol=1e-9)


@pytest.mark.parametrize("q", [1, 2, 3])
@pytest.mark.parametrize("R", [0.5, 1.0, 3.0])
def test_complexity_of_monomials_matches_closed_form(q, R):
    phi = smooth_function({1: "z", 2: "z^2", 3: "z^3"}[q])
    eps = 0.05
    cs = 1e4 * (q + 1) ** 1.75 * R ** q
    ce = (1e4 * R) ** q + (math.sqrt(math.log(1 / eps)) / math.sqrt(q) * 1e4 * R) ** q
    assert rnnlib.complexity_sample(phi, R) == pytest.approx(cs, rel=1e-10)
    assert rnnlib.complexity_eps(phi, R, eps) == pytest.approx(ce, rel=1e-10)


def test_complexity_of_a_polynomial_sums_its_terms():
    # sin(z) truncated is not a polynomial, but C_s of exp at C*=1 has the closed sum
    # sum_i (i+1)^1.75 R^i / i!  -- check against direct summation
    R = 2.0
    direct = sum((i + 1) ** 1.75 * R ** i / math.factorial(i) for i in range(80))
    assert rnnlib.complexity_sample("exp", R, c_star=1.0) == pytest.approx(direct, rel=1e-10)
    # cos(z) - 1 drops the constant term
    direct_cos = sum((i + 1) ** 1.75 * R ** i / math.factorial(i) for i in range(2, 80, 2))
    assert rnnlib.complexity_sample("cos(z)-1", R, c_star=1.0) == pytest.approx(direct_cos, rel=1e-10)


def test_log10_variants_never_overflow_and_agree_where_finite():
    # R = 10: 10^43,429, far past float64's 10^308 (R = 100 gave 10^434,294 at 20 times the CPU)
    big = rnnlib.log10_complexity_eps("exp", 10.0, 0.01)
    assert math.isfinite(big) and big > 4e4  # about C* R / ln 10
    with pytest.raises(OverflowError, match="log10"):
        rnnlib.complexity_eps("exp", 10.0, 0.01)
    v = rnnlib.complexity_sample("sin(3z)", 1.0)
    assert math.log10(v) == pytest.approx(rnnlib.log10_complexity_sample("sin(3z)", 1.0))


def test_tanh_complexity_is_infinite_beyond_its_radius():
    assert math.isinf(rnnlib.log10_complexity_sample("tanh(4z)", 1.0))  # radius pi/8 < 1
    assert math.isfinite(rnnlib.log10_complexity_sample("tanh", 1.0))  # radius pi/2 > 1
    assert rnnlib.complexity_sample("tanh(4z)", 1.0) == math.inf


def test_polynomials_are_polynomial_in_R_and_entire_functions_are_not():
    # log C_s / log R slope: 3 for z^3, growing without bound for exp
    slope = lambda f, a, b: (rnnlib.log10_complexity_sample(f, b) - rnnlib.log10_complexity_sample(f, a)) / math.log10(b / a)  # noqa: E731
    assert slope("z^3", 100, 1000) == pytest.approx(3.0, abs=0.01)
    assert slope("exp", 100, 1000) > 50


def test_names_resolve_and_torch_inputs_work():
    import torch

    phi = smooth_function("sin(2.5z)")
    assert phi == SmoothFunction("sin", 2.5) and phi.name == "sin(2.5z)"
    assert smooth_function(phi.name) == phi
    assert smooth_function("cos(3z)-1")(0.0) == 0.0
    t = torch.linspace(-1, 1, 5)
    assert torch.allclose(phi(t), torch.sin(2.5 * t))


def test_a_function_beyond_float64_range_on_the_unit_interval_is_refused_with_its_estimate():
    with pytest.raises(ValueError, match=r"exp\(1000z\).*10\^434\.3"):
        smooth_function("exp(1000z)")
    with pytest.raises(ValueError, match=r"10\^600"):
        SmoothFunction("square", 1e300)
    assert smooth_function("exp(100z)").log10_sup == pytest.approx(100 / math.log(10))


def test_an_evaluation_that_overflows_is_refused_not_returned_as_inf():
    import torch

    phi = smooth_function("exp(100z)")  # e^100 ~ 2.7e43: finite in float64, inf in float32
    assert np.isfinite(phi(np.linspace(-1, 1, 5))).all()
    with pytest.raises(ValueError, match=r"exp\(100z\) overflowed.*float32"):
        phi(torch.linspace(-1, 1, 5))
    assert np.isnan(phi(np.array([np.nan]))).all()  # a NaN input is not an overflow of phi
