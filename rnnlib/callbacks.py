"""Callbacks of the SGD loop: progress, held-out evaluation, divergence checks, averaging (chapter 4;
Allen-Zhu & Li (2019), section 3, recalled: its guarantee is for an average of the iterates).

:func:`rnnlib.training.train_sgd` is a short loop over epochs of :func:`rnnlib.bptt.sgd_step`;
everything else it does is a :class:`Callback` (as in minGPT's trainer).  The protocol: a callback
overrides any of the hooks below, each called with the running trainer ``state``
(:class:`rnnlib.training.SGDTrainer`), whose attributes a callback may read:

* ``W, A, B``: the stacked iterates ``(k, m, m)``, ``(k, m, d_x)``, ``(k, d, m)`` (updated in place);
* ``average``: ``None`` or the averaged weights ``[W, A, B]`` that the model reports
  (:meth:`~rnnlib.training.SGDTrainer.current` returns them once they exist);
* ``epoch``, ``epochs``, ``steps`` (SGD steps so far), ``lr``, ``output_scale``, ``trained``;
* ``models`` (the :class:`~rnnlib.rnn.ElmanRNN` list), ``histories`` (one
  :class:`~rnnlib.training.TrainingHistory` per model), ``single`` (one model was passed);
* ``init_mse`` ``(k,)``, the standardized training error at initialization, and ``run_mse`` ``(k,)``,
  the running standardized training error of the last epoch;
* ``test_mse`` ``(k,)`` (``None`` without a held-out set): the last held-out error, with
  ``test_mse_init`` at initialization;
* ``final_train_mse`` ``(k,)``: set by :class:`DivergenceCheck` after training, the standardized
  training error of the final weights (``None`` before);
* ``error(x, y)``: the standardized error of the current weights on stacked inputs and targets.

Hooks, in the order they run: ``on_train_start``; ``on_step_end`` after every SGD step (only
callbacks that override it are called there, so the step stays cheap); ``on_epoch_end``;
``on_train_end`` after the last epoch; ``teardown`` always, even when a hook raised.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch

__all__ = ["Callback", "TrainingDiverged", "DivergenceCheck", "HeldOutEvaluation", "IterateAverage",
           "ProgressBar", "EpochFunction"]


class TrainingDiverged(ValueError):
    """SGD blew up (non-finite or exploding loss); the message names the step size."""


class Callback:
    """Base class of the loop's callbacks: every hook does nothing unless overridden."""

    def on_train_start(self, state) -> None:
        pass

    def on_step_end(self, state) -> None:
        pass

    def on_epoch_end(self, state) -> None:
        pass

    def on_train_end(self, state) -> None:
        pass

    def teardown(self, state) -> None:
        pass


class DivergenceCheck(Callback):
    """Stop with :class:`TrainingDiverged` (naming ``lr``) when SGD blows up.

    After every epoch: the running training error is non-finite, ``W`` is non-finite, or the error
    exceeds ``epoch_factor`` times the error at initialization (floored at 1, the error of
    predicting the mean).  After training, on the *final* weights (the averaged ones when averaging):
    the training error and the last held-out error must be finite and at most ``final_factor``
    times their value at initialization (floored at 1).  The running error of an epoch averages
    over its steps, so a blow-up in the last steps of the last epoch is visible only here.

    ``final_factor = 10``: SGD at a working step size lowers the training error, and constant-step
    jitter stays well below the error at initialization; at ten times the larger of the initial
    error and the error of predicting the mean, the model predicts worse than a constant by an
    order of magnitude, which only an unstable step produces (a step size 100 times the practical
    one ends near 1e11).  ``epoch_factor = 100`` (unchanged) is looser because the running error
    of an epoch mixes early, still-large errors of a short run.
    """

    def __init__(self, epoch_factor: float = 100.0, final_factor: float = 10.0):
        self.epoch_factor, self.final_factor = float(epoch_factor), float(final_factor)

    def _raise(self, state, j: int, when: str, what: str, value: float, init: float) -> None:
        raise TrainingDiverged(
            f"SGD diverged {when} (model {j}): standardized {what} MSE {value:.3g} vs {init:.3g} at "
            f"init with lr={state.lr:.4g} (output_scale={state.output_scale}, width={state.width}, "
            f"length={state.length}); lower lr or lr_scale")

    def _check(self, state, when: str, what: str, values, init, factor: float) -> None:
        values, init = np.asarray(values, dtype=np.float64), np.asarray(init, dtype=np.float64)
        bad = ~np.isfinite(values) | (values > factor * np.maximum(init, 1.0))
        if bad.any():
            j = int(np.flatnonzero(bad)[0])
            self._raise(state, j, when, what, float(values[j]), float(init[j]))

    def on_epoch_end(self, state) -> None:
        finite_w = torch.isfinite(state.W).all(dim=2).all(dim=1).numpy()
        if not finite_w.all():
            j = int(np.flatnonzero(~finite_w)[0])
            self._raise(state, j, f"at epoch {state.epoch}", "training", math.inf, float(state.init_mse[j]))
        self._check(state, f"at epoch {state.epoch}", "training", state.run_mse, state.init_mse,
                    self.epoch_factor)

    def on_train_end(self, state) -> None:
        if state.epoch == 0:
            return
        final = state.final_train_mse = state.error(state.X, state.Ylab)
        self._check(state, "by the end of training", "final training", final, state.init_mse, self.final_factor)
        if state.test_mse is not None:
            self._check(state, "by the end of training", "final held-out", state.test_mse,
                        state.test_mse_init, self.final_factor)


