"""Validation of cached payloads: what a kind's ``from_dict`` reads back (infrastructure of the engine
layer; Paper: none).

Not a paper concept: the kinds of chapters 6-8 (:mod:`rnnlib.lemma`, :mod:`rnnlib.existence`,
:mod:`rnnlib.interference`) store their results as JSON through :mod:`rnnlib.engine`; a damaged
or hand-edited entry must be refused with a ``ValueError``/``TypeError`` (the engine then recomputes
it), never read as silently wrong numbers.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["finite_array", "finite_number", "float_tuple", "int_tuple", "str_tuple"]


def finite_number(name: str, value: Any) -> float:
    """``value`` as a finite float; ``TypeError`` for a non-number (bools included), ``ValueError`` if not finite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def finite_array(name: str, value: Any, ndim: int) -> np.ndarray:
    """``value`` (nested lists of numbers) as a finite float64 array with ``ndim`` dimensions."""
    if not isinstance(value, list):
        raise TypeError(f"{name} must be a list of numbers, got {type(value).__name__}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must hold numbers only ({exc})") from None
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def int_tuple(name: str, value: Any) -> tuple:
    """``value`` (a list of ints) as a tuple of ints."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                       for v in value):
        raise TypeError(f"{name} must be a list of integers, got {value!r}")
    return tuple(int(v) for v in value)


def float_tuple(name: str, value: Any) -> tuple:
    """``value`` (a list of finite numbers) as a tuple of floats."""
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{name} must be a list of numbers, got {type(value).__name__}")
    return tuple(finite_number(f"{name}[{k}]", v) for k, v in enumerate(value))


def str_tuple(name: str, value: Any) -> tuple:
    """``value`` (a list of strings) as a tuple of strings."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise TypeError(f"{name} must be a list of strings, got {value!r}")
    return tuple(value)
