"""The cost of the W-only tangent kernel as a cached kind (chapter 7, baselines and limits).

Paper: the RNN's W-only neural tangent kernel (Jacot et al. 2018; the pseudo-network's kernel of
Allen-Zhu & Li (2019), section 5, recalled), whose Gram matrix chapter 7 forms in blocks. The kind ``ntk_cost``
(:class:`NtkCostConfig`) runs :func:`rnnlib.ntk.measure_ntk_cost` (a fresh process running
``bench/ntk_cost.py``) through :mod:`rnnlib.engine`: a timing, cached as measured the first time, so a
rebuilt book quotes the same machine's numbers without re-measuring.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

from .ntk import measure_ntk_cost
from .payload import finite_number

__all__ = ["NtkCost", "NtkCostConfig"]


@dataclass(frozen=True)
class NtkCostConfig:
    """Kind ``ntk_cost``: :func:`rnnlib.measure_ntk_cost` of a Gram matrix of ``n`` sequences of
    ``length`` for width ``width`` (and the cross-kernel to ``n_test``). A timing: cached as measured
    the first time, so a rebuilt book quotes the same machine's numbers without re-measuring."""

    kind: ClassVar[str] = "ntk_cost"
    n: int
    length: int
    width: int
    n_test: int

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def run(self) -> NtkCost:
        # "finite" (a bool: the Gram matrix has no NaN or inf) is stored as 1.0 or 0.0
        return NtkCost(self, {k: float(v) for k, v in measure_ntk_cost(**self.to_dict()).items()})


@dataclass(frozen=True, eq=False)
class NtkCost:
    """The measurement: ``values`` with ``seconds_gram``, ``cpu_seconds_gram``, ``seconds_cross``,
    ``peak_rss_mb``, ``rss_before_mb``, ``threads``, ``finite`` (1 or 0) (as :func:`rnnlib.measure_ntk_cost`)."""

    config: NtkCostConfig
    values: dict

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "values": dict(self.values)}

    @classmethod
    def from_dict(cls, d: dict) -> NtkCost:
        if not isinstance(d.get("values"), dict):
            raise TypeError("an ntk_cost result needs a 'values' mapping")
        return cls(NtkCostConfig(**d["config"]), {k: finite_number(k, v) for k, v in d["values"].items()})


NtkCostConfig.result_type = NtkCost
