"""Forward stability of the RNN at random initialization (chapter 3; Allen-Zhu & Li (2019), section 5, recalled).

He initialization with ReLU preserves the norm in expectation,
``E ||relu(W h)||^2 = ||h||^2`` for ``W ~ N(0, 2/m)``, so the hidden states
``h_l`` stay of order one, although the Lipschitz constant of one step is
``||W||_2 ~ 2 sqrt(2)`` and the product over ``l`` steps is ``~ 2.83^l``.
Because the *same* ``W`` is reused at every step, ``log ||h_l||`` is not a
zero-mean random walk: it drifts at a seed-dependent rate of order
``1/sqrt(m)`` per step, which is why the theorem needs ``m >= poly(L)``.

The recurrences here run in float64 so that a drifting seed at small ``m`` and
large ``L`` shows its true norm instead of overflowing float32.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ._checks import as_tensor, check_float, check_int
from ._linalg import spectral_norm
from .recurrence import relu_recurrence
from .rnn import ElmanRNN
from .tokens import embed, sample_tokens

__all__ = ["hidden_norms", "ForwardStability", "forward_stability"]


@torch.no_grad()
def hidden_norms(model: ElmanRNN, x, W: torch.Tensor | None = None) -> np.ndarray:
    """Euclidean norms ``||h_l||`` of the hidden states, computed in float64.

    Args:
        model: the RNN (its ``A``, and ``W`` unless overridden).
        x: inputs ``(n, L, d_x)``.
        W: optional recurrent matrix ``(m, m)`` replacing ``model.W``.

    Returns:
        float64 array ``(n, L)``, entry ``[s, l-1] = ||h_l||`` of sample ``s``.
    """
    if not isinstance(model, ElmanRNN):
        raise TypeError(f"model must be an ElmanRNN, got {type(model).__name__}")
    x = as_tensor("x", x, ndim=3, last_dim=model.input_dim).double()
    W = (model.W if W is None else as_tensor("W", W, ndim=2)).double()
    if W.shape != (model.width, model.width):
        raise ValueError(f"W must have shape ({model.width}, {model.width}), got {tuple(W.shape)}")
    return relu_recurrence(W, model.A.double(), x).norm(dim=-1).numpy()


@dataclass
class ForwardStability:
    """Hidden-state norms of several random initializations of one width.

    Attributes:
        width: ``m``.
        seeds: the initialization seeds, length ``k``.
        norms: ``||h_l||``, shape ``(k, n, L)``.
        spectral: ``||W||_2`` of each seed, shape ``(k,)``.
        row_sum: the matrix-1 norm ``||W^T||_1`` (largest absolute row sum) of each seed, ``(k,)``.
    """

    width: int
    seeds: tuple
    norms: np.ndarray
    spectral: np.ndarray
    row_sum: np.ndarray

    @property
    def typical(self) -> np.ndarray:
        """Median over sequences of ``||h_l||`` for each seed, shape ``(k, L)``."""
        return np.median(self.norms, axis=1)

    def growth_rate(self) -> np.ndarray:
        """Per-step growth of each seed, ``log10(||h_L|| / ||h_1||) / (L - 1)`` (median over sequences), ``(k,)``.

        Compare with ``log10 ||W||_2 ~ 0.45``, the per-step rate of the Lipschitz product.
        """
        typ = self.typical
        L = typ.shape[1]
        if L < 2:
            raise ValueError("growth_rate needs sequences of length >= 2")
        return (np.log10(typ[:, -1]) - np.log10(typ[:, 0])) / (L - 1)


def forward_stability(width: int, length: int, seeds: Sequence[int] = range(8), *, n: int = 16,
                      token_dim: int = 8, eps_x: float = 0.3, data_seed: int = 0) -> ForwardStability:
    """``||h_l||`` for ``l = 1..length`` on ``n`` random sequences and several initializations.

    The same sequences (drawn with ``data_seed``) are fed to every initialization, so the
    spread across seeds is the spread due to the random ``W`` and ``A``.
    """
    width = check_int("width", width, minimum=1)
    length = check_int("length", length, minimum=2)
    n = check_int("n", n, minimum=1)
    eps_x = check_float("eps_x", eps_x, positive=True)
    seeds = tuple(check_int("seed", s, minimum=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds must list at least one seed, got an empty sequence")
    x = embed(sample_tokens(n, length, token_dim, seed=data_seed), eps_x)
    norms, spectral, row_sum = [], [], []
    for s in seeds:
        model = ElmanRNN(token_dim + 1, width, seed=s)
        norms.append(hidden_norms(model, x))
        spectral.append(spectral_norm(model.W))
        row_sum.append(float(model.W.double().abs().sum(dim=1).max()))
    return ForwardStability(width=width, seeds=seeds, norms=np.stack(norms),
                            spectral=np.asarray(spectral), row_sum=np.asarray(row_sum))
