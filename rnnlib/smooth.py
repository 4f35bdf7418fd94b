"""Smooth functions and their complexity (chapter 2; Allen-Zhu & Li (2019), section 3, recalled).

For ``phi(z) = sum_i c_i z^i`` the paper (after Allen-Zhu, Li & Liang 2019) uses

    C_eps(phi, R) = sum_i [ (C* R)^i + (sqrt(log(1/eps)) / sqrt(i) * C* R)^i ] |c_i|
    C_s(phi, R)   = C* sum_i (i + 1)^1.75 R^i |c_i|

``C_eps`` is roughly the network size needed to express ``phi`` to accuracy
``eps``; ``C_s`` is roughly its sample complexity.  ``C*`` is a large absolute
constant (``1e4`` as in Panigrahi & Goyal).  The ``i = 0`` term is taken as
``2 |c_0|`` (both brackets equal 1); it vanishes when ``phi(0) = 0``.

All sums are carried out on log10 scales, so values far beyond the float range
are still exact to float precision in the ``log10_*`` functions.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from ._checks import check_float, check_int

__all__ = [
    "SmoothFunction", "SMOOTH_FUNCTIONS", "smooth_function", "C_STAR",
    "complexity_eps", "complexity_sample", "log10_complexity_eps", "log10_complexity_sample",
]

C_STAR = 1e4
_LOG10_MAX = math.log10(np.finfo(np.float64).max)


def _log10_factorials(n: int) -> np.ndarray:
    """log10(i!) for i = 0..n-1."""
    out = np.zeros(n)
    if n > 1:
        out[1:] = np.cumsum(np.log10(np.arange(1, n)))
    return out


def _entire_log10(kind: str, n: int) -> tuple[np.ndarray, np.ndarray]:
    """log10|c_i| and signs of the Taylor coefficients of sin, cos, exp at k = 1."""
    i = np.arange(n)
    logc = -_log10_factorials(n)
    if kind == "exp":
        sign = np.ones(n)
    elif kind == "sin":
        sign = np.where(i % 2 == 1, np.where((i // 2) % 2 == 0, 1.0, -1.0), 0.0)
    else:  # cos
        sign = np.where(i % 2 == 0, np.where((i // 2) % 2 == 0, 1.0, -1.0), 0.0)
    logc = np.where(sign == 0, -np.inf, logc)
    return logc, sign


def _tanh_log10(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Taylor coefficients of tanh from the ODE t' = 1 - t^2 (radius of convergence pi/2)."""
    t = np.zeros(max(n, 2))
    t[1] = 1.0
    for j in range(1, n - 1):
        # (j + 1) t_{j+1} = -sum_{a + b = j} t_a t_b  (j >= 1)
        t[j + 1] = -np.dot(t[: j + 1], t[j::-1]) / (j + 1)
    t = t[:n]
    with np.errstate(divide="ignore"):
        logc = np.where(t == 0, -np.inf, np.log10(np.abs(t)))
    return logc, np.sign(t)


