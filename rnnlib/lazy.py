"""The lazy regime: how far SGD moves W as the width grows (chapter 4; Allen-Zhu & Li (2019), section 5,
recalled).

The theorem is a lazy-regime result: ``W' = W_T - W_0`` stays in a small ball, the
activation patterns barely change, and the RNN stays close to its pseudo-network.  With the
practical step size ``eta = c / (lambda^2 L m)`` the tangent-kernel picture predicts that the
displacement needed to fit the data shrinks like ``||W'||_F ~ m^{-1/2}`` while
``||W_0||_F ~ sqrt(2 m)`` grows, so the *relative* move shrinks like ``1/m``.
:func:`lazy_summary` collects these quantities from a width sweep and :func:`fit_power_law`
measures the exponents.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from . import stats
from ._checks import as_array, check_int
from .experiment import ExperimentConfig

__all__ = ["fit_power_law", "lazy_summary", "scaled_config"]


def fit_power_law(x, y) -> tuple[float, float, float]:
    """Least-squares fit of ``log y = slope log x + log c``, as a tuple (chapters 3, 4, 6 and 7 unpack it).

    The fit is :func:`rnnlib.stats.fit_power_law`; this form asks for three or more positive points.

    Args:
        x, y: positive values of the same length (at least 3 points).

    Returns:
        ``(slope, c, slope_stderr)``; the standard error is that of ordinary least squares
        on the log scale (it measures scatter around the line, not seed-to-seed variation).
    """
    x = as_array("x", x, ndim=1)
    y = as_array("y", y, ndim=1)
    if x.shape != y.shape or x.size < 3:
        raise ValueError(f"x and y must have the same length >= 3, got {x.size} and {y.size}")
    if (x <= 0).any() or (y <= 0).any():
        raise ValueError("x and y must be positive for a power-law fit on log scales")
    fit = stats.fit_power_law(x, y)
    return fit.exponent, fit.prefactor, fit.exponent_se


def lazy_summary(results: Sequence) -> dict:
    """The lazy-regime quantities of a width sweep, sorted by width.

    Args:
        results: :class:`rnnlib.ExperimentResult` objects (one per width).

    Returns:
        dict of float arrays: ``width``, ``displacement_fro`` (``||W_T - W_0||_F``),
        ``displacement_spectral`` (``||W_T - W_0||_2``), ``init_norm`` (``||W_0||_F``),
        ``relative`` (``||W_T - W_0||_F / ||W_0||_F``), ``pattern_flips``, ``test_mse``,
        ``test_mse_at_init``.
    """
    results = list(results)
    if not results:
        raise ValueError("results must hold at least one ExperimentResult")
    results.sort(key=lambda r: r.config.width)
    out = {
        "width": np.array([r.config.width for r in results], dtype=float),
        "displacement_fro": np.array([r.w_displacement for r in results]),
        "displacement_spectral": np.array([r.w_displacement_spectral for r in results]),
        "init_norm": np.array([r.w_init_norm for r in results]),
        "pattern_flips": np.array([r.pattern_flips for r in results]),
        "test_mse": np.array([r.test_mse for r in results]),
        "test_mse_at_init": np.array([r.test_mse_at_init for r in results]),
    }
    out["relative"] = out["displacement_fro"] / out["init_norm"]
    return out


def scaled_config(base, width: int, length: int):
    """``base`` at another width and length, with the epochs scaled with the length.

    The practical step size ``eta = c / (lambda^2 L m)`` is proportional to ``1/L``, so a longer
    sequence needs proportionally more epochs for the same progress (Allen-Zhu & Li (2019), section 3, recalled):
    ``epochs = base.epochs * max(1, round(length / base.length))``.
    """
    if not isinstance(base, ExperimentConfig):
        raise TypeError(f"base must be an ExperimentConfig, got {type(base).__name__}")
    factor = max(1, round(check_int("length", length, minimum=2) / base.length))
    return base.replace(width=check_int("width", width, minimum=1), length=length, epochs=base.epochs * factor)
