"""Exact JSON payloads for the cached probes of chapters 1-4 (engine layer support, core).

Not a paper concept: the probes of chapters 1-4 (prior bounds, Allen-Zhu & Li (2019), section 1; the
concept class, section 3; the random network at initialization and SGD on ``W``, section 5; recalled) return
arrays, dicts keyed by width and tuples. :class:`ProbeRecord` gives a frozen dataclass of such fields
the engine's ``to_dict`` / ``from_dict`` (:mod:`rnnlib.engine`), bitwise exactly:

* a numpy array is stored as its dtype, shape and raw bytes (base64), so NaN (a map that does not
  exist, an error undefined at epoch 0) and float32 survive unchanged;
* a dict keeps its keys' types (a width stays an ``int``), a tuple stays a tuple;
* a non-finite float is stored by name.

``from_dict`` checks the field names, the encoding and, unless a field is listed in ``allow_nan``,
that every float in it is finite; a damaged payload raises ``ValueError`` or ``TypeError``.
"""
from __future__ import annotations

import base64
import math
from dataclasses import fields, is_dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["ProbeRecord", "encode", "decode", "config_dict"]

_DTYPES = ("float64", "float32", "int64", "int32", "bool")


def encode(value: Any) -> Any:
    """A JSON-ready, exact encoding of arrays, dicts, tuples, lists and scalars."""
    if isinstance(value, np.ndarray):
        a = np.ascontiguousarray(value)
        if a.dtype.name not in _DTYPES:
            raise TypeError(f"array dtype must be one of {_DTYPES}, got {a.dtype}")
        return {"a": a.dtype.name, "s": list(a.shape), "b": base64.b64encode(a.tobytes()).decode()}
    if isinstance(value, dict):
        return {"d": [[encode(k), encode(v)] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"t": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else {"f": repr(float(value))}
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"cannot encode a {type(value).__name__} in a probe payload")


def decode(value: Any, name: str = "value", finite: bool = True) -> Any:
    """The inverse of :func:`encode`; ``finite`` rejects NaN and infinities (``ValueError``)."""
    if isinstance(value, list):
        return [decode(v, name, finite) for v in value]
    if isinstance(value, dict):
        if set(value) == {"a", "s", "b"}:
            if value["a"] not in _DTYPES:
                raise ValueError(f"{name}: unknown dtype {value['a']!r}")
            shape = tuple(int(n) for n in value["s"])
            raw = base64.b64decode(value["b"].encode(), validate=True)
            a = np.frombuffer(raw, dtype=value["a"]).reshape(shape).copy()
            if finite and a.dtype.kind == "f" and not np.isfinite(a).all():
                raise ValueError(f"{name}: holds a non-finite number")
            return a
        if set(value) == {"d"}:
            return {decode(k, name, finite): decode(v, f"{name}[{k!r}]", finite) for k, v in value["d"]}
        if set(value) == {"t"}:
            return tuple(decode(v, name, finite) for v in value["t"])
        if set(value) == {"f"}:
            if finite:
                raise ValueError(f"{name}: holds the non-finite number {value['f']}")
            return float(value["f"])
        raise ValueError(f"{name}: not a probe encoding, keys {sorted(value)}")
    if isinstance(value, float) and finite and not math.isfinite(value):
        raise ValueError(f"{name}: holds a non-finite number")
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"{name}: cannot decode a {type(value).__name__}")


def config_dict(config) -> dict:
    """A frozen config's fields as JSON (tuples become lists, nested configs dicts): the engine's ``to_dict``."""
    def plain(v):
        if is_dataclass(v):
            return config_dict(v)
        return [plain(x) for x in v] if isinstance(v, (tuple, list)) else v
    return {f.name: plain(getattr(config, f.name)) for f in fields(config)}


class ProbeRecord:
    """Mixin for a frozen dataclass result: exact ``to_dict`` / ``from_dict`` of all its fields.

    ``allow_nan``: names of the fields that may hold NaN (checked finite otherwise).
    """

    allow_nan: ClassVar[tuple] = ()

    def to_dict(self) -> dict:
        return {f.name: encode(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: dict):
        names = [f.name for f in fields(cls)]
        if not isinstance(d, dict) or set(d) != set(names):
            raise ValueError(f"a {cls.__name__} payload needs the fields {names}, got "
                             f"{sorted(d) if isinstance(d, dict) else type(d).__name__}")
        return cls(**{n: decode(d[n], n, finite=n not in cls.allow_nan) for n in names})

    def data(self) -> dict:
        """The fields by name (to build a study's result from the cached record)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
