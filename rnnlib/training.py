"""SGD on the recurrent matrix W, with A and B frozen (chapter 4; Allen-Zhu & Li (2019), section 3, recalled).

:func:`train_sgd` is a short loop: every epoch it gathers mini-batches and calls
:func:`rnnlib.bptt.sgd_step` (the hand-written BPTT and the update, in :mod:`rnnlib.bptt`); held-out
evaluation, the divergence checks, iterate averaging, the progress bar and a user's function are
callbacks (:mod:`rnnlib.callbacks`), which see the running :class:`SGDTrainer`.

Everything carries a leading *ensemble* axis ``k``: ``k`` independent models (for example differing
only in seed) train together with batched matrix products.  A single model is the case ``k = 1``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch

from ._checks import as_tensor, check_choice, check_float, check_int
from .bptt import Batches, Workspace, bptt, predict, sgd_step
from .callbacks import (Callback, DivergenceCheck, EpochFunction, HeldOutEvaluation, IterateAverage,
                        ProgressBar, TrainingDiverged)
from .rnn import ElmanRNN

__all__ = ["practical_step_size", "bptt", "predict", "train_sgd", "standardized_mse", "TrainingHistory",
           "TrainingDiverged", "SGDTrainer", "TRAINABLE"]

TRAINABLE = ("W", "WA", "WAB")

# step sizes and output scales must stay well inside float32 (the weights' dtype): lr * gradient and
# output_scale * B h are float32 products, and beyond ~1e30 they overflow in the first steps
_LOG10_LR_MIN, _LOG10_LR_MAX = -30.0, 30.0


def practical_step_size(output_scale: float, length: int, width: int, c: float = 1.0) -> float:
    """The practical step size ``eta = c / (lambda^2 L m)`` (Allen-Zhu & Li (2019), section 3, recalled).

    With outputs ``lambda B h`` the W-only tangent kernel of one output has scale about
    ``lambda^2 L m / 2``; with the loss 1/2 (error)^2 plain gradient descent is stable for ``c``
    below about 4, and ``c = 1`` trains well across m and L at batch size 32.
    """
    output_scale = check_float("output_scale", output_scale, positive=True)
    length = check_int("length", length, minimum=1)
    width = check_int("width", width, minimum=1)
    c = check_float("c", c, positive=True)
    # in logs: output_scale ** 2 underflows to 0 below ~1e-154 and c / (...) overflows for huge c
    log10_lr = math.log10(c) - 2 * math.log10(output_scale) - math.log10(length) - math.log10(width)
    if not _LOG10_LR_MIN <= log10_lr <= _LOG10_LR_MAX:
        raise ValueError(f"c / (output_scale^2 * length * width) = 10^{log10_lr:.1f} for c={c:g} (lr_scale), "
                         f"output_scale={output_scale:g}, length={length}, width={width} is outside the "
                         f"float32 range of the weights [1e-30, 1e30]; choose output_scale and c so "
                         f"that the step size is representable")
    return c / (output_scale ** 2 * length * width)


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
        final_train_mse: standardized training error of the final model (the averaged one when
            averaging), measured by the divergence check after training (NaN with 0 epochs); the
            same number as ``standardized_mse(predict(...))`` of the returned model, so callers need
            not recompute it.  Not part of :meth:`to_dict`.
        final_test_mse: the last held-out error, of the final model (NaN without a held-out set).
    """

    epoch: list = field(default_factory=list)
    train_mse: list = field(default_factory=list)
    eval_epoch: list = field(default_factory=list)
    test_mse: list = field(default_factory=list)
    lr: float = float("nan")
    n_steps: int = 0
    final_train_mse: float = float("nan")
    final_test_mse: float = float("nan")

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


