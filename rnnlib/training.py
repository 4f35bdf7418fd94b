"""SGD on the recurrent matrix W, with A and B frozen (paper.md section 2.6).

The objective of one sample is ``sum_{labelled l} 1/2 (lambda B h_l - y_l)^2`` with the
output scale ``lambda``; a mini-batch averages it over samples.  The gradient is a
hand-written back-propagation through time (BPTT), checked against autograd in
the tests:

    g_h <- lambda B^T (out_l - y_l)  at labelled steps
    for l = L..1:  g_z = g_h * 1[h_l > 0];  g_h <- W^T g_z
    dW = sum_l g_z,l h_{l-1}^T      (one matrix product over all samples and steps)

Everything carries a leading *ensemble* axis ``k``: ``k`` independent models (for
example differing only in seed) train together with batched matrix products.
A single model is the case ``k = 1``.

How a step is made fast (bench/README.md has the measurements): the buffers of a batch
shape are allocated once (:class:`_Workspace`) and laid out step-major, ``(k, L, n, m)``, so
that every step of the recurrence is one batched product written in place and ``dW`` is one
product over ``(L - 1) n`` rows, accumulated straight into ``W`` (``W <- W - eta dW`` in the
same BLAS call).  ``A x_l`` for all steps is one product; the ReLU masks of all steps come
from one pass (``sign(h)``, exactly 0 or 1); a batch is gathered with one ``index_select``;
positions after the last labelled one are skipped; with only ``W`` trained, the backward pass
stops at ``l = 2`` since ``h_0 = 0``.  About 45 torch calls make a step at ``L = 10``, so at
``m >= 128`` the time goes to the matrix products themselves.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ._checks import as_tensor, check_choice, check_float, check_int
from .rnn import ElmanRNN

__all__ = ["practical_step_size", "bptt", "train_sgd", "TrainingHistory", "TrainingDiverged",
           "TRAINABLE"]

TRAINABLE = ("W", "WA", "WAB")


class TrainingDiverged(ValueError):
    """SGD blew up (non-finite or exploding loss); the message names the step size."""


def practical_step_size(output_scale: float, length: int, width: int, c: float = 1.0) -> float:
    """The practical step size ``eta = c / (lambda^2 L m)`` (paper.md section 2.6).

    With outputs ``lambda B h`` the W-only tangent kernel of one output has scale about
    ``lambda^2 L m / 2``; with the loss 1/2 (error)^2 plain gradient descent is stable for ``c``
    below about 4, and ``c = 1`` trains well across m and L at batch size 32.
    """
    output_scale = check_float("output_scale", output_scale, positive=True)
    length = check_int("length", length, minimum=1)
    width = check_int("width", width, minimum=1)
    c = check_float("c", c, positive=True)
    return c / (output_scale ** 2 * length * width)


class _Workspace:
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
        _recur(self.Hv, Wt, self.g)

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
        """One SGD step in place on the stacked weights, from ``self.x`` and ``self.y``."""
        self.forward(W.transpose(1, 2), A.transpose(1, 2))
        self.output_grad(B, lam, sumsq)
        train_a = "A" in trained
        self.backward(W, 0 if train_a else 1)
        if train_a:
            A.baddbmm_(self.G_flat.transpose(1, 2), self.x, alpha=-lr)
        if "B" in trained:
            B.baddbmm_(self.err.transpose(1, 2), self.hl, alpha=-lr * lam / self.n)
        if self.steps > 1:
            # W <- W - lr * dW, with the gradient product accumulated straight into W
            W.baddbmm_(self.Gs_T, self.Hs, alpha=-lr)


def _labels(labelled) -> list[int]:
    lab = [int(i) for i in labelled]
    if not lab or any(b <= a for a, b in zip(lab, lab[1:])) or lab[0] < 0:
        raise ValueError(f"labelled must be increasing non-negative step indices, got {lab}")
    return lab


def _step_major(x: torch.Tensor, steps: int) -> torch.Tensor:
    """``(k, n, L, c)`` -> ``(k, steps * n, c)`` ordered by step, then sample."""
    k, n, _, c = x.shape
    return x[:, :, :steps].transpose(1, 2).reshape(k, steps * n, c)


def _hidden(W, A, x_steps: torch.Tensor, steps: int, out: torch.Tensor | None = None) -> torch.Tensor:
    """Hidden states ``(k, steps, n, m)`` from step-major inputs ``(k, steps * n, d_x)``, written into
    ``out`` ``(k, steps * n, m)`` when given."""
    k = W.shape[0]
    m = W.shape[-1]
    H = torch.bmm(x_steps, A.transpose(1, 2), out=out).view(k, steps, -1, m)
    _recur([H[:, t] for t in range(steps)], W.transpose(1, 2), torch.empty_like(H[:, 0]))
    return H


def _recur(Hv: list[torch.Tensor], Wt: torch.Tensor, tmp: torch.Tensor) -> None:
    """In place on the steps ``Hv[l] = H[:, l]`` ``(k, n, m)`` holding the input terms ``A x_l``:
    ``h_1 = relu(A x_1)``, ``h_l = relu(A x_l + W h_{l-1})``.

    For ``k > 1`` the product goes to the contiguous ``tmp`` ``(k, n, m)`` and the ReLU writes it
    back: torch runs a batched product as one BLAS call only when its output is contiguous, and
    ``H[:, l]`` is not (it would fall back to one call per model).  For ``k = 1`` it is, and the
    product accumulates in place.
    """
    Hv[0].relu_()
    if Hv[0].shape[0] == 1:
        for t in range(1, len(Hv)):
            Hv[t].baddbmm_(Hv[t - 1], Wt).relu_()
        return
    for t in range(1, len(Hv)):
        torch.baddbmm(Hv[t], Hv[t - 1], Wt, out=tmp)
        torch.clamp_min(tmp, 0, out=Hv[t])


def _forward(W, A, B, x, lab, output_scale):
    """Hidden states (k, n, L, m) and scaled outputs at labelled steps (k, n, nl, d)."""
    with torch.no_grad():
        k, n, L, _ = x.shape
        H = _hidden(W, A, _step_major(x, L), L)
        out = output_scale * torch.matmul(H[:, list(lab)], B.transpose(1, 2))
        return H.transpose(1, 2), out.transpose(1, 2)


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
    lab = _labels(labelled)
    k, n, L, dx = x.shape
    m, d = W.shape[-1], B.shape[1]
    steps = lab[-1] + 1
    if steps > L or y.shape != (k, n, len(lab), d):
        raise ValueError(f"labelled steps {lab} and y of shape {tuple(y.shape)} do not fit x of shape "
                         f"{tuple(x.shape)} and B of shape {tuple(B.shape)}")
    with torch.no_grad():
        ws = _Workspace(k, n, steps, m, dx, lab, d, W.dtype)
        ws.x.copy_(_step_major(x, steps))
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
    lab = _labels(labelled)
    k, n, L, _ = x.shape
    m = W.shape[-1]
    steps = lab[-1] + 1
    chunk = max(1, min(int(chunk), n, _PREDICT_BUDGET // (k * steps * m)))
    Bt = B.transpose(1, 2)
    buf = torch.empty(k, steps * chunk, m, dtype=W.dtype)
    run = lab == list(range(lab[0], steps))
    outs = []
    for s in range(0, n, chunk):
        xc = x[:, s:s + chunk]
        c = xc.shape[1]
        H = _hidden(W, A, _step_major(xc, steps), steps, out=buf if c == chunk else None)
        hl = H[:, lab[0]:] if run else H[:, lab]
        out = torch.bmm(hl.reshape(k, len(lab) * c, m), Bt).mul_(output_scale)
        outs.append(out.view(k, len(lab), c, -1).transpose(1, 2))
    return torch.cat(outs, dim=1)


def standardized_mse(pred: torch.Tensor, y: torch.Tensor) -> np.ndarray:
    """Mean over labelled outputs of MSE / Var(y): 1.0 is the error of predicting the mean.

    ``pred`` and ``y`` are ``(k, n, nl, d)``; returns ``(k,)`` float64.
    """
    mse = (pred - y).double().pow(2).mean(dim=1)
    var = y.double().var(dim=1, unbiased=False).clamp_min(1e-12)
    return (mse / var).mean(dim=(1, 2)).numpy()


@dataclass
class TrainingHistory:
    """What happened during training, per epoch.

    Attributes:
        epoch: epochs completed at each record (0 = initialization).
        train_mse: standardized training MSE, the running mean over the epoch's batches
            (at epoch 0: the full training set at initialization).
        eval_epoch: epochs at which the held-out set was evaluated.
        test_mse: standardized held-out MSE at those epochs (empty without a held-out set).
        lr: the step size used.
        n_steps: SGD steps taken.
    """

    epoch: list = field(default_factory=list)
    train_mse: list = field(default_factory=list)
    eval_epoch: list = field(default_factory=list)
    test_mse: list = field(default_factory=list)
    lr: float = float("nan")
    n_steps: int = 0

    def to_dict(self) -> dict:
        return {"epoch": list(self.epoch), "train_mse": list(self.train_mse),
                "eval_epoch": list(self.eval_epoch), "test_mse": list(self.test_mse),
                "lr": self.lr, "n_steps": self.n_steps}


def _stack(name, values, k, ndim, last_dim=None):
    """Stack per-model arrays to (k, ...); a single array is shared by all k models."""
    if isinstance(values, (list, tuple)) and len(values) == k and not isinstance(values[0], (int, float)):
        ts = [as_tensor(name, v, ndim=ndim, last_dim=last_dim) for v in values]
        if any(t.shape != ts[0].shape for t in ts):
            raise ValueError(f"{name} must have the same shape for every model, got {[tuple(t.shape) for t in ts]}")
        return torch.stack(ts)
    t = as_tensor(name, values, ndim=ndim, last_dim=last_dim)
    return t.unsqueeze(0).expand(k, *t.shape)


class _Batches:
    """Mini-batch gathers of the training set, step-major as :class:`_Workspace` wants them.

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


