"""Activation patterns and how few of them flip (chapter 3; Allen-Zhu & Li (2019), sections 3 and 5,
recalled).

The ReLU pattern of step ``l`` is ``D_l = 1[W h_{l-1} + A x_l > 0]`` (one bit per neuron).
The proof rests on two facts about it:

* *input stability*: with the start token and data tokens scaled by a small ``eps_x``, every
  sequence stays close to one input-free trajectory, so two different sequences share most
  of their patterns; the fraction that differs grows about linearly in ``eps_x``;
* *weight stability* (the lazy regime): training moves ``W`` so little that few patterns of
  the trained network differ from those at initialization.

For one step with fresh Gaussian weights the flip probability has a closed form: if the
pre-activations of a neuron under the two inputs are jointly Gaussian with correlation
``rho``, they differ in sign with probability ``arccos(rho) / pi`` (Sheppard's formula).
:func:`predicted_flips` evaluates it with the measured hidden states; at step 2 (the first
data token) it is exact in expectation, later steps reuse ``W`` and it is an approximation.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from ._checks import as_tensor, check_float
from .rnn import ElmanRNN
from .tokens import embed

__all__ = ["flip_fraction", "pattern_flips", "perturbed_token_flips", "flips_versus_eps_x",
           "sheppard_flip_probability", "predicted_flips"]


def flip_fraction(patterns_a, patterns_b, *, per_step: bool = False):
    """Fraction of entries in which two activation patterns differ.

    Args:
        patterns_a, patterns_b: boolean tensors or arrays of the same shape ``(n, L, m)``.
        per_step: return the fraction for each step ``l`` (averaged over samples and
            neurons), shape ``(L,)``, instead of one number.
    """
    a = torch.as_tensor(np.asarray(patterns_a) if not isinstance(patterns_a, torch.Tensor) else patterns_a)
    b = torch.as_tensor(np.asarray(patterns_b) if not isinstance(patterns_b, torch.Tensor) else patterns_b)
    if a.dtype != torch.bool or b.dtype != torch.bool:
        raise TypeError(f"patterns must be boolean, got dtypes {a.dtype} and {b.dtype}")
    if a.shape != b.shape or a.dim() != 3:
        raise ValueError(f"patterns must have the same shape (n, L, m), got {tuple(a.shape)} and {tuple(b.shape)}")
    diff = (a != b).double()
    if per_step:
        return diff.mean(dim=(0, 2)).numpy()
    return float(diff.mean())


def pattern_flips(model: ElmanRNN, x, x_other=None, *, W: torch.Tensor | None = None,
                  W_other: torch.Tensor | None = None, per_step: bool = False):
    """Fraction of ReLU patterns that differ between (``x``, ``W``) and (``x_other``, ``W_other``).

    Either argument left as ``None`` is the same as its partner (``x`` or ``W``, and ``W``
    defaults to ``model.W``), so ``pattern_flips(model, x, W_other=W_T)`` compares the trained
    network with the one at initialization on the same inputs, and
    ``pattern_flips(model, x, x2)`` compares two inputs through the same network.

    Args:
        model: the RNN.
        x, x_other: inputs ``(n, L, d_x)`` of the same shape.
        W, W_other: recurrent matrices ``(m, m)``.
        per_step: one fraction per step ``(L,)`` instead of the overall one.
    """
    if not isinstance(model, ElmanRNN):
        raise TypeError(f"model must be an ElmanRNN, got {type(model).__name__}")
    x = as_tensor("x", x, ndim=3, last_dim=model.input_dim)
    x_other = x if x_other is None else as_tensor("x_other", x_other, ndim=3, last_dim=model.input_dim)
    if x_other.shape != x.shape:
        raise ValueError(f"x_other must have the shape of x {tuple(x.shape)}, got {tuple(x_other.shape)}")
    W = model.W if W is None else as_tensor("W", W, ndim=2)
    W_other = W if W_other is None else as_tensor("W_other", W_other, ndim=2)
    for name, mat in (("W", W), ("W_other", W_other)):
        if mat.shape != model.W.shape:
            raise ValueError(f"{name} must have shape {tuple(model.W.shape)}, got {tuple(mat.shape)}")
    return flip_fraction(model.activation_patterns(x, W), model.activation_patterns(x_other, W_other),
                         per_step=per_step)


def perturbed_token_flips(model: ElmanRNN, x_star, x_star_other, eps_x: float, *,
                          per_step: bool = True):
    """Pattern flips between two token sequences embedded with the same ``eps_x``.

    Args:
        model: the RNN.
        x_star, x_star_other: raw tokens ``(n, L-1, token_dim)``; ``x_star_other=None`` compares
            with the input-free trajectory (every data token zero, only the start token).
        eps_x: the input scale of :func:`rnnlib.embed`.
        per_step: one fraction per step ``(L,)`` (step 1, the start token, never flips).
    """
    eps_x = check_float("eps_x", eps_x, positive=True)
    x = embed(x_star, eps_x)
    if x_star_other is None:
        x_other = x.copy()
        x_other[:, 1:, :] = 0.0
    else:
        x_other = embed(x_star_other, eps_x)
    return pattern_flips(model, x, x_other, per_step=per_step)


def flips_versus_eps_x(model: ElmanRNN, x_star, x_star_other, eps_values: Sequence[float]) -> np.ndarray:
    """:func:`perturbed_token_flips` per step for every ``eps_x``; returns ``(len(eps_values), L)``."""
    eps_values = [check_float("eps_values", e, positive=True) for e in eps_values]
    if not eps_values:
        raise ValueError("eps_values must list at least one value")
    return np.stack([perturbed_token_flips(model, x_star, x_star_other, e) for e in eps_values])


def sheppard_flip_probability(rho) -> np.ndarray:
    """``arccos(rho) / pi``: probability that two jointly Gaussian, zero-mean variables with
    correlation ``rho`` have different signs."""
    rho = np.clip(np.asarray(rho, dtype=np.float64), -1.0, 1.0)
    return np.arccos(rho) / np.pi


@torch.no_grad()
def predicted_flips(model: ElmanRNN, x, x_other) -> np.ndarray:
    """Gaussian prediction of the per-step flip fraction between inputs ``x`` and ``x_other``.

    With ``W`` and ``A`` drawn afresh, the pre-activations ``w_r . h_{l-1} + a_r . x_l`` of one
    neuron under the two inputs are jointly Gaussian with correlation
    ``(<h_{l-1}, h'_{l-1}> + <x_l, x'_l>) / sqrt((|h_{l-1}|^2 + |x_l|^2)(|h'_{l-1}|^2 + |x'_l|^2))``;
    the flip probability is :func:`sheppard_flip_probability` of it, averaged over samples.
    The measured hidden states of ``model`` supply ``h``.

    Returns:
        float64 array ``(L,)``.
    """
    x = as_tensor("x", x, ndim=3, last_dim=model.input_dim).double()
    x_other = as_tensor("x_other", x_other, ndim=3, last_dim=model.input_dim).double()
    if x_other.shape != x.shape:
        raise ValueError(f"x_other must have the shape of x {tuple(x.shape)}, got {tuple(x_other.shape)}")
    h = model.hidden_states(x).double()
    g = model.hidden_states(x_other).double()
    zero = torch.zeros_like(h[:, :1])
    hp, gp = torch.cat([zero, h[:, :-1]], 1), torch.cat([zero, g[:, :-1]], 1)
    cross = (hp * gp).sum(-1) + (x * x_other).sum(-1)
    na = (hp * hp).sum(-1) + (x * x).sum(-1)
    nb = (gp * gp).sum(-1) + (x_other * x_other).sum(-1)
    rho = cross / torch.sqrt(na * nb).clamp_min(1e-300)
    return sheppard_flip_probability(rho.numpy()).mean(axis=0)
