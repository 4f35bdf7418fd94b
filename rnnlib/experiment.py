"""One SGD run, from a config to its result (chapters 4-5; Allen-Zhu & Li (2019), section 3 and
Theorem 1, recalled).

:class:`ExperimentConfig` names everything that determines an experiment; the
same config (and seed) gives the same numbers.  :func:`run_experiment` samples the
data, draws the concept and the RNN, trains, and measures.  Errors are
*standardized*: the mean over labelled outputs of MSE / Var(y), so 1.0 is the error
of predicting the mean.  Targets are centred and scaled with training-set
statistics before training (the network has no bias), which leaves standardized
errors unchanged.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from ._checks import check_bool, check_int
from .config import ExperimentConfig, check_resources, derive_seed
from .data import Dataset, DegenerateDataError, effective_seeds, make_dataset, standardize_labels
from .rnn import ElmanRNN
from .training import predict, standardized_mse, train_sgd

__all__ = ["ExperimentConfig", "ExperimentResult", "Dataset", "make_dataset", "initial_model",
           "run_experiment", "run_ensemble", "derive_seed", "DegenerateDataError", "fixed_threads",
           "RUN_THREADS", "standardize_labels", "sgd_options"]

# torch threads of one run: matrix products split over threads sum in another order, so the last
# digits of a result would depend on the thread count (width 200: 1 thread against 2).  Every run
# uses this many, whatever the executor, so serial, pool and cluster runs agree bitwise.
RUN_THREADS = 1


@contextlib.contextmanager
def fixed_threads(n: int = RUN_THREADS):
    """Run the block with ``n`` torch threads and restore the previous count afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass
class ExperimentResult:
    """What one experiment measured. All errors are standardized (1.0 = predicting the mean).

    Attributes:
        config: the :class:`ExperimentConfig`.
        train_mse, test_mse: after training (test against noisy labels, i.e. population loss).
        train_mse_at_init, test_mse_at_init: at the random initialization.
        noise_floor: the standardized error of the true concept on the test set (``OPT``; 0 without noise).
        w_displacement: ``||W_T - W_0||_F``.
        w_displacement_spectral: ``||W_T - W_0||_2``.
        w_init_norm: ``||W_0||_F``.
        pattern_flips: fraction of ReLU patterns ``D_l`` on (up to 256) test inputs that differ
            between ``W_T`` and ``W_0``.
        lr: the step size used; n_steps: SGD steps taken; seconds: wall time.
        history: per-epoch curves (:meth:`rnnlib.training.TrainingHistory.to_dict`).
        extras: further named measurements of the trained network, filled by a ``measure``
            hook of :func:`rnnlib.sweep` (for example prior bounds); empty otherwise.
        model: the trained :class:`~rnnlib.rnn.ElmanRNN` when requested (never cached).
    """

    config: ExperimentConfig
    train_mse: float
    test_mse: float
    train_mse_at_init: float
    test_mse_at_init: float
    noise_floor: float
    w_displacement: float
    w_displacement_spectral: float
    w_init_norm: float
    pattern_flips: float
    lr: float
    n_steps: int
    seconds: float
    history: dict = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    model: Any = field(default=None, repr=False, compare=False)

    def to_dict(self) -> dict:
        """A JSON-ready dict (without the model)."""
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "model"}
        out["config"] = self.config.to_dict()
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentResult":
        """Rebuild from :meth:`to_dict`, validating every number (a damaged cache entry raises
        ``ValueError`` or ``TypeError`` naming the field, never loads as a result)."""
        if not isinstance(data, dict):
            raise TypeError(f"result must be a dict, got {type(data).__name__}")
        data = dict(data)
        data["config"] = ExperimentConfig.from_dict(data.get("config"))
        data.setdefault("extras", {})
        names = {f.name for f in dataclasses.fields(cls)} - {"model"}
        missing = sorted(names - set(data))
        if missing:
            raise ValueError(f"result dict lacks field(s) {missing}")
        for name in _FLOAT_RESULTS:
            data[name] = _finite(name, data[name])
        data["n_steps"] = check_int("n_steps", data["n_steps"], minimum=0)
        for name in ("history", "extras"):
            if not isinstance(data[name], dict) or not all(isinstance(k, str) for k in data[name]):
                raise TypeError(f"{name} must be a dict with string keys, got {type(data[name]).__name__}")
        for key, values in data["history"].items():
            for v in (values if isinstance(values, list) else [values]):
                _finite(f"history[{key!r}]", v)
        data["extras"] = {k: _finite(f"extras[{k!r}]", v) for k, v in data["extras"].items()}
        return cls(**{k: data[k] for k in names})

    def arrays(self) -> dict | None:
        """The trained weights ``{"W", "A", "B"}`` (float32) for the engine to store, or ``None``."""
        if self.model is None:
            return None
        return {name: getattr(self.model, name).detach().cpu().numpy() for name in ("W", "A", "B")}

    def with_arrays(self, arrays: dict) -> "ExperimentResult":
        """A copy with ``model`` rebuilt from stored weights (bitwise the trained network)."""
        model = initial_model(self.config)
        for name in ("W", "A", "B"):
            value = torch.as_tensor(np.asarray(arrays[name]))
            if value.shape != getattr(model, name).shape or value.dtype != torch.float32:
                raise ValueError(f"stored weight {name} has shape {tuple(value.shape)} and dtype "
                                 f"{value.dtype}, expected {tuple(getattr(model, name).shape)} float32")
            setattr(model, name, value.clone())
        return dataclasses.replace(self, model=model)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), allow_nan=False)


