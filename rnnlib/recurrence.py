"""The one ReLU recurrence of the Elman RNN (chapter 3; Allen-Zhu & Li (2019), section 3, recalled).

    h_0 = 0 (or a given h0),   h_l = relu(W h_{l-1} + A x_l)      (l = 1..L)

Every module that needs hidden states calls :func:`relu_recurrence` (the network, the float64
probes of chapter 3, the pseudo-network, the baselines' features); the SGD trainer
(:mod:`rnnlib.bptt`) keeps its preallocated step-major buffers and runs the same step,
:func:`relu_step`, through :func:`relu_steps_`.

Layout.  Internally the states are *step-major*, ``(k, L, n, m)``: a step is a contiguous
``(n, m)`` block of every model, so a step is one batched matrix product (``baddbmm``) written in
place.  Row vectors are used throughout, ``h_l^T = relu(h_{l-1}^T W^T + x_l^T A^T)``, hence the
transposed ``Wt = W^T`` arguments of the kernels.
"""
from __future__ import annotations

from typing import Sequence

import torch

__all__ = ["relu_recurrence", "relu_step", "relu_steps_", "check_finite"]

_DTYPES = (torch.float32, torch.float64)


def check_finite(name: str, t: torch.Tensor) -> None:
    """Raise ``ValueError`` naming ``name`` when ``t`` holds NaN or inf (a NaN weight would otherwise
    propagate through every later step and come out as a silently wrong number)."""
    if not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name} must contain only finite values; found {bad} NaN or inf "
                         f"entries in a tensor of shape {tuple(t.shape)}")


def relu_step(z: torch.Tensor, h_prev: torch.Tensor | None, Wt: torch.Tensor, *,
              inplace: bool = False, tmp: torch.Tensor | None = None) -> torch.Tensor:
    """One step ``h = relu(z + h_prev W^T)`` for ``k`` models at once.

    Args:
        z: the input term ``A x_l`` of the step, ``(k, n, m)``.
        h_prev: ``h_{l-1}``, ``(k, n, m)``; ``None`` stands for ``h_0 = 0`` (no product).
        Wt: ``W^T``, ``(k, m, m)``.
        inplace: write ``h`` into ``z`` (no allocation; not differentiable).  Otherwise a new
            tensor is returned and autograd can differentiate through the step.
        tmp: with ``inplace``, a contiguous ``(k, n, m)`` scratch buffer: the product goes there
            and the ReLU writes it back into ``z``.  Needed when ``z`` is not contiguous (a step of
            a step-major buffer with ``k > 1``): torch runs a batched product as one BLAS call only
            when its output is contiguous, and would otherwise fall back to one call per model.

    Returns:
        ``h_l``, ``(k, n, m)`` (``z`` itself when ``inplace``).
    """
    if not inplace:
        return torch.relu(z if h_prev is None else torch.baddbmm(z, h_prev, Wt))
    if h_prev is None:
        return z.relu_()
    if tmp is None:
        return z.baddbmm_(h_prev, Wt).relu_()
    torch.baddbmm(z, h_prev, Wt, out=tmp)
    return torch.clamp_min(tmp, 0, out=z)


def relu_steps_(steps: Sequence[torch.Tensor], Wt: torch.Tensor, *, h0: torch.Tensor | None = None,
                tmp: torch.Tensor | None = None) -> None:
    """The recurrence in place on a step-major buffer: ``steps[l]`` holds ``A x_{l+1}`` on entry and
    ``h_{l+1}`` on return (each ``(k, n, m)``, views of one ``(k, L, n, m)`` tensor).

    ``tmp`` is the scratch buffer of :func:`relu_step`; it is allocated here when ``k > 1`` and not
    given (the trainer passes a preallocated one).
    """
    if not steps:
        return
    if tmp is None and steps[0].shape[0] > 1 and not steps[0].is_contiguous():
        tmp = torch.empty_like(steps[0], memory_format=torch.contiguous_format)
    if steps[0].shape[0] == 1:
        tmp = None  # one model: the step itself is contiguous and the product accumulates in place
    h = h0
    for z in steps:
        h = relu_step(z, h, Wt, inplace=True, tmp=tmp)


def _batched(name: str, t, ndim: int) -> torch.Tensor:
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"{name} must be a torch tensor, got {type(t).__name__}")
    if t.dtype not in _DTYPES:
        raise TypeError(f"{name} must be float32 or float64, got dtype {t.dtype}")
    if t.dim() not in (ndim, ndim + 1):
        raise ValueError(f"{name} must have {ndim} dimensions (or {ndim + 1} with a leading ensemble "
                         f"axis), got shape {tuple(t.shape)}")
    return t if t.dim() == ndim + 1 else t.unsqueeze(0)