class SGDTrainer:
    """The state of the SGD loop, which callbacks read (:mod:`rnnlib.callbacks` lists the attributes).

    Holds the stacked weights (updated in place), the training set arranged for gathering
    (:class:`~rnnlib.bptt.Batches`) and one :class:`~rnnlib.bptt.Workspace` per batch size.

    Args:
        W, A, B: stacked weights ``(k, m, m)``, ``(k, m, d_x)``, ``(k, d, m)``, trained in place.
        X, Y: inputs ``(k, n, L, d_x)`` and targets ``(k, n, L, d)``.
        lab: indices of the labelled steps.
        output_scale, trained: ``lambda`` and which matrices train (``"W"``, ``"WA"``, ``"WAB"``).
        average_from: shorthand for an :class:`~rnnlib.callbacks.IterateAverage` callback.
        callbacks: :class:`~rnnlib.callbacks.Callback` objects, run in order.
    """

    def __init__(self, W, A, B, X, Y, lab, output_scale: float, trained: str,
                 average_from: int | None = None, callbacks: Sequence[Callback] = ()):
        self.W, self.A, self.B, self.X = W, A, B, X
        self.k, self.m, self.dx, self.d = W.shape[0], W.shape[-1], A.shape[-1], B.shape[1]
        self.lab = [int(i) for i in lab]
        self.Ylab = Y[:, :, self.lab]
        self.n, self.length, self.width = X.shape[1], X.shape[2], self.m
        self.n_pos = self.lab[-1] + 1  # positions after the last labelled one do not affect the loss
        self.batches = Batches(X, Y, self.lab, self.n_pos)
        self.output_scale, self.trained = output_scale, trained
        self.callbacks = list(callbacks)
        if average_from is not None:
            self.callbacks.insert(0, IterateAverage(average_from))
        # only callbacks that override on_step_end run after every step
        self._step_hooks = [cb.on_step_end for cb in self.callbacks
                            if type(cb).on_step_end is not Callback.on_step_end]
        self.workspaces: dict[int, Workspace] = {}
        self.sumsq = torch.zeros(self.k, 1, 1, dtype=W.dtype)
        self.steps = self.epoch_index = 0
        self.epochs, self.lr, self.average = 0, float("nan"), None
        self.models, self.histories, self.single = [], [], False
        self.init_mse = self.run_mse = self.test_mse = self.test_mse_init = self.final_train_mse = None

    @property
    def epoch(self) -> int:
        """Epochs completed."""
        return self.epoch_index

    @property
    def n_avg(self) -> int:
        """Iterates averaged so far (0 without averaging)."""
        return sum(cb.count for cb in self.callbacks if isinstance(cb, IterateAverage))

    def run_epoch(self, perms: torch.Tensor, batch_size: int, lr: float) -> torch.Tensor:
        """SGD over one pass in the order ``perms`` ``(k, n)``; returns the summed squared errors ``(k,)``."""
        sumsq = self.sumsq.zero_()
        for size, ix, iy in self.batches.epoch(perms, batch_size):
            ws = self.workspaces.get(size)
            if ws is None:
                ws = self.workspaces[size] = Workspace(self.k, size, self.n_pos, self.m, self.dx, self.lab,
                                                       self.d, self.W.dtype)
            torch.index_select(self.batches.x, 0, ix, out=ws.x.view(-1, self.dx))
            torch.index_select(self.batches.y, 0, iy, out=ws.y.view(-1, self.d))
            sgd_step(ws, self.W, self.A, self.B, output_scale=self.output_scale, lr=lr, trained=self.trained,
                     sumsq=sumsq)
            self.steps += 1
            for hook in self._step_hooks:
                hook(self)
        return sumsq.view(self.k).clone()

    def current(self):
        """The weights the model reports: the running average once it exists, else the iterate."""
        return tuple(self.average) if self.average is not None else (self.W, self.A, self.B)

    def error(self, x: torch.Tensor, y: torch.Tensor) -> np.ndarray:
        """Standardized error ``(k,)`` of the current weights on inputs ``(k, n, L, d_x)`` and targets
        at the labelled steps ``(k, n, nl, d)``."""
        return standardized_mse(predict(*self.current(), x, self.lab, self.output_scale), y)

    def sync_models(self, iterate: bool = False) -> None:
        """Copy the current weights (the iterate if ``iterate``) into the models."""
        W, A, B = (self.W, self.A, self.B) if iterate else self.current()
        for j, mdl in enumerate(self.models):
            mdl.W, mdl.A, mdl.B = W[j].clone(), A[j].clone(), B[j].clone()

    def fit(self, rngs, epochs: int, batch_size: int, lr: float) -> None:
        """The loop: ``epochs`` passes of SGD in the orders drawn from ``rngs``, callbacks around them."""
        self.epochs, self.lr = epochs, lr
        var_y = self.Ylab.double().var(dim=1, unbiased=False).clamp_min(1e-12).mean(dim=(1, 2)).float()
        self.init_mse = self.error(self.X, self.Ylab)
        for j, hist in enumerate(self.histories):
            hist.epoch.append(0)
            hist.train_mse.append(float(self.init_mse[j]))
        try:
            for cb in self.callbacks:
                cb.on_train_start(self)
            for epoch in range(1, epochs + 1):
                perms = torch.as_tensor(np.stack([r.permutation(self.n) for r in rngs]))
                sumsq = self.run_epoch(perms, batch_size, lr)
                self.epoch_index = epoch
                # running standardized MSE of the epoch: 2 * loss per labelled output / Var(y)
                self.run_mse = ((sumsq / self.n / (len(self.lab) * self.d)) / var_y).numpy()
                for j, hist in enumerate(self.histories):
                    hist.epoch.append(epoch)
                    hist.train_mse.append(float(self.run_mse[j]))
                for cb in self.callbacks:
                    cb.on_epoch_end(self)
            for cb in self.callbacks:
                cb.on_train_end(self)
        finally:
            for cb in self.callbacks:
                cb.teardown(self)
        self.sync_models()
        for j, hist in enumerate(self.histories):
            hist.n_steps = self.steps
            if self.final_train_mse is not None:
                hist.final_train_mse = float(self.final_train_mse[j])
            if self.test_mse is not None:
                hist.final_test_mse = float(self.test_mse[j])


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
        callback: a function called as ``callback(epoch, models)`` after every epoch, a
            :class:`~rnnlib.callbacks.Callback`, or a list of them (run after the built-in ones).
        average_from: if given, average the iterates after SGD step ``average_from`` (tail,
            or Polyak-Ruppert, averaging): held-out evaluations use the running average once it
            exists and the models end with it.  The theorem's guarantee is for an average over
            iterates (Allen-Zhu & Li (2019), section 3, recalled); averaging also removes the step-to-step jitter of
            constant-step SGD.  ``None``: the last iterate.

    Returns:
        A :class:`TrainingHistory` (a list of them for a list of models).

    Raises:
        TrainingDiverged: the loss became non-finite or grew 100-fold during an epoch, or the final
            model's training or held-out error is non-finite or above 10 times its value at
            initialization (:class:`~rnnlib.callbacks.DivergenceCheck`); the message names ``lr``.
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
    if not 10 ** _LOG10_LR_MIN <= output_scale <= 10 ** _LOG10_LR_MAX:
        raise ValueError(f"output_scale must be within [1e-30, 1e30] (float32 outputs lambda B h), "
                         f"got {output_scale:g}")
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
    if not 10 ** _LOG10_LR_MIN <= lr <= 10 ** _LOG10_LR_MAX:
        raise ValueError(f"lr must be within [1e-30, 1e30] (float32 updates lr * gradient), got {lr:g}")
    seeds = [seed] * k if isinstance(seed, (int, np.integer)) else list(seed)
    if len(seeds) != k:
        raise ValueError(f"seed must be one int or one per model ({k}), got {len(seeds)}")
    rngs = [np.random.default_rng(check_int("seed", s, minimum=0)) for s in seeds]
    callbacks: list[Callback] = [DivergenceCheck()]
    if x_eval is not None:
        Xe = _stack("x_eval", x_eval, k, 3, ref.input_dim)
        Ye = _stack("y_eval", y_eval, k, 3, ref.output_dim)
        if Xe.shape[2] != L or Ye.shape[1:3] != Xe.shape[1:3]:
            raise ValueError(f"x_eval and y_eval must have shapes (n_eval, {L}, d_x) and (n_eval, {L}, d), "
                             f"got {tuple(Xe.shape[1:])} and {tuple(Ye.shape[1:])}")
        callbacks.append(HeldOutEvaluation(Xe, Ye[:, :, lab], eval_every))
    if callback is not None:
        for cb in (callback if isinstance(callback, (list, tuple)) else [callback]):
            callbacks.append(cb if isinstance(cb, Callback) else EpochFunction(cb))
    if progress:
        callbacks.append(ProgressBar(f"SGD on {trained} (m={ref.width}, L={L})"))

    W = torch.stack([mdl.W for mdl in models]).clone()
    A = torch.stack([mdl.A for mdl in models]).clone()
    B = torch.stack([mdl.B for mdl in models]).clone()
    trainer = SGDTrainer(W, A, B, X, Y, lab, output_scale, trained, average_from, callbacks)
    trainer.models, trainer.single = models, single
    trainer.histories = [TrainingHistory(lr=lr) for _ in range(k)]
    trainer.fit(rngs, epochs, batch_size, lr)
    return trainer.histories[0] if single else trainer.histories


# names of the earlier single-module trainer, kept for the benchmarks (bench/run_all.py, profile_step.py)
_Workspace = Workspace


class _Trainer(SGDTrainer):
    """:class:`SGDTrainer` with the earlier call ``trainer.epoch(perms, batch_size, lr)``."""

    def epoch(self, perms: torch.Tensor, batch_size: int, lr: float) -> torch.Tensor:
        return self.run_epoch(perms, batch_size, lr)