@dataclass(frozen=True)
class SmoothFunction:
    """A smooth scalar function ``phi(z) = base(k z)`` with known Taylor coefficients.

    Attributes:
        base: one of ``identity, square, cube, sin, cos, exp, tanh``.
        k: frequency (the argument is scaled by ``k``).
        centered: subtract ``phi(0)`` so that ``phi(0) = 0`` (matters for cos and exp).
    """

    base: str
    k: float = 1.0
    centered: bool = False

    def __post_init__(self):
        if self.base not in _BASES:
            raise ValueError(f"base must be one of {sorted(_BASES)}, got {self.base!r}")
        check_float("k", self.k, positive=True)
        if self.log10_sup > _LOG10_MAX:
            raise ValueError(f"phi {self.name}: |phi(z)| reaches about 10^{self.log10_sup:.1f} on [-1, 1], "
                             f"beyond the float64 range (about 1.8e308), so its values would be inf; "
                             f"use a smaller k (got k={self.k:g})")

    # -- naming -----------------------------------------------------------------
    @property
    def name(self) -> str:
        """Canonical name, e.g. ``sin(3z)`` or ``cos(3z)-1``; accepted by :func:`smooth_function`."""
        k = "" if self.k == 1 else f"{self.k:g}"
        arg = f"{k}z"
        text = {"identity": arg, "square": f"({arg})^2", "cube": f"({arg})^3"}.get(
            self.base, f"{self.base}({arg})")
        if self.base in ("square", "cube") and not k:
            text = "z^2" if self.base == "square" else "z^3"
        if self.centered and self.offset != 0:
            text += "-1"
        return text

    def __str__(self) -> str:
        return self.name

    @property
    def offset(self) -> float:
        """``base(0)``, subtracted when ``centered``."""
        return {"cos": 1.0, "exp": 1.0}.get(self.base, 0.0)

    @property
    def degree(self) -> int | None:
        """Polynomial degree, or ``None`` for a function with infinitely many terms."""
        return {"identity": 1, "square": 2, "cube": 3}.get(self.base)

    @property
    def log10_sup(self) -> float:
        """``log10 max_{|z| <= 1} |phi(z)|`` (an upper estimate within a factor 2): ``k``, ``k^2``,
        ``k^3`` for the monomials, ``e^k`` for exp, at most 2 for sin, cos and tanh."""
        if self.degree is not None:
            return self.degree * math.log10(self.k)
        if self.base == "exp":
            return self.k * math.log10(math.e)
        return math.log10(2.0) if self.centered else 0.0

    @property
    def radius(self) -> float:
        """Radius of convergence of the Taylor series (``inf`` for entire functions)."""
        return math.pi / (2 * self.k) if self.base == "tanh" else math.inf

    # -- evaluation -------------------------------------------------------------
    def __call__(self, z):
        """Evaluate on a numpy array or torch tensor (returns the same kind)."""
        lib = torch if isinstance(z, torch.Tensor) else np
        kz = self.k * z
        fn: Callable = {
            "identity": lambda u: u, "square": lambda u: u * u, "cube": lambda u: u * u * u,
            "sin": lib.sin, "cos": lib.cos, "exp": lib.exp, "tanh": lib.tanh,
        }[self.base]
        out = fn(kz)
        out = out - self.offset if self.centered else out
        # a NaN or inf output of a finite input is an overflow (e.g. exp(100z) in float32): refuse it
        finite_in, finite_out = lib.isfinite(z), lib.isfinite(out)
        if not bool((finite_out | ~finite_in).all()):
            dtype = getattr(out, "dtype", type(out))
            raise ValueError(f"phi {self.name} overflowed to inf or NaN in {dtype} at finite inputs: "
                             f"|phi(z)| reaches about 10^{self.log10_sup:.1f} for |z| <= 1; use a smaller k "
                             f"or inputs of smaller norm")
        return out

    def log10_coefficients(self, n_terms: int) -> tuple[np.ndarray, np.ndarray]:
        """``(log10|c_i|, sign c_i)`` for ``i = 0..n_terms-1`` (``-inf`` where ``c_i = 0``)."""
        n = check_int("n_terms", n_terms, minimum=1)
        if self.degree is not None:
            logc = np.full(n, -np.inf)
            sign = np.zeros(n)
            if self.degree < n:
                logc[self.degree] = 0.0
                sign[self.degree] = 1.0
        elif self.base == "tanh":
            logc, sign = _tanh_log10(n)
        else:
            logc, sign = _entire_log10(self.base, n)
        logc = logc + np.arange(n) * math.log10(self.k)
        if self.centered and self.offset != 0:
            logc = logc.copy()
            sign = sign.copy()
            logc[0], sign[0] = -np.inf, 0.0
        return logc, sign

    def coefficients(self, n_terms: int) -> np.ndarray:
        """Taylor coefficients ``c_0..c_{n_terms-1}`` as floats (tiny ones underflow to 0)."""
        logc, sign = self.log10_coefficients(n_terms)
        with np.errstate(over="ignore"):
            return sign * np.power(10.0, logc)

    def taylor(self, z, order: int):
        """The Taylor truncation ``sum_{i <= order} c_i z^i`` evaluated at ``z`` (numpy)."""
        c = self.coefficients(check_int("order", order, minimum=0) + 1)
        return np.polynomial.polynomial.polyval(np.asarray(z, dtype=np.float64), c)

    def n_terms_for(self, scale: float) -> int:
        """Terms needed so that ``sum_i |c_i| scale^i`` has converged to float precision."""
        if self.degree is not None:
            return self.degree + 1
        x = scale * self.k
        # |c_i| x^i <= x^i / i! peaks at i ~ x and is negligible beyond ~ e^2 x.
        return int(min(math.e ** 2 * x + 60 + 10 * math.sqrt(x), 5e7))


_BASES = ("identity", "square", "cube", "sin", "cos", "exp", "tanh")

SMOOTH_FUNCTIONS: dict[str, SmoothFunction] = {
    "identity": SmoothFunction("identity"),
    "square": SmoothFunction("square"),
    "cube": SmoothFunction("cube"),
    "sin": SmoothFunction("sin"),
    "cos": SmoothFunction("cos"),
    "exp": SmoothFunction("exp"),
    "tanh": SmoothFunction("tanh"),
    # the variants used in the book's experiments (chapter 5's contrasts)
    "sin(3z)": SmoothFunction("sin", 3.0),
    "cos(3z)-1": SmoothFunction("cos", 3.0, centered=True),
    "exp(z)-1": SmoothFunction("exp", 1.0, centered=True),
    "tanh(4z)": SmoothFunction("tanh", 4.0),
}

