"""Argument checks shared by every module (infrastructure of all chapters; Paper: none).

Each check raises ``ValueError`` or ``TypeError`` with a message that names the
argument, says what was expected and shows what was given, so that bad input
never turns into a silently wrong number further down.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np
import torch


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_int(name: str, value: Any, *, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int``; reject bools, floats and values below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {_show(value)} of type {type(value).__name__}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value}")
    return value


def check_float(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False,
                below: float | None = None) -> float:
    """Return ``value`` as a finite ``float`` obeying the requested sign constraints."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_show(value)} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")
    if nonnegative and value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if below is not None and value >= below:
        raise ValueError(f"{name} must be < {below}, got {value}")
    return value


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {_show(value)}")
    return value


def _refuse_complex(name: str, value: Any) -> None:
    """Converting complex numbers to float drops the imaginary part silently: refuse them."""
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        return
    if np.iscomplexobj(arr) or (arr.dtype == object and any(isinstance(v, complex) for v in arr.ravel())):
        raise TypeError(f"{name} must hold real numbers, got complex values")


def as_tensor(name: str, value: Any, *, ndim: int | tuple[int, ...] | None = None,
              last_dim: int | None = None) -> torch.Tensor:
    """Convert an array-like to a float32 tensor, checking rank, last dimension and finiteness."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        if t.is_complex():
            raise TypeError(f"{name} must hold real numbers, got complex dtype {t.dtype}")
    elif isinstance(value, (np.ndarray, list, tuple)):
        _refuse_complex(name, value)
        try:
            t = torch.as_tensor(np.asarray(value, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be a numeric array, got {_show(value)}") from exc
    else:
        raise TypeError(f"{name} must be a numpy array or torch tensor, got {type(value).__name__}")
    if not (t.is_floating_point() or t.dtype in (torch.int32, torch.int64)):
        raise TypeError(f"{name} must hold real numbers, got dtype {t.dtype}")
    t = t.to(torch.float32)
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if t.dim() not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, "
                             f"got shape {tuple(t.shape)}")
    if last_dim is not None and t.shape[-1] != last_dim:
        raise ValueError(f"{name} must have last dimension {last_dim}, got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} must contain only finite values; found NaN or inf")
    return t


def as_array(name: str, value: Any, *, ndim: int | None = None, last_dim: int | None = None) -> np.ndarray:
    """Like :func:`as_tensor` but returns a float64 numpy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    if not isinstance(value, (np.ndarray, list, tuple)):
        raise TypeError(f"{name} must be a numpy array, got {type(value).__name__}")
    _refuse_complex(name, value)
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a numeric array, got {_show(value)}") from exc
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {arr.shape}")
    if last_dim is not None and arr.shape[-1] != last_dim:
        raise ValueError(f"{name} must have last dimension {last_dim}, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must contain only finite values; found NaN or inf")
    return arr


def check_bool(name: str, value: Any) -> bool:
    """Return ``value`` if it is a ``bool`` (or a numpy bool); the strings "no" or "false" are refused,
    not read as True."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise TypeError(f"{name} must be True or False, got {_show(value)} of type {type(value).__name__}")


def check_finite_tree(name: str, value: Any) -> Any:
    """Return a JSON-like value (dicts, lists, numbers, strings, None) after checking that every
    number in it is finite (a damaged cache entry raises ``ValueError`` naming the place)."""
    stack = [(name, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, dict):
            stack.extend((f"{where}[{k!r}]", x) for k, x in v.items())
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{where}[{i}]", x) for i, x in enumerate(v))
        elif isinstance(v, float) and not math.isfinite(v):
            raise ValueError(f"{where} must be finite, got {v}")
        elif not isinstance(v, (str, int, float, type(None))):
            raise TypeError(f"{where} must be a JSON value, got {type(v).__name__}")
    return value
