"""The W-only neural tangent kernel of the RNN at initialization (chapter 7; Allen-Zhu & Li (2019), section 5).

The pseudo-network is linear in the displacement ``W'``::

    F_j(x; W') = sum_i  Back_{i->j} D_i W' h_{i-1}  =  sum_i  u_i^T W' h_{i-1},
    u_i := lambda * D_i Back_{i->j}^T                 (lambda the output scale, d = 1)

so the gradient of the scaled output ``lambda B h_j`` with respect to ``W`` is the ``m x m`` matrix
``G(x) = sum_i u_i h_{i-1}^T``, and the tangent kernel is its Frobenius inner product::

    K(x, x') = <G(x), G(x')>_F = sum_{i, i'} (u_i . u'_{i'}) (h_{i-1} . h'_{i'-1}).

:func:`gradient_factors` returns the ``u_i`` and ``h_{i-1}`` of every sample with one backward pass
(the same recursion as the hand-written BPTT of :mod:`rnnlib.bptt`); :func:`ntk_gram` contracts
them block by block, so memory stays bounded by ``chunk`` whatever the number of samples: two
``(chunk * L) x (chunk * L)`` blocks at a time, never the ``m x m`` gradients.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

from ._checks import as_tensor, check_float, check_int
from .rnn import ElmanRNN

__all__ = ["gradient_factors", "pseudo_network_output", "ntk_gram", "measure_ntk_cost"]


def _position(position, length: int) -> int:
    """0-based output index from ``position`` (1-based as in the paper, or -1 for the last)."""
    position = check_int("position", position, minimum=-1)
    if position == -1:
        return length - 1
    if not 1 <= position <= length:
        raise ValueError(f"position must be -1 (last) or a 1-based position in 1..{length}, got {position}")
    return position - 1


@torch.no_grad()
def gradient_factors(model: ElmanRNN, x, *, output_scale: float, position: int = -1,
                     W: torch.Tensor | None = None, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """The factors ``u_i = lambda D_i Back_{i->j}^T`` and ``h_{i-1}`` of the W-gradient of output ``j``.

    Args:
        model: the RNN (scalar output, ``output_dim = 1``).
        x: inputs ``(n, L, d_x)``.
        output_scale: ``lambda``.
        position: the output position ``j`` (1-based as in the paper; ``-1`` = ``L``).
        W: recurrent matrix to linearize at (default the model's, i.e. the initialization).
        chunk: samples per backward pass (bounds the memory of the recursion).

    Returns:
        ``(U, P)`` float32 tensors of shape ``(n, j - 1, m)``: row ``i - 2`` holds ``u_i`` and
        ``h_{i-1}`` for steps ``i = 2..j``. Step 1 is dropped because ``h_0 = 0`` contributes nothing.
    """
    if not isinstance(model, ElmanRNN):
        raise TypeError(f"model must be an ElmanRNN, got {type(model).__name__}")
    if model.output_dim != 1:
        raise ValueError(f"the W-only NTK here is for scalar outputs: model.output_dim must be 1, "
                         f"got {model.output_dim}")
    output_scale = check_float("output_scale", output_scale, positive=True)
    chunk = check_int("chunk", chunk, minimum=1)
    x = as_tensor("x", x, ndim=3, last_dim=model.input_dim)
    n, L, _ = x.shape
    j = _position(position, L)
    if j < 1:
        raise ValueError("position must be >= 2: the output at step 1 does not depend on W (h_0 = 0)")
    W = model.W if W is None else as_tensor("W", W, ndim=2)
    m = model.width
    U = torch.empty(n, j, m)
    P = torch.empty(n, j, m)
    b = output_scale * model.B[0]
    for s in range(0, n, chunk):
        hs = model.hidden_states(x[s:s + chunk, : j + 1], W)  # (c, j+1, m)
        g = b * (hs[:, j] > 0)
        for t in range(j, 0, -1):  # steps t = j..1 (0-based), i.e. paper steps 2..j+1
            U[s:s + chunk, t - 1] = g
            P[s:s + chunk, t - 1] = hs[:, t - 1]
            if t > 1:
                g = (g @ W) * (hs[:, t - 1] > 0)
    return U, P


def pseudo_network_output(U: torch.Tensor, P: torch.Tensor, W_prime, *, per_step: bool = False):
    """Pseudo-network output ``sum_i u_i^T W' h_{i-1}`` from :func:`gradient_factors`.

    Args:
        U, P: ``(n, j - 1, m)`` factors.
        W_prime: displacement ``(m, m)``.
        per_step: return every step's term ``(n, j - 1)`` instead of the sum ``(n,)``.
    """
    W_prime = as_tensor("W_prime", W_prime, ndim=2)
    if W_prime.shape != (U.shape[-1], U.shape[-1]):
        raise ValueError(f"W_prime must have shape ({U.shape[-1]}, {U.shape[-1]}), got {tuple(W_prime.shape)}")
    terms = torch.einsum("nim,nim->ni", U, P @ W_prime.T)
    return terms if per_step else terms.sum(dim=1)


def _block(Ua, Pa, Ub, Pb):
    """K block ``(a, b)``: sum over step pairs of (u . u')(h . h')."""
    ca, S, m = Ua.shape
    cb = Ub.shape[0]
    uu = Ua.reshape(ca * S, m) @ Ub.reshape(cb * S, m).T
    hh = Pa.reshape(ca * S, m) @ Pb.reshape(cb * S, m).T
    uu.mul_(hh)
    return uu.view(ca, S, cb, S).sum(dim=(1, 3))


@torch.no_grad()
def ntk_gram(model: ElmanRNN, x1, x2=None, *, output_scale: float, position: int = -1,
             chunk: int = 256, progress: bool = False) -> np.ndarray:
    """The W-only NTK ``K(x, x')`` of output ``j`` at the model's current ``W``, computed in blocks.

    Args:
        model: the RNN (scalar output).
        x1: inputs ``(n1, L, d_x)``.
        x2: inputs ``(n2, L, d_x)``; ``None`` gives the symmetric Gram matrix of ``x1`` (only the
            upper block triangle is computed).
        output_scale: ``lambda`` (the kernel scales as ``lambda^2``).
        position: the output position (1-based; ``-1`` = last).
        chunk: samples per block; peak extra memory is about ``2 * (chunk * L)^2`` floats plus the
            factors ``(n1 + n2) * L * m`` floats.
        progress: show a progress bar over row blocks.

    Returns:
        float64 array ``(n1, n2)`` (``(n1, n1)`` when ``x2`` is None).

    Example:
        >>> import rnnlib
        >>> from rnnlib.ntk import ntk_gram
        >>> x = rnnlib.embed(rnnlib.sample_tokens(5, 4, 3, seed=0))
        >>> ntk_gram(rnnlib.ElmanRNN(4, 16), x, output_scale=1.0).shape
        (5, 5)
    """
    chunk = check_int("chunk", chunk, minimum=1)
    if not isinstance(model, ElmanRNN):
        raise TypeError(f"model must be an ElmanRNN, got {type(model).__name__}")
    x1 = as_tensor("x1", x1, ndim=3, last_dim=model.input_dim)
    U1, P1 = gradient_factors(model, x1, output_scale=output_scale, position=position)
    sym = x2 is None
    if sym:
        U2, P2 = U1, P1
    else:
        x2 = as_tensor("x2", x2, ndim=3, last_dim=model.input_dim)
        if x2.shape[1] != x1.shape[1]:
            raise ValueError(f"x2 must have the same length as x1 ({x1.shape[1]}), got shape {tuple(x2.shape)}")
        U2, P2 = gradient_factors(model, x2, output_scale=output_scale, position=position)
    n1, n2 = U1.shape[0], U2.shape[0]
    K = np.empty((n1, n2))
    starts = range(0, n1, chunk)
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=len(starts), desc="NTK Gram blocks", leave=False)
    for a in starts:
        Ua, Pa = U1[a:a + chunk], P1[a:a + chunk]
        for b in range(a if sym else 0, n2, chunk):
            blk = _block(Ua, Pa, U2[b:b + chunk], P2[b:b + chunk]).double().numpy()
            K[a:a + chunk, b:b + chunk] = blk
            if sym and b != a:
                K[b:b + chunk, a:a + chunk] = blk.T
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return K


# the measurement script lives with the other benchmarks; this function only runs it
_NTK_COST_SCRIPT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench",
                                "ntk_cost.py")


def measure_ntk_cost(n: int = 1000, length: int = 10, width: int = 512, *, chunk: int = 256,
                     threads: int = 0, n_test: int = 0, timeout: float = 900.0) -> dict:
    """Time and peak memory of :func:`ntk_gram` measured in a fresh subprocess running
    ``bench/ntk_cost.py`` (in a source checkout of the project).

    torch allocates outside Python's allocator, so ``tracemalloc`` cannot see it; the peak resident
    set size (``getrusage`` ``ru_maxrss``) of a separate process can.

    Args:
        n, length, width: Gram matrix of ``n`` random sequences for an RNN of this size.
        chunk: block size passed to :func:`ntk_gram`.
        threads: torch threads in the subprocess (0 keeps torch's default).
        n_test: also time the ``(n_test, n)`` cross-kernel to held-out inputs.
        timeout: seconds before the measurement is abandoned (``RuntimeError``).

    Returns:
        dict with ``seconds_gram``, ``cpu_seconds_gram``, ``seconds_cross``, ``cpu_seconds_cross``,
        ``rss_before_mb`` (after imports and data), ``peak_rss_mb`` (whole process), ``threads``.
    """
    args = [check_int("n", n, minimum=1), check_int("length", length, minimum=2),
            check_int("width", width, minimum=1), check_int("chunk", chunk, minimum=1),
            check_int("threads", threads, minimum=0), check_int("n_test", n_test, minimum=0)]
    timeout = check_float("timeout", timeout, positive=True)
    if not os.path.isfile(_NTK_COST_SCRIPT):
        raise RuntimeError(f"measure_ntk_cost needs the benchmark script {_NTK_COST_SCRIPT}, found only in a "
                           f"source checkout of rnnlib")
    root = os.path.dirname(os.path.dirname(_NTK_COST_SCRIPT))
    env = dict(os.environ)
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, _NTK_COST_SCRIPT, *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"NTK measurement subprocess failed:\n{proc.stderr[-2000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["seconds_process"] = time.perf_counter() - start
    return out
