"""What a practitioner would try instead of SGD on W (chapter 7; the paper has no experiments: these
are the book's comparison for Allen-Zhu & Li (2019), Theorem 1).

Every baseline is one function ``baseline(cfg, data=None) -> BaselineResult`` that takes the same
:class:`~rnnlib.experiment.ExperimentConfig` and therefore the same data (:func:`make_dataset`), the
same random initialization (``derive_seed(cfg.seed, "model")``) and the same standardization of the
labels as :func:`~rnnlib.experiment.run_experiment`. Errors are standardized test MSE (1.0 = predicting
the mean).

=====================  =======================================================================
``sgd_w``              the paper: plain SGD on W only (exactly ``run_experiment(cfg)``)
``random_features``    B only: ridge regression of the labels on the initial hidden states
``ntk_ridge``          kernel ridge with the W-only neural tangent kernel at initialization
``sgd_wa``             SGD on W and A (Panigrahi & Goyal's setting), ``trained="WA"``
``full_training``      W, A and B trained with Adam through autograd (plain SGD at the W step size
                       barely moves B; ``optimizer="sgd"`` gives ``trained="WAB"``)
``linear_ridge``       ridge regression on the concatenated raw tokens
=====================  =======================================================================

Ridge regularizers are chosen on a held-out fifth of the training set (never the test set) from a
log-spaced grid, then the model is refitted on all ``N`` samples (:mod:`rnnlib.ridge`).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import numpy as np
import torch

from ._checks import check_choice, check_finite_tree, check_float
from .experiment import (Dataset, ExperimentConfig, ExperimentResult, standardize_labels, derive_seed, initial_model,
                         make_dataset, run_experiment)
from .ntk import ntk_gram
from .ridge import RIDGE_GRID, kernel_ridge_select, ridge_select
from .recurrence import relu_recurrence
from .rnn import ElmanRNN
from .stats import standardized_error

__all__ = ["BaselineResult", "BASELINES", "run_baseline", "sgd_w", "random_features", "ntk_ridge", "sgd_wa",
           "full_training", "linear_ridge", "ridge_select", "kernel_ridge_select", "RIDGE_GRID", "verdict",
           "summary_table", "format_table", "measure_baselines", "measure_random_features", "BaselineConfig"]

@dataclass
class BaselineResult:
    """One baseline on one config.

    Attributes:
        name: the baseline (a key of :data:`BASELINES`).
        config: the :class:`~rnnlib.experiment.ExperimentConfig` (data, init and seeds).
        train_mse, test_mse: standardized errors.
        seconds: wall time.
        info: extra facts (chosen regularizer, optimizer, ...).
    """

    name: str
    config: ExperimentConfig
    train_mse: float
    test_mse: float
    seconds: float
    info: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"name": self.name, "config": self.config.to_dict(), "train_mse": self.train_mse,
                "test_mse": self.test_mse, "seconds": self.seconds, "info": dict(self.info)}

    @classmethod
    def from_dict(cls, data: dict) -> "BaselineResult":
        data = dict(data)
        data["config"] = ExperimentConfig.from_dict(data["config"])
        return cls(**data)


def _prepare(cfg, data):
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    if data is None:
        data = make_dataset(cfg)
    elif not isinstance(data, Dataset):
        raise TypeError(f"data must be a Dataset from make_dataset(cfg) or None, got {type(data).__name__}")
    elif data.x_train.shape[:2] != (cfg.n_train, cfg.length) or data.x_test.shape[:2] != (cfg.n_test, cfg.length):
        raise ValueError(f"data must come from make_dataset(cfg): expected {cfg.n_train} train and {cfg.n_test} "
                         f"test sequences of length {cfg.length}, got x_train {data.x_train.shape} and "
                         f"x_test {data.x_test.shape}")
    lab = np.flatnonzero(data.labelled)
    y_tr, mean, std = standardize_labels(data.y_train, data.labelled)
    y_te, _, _ = standardize_labels(data.y_test, data.labelled, mean, std)
    return data, lab, y_tr[:, lab], y_te[:, lab]  # (n, nl, d)


def _from_experiment(name: str, cfg: ExperimentConfig, trained: str) -> BaselineResult:
    res = run_experiment(cfg.replace(trained=trained))
    return BaselineResult(name, cfg, res.train_mse, res.test_mse, res.seconds,
                          {"trained": trained, "lr": res.lr, "w_displacement": res.w_displacement,
                           "pattern_flips": res.pattern_flips})


def sgd_w(cfg: ExperimentConfig, data: Dataset | None = None) -> BaselineResult:
    """The paper's algorithm: plain SGD on W, A and B frozen; identical to ``run_experiment(cfg)``.

    ``data`` is accepted for a uniform signature and checked, but the run draws it again from ``cfg``
    (same numbers).
    """
    _prepare(cfg, data)
    return _from_experiment("sgd_w", cfg, "W")


def sgd_wa(cfg: ExperimentConfig, data: Dataset | None = None) -> BaselineResult:
    """SGD on W and A, B frozen (Panigrahi & Goyal), at the same step size: ``trained="WA"``."""
    _prepare(cfg, data)
    return _from_experiment("sgd_wa", cfg, "WA")


def random_features(cfg: ExperimentConfig, data: Dataset | None = None) -> BaselineResult:
    """Train B only: ridge regression of the labels on the hidden states ``h_j`` at initialization.

    With labels at several positions one B is shared by all of them (as in the RNN): the rows are
    (sample, position) pairs. The regularizer is chosen on a held-out fifth of the training set.
    """
    start = time.perf_counter()
    data, lab, y_tr, y_te = _prepare(cfg, data)
    model = initial_model(cfg)
    H_tr = model.hidden_states(data.x_train)[:, lab].double().numpy()  # (n, nl, m)
    H_te = model.hidden_states(data.x_test)[:, lab].double().numpy()
    n, nl, m = H_tr.shape
    d = y_tr.shape[-1]
    p_tr, p_te, reg = ridge_select(H_tr.reshape(n * nl, m), y_tr.reshape(n * nl, d),
                                   H_te.reshape(-1, m), seed=derive_seed(cfg.seed, "ridge"))
    return BaselineResult("random_features", cfg, standardized_error(p_tr.reshape(y_tr.shape), y_tr),
                          standardized_error(p_te.reshape(y_te.shape), y_te), time.perf_counter() - start,
                          {"reg": reg, "features": m})


def ntk_ridge(cfg: ExperimentConfig, data: Dataset | None = None, *, chunk: int = 256) -> BaselineResult:
    """Kernel ridge regression with the W-only NTK at initialization (labels at the last position).

    The model is the linearization of the RNN around its initialization, so the prediction is the
    initial output ``lambda B h_L(x)`` plus kernel ridge on the residual labels; the kernel is
    :func:`rnnlib.ntk.ntk_gram`. Only ``labels="last"`` and ``output_dim=1`` are supported (one
    kernel per output otherwise).
    """
    start = time.perf_counter()
    if isinstance(cfg, ExperimentConfig) and (cfg.labels != "last" or cfg.output_dim != 1):
        raise ValueError(f"ntk_ridge needs labels='last' and output_dim=1, got labels={cfg.labels!r}, "
                         f"output_dim={cfg.output_dim}")
    data, lab, y_tr, y_te = _prepare(cfg, data)
    model = initial_model(cfg)
    f0_tr = cfg.output_scale * model.forward(data.x_train)[:, lab].double().numpy()
    f0_te = cfg.output_scale * model.forward(data.x_test)[:, lab].double().numpy()
    K = ntk_gram(model, data.x_train, output_scale=cfg.output_scale, chunk=chunk)
    Kt = ntk_gram(model, data.x_test, data.x_train, output_scale=cfg.output_scale, chunk=chunk)
    r_tr = (y_tr - f0_tr)[:, 0]
    p_tr, p_te, reg = kernel_ridge_select(K, r_tr, Kt, seed=derive_seed(cfg.seed, "ridge"))
    p_tr = p_tr.reshape(y_tr.shape) + f0_tr
    p_te = p_te.reshape(y_te.shape) + f0_te
    return BaselineResult("ntk_ridge", cfg, standardized_error(p_tr, y_tr), standardized_error(p_te, y_te),
                          time.perf_counter() - start,
                          {"reg": reg, "mean_diag": float(np.trace(K) / K.shape[0])})


def _adam_full(model: ElmanRNN, x, y, lab, *, output_scale, lr, epochs, batch_size, seed):
    """Adam on W, A and B through autograd; returns the trained (W, A, B)."""
    params = [t.clone().requires_grad_(True) for t in (model.W, model.A, model.B)]
    opt = torch.optim.Adam(params, lr=lr)
    X = torch.as_tensor(x)
    Y = torch.as_tensor(y, dtype=torch.float32)
    n = X.shape[0]
    lab_steps = sorted(int(t) for t in lab)
    rng = np.random.default_rng(seed)
    for _ in range(epochs):
        perm = rng.permutation(n)
        for s in range(0, n, batch_size):
            idx = torch.as_tensor(perm[s:s + batch_size])
            W, A, B = params
            H = relu_recurrence(W, A, X[idx])  # differentiable: autograd records every step
            pred = output_scale * (H[:, lab_steps] @ B.T)
            loss = 0.5 * (pred - Y[idx]).pow(2).sum(dim=(1, 2)).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
        if not torch.isfinite(loss):
            raise ValueError(f"Adam diverged (non-finite loss) with lr={lr}; lower lr")
    return [p.detach() for p in params]


def full_training(cfg: ExperimentConfig, data: Dataset | None = None, *, optimizer: str = "adam",
                  lr: float = 1e-3) -> BaselineResult:
    """Train W, A and B.

    Args:
        optimizer: ``"adam"`` (autograd, step ``lr``, same epochs, batch size and batch order seed as
            the config) or ``"sgd"`` (``run_experiment`` with ``trained="WAB"`` at the practical step
            size, where B moves little because its tangent kernel is ~``m L`` times smaller than W's).
        lr: Adam's step size.
    """
    optimizer = check_choice("optimizer", optimizer, ("adam", "sgd"))
    if optimizer == "sgd":
        _prepare(cfg, data)
        out = _from_experiment("full_training", cfg, "WAB")
        out.info["optimizer"] = "sgd"
        return out
    lr = check_float("lr", lr, positive=True)
    start = time.perf_counter()
    data, lab, y_tr, y_te = _prepare(cfg, data)
    model = initial_model(cfg)
    W, A, B = _adam_full(model, data.x_train, y_tr, set(lab.tolist()), output_scale=cfg.output_scale, lr=lr,
                         epochs=cfg.epochs, batch_size=cfg.batch_size, seed=derive_seed(cfg.seed, "sgd"))
    trained = model.copy()
    trained.W, trained.A, trained.B = W, A, B
    pred = lambda x: cfg.output_scale * trained.forward(x)[:, lab].double().numpy()  # noqa: E731
    return BaselineResult("full_training", cfg, standardized_error(pred(data.x_train), y_tr),
                          standardized_error(pred(data.x_test), y_te), time.perf_counter() - start,
                          {"optimizer": "adam", "lr": lr})


def linear_ridge(cfg: ExperimentConfig, data: Dataset | None = None) -> BaselineResult:
    """Ridge regression on the concatenated raw tokens ``x*_2..x*_j`` (one model per labelled j)."""
    start = time.perf_counter()
    data, lab, y_tr, y_te = _prepare(cfg, data)
    p_tr = np.empty_like(y_tr)
    p_te = np.empty_like(y_te)
    regs = []
    for k, j in enumerate(lab):  # output at 0-based step j sees raw tokens of steps 1..j
        n_tok = max(j, 1)
        F_tr = data.x_star_train[:, :n_tok].reshape(cfg.n_train, -1)
        F_te = data.x_star_test[:, :n_tok].reshape(cfg.n_test, -1)
        a, b, reg = ridge_select(F_tr, y_tr[:, k], F_te, seed=derive_seed(cfg.seed, "ridge"))
        p_tr[:, k], p_te[:, k] = a, b
        regs.append(reg)
    return BaselineResult("linear_ridge", cfg, standardized_error(p_tr, y_tr), standardized_error(p_te, y_te),
                          time.perf_counter() - start, {"reg": regs if len(regs) > 1 else regs[0]})


#: name -> baseline function, in the order of the book's table.
BASELINES: dict[str, Callable[..., BaselineResult]] = {
    "sgd_w": sgd_w, "random_features": random_features, "ntk_ridge": ntk_ridge, "sgd_wa": sgd_wa,
    "full_training": full_training, "linear_ridge": linear_ridge,
}


def run_baseline(name: str, cfg: ExperimentConfig, data: Dataset | None = None, **options) -> BaselineResult:
    """Run the baseline ``name`` (a key of :data:`BASELINES`) on ``cfg``."""
    fn = BASELINES[check_choice("name", name, tuple(BASELINES))]
    return fn(cfg, data, **options)


def verdict(errors, reference, *, rel_tol: float = 0.1) -> str:
    """Compare a baseline's test errors with SGD on W's, over the same grid of ``N`` (and seeds).

    Args:
        errors, reference: arrays of the same shape (e.g. ``(len(N), n_seeds)``).
        rel_tol: relative difference of the mean errors within which the two count as equal.

    Returns:
        ``"better than SGD on W"``, ``"as good as SGD on W"`` or ``"worse than SGD on W"``.
    """
    errors = np.asarray(errors, dtype=np.float64)
    reference = np.asarray(reference, dtype=np.float64)
    if errors.shape != reference.shape or errors.size == 0:
        raise ValueError(f"errors and reference must have the same non-empty shape, got {errors.shape} and "
                         f"{reference.shape}")
    rel_tol = check_float("rel_tol", rel_tol, nonnegative=True)
    rel = float(np.mean((errors - reference) / reference))
    if rel < -rel_tol:
        return "better than SGD on W"
    if rel > rel_tol:
        return "worse than SGD on W"
    return "as good as SGD on W"


def format_table(header, rows, fmt: str = "html") -> str:
    """A table as Markdown or as an HTML ``<table>`` (which Jupyter and the built book both render).

    Args:
        header: column titles.
        rows: rows of cell texts, each as long as ``header``.
        fmt: ``"html"`` or ``"markdown"``.
    """
    import html as _html

    fmt = check_choice("fmt", fmt, ("html", "markdown"))
    header = [str(h) for h in header]
    rows = [[str(c) for c in row] for row in rows]
    if any(len(row) != len(header) for row in rows):
        raise ValueError(f"every row must have {len(header)} cells like header, got {[len(r) for r in rows]}")
    if fmt == "markdown":
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])
    head = "".join(f"<th>{_html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_html.escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="table"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def summary_table(n_values, errors: dict, labels: dict | None = None, *, reference: str = "sgd_w",
                  rel_tol: float = 0.1, fmt: str = "html") -> str:
    """One row per baseline: the mean test error (and range over seeds) per ``N``, and the
    :func:`verdict` against ``reference``.

    Args:
        n_values: the sample sizes (columns).
        errors: ``{name: (len(n_values), n_seeds)}`` standardized test errors.
        labels: display names (default: the keys).
        fmt: ``"html"`` or ``"markdown"`` (see :func:`format_table`).
    """
    labels = dict(labels or {})
    if reference not in errors:
        raise ValueError(f"errors must contain the reference {reference!r}, got {sorted(errors)}")
    header = ["method"] + [f"N = {n:,}" for n in n_values] + ["verdict"]
    rows = []
    for name, err in errors.items():
        err = np.asarray(err, dtype=np.float64)
        if err.ndim != 2 or err.shape[0] != len(n_values):
            raise ValueError(f"errors[{name!r}] must have shape ({len(n_values)}, n_seeds), got {err.shape}")
        cells = [f"{row.mean():.3f}" + (f" ({row.min():.3f}–{row.max():.3f})" if err.shape[1] > 1 else "")
                 for row in err]
        v = "reference" if name == reference else verdict(err, errors[reference], rel_tol=rel_tol)
        rows.append([labels.get(name, name)] + cells + [v])
    return format_table(header, rows, fmt)


def measure_baselines(result: ExperimentResult) -> dict:
    """A ``measure`` hook for :func:`rnnlib.sweep`: every other baseline on the config of an SGD run.

    ``result`` is the SGD-on-W run of a config (``sgd_w``); the hook runs the remaining baselines of
    :data:`BASELINES` on the same config, so one cached sweep entry holds the whole comparison.
    ``ntk_ridge`` is skipped unless ``labels="last"`` and ``output_dim=1``.

    Returns:
        ``{name: test_mse, name + "_train": train_mse, name + "_seconds": seconds}`` per baseline.
    """
    cfg = result.config
    data = make_dataset(cfg)
    out = {}
    for name, fn in BASELINES.items():
        if name == "sgd_w" or (name == "ntk_ridge" and (cfg.labels != "last" or cfg.output_dim != 1)):
            continue
        res = fn(cfg, data)
        out[name] = res.test_mse
        out[name + "_train"] = res.train_mse
        out[name + "_seconds"] = res.seconds
    return out


def measure_random_features(result: ExperimentResult) -> dict:
    """A ``measure`` hook for :func:`rnnlib.sweep`: the random-features baseline on the same config."""
    res = random_features(result.config)
    return {"random_features": res.test_mse, "random_features_train": res.train_mse}


# -- the engine's kind (rnnlib.engine): one baseline on one config, computed once and cached --------

class CheckedBaselineResult(BaselineResult):
    """:class:`BaselineResult` whose ``from_dict`` validates a stored payload."""

    @classmethod
    def from_dict(cls, data: dict) -> BaselineResult:
        data = check_finite_tree("baseline result", dict(data))
        for name in ("train_mse", "test_mse", "seconds"):
            check_float(name, data[name], nonnegative=True)
        return BaselineResult.from_dict(data)


@dataclass(frozen=True)
class BaselineConfig:
    """Kind ``"baseline"`` (chapter 7): :func:`run_baseline` of ``name`` on the task and data of
    ``run_config`` (the data are drawn from its seeds, so nothing is retrained to get them)."""

    kind: ClassVar[str] = "baseline"
    result_type: ClassVar = CheckedBaselineResult

    name: str
    run_config: ExperimentConfig

    def __post_init__(self):
        check_choice("name", self.name, tuple(BASELINES))
        if not isinstance(self.run_config, ExperimentConfig):
            raise TypeError(f"run_config must be an ExperimentConfig, got {type(self.run_config).__name__}")

    def to_dict(self) -> dict:
        return {"name": self.name, "run": self.run_config.to_dict()}

    def run(self) -> BaselineResult:
        return run_baseline(self.name, self.run_config)
