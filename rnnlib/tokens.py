"""Input tokens and the paper's input normalization (chapter 2; Allen-Zhu & Li (2019), section 3, recalled).

Raw tokens ``x*_l`` (the ones the concept is defined on) have unit norm and a
constant last coordinate 1/2, which lets a target put a bias inside
``<w*, x*>``.  The network sees a fixed start token ``x_1 = e_{d_x}`` followed by
the raw tokens scaled by a small ``eps_x`` and padded with a zero in the
dedicated start channel::

    x_1 = (0, ..., 0, 1),        x_l = (eps_x * x*_l, 0)   for l = 2..L

so every sequence stays close to the same input-independent trajectory.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_array, check_float, check_int

__all__ = ["sample_tokens", "embed"]


def sample_tokens(n: int, length: int, token_dim: int, seed: int = 0) -> np.ndarray:
    """Sample raw tokens ``x*`` for ``n`` sequences of ``length`` positions.

    Each token is ``((sqrt(3)/2) u, 1/2)`` with ``u`` uniform on the unit sphere
    of ``R^{token_dim - 1}``, so it has unit norm and last coordinate 1/2.

    Args:
        n: number of sequences (>= 0).
        length: sequence length ``L`` counting the start token (>= 2); there
            are ``L - 1`` raw tokens, for positions 2..L.
        token_dim: dimension of a raw token (``d_x - 1`` in the paper, >= 2).
        seed: seed of the numpy generator.

    Returns:
        float64 array of shape ``(n, length - 1, token_dim)``.
    """
    n = check_int("n", n, minimum=0)
    length = check_int("length", length, minimum=2)
    token_dim = check_int("token_dim", token_dim, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    rng = np.random.default_rng(seed)
    u = rng.standard_normal((n, length - 1, token_dim - 1))
    u /= np.linalg.norm(u, axis=-1, keepdims=True)
    half = np.full((n, length - 1, 1), 0.5)
    return np.concatenate([np.sqrt(3.0) / 2.0 * u, half], axis=-1)


def embed(x_star, eps_x: float = 0.3, *, final_token: bool = False) -> np.ndarray:
    """Turn raw tokens into network inputs with the start token first.

    Args:
        x_star: raw tokens, shape ``(n, L - 1, token_dim)`` (from :func:`sample_tokens`).
        eps_x: scale of the data tokens, ``0 < eps_x``; the proof wants it small.
        final_token: also append the start token at the end, as Panigrahi & Goyal do
            (their last token carries no data); the output then has ``L + 1`` positions.

    Returns:
        float32 array of shape ``(n, L, token_dim + 1)`` (``L + 1`` with ``final_token``).
    """
    x_star = as_array("x_star", x_star, ndim=3)
    eps_x = check_float("eps_x", eps_x, positive=True)
    n, n_tokens, token_dim = x_star.shape
    norms = np.linalg.norm(x_star, axis=-1)
    if n_tokens and not np.allclose(norms, 1.0, atol=1e-5):
        raise ValueError("x_star must hold unit-norm tokens (as sample_tokens makes), "
                         f"got norms between {norms.min():.4g} and {norms.max():.4g}")
    start = np.zeros((n, 1, token_dim + 1))
    start[..., -1] = 1.0
    data = np.concatenate([eps_x * x_star, np.zeros((n, n_tokens, 1))], axis=-1)
    parts = [start, data] + ([start] if final_token else [])
    return np.concatenate(parts, axis=1).astype(np.float32)
