import math

import pytest

import rnnlib


def test_theorem_parameters_follow_their_formulas():
    L, m, eps = 10, 512, 0.1
    rho = 100 * L * math.log(m)
    assert rnnlib.rho(L, 1, m) == pytest.approx(rho)
    assert rnnlib.theory_output_scale(eps, L, m) == pytest.approx(eps / (10 * L * rho))
    assert rnnlib.theory_step_size(eps, L, m) == pytest.approx(1 / (eps * rho ** 2 * m))
    # paper.md 2.5: lambda ~ eps / 620,000 at L=10, d=1, m=512
    assert 5.5e5 < eps / rnnlib.theory_output_scale(eps, L, m) < 7e5


def test_iterations_in_log10_for_a_polynomial_target():
    L, m, eps = 4, 256, 0.1
    log_c = rnnlib.log10_complexity_eps("z^2", math.sqrt(L), eps)
    expected = 2 * log_c + math.log10(rnnlib.rho(L, 1, m)) + 2
    assert rnnlib.log10_theory_iterations(eps, L, m, phi="z^2") == pytest.approx(expected)
    assert rnnlib.theory_iterations(eps, L, m, phi="z^2") == pytest.approx(10 ** expected, rel=1e-9)
    with pytest.raises(OverflowError):
        rnnlib.theory_iterations(eps, L, m, phi="exp")
