"""Two probes of chapter 5's headline runs (chapter 5; Allen-Zhu & Li (2019), Theorem 1,
recalled).

* :func:`token_errors`: which earlier token's term a trained RNN has learned.  The headline label at
  position ``L`` is a sum of one term per earlier token ``i``; redrawing token ``i`` alone changes the
  label by that term's change, and a model that has learned the term changes its output by the same
  amount.  The error of the output's change against the label's change, divided by the label change's
  mean square, is 0 for a learned term, 1 for a model that ignores the token, and above 1 when the
  output moves with the token but not as the term does.
* :class:`StepTuning` (an engine kind): SGD's step-size constant ``c`` (``lr_scale``; step
  ``c / (lambda^2 L m)``) chosen by the validation protocol of the ridge baselines
  (:mod:`rnnlib.ridge`): a held-out fifth of the training set scores every ``c`` of a grid after
  training on the other four fifths; a run that diverges scores infinity.  The headline then trains
  on all ``N`` with the chosen ``c``.

:func:`point_work` and :func:`seconds_per_work` are the cost model of a headline point (re-exported by
:mod:`rnnlib.headline`, whose ``HeadlineDesign.work`` sums them).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from ._checks import check_int
from .config import ExperimentConfig, derive_seed
from .data import Dataset, make_dataset, standardize_labels
from .experiment import RUN_THREADS, fixed_threads, initial_model, sgd_options
from .ridge import validation_split
from .tokens import embed
from .training import predict, standardized_mse, train_sgd

__all__ = ["C_GRID", "token_errors", "token_positions", "validation_error", "StepTuning", "TuningResult",
           "point_work", "seconds_per_work"]

#: Step-size constants tried, a factor 2 apart from one below the book's ``c = 2`` (chapter 4) upwards to
#: where the held-out error rose again in a pilot (:func:`rnnlib.tasks.headline_design`).
C_GRID = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)


def token_positions(cfg: ExperimentConfig) -> list[int]:
    """The paper positions ``i`` (1-based, 2 = first token) whose term enters the label at position ``L``."""
    last = cfg.length if cfg.include_current else cfg.length - 1
    return list(range(2, last + 1))


def token_errors(cfg: ExperimentConfig, model, data: Dataset, *, n_probe: int = 250, with_scale: bool = False):
    """Per token position, the error of a trained model on the label change when that token is redrawn.

    Args:
        cfg: the run's config; model: the trained :class:`~rnnlib.rnn.ElmanRNN`; data: its dataset
            (the probe uses the first ``n_probe`` test sequences and, as replacement tokens, a seeded
            permutation of the test set).

    Returns:
        ``(k,)`` errors at the positions :func:`token_positions` (the label at the last position); with
        ``with_scale``, also ``(k,)`` mean squares of the label's change.  A term with a small
        coefficient has a small change, and its error alone is then noisy: pool several positions or
        seeds as a ratio of sums (:func:`rnnlib.headline_stats.token_profile`).
    """
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    n = min(check_int("n_probe", n_probe, minimum=2), data.x_star_test.shape[0])
    xs = data.x_star_test[:n]
    rng = np.random.default_rng(derive_seed(cfg.seed, "token-probe"))
    other = data.x_star_test[rng.permutation(data.x_star_test.shape[0])[:n]]
    _, _, std = standardize_labels(data.y_train, data.labelled)
    scale = torch.as_tensor(np.asarray(std)[-1], dtype=torch.float64)  # label units at the last position
    last = [data.concept.length]  # the terms of the label at the last position only
    terms, terms_o = data.concept.pair_contributions(xs, last), data.concept.pair_contributions(other, last)
    dtype, lab = data.x_test.dtype, np.flatnonzero(data.labelled)

    def out(x_star):
        x = torch.as_tensor(np.asarray(embed(x_star, cfg.eps_x), dtype=dtype))[None]
        return predict(model.W[None], model.A[None], model.B[None], x, lab, cfg.output_scale)[0, :, -1]

    errors, scales = [], []
    with torch.no_grad(), fixed_threads(RUN_THREADS):
        f0 = out(xs).double()
        for i in token_positions(cfg):
            moved = xs.copy()
            moved[:, i - 2] = other[:, i - 2]
            df = (f0 - out(moved).double()) * scale
            dy = torch.as_tensor(terms[:, i - 1, -1] - terms_o[:, i - 1, -1])
            scales.append(float((dy ** 2).mean()))
            errors.append(float(((df - dy) ** 2).mean()) / max(scales[-1], 1e-300))
    return (np.array(errors), np.array(scales)) if with_scale else np.array(errors)


def validation_error(cfg: ExperimentConfig, data: Dataset | None = None) -> float:
    """Held-out standardized error of SGD (as ``cfg`` trains) fitted on four fifths of ``cfg``'s
    training set and scored on the other fifth; ``inf`` when the run diverges.

    The split is :func:`rnnlib.ridge.validation_split` with the run's seed; the epochs are ``cfg``'s
    (so SGD takes four fifths of the steps the refit on all ``N`` takes).
    """
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    data = make_dataset(cfg) if data is None else data
    tr, va = validation_split(cfg.n_train, derive_seed(cfg.seed, "step-validation"))
    sub = cfg.replace(n_train=len(tr))
    y_tr, mean, std = standardize_labels(data.y_train[tr], data.labelled)
    y_va, _, _ = standardize_labels(data.y_train[va], data.labelled, mean, std)
    lab = np.flatnonzero(data.labelled)
    with fixed_threads(RUN_THREADS):
        model = initial_model(sub)
        try:
            train_sgd(model, data.x_train[tr], y_tr, data.labelled, seed=derive_seed(cfg.seed, "sgd"),
                      **sgd_options(sub))
            with torch.no_grad():
                pred = predict(model.W[None], model.A[None], model.B[None], torch.as_tensor(data.x_train[va])[None],
                               lab, cfg.output_scale)
                err = float(standardized_mse(pred, torch.as_tensor(y_va[:, lab])[None])[0])
        except (ValueError, FloatingPointError, OverflowError):  # the run diverged
            return math.inf
    return err if math.isfinite(err) else math.inf


@dataclass(frozen=True)
class StepTuning:
    """The choice of ``c`` for one run (``config``: the run as it trains, ``trained`` set; its own
    ``lr_scale`` is ignored) over ``grid``.  An engine kind: :func:`rnnlib.engine.run_many` caches it."""

    kind: ClassVar[str] = "step_tuning"
    result_type: ClassVar = None  # TuningResult, set below

    config: ExperimentConfig
    grid: tuple = C_GRID

    def __post_init__(self):
        if not isinstance(self.config, ExperimentConfig):
            raise TypeError(f"config must be an ExperimentConfig, got {type(self.config).__name__}")
        grid = tuple(self.grid)
        if not grid or any(isinstance(c, bool) or not isinstance(c, (int, float)) or not c > 0 for c in grid):
            raise ValueError(f"grid must be a non-empty sequence of positive numbers, got {self.grid!r}")
        object.__setattr__(self, "grid", tuple(float(c) for c in grid))

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "grid": list(self.grid)}

    def run(self) -> "TuningResult":
        start, cpu = time.perf_counter(), time.process_time()
        data = make_dataset(self.config)
        errors = tuple(validation_error(self.config.replace(lr_scale=c), data) for c in self.grid)
        if not any(math.isfinite(e) for e in errors):
            raise ValueError(f"every step constant of {self.grid} diverged; config {self.config}")
        return TuningResult(self, errors, self.grid[int(np.argmin(errors))], time.perf_counter() - start,
                            {"cpu_seconds": time.process_time() - cpu})

    def estimated_cost(self) -> float:
        return len(self.grid) * self.config.estimated_cost()  # a pool starts the longest tunings first

    def code_modules(self) -> list[str]:
        return ["headline_probes"]


@dataclass
class TuningResult:
    """Held-out errors per ``c`` of ``tuning.grid`` (``inf``: diverged) and the chosen ``c``."""

    tuning: StepTuning
    errors: tuple
    chosen: float
    seconds: float
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"tuning": self.tuning.to_dict(), "chosen": self.chosen, "seconds": self.seconds,
                "errors": [e if math.isfinite(e) else None for e in self.errors], "info": dict(self.info)}

    @classmethod
    def from_dict(cls, data: dict) -> "TuningResult":
        """Rebuild from :meth:`to_dict` (``None`` errors are diverged runs); a damaged entry raises."""
        if not isinstance(data, dict) or not {"tuning", "errors", "chosen", "seconds"} <= set(data):
            raise ValueError(f"a tuning result needs tuning, errors, chosen and seconds, got {data!r}")
        t = data["tuning"]
        tuning = StepTuning(ExperimentConfig.from_dict(t["config"]), tuple(t["grid"]))
        errors = tuple(math.inf if e is None else float(e) for e in data["errors"])
        if len(errors) != len(tuning.grid) or any(e < 0 or math.isnan(e) for e in errors):
            raise ValueError(f"errors must hold one error >= 0 (or None) per c of {tuning.grid}, got {data['errors']}")
        chosen = float(data["chosen"])
        if chosen not in tuning.grid:
            raise ValueError(f"chosen must be a c of the grid {tuning.grid}, got {chosen}")
        return cls(tuning, errors, chosen, float(data["seconds"]), dict(data.get("info", {})))


StepTuning.result_type = TuningResult


def point_work(point) -> float:
    """The work of one :class:`rnnlib.headline.HeadlinePoint` in the units of ``HeadlineDesign.work``:
    SGD ``steps x batch x L x m^2``, the NTK ``(N + n_test) N L^2 m + N^3``, other ridge 0."""
    c = point.config
    if point.method in ("sgd_w", "sgd_wa"):
        steps = c.epochs * math.ceil(c.n_train / c.batch_size)
        return float(steps * c.batch_size * c.length * c.width ** 2)
    if point.method == "ntk_ridge":
        return float((c.n_train + c.n_test) * c.n_train * c.length ** 2 * c.width + c.n_train ** 3)
    return 0.0


def seconds_per_work(results) -> dict:
    """``{method: median cpu seconds per unit of work}`` over measured :class:`rnnlib.headline.PointResult` s."""
    rates: dict = {}
    for r in results:
        w = point_work(r.point)
        if w > 0 and "cpu_seconds" in r.info:
            rates.setdefault(r.point.method, []).append(r.info["cpu_seconds"] / w)
    return {m: float(np.median(v)) for m, v in rates.items()}
