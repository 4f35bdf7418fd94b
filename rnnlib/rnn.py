"""The Elman RNN of the paper (chapter 3; Allen-Zhu & Li (2019), section 3, recalled).

    h_0 = 0,   h_l = relu(W h_{l-1} + A x_l),   y_l = B h_l        (l = 1..L)

No bias: the constant input coordinates play that role.  Initialization is the
paper's: ``W, A ~ N(0, 2/m)`` entrywise and ``B ~ N(0, b_var)`` with ``b_var = 1/d``
(Allen-Zhu & Li as recalled; Panigrahi & Goyal use ``2/d``).  Only ``W`` is trained
by the paper's algorithm; ``A`` and ``B`` stay at their random values.  The recurrence itself is
:func:`rnnlib.recurrence.relu_recurrence`, shared with every probe and the trainer.
"""
from __future__ import annotations

import math

import torch

from ._checks import as_tensor, check_float, check_int
from .recurrence import check_finite, relu_recurrence

__all__ = ["ElmanRNN", "init_weights"]


def init_weights(input_dim: int, width: int, output_dim: int, seed: int,
                 b_var: float | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(W, A, B)`` at the paper's initialization, float32, from a generator seeded by ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    if b_var is None:
        b_var = 1.0 / output_dim
    std = math.sqrt(2.0 / width)
    W = torch.randn(width, width, generator=gen, dtype=torch.float32) * std
    A = torch.randn(width, input_dim, generator=gen, dtype=torch.float32) * std
    B = torch.randn(output_dim, width, generator=gen, dtype=torch.float32) * math.sqrt(b_var)
    return W, A, B


class ElmanRNN:
    """A ReLU Elman RNN at the paper's random initialization.

    Args:
        input_dim: ``d_x``, the dimension of a network input (``token_dim + 1``).
        width: ``m``, the number of hidden neurons.
        output_dim: ``d``, outputs per position.
        seed: seed of the initialization (W, A and B come from one generator).
        b_var: variance of the entries of ``B`` (default ``1/output_dim``).

    Attributes:
        W: recurrent matrix, ``(m, m)`` float32 (the only trained matrix).
        A: input matrix, ``(m, d_x)`` float32 (frozen).
        B: output matrix, ``(d, m)`` float32 (frozen).

    Example:
        >>> import rnnlib
        >>> x = rnnlib.embed(rnnlib.sample_tokens(4, 10, 8, seed=0))
        >>> rnnlib.ElmanRNN(9, 128).forward(x).shape
        torch.Size([4, 10, 1])
    """

    def __init__(self, input_dim: int, width: int, output_dim: int = 1, *, seed: int = 0,
                 b_var: float | None = None):
        self.input_dim = check_int("input_dim", input_dim, minimum=1)
        self.width = check_int("width", width, minimum=1)
        self.output_dim = check_int("output_dim", output_dim, minimum=1)
        self.seed = check_int("seed", seed, minimum=0)
        self.b_var = 1.0 / self.output_dim if b_var is None else check_float("b_var", b_var, positive=True)
        self.W, self.A, self.B = init_weights(self.input_dim, self.width, self.output_dim, self.seed, self.b_var)

    def __repr__(self) -> str:
        return (f"ElmanRNN(input_dim={self.input_dim}, width={self.width}, "
                f"output_dim={self.output_dim}, seed={self.seed})")

    def copy(self) -> "ElmanRNN":
        """An independent copy (same weights, separate storage)."""
        new = object.__new__(ElmanRNN)
        new.__dict__.update(self.__dict__)
        new.W, new.A, new.B = self.W.clone(), self.A.clone(), self.B.clone()
        return new

    def _inputs(self, x) -> torch.Tensor:
        return as_tensor("x", x, ndim=3, last_dim=self.input_dim)

    def _weights(self, W) -> torch.Tensor:
        if W is None:
            return self.W
        W = as_tensor("W", W, ndim=2)  # float32, finite
        if W.shape != (self.width, self.width):
            raise ValueError(f"W must have shape ({self.width}, {self.width}), got {tuple(W.shape)}")
        return W

    @torch.no_grad()
    def hidden_states(self, x, W: torch.Tensor | None = None) -> torch.Tensor:
        """Hidden states ``h_1..h_L`` for inputs ``x`` of shape ``(n, L, d_x)``; returns ``(n, L, m)``.

        ``W`` overrides the recurrent matrix (e.g. ``W0 + W'`` for a displacement).  Computed by
        :func:`rnnlib.recurrence.relu_recurrence`, which refuses non-finite weights (``ValueError``).
        """
        return relu_recurrence(self._weights(W), self.A, self._inputs(x))

    @torch.no_grad()
    def forward(self, x, W: torch.Tensor | None = None) -> torch.Tensor:
        """Unscaled outputs ``B h_l`` at every step, shape ``(n, L, d)``."""
        check_finite("B", self.B)
        return self.hidden_states(x, W) @ self.B.T

    __call__ = forward

    @torch.no_grad()
    def activation_patterns(self, x, W: torch.Tensor | None = None) -> torch.Tensor:
        """ReLU patterns ``D_l = 1[W h_{l-1} + A x_l >= 0]`` as a bool tensor ``(n, L, m)``."""
        x = self._inputs(x)
        W = self._weights(W)
        hs = relu_recurrence(W, self.A, x)
        prev = torch.cat([torch.zeros_like(hs[:, :1]), hs[:, :-1]], dim=1)
        return (prev @ W.T + x @ self.A.T) >= 0
