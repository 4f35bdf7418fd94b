"""The linear shares of the smooth functions as a cached kind of the engine (chapters 2 and 5;
Allen-Zhu & Li (2019), section 3: the concept class, whose terms a linear model of the tokens may
partly fit).

:func:`rnnlib.linear_share.linear_share` computes, for one function and one law of the direction
``w*``, the share of a term's variance that the best affine function of the raw token explains, by
Gauss-Legendre quadrature of high degree: a second or more for the book's eleven functions, paid by
chapter 2 and by every chapter that reads chapter 5's study.  :class:`LinearShares` (kind
``linear_shares``) holds the shares of a list of functions for one token dimension and direction,
computed by that very function (the same floats) and kept in the engine's cache
(:mod:`rnnlib.engine`), keyed on the code of :mod:`rnnlib.linear_share`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._checks import check_choice, check_int
from .linear_share import DIRECTIONS, linear_share_table
from .payload import finite_number

__all__ = ["LinearShares", "LinearSharesResult"]


@dataclass
class LinearSharesResult:
    """``shares``: one share per function of the config, in its order."""

    shares: tuple

    def to_dict(self) -> dict:
        return {"shares": list(self.shares)}

    @classmethod
    def from_dict(cls, data: dict) -> "LinearSharesResult":
        """Rebuild from :meth:`to_dict`; a damaged entry raises ``ValueError`` or ``TypeError``."""
        shares = data.get("shares") if isinstance(data, dict) else None
        if not isinstance(shares, list) or not shares:
            raise TypeError(f"shares must be a non-empty list, got {type(shares).__name__}")
        return cls(tuple(finite_number(f"shares[{i}]", v) for i, v in enumerate(shares)))


@dataclass(frozen=True)
class LinearShares:
    """Kind ``linear_shares``: :func:`rnnlib.linear_share.linear_share` ``(name, token_dim, direction).share``
    of every name of ``functions`` (names accepted by :func:`rnnlib.smooth.smooth_function`)."""

    kind: ClassVar[str] = "linear_shares"
    result_type: ClassVar = LinearSharesResult

    functions: tuple
    token_dim: int
    direction: str

    def __post_init__(self):
        object.__setattr__(self, "functions", tuple(str(f) for f in self.functions))
        if not self.functions:
            raise ValueError("functions must name at least one smooth function, got none")
        check_int("token_dim", self.token_dim, minimum=2)
        check_choice("direction", self.direction, DIRECTIONS)

    def to_dict(self) -> dict:
        return {"functions": list(self.functions), "token_dim": self.token_dim, "direction": self.direction}

    def run(self) -> LinearSharesResult:
        table = linear_share_table(list(self.functions), token_dim=self.token_dim, direction=self.direction)
        return LinearSharesResult(tuple(float(table[n].share) for n in self.functions))
