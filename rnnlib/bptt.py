"""The backpropagation kernels of SGD on W (chapter 4; Allen-Zhu & Li (2019), section 3,
the algorithm of the setup, recalled).

The objective of one sample is ``sum_{labelled l} 1/2 (lambda B h_l - y_l)^2`` with the output scale
``lambda``; a mini-batch averages it over samples.  The gradient is a hand-written back-propagation
through time (BPTT), checked against autograd in the tests:

    g_h <- lambda B^T (out_l - y_l)  at labelled steps
    for l = L..1:  g_z = g_h * 1[h_l > 0];  g_h <- W^T g_z
    dW = sum_l g_z,l h_{l-1}^T      (one matrix product over all samples and steps)

Everything carries a leading *ensemble* axis ``k``: ``k`` independent models train together with
batched matrix products; a single model is ``k = 1``.  The loop around :func:`sgd_step` (epochs,
evaluation, divergence checks, averaging) is :func:`rnnlib.training.train_sgd`.

How a step is made fast (bench/README.md has the measurements): the buffers of a batch shape are
allocated once (:class:`Workspace`) and laid out step-major, ``(k, L, n, m)``, so that every step of
the recurrence (:func:`rnnlib.recurrence.relu_steps_`, the same step as
:func:`rnnlib.recurrence.relu_recurrence`) is one batched product written in place and ``dW`` is one
product over ``(L - 1) n`` rows, accumulated straight into ``W`` (``W <- W - eta dW`` in the same
BLAS call).  ``A x_l`` for all steps is one product; the ReLU masks of all steps come from one pass
(``sign(h)``, exactly 0 or 1); a batch is gathered with one ``index_select``; positions after the
last labelled one are skipped; with only ``W`` trained, the backward pass stops at ``l = 2`` since
``h_0 = 0``.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from .recurrence import relu_recurrence, relu_steps_

__all__ = ["Workspace", "sgd_step", "bptt", "predict", "Batches", "labelled_steps", "step_major"]


class Workspace:
    """Preallocated buffers of the BPTT of one batch shape, laid out step-major per model.

    ``H`` and ``G`` are ``(k, steps, n, m)``: the hidden states ``h_1..h_steps`` and the
    back-propagated ``g_z`` (the gradient of the pre-activations).  With this layout a
    step is a contiguous ``(n, m)`` block of every model, so the recurrence writes in place
    with one batched matrix product per step, and ``dW = sum_l g_z,l h_{l-1}^T`` is a single
    batched product over ``(steps - 1) n`` rows.  ``steps`` stops at the last labelled
    position: later positions do not influence the loss.
    """

    def __init__(self, k: int, n: int, steps: int, m: int, dx: int, lab: Sequence[int], d: int,
                 dtype: torch.dtype):
        self.k, self.n, self.steps, self.m = k, n, steps, m
        self.lab = tuple(lab)
        nl = len(self.lab)
        self.H = torch.empty(k, steps, n, m, dtype=dtype)
        self.G = torch.empty(k, steps, n, m, dtype=dtype)
        self.x = torch.empty(k, steps * n, dx, dtype=dtype)
        self.y = torch.empty(k, nl * n, d, dtype=dtype)
        self.err = torch.empty(k, nl * n, d, dtype=dtype)
        self.glab = torch.empty(k, nl * n, m, dtype=dtype)
        self.g = torch.empty(k, n, m, dtype=dtype)
        self.H_flat = self.H.view(k, steps * n, m)
        self.G_flat = self.G.view(k, steps * n, m)
        self.Hv = [self.H[:, t] for t in range(steps)]
        self.Gv = [self.G[:, t] for t in range(steps)]
        glab4 = self.glab.view(k, nl, n, m)
        self.glab_at = {t: glab4[:, s] for s, t in enumerate(self.lab)}
        if self.lab == tuple(range(self.lab[0], steps)):
            # a final run of positions ("last" or "all" labels): a view, no copy
            self.hl = self.H[:, self.lab[0]:].reshape(k, nl * n, m)
            self.lab_index = None
        else:
            self.hl = torch.empty(k, nl * n, m, dtype=dtype)
            self.lab_index = torch.tensor(self.lab)
        if steps > 1:
            self.Gs_T = self.G[:, 1:].reshape(k, (steps - 1) * n, m).transpose(1, 2)
            self.Hs = self.H[:, :-1].reshape(k, (steps - 1) * n, m)

    def forward(self, Wt: torch.Tensor, At: torch.Tensor) -> None:
        """``H`` from ``self.x``: all input terms ``A x_l`` in one product, then the recurrence."""
        torch.bmm(self.x, At, out=self.H_flat)
        relu_steps_(self.Hv, Wt, tmp=self.g)  # the recurrence of rnnlib.recurrence, in place

    def output_grad(self, B: torch.Tensor, lam: float, sumsq: torch.Tensor) -> None:
        """``err = lambda B h_l - y_l`` at labelled steps; adds ``sum err^2`` to ``sumsq`` ``(k, 1, 1)``;
        ``glab = (lambda / n) B^T err``, the gradient of the batch-mean loss with respect to ``h_l``."""
        if self.lab_index is not None:
            torch.index_select(self.H, 1, self.lab_index, out=self.hl.view(self.k, len(self.lab), self.n, self.m))
        torch.baddbmm(self.y, self.hl, B.transpose(1, 2), beta=-1, alpha=lam, out=self.err)
        e = self.err.view(self.k, 1, -1)
        sumsq.baddbmm_(e, e.transpose(1, 2))
        torch.baddbmm(self.glab, self.err, B, beta=0, alpha=lam / self.n, out=self.glab)

    def backward(self, W: torch.Tensor, first: int) -> None:
        """Fill ``G[:, first:]`` with ``g_z``: ``g_z,l = g_l * 1[h_l > 0]``, ``g_{l-1} = W^T g_z,l (+ glab)``."""
        last = self.steps - 1
        if last < first:
            return
        # 1[h > 0] for every step in one pass: sign(h) is exactly 0 or 1 since h = relu(.) >= 0
        torch.sign(self.H[:, first:], out=self.G[:, first:])
        Gv, glab_at = self.Gv, self.glab_at
        g = glab_at[last]
        for t in range(last, first - 1, -1):
            gz = Gv[t].mul_(g)
            if t > first:
                below = glab_at.get(t - 1)
                g = torch.bmm(gz, W, out=self.g) if below is None else \
                    torch.baddbmm(below, gz, W, out=self.g)

    def grad_W(self) -> torch.Tensor:
        if self.steps == 1:  # h_0 = 0: W receives no gradient
            return torch.zeros(self.k, self.m, self.m, dtype=self.H.dtype)
        return torch.bmm(self.Gs_T, self.Hs)

    def grad_A(self) -> torch.Tensor:
        return torch.bmm(self.G_flat.transpose(1, 2), self.x)

    def grad_B(self, lam: float) -> torch.Tensor:
        return torch.bmm(self.err.transpose(1, 2), self.hl).mul_(lam / self.n)

    def sgd_step(self, W, A, B, lam: float, lr: float, trained: str, sumsq: torch.Tensor) -> None:
        """:func:`sgd_step` on this workspace (kept for the benchmarks' call)."""
        sgd_step(self, W, A, B, output_scale=lam, lr=lr, trained=trained, sumsq=sumsq)


def sgd_step(ws: Workspace, W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, *, output_scale: float,
             lr: float, trained: str = "W", sumsq: torch.Tensor) -> None:
    """One step of plain SGD, in place on the stacked weights (the SGD on W of the paper, section 2; chapter 4).

    ``W <- W - lr * dL/dW`` (and ``A``, ``B`` when ``trained`` says so) for the batch already gathered
    into ``ws.x`` (inputs) and ``ws.y`` (targets at the labelled steps); ``L`` is the batch mean of
    ``sum_{labelled l} 1/2 (lambda B h_l - y_l)^2``.  ``W, A, B`` are ``(k, m, m)``, ``(k, m, d_x)``,
    ``(k, d, m)``; ``sumsq`` ``(k, 1, 1)`` accumulates the squared errors of the batch.
    """
    ws.forward(W.transpose(1, 2), A.transpose(1, 2))  # h_l = relu(W h_{l-1} + A x_l)
    ws.output_grad(B, output_scale, sumsq)  # g at labelled steps: lambda B^T (lambda B h_l - y_l) / n
    train_a = "A" in trained
    ws.backward(W, 0 if train_a else 1)  # g_z,l = 1[h_l > 0] * (g_l + W^T g_z,l+1)
    if train_a:
        A.baddbmm_(ws.G_flat.transpose(1, 2), ws.x, alpha=-lr)
    if "B" in trained:
        B.baddbmm_(ws.err.transpose(1, 2), ws.hl, alpha=-lr * output_scale / ws.n)
    if ws.steps > 1:
        # W <- W - lr * sum_l g_z,l h_{l-1}^T, the gradient product accumulated straight into W
        W.baddbmm_(ws.Gs_T, ws.Hs, alpha=-lr)


def labelled_steps(labelled) -> list[int]:
    """The labelled step indices (0-based) as an increasing list of ints; ``ValueError`` otherwise."""
    lab = [int(i) for i in labelled]
    if not lab or any(b <= a for a, b in zip(lab, lab[1:])) or lab[0] < 0:
        raise ValueError(f"labelled must be increasing non-negative step indices, got {lab}")
    return lab


def step_major(x: torch.Tensor, steps: int) -> torch.Tensor:
    """``(k, n, L, c)`` -> ``(k, steps * n, c)`` ordered by step, then sample."""
    k, n, _, c = x.shape
    return x[:, :, :steps].transpose(1, 2).reshape(k, steps * n, c)


def bptt(W: torch.Tensor, A: torch.Tensor, B: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
         labelled: Sequence[int] | np.ndarray, output_scale: float, trained: str = "W"):
    """Loss and hand-written gradients for a batch, for ``k`` models at once.

    Args:
        W, A, B: stacked weights ``(k, m, m)``, ``(k, m, d_x)``, ``(k, d, m)``.
        x: inputs ``(k, n, L, d_x)``.
        y: targets at the labelled steps ``(k, n, nl, d)``.
        labelled: indices (0-based) of the ``nl`` labelled steps, increasing.
        output_scale: ``lambda``.
        trained: which gradients to return: ``"W"``, ``"WA"`` or ``"WAB"``.

    Returns:
        ``(loss, grads)``: ``loss`` is ``(k,)``, the batch mean of
        ``sum_l 1/2 (lambda B h_l - y_l)^2``; ``grads`` maps ``"W"``, ``"A"``, ``"B"`` (as
        requested) to tensors shaped like the weights.
    """
    lab = labelled_steps(labelled)
    k, n, L, dx = x.shape
    m, d = W.shape[-1], B.shape[1]
    steps = lab[-1] + 1
    if steps > L or y.shape != (k, n, len(lab), d):
        raise ValueError(f"labelled steps {lab} and y of shape {tuple(y.shape)} do not fit x of shape "
                         f"{tuple(x.shape)} and B of shape {tuple(B.shape)}")
    with torch.no_grad():
        ws = Workspace(k, n, steps, m, dx, lab, d, W.dtype)
        ws.x.copy_(step_major(x, steps))
        ws.y.copy_(y.transpose(1, 2).reshape(k, len(lab) * n, d))
        ws.forward(W.transpose(1, 2), A.transpose(1, 2))
        sumsq = torch.zeros(k, 1, 1, dtype=W.dtype)
        ws.output_grad(B, output_scale, sumsq)
        ws.backward(W, 0 if "A" in trained else 1)
        grads = {"W": ws.grad_W()}
        if "A" in trained:
            grads["A"] = ws.grad_A()
        if "B" in trained:
            grads["B"] = ws.grad_B(output_scale)
        return 0.5 * sumsq.view(k) / n, grads


# Hidden states per chunk in predict, in floats (8 MB in float32): large enough for efficient
# products, small enough to stay in cache for big ensembles (measured: 2^21 was as fast as or faster
# than 2^16, 2^18 and 2^24 at m = 128 and 512, k = 1 and 16).
_PREDICT_BUDGET = 2 ** 21


@torch.no_grad()
def predict(W, A, B, x, labelled, output_scale, chunk: int = 4096) -> torch.Tensor:
    """Scaled outputs at the labelled steps, ``(k, n, nl, d)``, computed in chunks of samples.

    A chunk holds at most ``chunk`` samples, fewer when ``k * L * m`` is large, so that memory stays
    bounded and the hidden states stay in cache.
    """
    lab = labelled_steps(labelled)
    k, n, L, _ = x.shape
    m = W.shape[-1]
    steps = lab[-1] + 1
    chunk = max(1, min(int(chunk), n, _PREDICT_BUDGET // (k * steps * m)))
    Bt = B.transpose(1, 2)
    buf = torch.empty(k, steps, chunk, m, dtype=W.dtype)
    run = lab == list(range(lab[0], steps))
    outs = []
    for s in range(0, n, chunk):
        xc = x[:, s:s + chunk]
        c = xc.shape[1]
        H = relu_recurrence(W, A, xc[:, :, :steps], out=buf if c == chunk else None, step_major=True)
        hl = H[:, lab[0]:] if run else H[:, lab]
        out = torch.bmm(hl.reshape(k, len(lab) * c, m), Bt).mul_(output_scale)
        outs.append(out.view(k, len(lab), c, -1).transpose(1, 2))
    return torch.cat(outs, dim=1)


class Batches:
    """Mini-batch gathers of the training set, step-major as :class:`Workspace` wants them.

    ``x`` holds the inputs as rows ``(model, position, sample)`` and ``y`` the labelled targets as
    rows ``(model, labelled position, sample)``; one epoch's permutations become one flat row index
    per mini-batch, so a batch is gathered with a single ``index_select``.  Data shared by all
    models (an expanded array) is stored once.
    """

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, lab: np.ndarray, n_pos: int):
        self.k, self.n = X.shape[:2]
        self.x, self.x_off = self._rows(X, slice(0, n_pos))
        self.y, self.y_off = self._rows(Y, [int(i) for i in lab])

    def _rows(self, T: torch.Tensor, positions):
        k, n = self.k, self.n
        shared = k > 1 and T.stride(0) == 0
        rows = (T[:1] if shared else T)[:, :, positions].transpose(1, 2).contiguous()  # (k|1, p, n, c)
        p = rows.shape[1]
        model_off = torch.zeros(k, dtype=torch.long) if shared else torch.arange(k) * (p * n)
        off = model_off[:, None] + torch.arange(p) * n  # (k, p): row of sample 0 at each (model, position)
        return rows.view(-1, rows.shape[-1]), off

    def epoch(self, perms: torch.Tensor, batch_size: int):
        """Yield ``(size, x_rows, y_rows)`` per mini-batch for permutations ``perms`` ``(k, n)``."""
        k, n = self.k, self.n
        nb, tail = divmod(n, batch_size)
        out = []
        for off in (self.x_off, self.y_off):
            rows = off[:, :, None] + perms[:, None, :]  # (k, p, n)
            p = rows.shape[1]
            full = rows[:, :, :nb * batch_size].reshape(k, p, nb, batch_size).permute(2, 0, 1, 3)
            # reshape(0, -1) is ambiguous, so an epoch shorter than one batch skips it
            full = full.reshape(nb, k * p * batch_size) if nb else None
            out.append((full, rows[:, :, nb * batch_size:].reshape(-1)))
        (fx, tx), (fy, ty) = out
        for b in range(nb):
            yield batch_size, fx[b], fy[b]
        if tail:
            yield tail, tx, ty