def relu_recurrence(W: torch.Tensor, A: torch.Tensor, x: torch.Tensor, *, h0: torch.Tensor | None = None,
                    out: torch.Tensor | None = None, step_major: bool = False) -> torch.Tensor:
    """Hidden states ``h_1..h_L`` of ``h_l = relu(W h_{l-1} + A x_l)`` (paper section 2, Elman RNN).

    Dtype-generic (float32 or float64, all arguments alike) and batched over an optional leading
    ensemble axis ``k`` shared by ``W``, ``A`` and ``x`` (a missing axis is broadcast).  Non-finite
    weights or inputs are refused.  Differentiable when autograd is on and an argument requires a
    gradient; otherwise every step is written in place into one step-major buffer.

    Args:
        W: recurrent matrix ``(m, m)`` or ``(k, m, m)``.
        A: input matrix ``(m, d_x)`` or ``(k, m, d_x)``.
        x: inputs ``(n, L, d_x)`` or ``(k, n, L, d_x)``.
        h0: initial state ``(n, m)`` or ``(k, n, m)``; default ``h_0 = 0``.
        out: optional contiguous buffer ``(k, L, n, m)`` for the step-major states (reused by
            chunked evaluations; not with autograd).
        step_major: return ``(..., L, n, m)`` (a view of the buffer) instead of ``(..., n, L, m)``.

    Returns:
        ``(n, L, m)`` hidden states, ``(k, n, L, m)`` when any argument has the ensemble axis
        (contiguous); ``(..., L, n, m)`` with ``step_major``.

    Example:
        >>> import torch
        >>> from rnnlib.recurrence import relu_recurrence
        >>> W, A = torch.randn(16, 16) * 0.35, torch.randn(16, 3) * 0.35
        >>> relu_recurrence(W, A, torch.randn(5, 7, 3)).shape
        torch.Size([5, 7, 16])
    """
    batched = any(isinstance(t, torch.Tensor) and t.dim() == nd + 1 for t, nd in ((W, 2), (A, 2), (x, 3)))
    W3, A3, x4 = _batched("W", W, 2), _batched("A", A, 2), _batched("x", x, 3)
    if not (W3.dtype == A3.dtype == x4.dtype):
        raise TypeError(f"W, A and x must share one dtype, got {W3.dtype}, {A3.dtype} and {x4.dtype}")
    m, dx = W3.shape[-1], x4.shape[-1]
    if W3.shape[-2] != m or A3.shape[-2:] != (m, dx):
        raise ValueError(f"W must be (m, m) and A (m, d_x) with d_x = x.shape[-1] = {dx}, "
                         f"got W {tuple(W.shape)} and A {tuple(A.shape)}")
    ks = {t.shape[0] for t in (W3, A3, x4)} - {1}
    if len(ks) > 1:
        raise ValueError(f"the ensemble axes of W, A and x differ: {tuple(W.shape)}, {tuple(A.shape)}, "
                         f"{tuple(x.shape)}")
    k = ks.pop() if ks else 1
    for name, t in (("W", W3), ("A", A3), ("x", x4)):
        check_finite(name, t)
    n, L = x4.shape[1], x4.shape[2]
    if h0 is not None:
        h0 = _batched("h0", h0, 2)
        if h0.shape[1:] != (n, m) or h0.dtype != W3.dtype:
            raise ValueError(f"h0 must be ({n}, {m}) of dtype {W3.dtype}, got {tuple(h0.shape)} {h0.dtype}")
        check_finite("h0", h0)
        h0 = h0.expand(k, n, m)
    Wt = W3.transpose(1, 2).expand(k, m, m)
    At = A3.transpose(1, 2).expand(k, dx, m)
    xs = x4.expand(k, n, L, dx).transpose(1, 2).reshape(k, L * n, dx)  # step-major rows
    grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (W3, A3, x4, h0))
    if grad:
        if out is not None:
            raise ValueError("out cannot be used when autograd records the recurrence")
        Z = torch.bmm(xs, At).view(k, L, n, m)
        h, hs = h0, []
        for t in range(L):
            h = relu_step(Z[:, t], h, Wt)
            hs.append(h)
        H = torch.stack(hs, dim=1) if hs else Z
    else:
        if out is not None and (out.shape != (k, L, n, m) or out.dtype != W3.dtype or not out.is_contiguous()):
            raise ValueError(f"out must be a contiguous ({k}, {L}, {n}, {m}) {W3.dtype} tensor, "
                             f"got {tuple(out.shape)} {out.dtype}")
        with torch.no_grad():
            H = torch.bmm(xs, At, out=None if out is None else out.view(k, L * n, m)).view(k, L, n, m)
            relu_steps_([H[:, t] for t in range(L)], Wt, h0=h0)
    if not step_major:
        H = H.transpose(1, 2).contiguous()
    return H if batched else H[0]