_FLOAT_RESULTS = ("train_mse", "test_mse", "train_mse_at_init", "test_mse_at_init", "noise_floor",
                  "w_displacement", "w_displacement_spectral", "w_init_norm", "pattern_flips", "lr",
                  "seconds")


def _finite(name: str, value) -> float:
    """A stored number: a real, finite, non-negative float (every stored measurement is one)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def initial_model(cfg: ExperimentConfig) -> ElmanRNN:
    """The RNN of ``cfg`` at its random initialization (the model :func:`run_experiment` trains)."""
    return ElmanRNN(cfg.token_dim + 1, cfg.width, cfg.output_dim, seed=derive_seed(cfg.seed, "model"),
                    b_var=cfg.b_var)


@dataclass
class _Prepared:
    """Data, standardized targets and the RNN at initialization of one config."""

    data: Dataset
    y_train: np.ndarray
    y_test: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    model: ElmanRNN
    W0: torch.Tensor


def _prepare(cfg: ExperimentConfig, data: Dataset | None = None) -> _Prepared:
    data = make_dataset(cfg) if data is None else data
    y_tr, mean, std = standardize_labels(data.y_train, data.labelled)
    y_te, _, _ = standardize_labels(data.y_test, data.labelled, mean, std)
    model = initial_model(cfg)
    return _Prepared(data, y_tr, y_te, mean, std, model, model.W.clone())


def sgd_options(cfg: ExperimentConfig) -> dict:
    """The keyword arguments of :func:`~rnnlib.training.train_sgd` that a config fixes (step size,
    budget, trained matrices, evaluation interval, and where tail averaging starts)."""
    total_steps = cfg.epochs * math.ceil(cfg.n_train / cfg.batch_size)
    average_from = None
    if cfg.average > 0 and total_steps > 0:
        average_from = total_steps - max(1, round(cfg.average * total_steps))
    return dict(output_scale=cfg.output_scale, lr=cfg.step_size, epochs=cfg.epochs,
                batch_size=cfg.batch_size, trained=cfg.trained,
                eval_every=cfg.eval_every or max(1, cfg.epochs // 10), average_from=average_from)


def _measure(cfg: ExperimentConfig, prep: _Prepared, history, seconds: float,
             keep_model: bool) -> ExperimentResult:
    """Everything :class:`ExperimentResult` reports about a trained model."""
    data, model, W0 = prep.data, prep.model, prep.W0
    lab = np.flatnonzero(data.labelled)
    stack = lambda mdl: (mdl.W[None], mdl.A[None], mdl.B[None])  # noqa: E731
    x_tr, x_te = torch.as_tensor(data.x_train)[None], torch.as_tensor(data.x_test)[None]
    y_tr_t, y_te_t = torch.as_tensor(prep.y_train[:, lab])[None], torch.as_tensor(prep.y_test[:, lab])[None]
    train_mse = float(standardized_mse(predict(*stack(model), x_tr, lab, cfg.output_scale), y_tr_t)[0])
    test_mse = float(standardized_mse(predict(*stack(model), x_te, lab, cfg.output_scale), y_te_t)[0])
    # OPT: the error of the noise-free concept against the noisy test labels
    clean = (data.concept(data.x_star_test)[:, lab] - prep.mean) / prep.std
    noise_floor = float(standardized_mse(torch.as_tensor(clean, dtype=torch.float32)[None], y_te_t)[0]) \
        if cfg.noise_std > 0 else 0.0
    delta = model.W - W0
    probe = data.x_test[:256]
    init_model = model.copy()
    init_model.W = W0
    flips = (model.activation_patterns(probe) != init_model.activation_patterns(probe)).float().mean()
    result = ExperimentResult(
        config=cfg, train_mse=train_mse, test_mse=test_mse,
        train_mse_at_init=history.train_mse[0], test_mse_at_init=history.test_mse[0],
        noise_floor=noise_floor,
        w_displacement=float(torch.linalg.matrix_norm(delta)),
        w_displacement_spectral=float(torch.linalg.matrix_norm(delta, ord=2)),
        w_init_norm=float(torch.linalg.matrix_norm(W0)),
        pattern_flips=float(flips), lr=history.lr, n_steps=history.n_steps,
        seconds=seconds, history=history.to_dict(),
        model=model if keep_model else None)
    for name in ("train_mse", "test_mse", "w_displacement"):
        if not math.isfinite(getattr(result, name)):
            raise ValueError(f"experiment produced a non-finite {name}; config {cfg}")
    return result


def run_experiment(cfg: ExperimentConfig | None = None, *, keep_model: bool = False,
                   progress: bool = False, callback=None, data: Dataset | None = None) -> ExperimentResult:
    """Run one experiment: data, concept, RNN at init, SGD, measurements.

    Args:
        cfg: the config (default :class:`ExperimentConfig`).
        keep_model: attach the trained model as ``result.model``.
        progress: show a progress bar over epochs.
        callback: passed to :func:`rnnlib.train_sgd`, called as ``callback(epoch, model)``
            after every epoch (e.g. a :class:`rnnlib.PseudoNetworkTracker` built from
            :func:`initial_model` of the same config).
        data: :func:`make_dataset` of ``cfg`` when the caller has drawn it already (default: drawn here).

    The run uses :data:`RUN_THREADS` torch threads (restored afterwards), so its numbers do not
    depend on the caller's thread count; a config beyond the machine's memory raises
    :class:`rnnlib.config.ResourceError` before allocating; degenerate labels raise
    :class:`DegenerateDataError`.
    """
    cfg = ExperimentConfig() if cfg is None else cfg
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    keep_model = check_bool("keep_model", keep_model)
    progress = check_bool("progress", progress)
    check_resources(cfg)  # before anything is allocated
    with fixed_threads(RUN_THREADS):
        start = time.perf_counter()
        prep = _prepare(cfg, data)
        history = train_sgd(prep.model, prep.data.x_train, prep.y_train, prep.data.labelled,
                            seed=derive_seed(cfg.seed, "sgd"), x_eval=prep.data.x_test, y_eval=prep.y_test,
                            progress=progress, callback=callback, **sgd_options(cfg))
        return _measure(cfg, prep, history, time.perf_counter() - start, keep_model)


_SEED_FIELDS = ("seed", "data_seed", "concept_seed")


def _ensemble_key(cfg: ExperimentConfig) -> tuple:
    """What must be equal for configs to train together: every field but the seeds."""
    return tuple((k, v) for k, v in sorted(cfg.to_dict().items()) if k not in _SEED_FIELDS)


def run_ensemble(configs, *, keep_model: bool = False, progress: bool = False,
                 max_models: int = 32) -> list[ExperimentResult]:
    """Run many experiments, training those that differ only in their seeds together.

    Configs equal in every field except ``seed``, ``data_seed`` and ``concept_seed`` form an
    ensemble: their models train in one :func:`~rnnlib.training.train_sgd` call with batched matrix
    products (each with its own data, initialization and batch order), which on a multi-core CPU is
    faster than training them one after another.  Results equal ``[run_experiment(c) for c in
    configs]`` up to float32 rounding, except ``seconds``, which is the ensemble's wall time divided
    by its number of models.  (Rounding can, rarely, put a pre-activation on the other side of 0 in
    one run than in the other; the two runs then take slightly different SGD steps.)

    Args:
        configs: a sequence of :class:`ExperimentConfig`; any mix, grouped automatically.
        keep_model: attach each trained model as ``result.model``.
        progress: show a progress bar over epochs for every ensemble.
        max_models: at most this many models train together (bounds memory).

    Returns:
        The :class:`ExperimentResult` of every config, in the order given.
    """
    configs = list(configs)
    if not configs:
        raise ValueError("configs must hold at least one ExperimentConfig, got an empty sequence")
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, ExperimentConfig):
            raise TypeError(f"configs[{i}] must be an ExperimentConfig, got {type(cfg).__name__}")
    max_models = check_int("max_models", max_models, minimum=1)
    groups: dict[tuple, list[int]] = {}
    for i, cfg in enumerate(configs):
        groups.setdefault(_ensemble_key(cfg), []).append(i)
    results: list[ExperimentResult | None] = [None] * len(configs)
    for members in groups.values():
        for s in range(0, len(members), max_models):
            chunk = members[s:s + max_models]
            for i, res in zip(chunk, _run_together([configs[i] for i in chunk], keep_model, progress)):
                results[i] = res
    return results


def _run_together(cfgs: list[ExperimentConfig], keep_model: bool, progress: bool) -> list[ExperimentResult]:
    start = time.perf_counter()
    datasets: dict[tuple[int, int], Dataset] = {}
    preps = []
    for cfg in cfgs:
        seeds = effective_seeds(cfg)
        if seeds not in datasets:
            datasets[seeds] = make_dataset(cfg)
        preps.append(_prepare(cfg, datasets[seeds]))
    if len(datasets) == 1:  # one data set: pass it once, the models share it without copies
        p = preps[0]
        x, y, xe, ye = p.data.x_train, p.y_train, p.data.x_test, p.y_test
    else:
        x, y = [p.data.x_train for p in preps], [p.y_train for p in preps]
        xe, ye = [p.data.x_test for p in preps], [p.y_test for p in preps]
    histories = train_sgd([p.model for p in preps], x, y, preps[0].data.labelled,
                          seed=[derive_seed(cfg.seed, "sgd") for cfg in cfgs], x_eval=xe, y_eval=ye,
                          progress=progress, **sgd_options(cfgs[0]))
    results = [_measure(cfg, p, h, 0.0, keep_model) for cfg, p, h in zip(cfgs, preps, histories)]
    share = (time.perf_counter() - start) / len(cfgs)
    for res in results:
        res.seconds = share
    return results