class HeldOutEvaluation(Callback):
    """Standardized error on a held-out set at initialization, every ``every`` epochs and after the
    last one, recorded in each model's history (``eval_epoch``, ``test_mse``) and in
    ``state.test_mse``.  Uses the averaged weights once they exist."""

    def __init__(self, x, y, every: int = 1):
        self.x, self.y, self.every = x, y, int(every)

    def _record(self, state) -> None:
        e = state.error(self.x, self.y)
        if state.test_mse is None:
            state.test_mse_init = e
        state.test_mse = e
        for j, hist in enumerate(state.histories):
            hist.eval_epoch.append(state.epoch)
            hist.test_mse.append(float(e[j]))

    def on_train_start(self, state) -> None:
        self._record(state)

    def on_epoch_end(self, state) -> None:
        if state.epoch % self.every == 0 or state.epoch == state.epochs:
            self._record(state)


class IterateAverage(Callback):
    """Tail (Polyak-Ruppert) averaging: the running mean of the iterates after SGD step ``start``
    becomes ``state.average``, which evaluations use and the models end with.  The theorem's
    guarantee is for an average over iterates (Allen-Zhu & Li (2019), section 3, recalled)."""

    def __init__(self, start: int):
        self.start, self.count = int(start), 0

    def on_step_end(self, state) -> None:
        if state.steps <= self.start:
            return
        self.count += 1
        if state.average is None:
            state.average = [state.W.clone(), state.A.clone(), state.B.clone()]
        else:
            for acc, cur in zip(state.average, (state.W, state.A, state.B)):
                acc.add_(cur - acc, alpha=1.0 / self.count)


class ProgressBar(Callback):
    """A tqdm bar over epochs showing the running training error."""

    def __init__(self, desc: str):
        self.desc, self.bar = desc, None

    def on_train_start(self, state) -> None:
        from tqdm.auto import tqdm  # optional display dependency, imported only when a bar is shown
        self.bar = tqdm(total=state.epochs, desc=self.desc, leave=False)

    def on_epoch_end(self, state) -> None:
        self.bar.update(1)
        self.bar.set_postfix(train_mse=f"{float(np.mean(state.run_mse)):.3f}")

    def teardown(self, state) -> None:
        if self.bar is not None:
            self.bar.close()


class EpochFunction(Callback):
    """Wrap a plain function ``fn(epoch, models)`` (the ``callback`` of ``train_sgd``): after every
    epoch the models receive the current iterates and ``fn`` is called with the model (one model
    passed) or the list."""

    def __init__(self, fn: Callable):
        if not callable(fn):
            raise TypeError(f"callback must be callable or a Callback, got {type(fn).__name__}")
        self.fn = fn

    def on_epoch_end(self, state) -> None:
        state.sync_models(iterate=True)
        self.fn(state.epoch, state.models[0] if state.single else state.models)
