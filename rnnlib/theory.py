"""The parameters Theorem 1 prescribes (chapters 4 and 8; Allen-Zhu & Li (2019), Theorem 1, recalled).

    rho    = 100 L d log m
    lambda = eps / (10 L rho)                 (output scale)
    eta    = Theta(1 / (eps rho^2 m))         (step size; the constant is taken as 1)
    T      = Theta(p^2 C^2 poly(rho) / eps^2) (iterations; C = C_eps(Phi, sqrt(L)))

These are recalled from the paper as restated by Panigrahi & Goyal; the hidden
constants and the power of ``rho`` in ``poly(rho)`` are not known, so ``T`` takes the
power as a parameter (default 1, a lower bound).  The numbers are astronomically
conservative: the book computes them to show why the experiments use
:func:`rnnlib.training.practical_step_size` instead.
"""
from __future__ import annotations

import math

from ._checks import check_float, check_int
from .smooth import C_STAR, log10_complexity_eps

__all__ = ["rho", "theory_output_scale", "theory_step_size", "log10_theory_iterations",
           "theory_iterations"]


def _check(eps, length, output_dim, width):
    eps = check_float("eps", eps, positive=True, below=1.0)
    length = check_int("length", length, minimum=1)
    output_dim = check_int("output_dim", output_dim, minimum=1)
    width = check_int("width", width, minimum=2)
    return eps, length, output_dim, width


def rho(length: int, output_dim: int, width: int) -> float:
    """``rho = 100 L d log m`` (natural log)."""
    _, length, output_dim, width = _check(0.5, length, output_dim, width)
    return 100.0 * length * output_dim * math.log(width)


def theory_output_scale(eps: float, length: int, width: int, output_dim: int = 1) -> float:
    """``lambda = eps / (10 L rho)``."""
    eps, length, output_dim, width = _check(eps, length, output_dim, width)
    return eps / (10.0 * length * rho(length, output_dim, width))


def theory_step_size(eps: float, length: int, width: int, output_dim: int = 1) -> float:
    """``eta = 1 / (eps rho^2 m)`` (the Theta constant taken as 1)."""
    eps, length, output_dim, width = _check(eps, length, output_dim, width)
    return 1.0 / (eps * rho(length, output_dim, width) ** 2 * width)


def log10_theory_iterations(eps: float, length: int, width: int, *, hidden: int = 1, output_dim: int = 1,
                            phi="sin(3z)", c_star: float = C_STAR, rho_power: float = 1.0,
                            log10_c: float | None = None) -> float:
    """``log10 T`` with ``T = p^2 C^2 rho^rho_power / eps^2`` and ``C = C_eps(phi, sqrt(L))``.

    ``log10_c``: ``log10 C_eps(phi, sqrt(L))`` when the caller has already computed it (it costs a
    series of up to millions of terms); ``None`` computes it."""
    eps, length, output_dim, width = _check(eps, length, output_dim, width)
    hidden = check_int("hidden", hidden, minimum=1)
    rho_power = check_float("rho_power", rho_power, nonnegative=True)
    if log10_c is None:
        log_c = log10_complexity_eps(phi, math.sqrt(length), eps, c_star)
    else:
        log_c = float(log10_c)
    return (2 * math.log10(hidden) + 2 * log_c + rho_power * math.log10(rho(length, output_dim, width))
            - 2 * math.log10(eps))


def theory_iterations(eps: float, length: int, width: int, **kwargs) -> float:
    """``T`` itself; raises ``OverflowError`` when it exceeds float range (use the log10 variant)."""
    value = log10_theory_iterations(eps, length, width, **kwargs)
    if value > 308:
        raise OverflowError(f"theory_iterations = 10^{value:.1f} overflows float64; "
                            "use log10_theory_iterations")
    return 10.0 ** value
