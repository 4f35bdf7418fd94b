"""Chapter 2's complexity curves as a cached kind of the engine (Allen-Zhu & Li (2019), section 3, recalled).

The concept class's complexities ``C_s(phi, R)`` and ``C_eps(phi, R)`` (:mod:`rnnlib.smooth`) are
sums of up to millions of Taylor terms at the radii chapter 2 plots: a figure of eight functions at
a few dozen radii costs seconds, every time the chapter runs.  :class:`ComplexityCurve` (kind
``complexity_curve``) is one function's curve over a list of radii, computed by the very functions of
:mod:`rnnlib.smooth` (so the values are theirs, bit for bit) and kept in the engine's cache
(:mod:`rnnlib.engine`) with the digest of :mod:`rnnlib.smooth`'s code.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._checks import check_choice
from .smooth import SmoothFunction, log10_complexity_eps, log10_complexity_sample

__all__ = ["ComplexityCurve", "ComplexityCurveResult", "MEASURES"]

#: ``"sample"``: :func:`rnnlib.smooth.log10_complexity_sample`; ``"eps"``: :func:`rnnlib.smooth.log10_complexity_eps`.
MEASURES = ("sample", "eps")


def _encode(v: float):
    return v if math.isfinite(v) else repr(v)  # JSON has no inf: "inf" (a divergent series)


def _decode(i: int, v) -> float:
    if isinstance(v, str) and v in ("inf", "-inf", "nan"):
        return float(v)
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise TypeError(f"values[{i}] must be a number or 'inf', got {v!r}")
    return float(v)


@dataclass
class ComplexityCurveResult:
    """``values``: ``(len(radii),)`` log10 complexities (``inf`` where the series diverges)."""

    values: np.ndarray

    def to_dict(self) -> dict:
        return {"values": [_encode(float(v)) for v in self.values]}

    @classmethod
    def from_dict(cls, data: dict) -> "ComplexityCurveResult":
        """Rebuild from :meth:`to_dict`; a damaged entry raises ``ValueError`` or ``TypeError``."""
        values = data.get("values") if isinstance(data, dict) else None
        if not isinstance(values, list) or not values:
            raise TypeError(f"values must be a non-empty list, got {type(values).__name__}")
        return cls(np.array([_decode(i, v) for i, v in enumerate(values)], dtype=np.float64))


@dataclass(frozen=True)
class ComplexityCurve:
    """Kind ``complexity_curve``: ``log10`` of a complexity of ``phi`` at every radius of ``radii``.

    ``phi`` is given by the fields of its :class:`~rnnlib.smooth.SmoothFunction` (``base``, ``k``,
    ``centered``); ``measure`` is one of :data:`MEASURES`; ``eps`` is used by ``"eps"`` only.
    """

    kind: ClassVar[str] = "complexity_curve"
    result_type: ClassVar = ComplexityCurveResult

    base: str
    k: float
    centered: bool
    measure: str
    radii: tuple
    eps: float
    c_star: float

    def __post_init__(self):
        check_choice("measure", self.measure, MEASURES)
        object.__setattr__(self, "radii", tuple(float(r) for r in self.radii))

    @classmethod
    def of(cls, phi: SmoothFunction, measure: str, radii, *, eps: float = 0.1, c_star: float) -> "ComplexityCurve":
        """The curve of ``phi`` (a :class:`~rnnlib.smooth.SmoothFunction`)."""
        if not isinstance(phi, SmoothFunction):
            raise TypeError(f"phi must be a SmoothFunction, got {type(phi).__name__}")
        return cls(phi.base, float(phi.k), bool(phi.centered), measure, tuple(radii), float(eps), float(c_star))

    def to_dict(self) -> dict:
        return {"base": self.base, "k": self.k, "centered": self.centered, "measure": self.measure,
                "radii": list(self.radii), "eps": self.eps, "c_star": self.c_star}

    def run(self) -> ComplexityCurveResult:
        phi = SmoothFunction(self.base, self.k, self.centered)
        if self.measure == "sample":
            values = [log10_complexity_sample(phi, R, c_star=self.c_star) for R in self.radii]
        else:
            values = [log10_complexity_eps(phi, R, eps=self.eps, c_star=self.c_star) for R in self.radii]
        return ComplexityCurveResult(np.array(values))