class _Trainer:
    """The state of the SGD loop: stacked weights (updated in place), the training set arranged
    for gathering, and one :class:`_Workspace` per batch size."""

    def __init__(self, W, A, B, X, Y, lab, output_scale: float, trained: str,
                 average_from: int | None = None):
        self.W, self.A, self.B = W, A, B
        # tail averaging: the running mean of the iterates after step ``average_from``
        self.average_from, self.steps, self.n_avg, self.avg = average_from, 0, 0, None
        self.k, self.m, self.dx, self.d = W.shape[0], W.shape[-1], A.shape[-1], B.shape[1]
        self.lab = [int(i) for i in lab]
        self.n_pos = self.lab[-1] + 1  # positions after the last labelled one do not affect the loss
        self.batches = _Batches(X, Y, self.lab, self.n_pos)
        self.output_scale, self.trained = output_scale, trained
        self.workspaces: dict[int, _Workspace] = {}
        self.sumsq = torch.zeros(self.k, 1, 1, dtype=W.dtype)

    def epoch(self, perms: torch.Tensor, batch_size: int, lr: float) -> torch.Tensor:
        """SGD over one pass in the order ``perms`` ``(k, n)``; returns the summed squared errors ``(k,)``."""
        sumsq = self.sumsq.zero_()
        for size, ix, iy in self.batches.epoch(perms, batch_size):
            ws = self.workspaces.get(size)
            if ws is None:
                ws = self.workspaces[size] = _Workspace(self.k, size, self.n_pos, self.m, self.dx, self.lab,
                                                        self.d, self.W.dtype)
            torch.index_select(self.batches.x, 0, ix, out=ws.x.view(-1, self.dx))
            torch.index_select(self.batches.y, 0, iy, out=ws.y.view(-1, self.d))
            ws.sgd_step(self.W, self.A, self.B, self.output_scale, lr, self.trained, sumsq)
            self.steps += 1
            if self.average_from is not None and self.steps > self.average_from:
                self.n_avg += 1
                if self.avg is None:
                    self.avg = [self.W.clone(), self.A.clone(), self.B.clone()]
                else:
                    for acc, cur in zip(self.avg, (self.W, self.A, self.B)):
                        acc.add_(cur - acc, alpha=1.0 / self.n_avg)
        return sumsq.view(self.k).clone()

    def current(self):
        """The weights the model reports: the running average once it exists, else the iterate."""
        return tuple(self.avg) if self.avg is not None else (self.W, self.A, self.B)