_ALIASES = {"z": "identity", "z^2": "square", "z^3": "cube"}
_PATTERN = re.compile(r"^(sin|cos|exp|tanh)\((\d+(?:\.\d*)?)?z\)(-1)?$")


def smooth_function(spec) -> SmoothFunction:
    """Resolve a name such as ``"sin"``, ``"sin(3z)"``, ``"cos(2.5z)-1"`` or ``"z^2"``.

    A :class:`SmoothFunction` is returned unchanged.  Unknown names raise
    ``ValueError`` listing the known ones.
    """
    if isinstance(spec, SmoothFunction):
        return spec
    if not isinstance(spec, str):
        raise TypeError(f"phi must be a SmoothFunction or a name, got {type(spec).__name__}")
    name = spec.replace(" ", "")
    if name in SMOOTH_FUNCTIONS:
        return SMOOTH_FUNCTIONS[name]
    if name in _ALIASES:
        return SMOOTH_FUNCTIONS[_ALIASES[name]]
    match = _PATTERN.match(name)
    if match:
        base, k, minus_one = match.groups()
        if minus_one and base not in ("cos", "exp"):
            raise ValueError(f"phi {spec!r}: '-1' centering applies only to cos and exp")
        return SmoothFunction(base, float(k) if k else 1.0, centered=bool(minus_one))
    raise ValueError(f"phi must be one of {sorted(SMOOTH_FUNCTIONS)} or a form like 'sin(3z)', "
                     f"'cos(2z)-1', got {spec!r}")


def _logsumexp10(values: np.ndarray) -> float:
    finite = values[np.isfinite(values)] if values.size else values
    if np.any(values == np.inf):
        return math.inf
    if finite.size == 0:
        return -math.inf
    top = finite.max()
    return float(top + np.log10(np.sum(np.power(10.0, finite - top))))


def _check_common(phi, R, c_star):
    phi = smooth_function(phi)
    R = check_float("R", R, positive=True)
    c_star = check_float("c_star", c_star, positive=True)
    return phi, R, c_star


def _diverges(phi: SmoothFunction, scale: float) -> bool:
    return phi.degree is None and scale >= phi.radius


def log10_complexity_sample(phi, R: float, c_star: float = C_STAR) -> float:
    """``log10 C_s(phi, R)``; ``inf`` when the series diverges (tanh beyond its radius)."""
    phi, R, c_star = _check_common(phi, R, c_star)
    if _diverges(phi, R):
        return math.inf
    n = phi.n_terms_for(R)
    logc, _ = phi.log10_coefficients(n)
    i = np.arange(n)
    terms = 1.75 * np.log10(i + 1) + i * math.log10(R) + logc
    return math.log10(c_star) + _logsumexp10(terms)


def log10_complexity_eps(phi, R: float, eps: float = 0.1, c_star: float = C_STAR) -> float:
    """``log10 C_eps(phi, R)``; ``inf`` when the series diverges (tanh with ``C* R`` beyond its radius)."""
    phi, R, c_star = _check_common(phi, R, c_star)
    eps = check_float("eps", eps, positive=True, below=1.0)
    scale = c_star * R
    if _diverges(phi, scale):
        return math.inf
    n = phi.n_terms_for(scale * max(1.0, math.sqrt(math.log(1 / eps))))
    logc, _ = phi.log10_coefficients(n)
    i = np.arange(n)
    first = i * math.log10(scale) + logc
    with np.errstate(divide="ignore"):
        factor = np.where(i == 0, 0.0, 0.5 * np.log10(math.log(1 / eps) / np.maximum(i, 1)))
    second = i * (factor + math.log10(scale)) + logc
    return _logsumexp10(np.concatenate([first, second]))


def _from_log10(value: float, what: str) -> float:
    if value > _LOG10_MAX:
        if math.isinf(value):
            return math.inf  # a divergent series: infinite is the true value
        raise OverflowError(f"{what} = 10^{value:.1f} overflows float64; use log10_{what}")
    return 10.0 ** value


def complexity_sample(phi, R: float, c_star: float = C_STAR) -> float:
    """``C_s(phi, R)`` (Allen-Zhu & Li (2019), section 3, recalled).

    Raises ``OverflowError`` beyond float range; see the log10 variant."""
    return _from_log10(log10_complexity_sample(phi, R, c_star), "complexity_sample")


def complexity_eps(phi, R: float, eps: float = 0.1, c_star: float = C_STAR) -> float:
    """``C_eps(phi, R)`` (Allen-Zhu & Li (2019), section 3, recalled).

    Raises ``OverflowError`` beyond float range; see the log10 variant."""
    return _from_log10(log10_complexity_eps(phi, R, eps, c_star), "complexity_eps")
