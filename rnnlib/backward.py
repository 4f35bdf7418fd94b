"""Backward maps, backward stability and coherence (chapter 3; Allen-Zhu & Li (2019), section 5, recalled).

With the activation patterns ``D_l = diag(1[W h_{l-1} + A x_l > 0])`` of the random
initialization, the backward map from step ``i`` to output ``j >= i`` is

    Back_{i->j} = B D_j W D_{j-1} W ... D_{i+1} W   in R^{d x m},      Back_{i->i} = B,

the Jacobian ``d y_j / d h_i`` of the output at step ``j`` with respect to the hidden
state at step ``i`` (and ``Back_{i->j} D_i`` is the Jacobian with respect to the
pre-activation at step ``i``).  It carries the signal from output ``j`` back to the
step-``i`` parameters.  The two facts the proof uses:

* backward *stability*: ``||Back_{i->j}|| ~ ||B||``, no explosion or vanishing;
* backward *coherence*: two different maps ``Back_{i->j}``, ``Back_{i'->j'}`` are nearly
  orthogonal, ``|cos| ~ 1/sqrt(m)``, so learning ``x_i -> y_j`` does not interfere with
  ``x_{i'} -> y_{j'}``.

:func:`backward_maps` computes all maps for a batch of sequences with the recursion
``Back_{i-1->j} = Back_{i->j} D_i W``, one ``(n J d, m) x (m, m)`` product per step.

Positions ``i, j`` are numbered as in the paper, ``1..L``; array axes index them ``0..L-1``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from ._checks import as_tensor, check_choice, check_int
from .rnn import ElmanRNN

__all__ = ["BackwardMaps", "backward_maps", "coherence_matrix", "mean_offdiagonal", "distinct_pairs"]


def _positions(name: str, values, length: int) -> tuple[int, ...]:
    if isinstance(values, (int, np.integer)):
        values = [values]
    try:
        out = tuple(sorted({check_int(name, v, minimum=1) for v in values}))
    except TypeError:
        raise TypeError(f"{name} must be a position or a sequence of positions in 1..{length}, "
                        f"got {values!r}") from None
    if not out or out[-1] > length:
        raise ValueError(f"{name} must list positions in 1..{length} (paper numbering), got {values!r}")
    return out


def distinct_pairs(outputs: Sequence[int], order: str = "output") -> list[tuple[int, int]]:
    """The pairs ``(i, j)`` whose maps are distinct objects.

    Every ``Back_{j->j}`` equals ``B``, so only one of them is kept (the largest ``j``,
    listed as ``(j, j)``), besides all ``(i, j)`` with ``1 <= i < j`` and ``j`` in ``outputs``.

    Args:
        outputs: output positions ``j`` (paper numbering).
        order: ``"output"`` sorts by ``j`` then ``i``; ``"length"`` sorts by the number of
            steps ``j - i`` then ``i``, so maps of the same length form contiguous blocks.
    """
    check_choice("order", order, ("output", "length"))
    outputs = sorted(set(int(j) for j in outputs))
    if not outputs:
        raise ValueError("outputs must list at least one position")
    pairs = [(i, j) for j in outputs for i in range(1, j)]
    pairs.append((outputs[-1], outputs[-1]))
    key = (lambda p: (p[1], p[0])) if order == "output" else (lambda p: (p[1] - p[0], p[0]))
    return sorted(pairs, key=key)


@dataclass
class BackwardMaps:
    """All backward maps of a batch of sequences.

    Attributes:
        maps: float32 tensor ``(n, L, J, d, m)``; ``maps[s, i-1, k] = Back_{i->j}`` for
            ``j = outputs[k]`` on sample ``s`` (zero where ``i > j``).
        outputs: the output positions ``j`` (paper numbering), length ``J``, increasing.
        B: the output matrix ``(d, m)``.
    """

    maps: torch.Tensor
    outputs: tuple
    B: torch.Tensor

    @property
    def length(self) -> int:
        return self.maps.shape[1]

    def get(self, i: int, j: int) -> torch.Tensor:
        """``Back_{i->j}`` for every sample, ``(n, d, m)``."""
        if j not in self.outputs:
            raise ValueError(f"j must be one of the computed outputs {self.outputs}, got {j!r}")
        i = check_int("i", i, minimum=1)
        if i > j:
            raise ValueError(f"i must be <= j = {j} (Back_{{i->j}} is defined for i <= j), got {i}")
        return self.maps[:, i - 1, self.outputs.index(j)]

    def relative_norms(self) -> np.ndarray:
        """``||Back_{i->j}||_F / ||B||_F`` per sample, ``(n, L, J)``; NaN where ``i > j``."""
        norms = self.maps.double().flatten(3).norm(dim=-1) / float(self.B.double().norm())
        out = norms.numpy().copy()
        undefined = np.arange(1, self.length + 1)[:, None] > np.asarray(self.outputs)[None, :]
        out[:, undefined] = np.nan
        return out

    def vectors(self, pairs: Sequence[tuple[int, int]]) -> torch.Tensor:
        """The maps of ``pairs`` flattened to vectors, ``(n, P, d m)`` float64."""
        cols = []
        for i, j in pairs:
            cols.append(self.get(i, j).flatten(1))
        return torch.stack(cols, dim=1).double()

    def cos_matrix(self, pairs: Sequence[tuple[int, int]] | None = None) -> np.ndarray:
        """Mean over samples of ``|cos(Back_{i->j}, Back_{i'->j'})|``, a ``(P, P)`` matrix.

        ``pairs`` defaults to :func:`distinct_pairs` of the computed outputs.  The cosine is
        that of the flattened ``d x m`` matrices (the Frobenius inner product).
        """
        pairs = distinct_pairs(self.outputs) if pairs is None else list(pairs)
        return coherence_matrix(self.vectors(pairs))

    def coherence(self) -> dict:
        """Mean ``|cos|`` between distinct maps, overall and split by how two maps relate.

        Returns a dict with keys

        * ``"all"``: every two distinct maps (:func:`distinct_pairs`);
        * ``"same_output"``: maps into the same output ``j``, ``Back_{i->j}`` and ``Back_{i'->j}``
          (with one output, as under last-position labels, this is ``"all"``);
        * ``"different_length"``: ``j - i != j' - i'``;
        * ``"same_length"``: ``j - i == j' - i'``, the same number of steps shifted in time
          (NaN when no two such maps exist).
        """
        pairs = distinct_pairs(self.outputs)
        cos = self.cos_matrix(pairs)
        a, b = np.triu_indices(len(pairs), k=1)
        gap = np.array([j - i for i, j in pairs])
        out_j = np.array([j for _, j in pairs])
        groups = {"all": np.ones(len(a), dtype=bool), "same_output": out_j[a] == out_j[b],
                  "different_length": gap[a] != gap[b], "same_length": gap[a] == gap[b]}
        values = cos[a, b]
        return {k: float(values[sel].mean()) if sel.any() else float("nan") for k, sel in groups.items()}


def coherence_matrix(vectors) -> np.ndarray:
    """Mean over samples of the absolute cosine between every two of ``P`` vectors.

    Args:
        vectors: ``(n, P, D)``: ``P`` vectors of dimension ``D`` for each of ``n`` samples.

    Returns:
        float64 ``(P, P)`` with ones on the diagonal.
    """
    v = as_tensor("vectors", vectors, ndim=3).double() if not isinstance(vectors, torch.Tensor) \
        else vectors.double()
    if v.dim() != 3:
        raise ValueError(f"vectors must have 3 dimensions (n, P, D), got shape {tuple(v.shape)}")
    norms = v.norm(dim=-1, keepdim=True)
    if (norms == 0).any():
        raise ValueError("vectors must be non-zero to have a cosine; found a zero vector "
                         "(is a pair (i, j) with i > j included?)")
    u = v / norms
    return (u @ u.transpose(1, 2)).abs().mean(dim=0).numpy()


def mean_offdiagonal(matrix) -> float:
    """Mean of the off-diagonal entries of a square matrix (the coherence of distinct maps)."""
    mat = np.asarray(matrix, dtype=np.float64)
    if mat.ndim != 2 or mat.shape[0] != mat.shape[1] or mat.shape[0] < 2:
        raise ValueError(f"matrix must be square with at least 2 rows, got shape {mat.shape}")
    off = ~np.eye(mat.shape[0], dtype=bool)
    return float(mat[off].mean())


@torch.no_grad()
def backward_maps(model: ElmanRNN, x, outputs: int | Sequence[int] | None = None, *,
                  W: torch.Tensor | None = None) -> BackwardMaps:
    """``Back_{i->j}`` for every ``i <= j``, every ``j`` in ``outputs`` and every sequence of ``x``.

    Args:
        model: the RNN (its ``W``, ``A``, ``B``; the patterns ``D_l`` are those of ``W``).
        x: inputs ``(n, L, d_x)``.
        outputs: output positions ``j`` in ``1..L`` (paper numbering); default all ``L``.
        W: optional recurrent matrix replacing ``model.W`` (patterns and products use it).

    Returns:
        :class:`BackwardMaps` with ``maps`` of shape ``(n, L, J, d, m)``.

    Cost: ``L`` products of shape ``(n J d, m) x (m, m)``; memory ``n L J d m`` floats.

    Example:
        >>> import rnnlib
        >>> x = rnnlib.embed(rnnlib.sample_tokens(4, 6, 8, seed=0))
        >>> bm = rnnlib.backward_maps(rnnlib.ElmanRNN(9, 64), x)
        >>> bm.maps.shape
        torch.Size([4, 6, 6, 1, 64])
    """
    if not isinstance(model, ElmanRNN):
        raise TypeError(f"model must be an ElmanRNN, got {type(model).__name__}")
    x = as_tensor("x", x, ndim=3, last_dim=model.input_dim)
    n, L, _ = x.shape
    if W is None:
        W = model.W
    else:
        W = as_tensor("W", W, ndim=2)
        if W.shape != model.W.shape:
            raise ValueError(f"W must have shape {tuple(model.W.shape)}, got {tuple(W.shape)}")
    outputs = tuple(range(1, L + 1)) if outputs is None else _positions("outputs", outputs, L)
    J, d, m = len(outputs), model.output_dim, model.width
    # D_l = 1[h_l > 0] agrees with 1[z_l >= 0] except on the null set z_l = 0, and matches autograd
    D = (model.hidden_states(x, W) > 0).to(torch.float32)  # (n, L, m)
    maps = torch.zeros(n, L, J, d, m)
    G = torch.zeros(n, J, d, m)  # running Back_{i->j} for every output j
    slot = {j: k for k, j in enumerate(outputs)}
    B = model.B
    for i in range(L, 0, -1):
        if i < L:
            # Back_{i->j} = Back_{i+1->j} D_{i+1} W, and D_{i+1} is row i of D (0-based)
            active = [k for k, j in enumerate(outputs) if j > i]
            if active:
                lo = active[0]  # outputs increase, so the active ones are a suffix
                g = G[:, lo:] * D[:, i][:, None, None, :]
                G[:, lo:] = (g.reshape(-1, m) @ W).reshape(n, J - lo, d, m)
        if i in slot:
            G[:, slot[i]] = B
        maps[:, i - 1] = G
    return BackwardMaps(maps=maps, outputs=outputs, B=B.clone())
