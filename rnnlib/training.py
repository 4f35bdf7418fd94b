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


def _forward(W, A, B, x, lab, output_scale):
    """Hidden states (k, n, L, m) and scaled outputs at labelled steps (k, n, nl, d)."""
    k, n, L, _ = x.shape
    m = W.shape[-1]
    ax = torch.matmul(x, A.transpose(1, 2).unsqueeze(1))  # (k, n, L, m): A x_l for all steps at once
    H = x.new_empty(k, n, L, m)
    h = x.new_zeros(k, n, m)
    Wt = W.transpose(1, 2)
    for t in range(L):
        h = torch.relu(torch.baddbmm(ax[:, :, t], h, Wt))
        H[:, :, t] = h
    out = output_scale * torch.matmul(H[:, :, lab], B.transpose(1, 2).unsqueeze(1))
    return H, out


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
    lab = list(int(i) for i in labelled)
    k, n, L, dx = x.shape
    m = W.shape[-1]
    H, out = _forward(W, A, B, x, lab, output_scale)
    err = out - y
    loss = 0.5 * err.pow(2).sum(dim=(1, 2, 3)) / n
    g_out = err / n
    g_lab = output_scale * torch.matmul(g_out, B.unsqueeze(1))  # (k, n, nl, m)
    G = x.new_empty(k, n, L, m)
    g = x.new_zeros(k, n, m)
    slot = {t: s for s, t in enumerate(lab)}
    last = lab[-1]
    G[:, :, last + 1:] = 0.0
    for t in range(last, -1, -1):
        if t in slot:
            g = g + g_lab[:, :, slot[t]]
        gz = g * (H[:, :, t] > 0)
        G[:, :, t] = gz
        if t > 0:
            g = torch.bmm(gz, W)
    grads = {}
    if L > 1:
        Gs = G[:, :, 1:].reshape(k, n * (L - 1), m)
        Hs = H[:, :, :-1].reshape(k, n * (L - 1), m)
        grads["W"] = torch.bmm(Gs.transpose(1, 2), Hs)  # h_0 = 0 adds nothing
    else:
        grads["W"] = torch.zeros_like(W)
    if "A" in trained:
        grads["A"] = torch.bmm(G.reshape(k, n * L, m).transpose(1, 2), x.reshape(k, n * L, dx))
    if "B" in trained:
        nl = len(lab)
        grads["B"] = output_scale * torch.bmm(g_out.reshape(k, n * nl, -1).transpose(1, 2),
                                              H[:, :, lab].reshape(k, n * nl, m))
    return loss, grads


@torch.no_grad()
def predict(W, A, B, x, labelled, output_scale, chunk: int = 4096) -> torch.Tensor:
    """Scaled outputs at the labelled steps, ``(k, n, nl, d)``, computed in chunks of samples."""
    lab = list(int(i) for i in labelled)
    outs = [_forward(W, A, B, x[:, s:s + chunk], lab, output_scale)[1] for s in range(0, x.shape[1], chunk)]
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


def train_sgd(models: ElmanRNN | Sequence[ElmanRNN], x, y, labelled=None, *,
              output_scale: float = 0.3, lr: float | None = None, lr_scale: float = 1.0,
              epochs: int = 30, batch_size: int = 32, seed: int | Sequence[int] = 0,
              trained: str = "W", x_eval=None, y_eval=None, eval_every: int = 1,
              progress: bool = False, callback: Callable | None = None):
    """Plain mini-batch SGD on ``W`` (and optionally ``A``, ``B``), in place.

    Args:
        models: one :class:`~rnnlib.rnn.ElmanRNN`, or a list of models of the same shape
            trained together (an ensemble; results equal training them one by one).
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
    arange_k = torch.arange(k)[:, None]
    steps = 0
    bar = None
    if progress:
        from tqdm.auto import tqdm
        bar = tqdm(total=epochs, desc=f"SGD on {trained} (m={ref.width}, L={L})", leave=False)
    try:
        for epoch in range(1, epochs + 1):
            perms = torch.as_tensor(np.stack([r.permutation(n) for r in rngs]))
            total = torch.zeros(k)
            for s in range(0, n, batch_size):
                idx = perms[:, s:s + batch_size]
                loss, grads = bptt(W, A, B, X[arange_k, idx], Ylab[arange_k, idx], lab, output_scale, trained)
                W.sub_(lr * grads["W"])
                if "A" in grads:
                    A.sub_(lr * grads["A"])
                if "B" in grads:
                    B.sub_(lr * grads["B"])
                total += loss * idx.shape[1]
                steps += 1
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
                e = standardized_mse(predict(W, A, B, Xe, lab, output_scale), Ye)
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
    for j, mdl in enumerate(models):
        mdl.W, mdl.A, mdl.B = W[j].clone(), A[j].clone(), B[j].clone()
        histories[j].n_steps = steps
    return histories[0] if single else histories