def train_sgd(models: ElmanRNN | Sequence[ElmanRNN], x, y, labelled=None, *,
              output_scale: float = 0.3, lr: float | None = None, lr_scale: float = 1.0,
              epochs: int = 30, batch_size: int = 32, seed: int | Sequence[int] = 0,
              trained: str = "W", x_eval=None, y_eval=None, eval_every: int = 1,
              progress: bool = False, callback: Callable | None = None,
              average_from: int | None = None):
    """Plain mini-batch SGD on ``W`` (and optionally ``A``, ``B``), in place.

    Args:
        models: one :class:`~rnnlib.rnn.ElmanRNN`, or a list of models of the same shape
            trained together (an ensemble: one batched product per step for all of them; results
            equal training them one by one up to float32 rounding).  An ensemble pays off when
            several cores are free (each model's products are already as fast as BLAS gets on one
            core, so on a single core it is about as fast as one after another; bench/README.md).
        x: inputs ``(n, L, d_x)``, or a list with one array per model.
        y: targets ``(n, L, d)`` (values at unlabelled steps are ignored), or a list.
        labelled: boolean mask ``(L,)`` of the labelled steps (default: the last step only).
        output_scale: ``lambda``, the outputs are ``lambda B h``.
        lr: step size ``eta``; ``None`` takes :func:`practical_step_size` with ``c = lr_scale``.
        epochs, batch_size: passes over the data and samples per step.
        seed: seed of the batch order (one per model for an ensemble).
        trained: ``"W"`` (the paper), ``"WA"`` or ``"WAB"``.
        x_eval, y_eval: optional held-out set, evaluated every ``eval_every`` epochs.
        progress: show a tqdm progress bar over epochs.
        callback: called as ``callback(epoch, models)`` after every epoch.
        average_from: if given, average the iterates after SGD step ``average_from`` (tail,
            or Polyak-Ruppert, averaging): held-out evaluations use the running average once it
            exists and the models end with it.  The theorem's guarantee is for an average over
            iterates (paper.md section 2.6); averaging also removes the step-to-step jitter of
            constant-step SGD.  ``None``: the last iterate.

    Returns:
        A :class:`TrainingHistory` (a list of them for a list of models).

    Raises:
        TrainingDiverged: the loss became non-finite or grew 100-fold; the message names ``lr``.
    """
    single = isinstance(models, ElmanRNN)
    models = [models] if single else list(models)
    if not models or not all(isinstance(mdl, ElmanRNN) for mdl in models):
        raise TypeError("models must be an ElmanRNN or a non-empty list of them")
    k = len(models)
    ref = models[0]
    if any((mdl.width, mdl.input_dim, mdl.output_dim) != (ref.width, ref.input_dim, ref.output_dim)
           for mdl in models):
        raise ValueError("models must all have the same width, input_dim and output_dim")
    trained = check_choice("trained", trained, TRAINABLE)
    output_scale = check_float("output_scale", output_scale, positive=True)
    epochs = check_int("epochs", epochs, minimum=0)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    eval_every = check_int("eval_every", eval_every, minimum=1)
    if average_from is not None:
        average_from = check_int("average_from", average_from, minimum=0)
    X = _stack("x", x, k, 3, ref.input_dim)
    Y = _stack("y", y, k, 3, ref.output_dim)
    n, L = X.shape[1], X.shape[2]
    if n < 1:
        raise ValueError(f"x must hold at least one sample, got shape {tuple(X.shape[1:])}")
    if Y.shape[1:3] != (n, L):
        raise ValueError(f"y must have shape (n, L, d) = ({n}, {L}, {ref.output_dim}), got {tuple(Y.shape[1:])}")
    if labelled is None:
        labelled = np.arange(L) == L - 1
    labelled = np.asarray(labelled, dtype=bool)
    if labelled.shape != (L,) or not labelled.any():
        raise ValueError(f"labelled must be a boolean mask of shape ({L},) with at least one True, "
                         f"got {labelled!r}")
    lab = np.flatnonzero(labelled)
    lr = practical_step_size(output_scale, L, ref.width, lr_scale) if lr is None else \
        check_float("lr", lr, positive=True)
    seeds = [seed] * k if isinstance(seed, (int, np.integer)) else list(seed)
    if len(seeds) != k:
        raise ValueError(f"seed must be one int or one per model ({k}), got {len(seeds)}")
    rngs = [np.random.default_rng(check_int("seed", s, minimum=0)) for s in seeds]
    evaluate = x_eval is not None
    if evaluate:
        Xe = _stack("x_eval", x_eval, k, 3, ref.input_dim)
        Ye = _stack("y_eval", y_eval, k, 3, ref.output_dim)[:, :, lab]

    W = torch.stack([mdl.W for mdl in models]).clone()
    A = torch.stack([mdl.A for mdl in models]).clone()
    B = torch.stack([mdl.B for mdl in models]).clone()
    Ylab = Y[:, :, lab]
    histories = [TrainingHistory(lr=lr) for _ in range(k)]

    init_mse = standardized_mse(predict(W, A, B, X, lab, output_scale), Ylab)
    init_loss = None
    for j in range(k):
        histories[j].epoch.append(0)
        histories[j].train_mse.append(float(init_mse[j]))
    if evaluate:
        e = standardized_mse(predict(W, A, B, Xe, lab, output_scale), Ye)
        for j in range(k):
            histories[j].eval_epoch.append(0)
            histories[j].test_mse.append(float(e[j]))

    var_y = Ylab.double().var(dim=1, unbiased=False).clamp_min(1e-12).mean(dim=(1, 2)).float()
    trainer = _Trainer(W, A, B, X, Y, lab, output_scale, trained, average_from)
    steps = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, desc=f"SGD on {trained} (m={ref.width}, L={L})", leave=False)
    try:
        for epoch in range(1, epochs + 1):
            perms = torch.as_tensor(np.stack([r.permutation(n) for r in rngs]))
            sumsq = trainer.epoch(perms, batch_size, lr)
            steps += -(-n // batch_size)
            total = 0.5 * sumsq
            # running standardized MSE of the epoch: 2 * loss per labelled output / Var(y)
            run_mse = (2 * total / n / (len(lab) * ref.output_dim)) / var_y
            if init_loss is None:
                init_loss = torch.as_tensor(np.maximum(init_mse, 1.0), dtype=torch.float32)
            bad = ~torch.isfinite(run_mse) | (run_mse > 100 * init_loss) | ~torch.isfinite(W).all(dim=(1, 2))
            if bad.any():
                j = int(torch.nonzero(bad)[0])
                raise TrainingDiverged(
                    f"SGD diverged at epoch {epoch} (model {j}): standardized training MSE "
                    f"{float(run_mse[j]):.3g} vs {float(init_mse[j]):.3g} at init with lr={lr:.4g} "
                    f"(output_scale={output_scale}, width={ref.width}, length={L}); lower lr or lr_scale")
            for j in range(k):
                histories[j].epoch.append(epoch)
                histories[j].train_mse.append(float(run_mse[j]))
            if evaluate and (epoch % eval_every == 0 or epoch == epochs):
                e = standardized_mse(predict(*trainer.current(), Xe, lab, output_scale), Ye)
                for j in range(k):
                    histories[j].eval_epoch.append(epoch)
                    histories[j].test_mse.append(float(e[j]))
            for j, mdl in enumerate(models):
                mdl.W, mdl.A, mdl.B = W[j].clone(), A[j].clone(), B[j].clone()
            if callback is not None:
                callback(epoch, models[0] if single else models)
            if bar is not None:
                bar.update(1)
                bar.set_postfix(train_mse=f"{float(run_mse.mean()):.3f}")
    finally:
        if bar is not None:
            bar.close()
    W, A, B = trainer.current()
    for j, mdl in enumerate(models):
        mdl.W, mdl.A, mdl.B = W[j].clone(), A[j].clone(), B[j].clone()
        histories[j].n_steps = steps
    return histories[0] if single else histories
