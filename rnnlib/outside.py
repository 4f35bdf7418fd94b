"""Targets outside the additive concept class, and SGD on W against them (chapter 7; Allen-Zhu & Li (2019), section 3).

The concept class of the theorem is additive over tokens: each output is a sum of functions of
*single* tokens. These targets are not:

``non-additive``   ``Phi((1 / sqrt(L - 1)) sum_i <w_i, x*_i>)``: one smooth function of a sum over all
                   tokens (the class of Panigrahi & Goyal, not of Allen-Zhu & Li).
``exactly-one``    ``D_L1``: every token carries a bit ``1{<v, x*_i> >= theta}`` with ``P(bit) = 1 / (L -
                   1)``; the label is 1 when exactly one bit is set (Panigrahi & Goyal's Theorem H.1
                   shows D_L1 is outside Allen-Zhu & Li's class).
``parity-k``       the product of ``sign(<v_i, x*_i>)`` over ``k`` token positions (each sign is a fair
                   coin): any ``k - 1`` of the tokens carry no information about the label.
``additive``       the class itself (:class:`~rnnlib.concept.AdditiveConcept`), for comparison.

The additive and non-additive targets follow the config's ``direction`` (chapter 5's headline takes
directions orthogonal to the constant coordinate, so an even ``phi`` has no linear part). All targets
read the same raw tokens as the rest of the book (:func:`rnnlib.sample_tokens`), so the
inputs, the RNN and the training are those of chapter 5; only the labels change. Every target has
the interface of :class:`~rnnlib.concept.AdditiveConcept` that training needs: ``target(x_star)`` gives
``(n, L, 1)`` values at the labelled (last) position, ``.labelled`` is the mask, ``labels_for(x_star,
seed)`` adds the configured noise (none here).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
import torch

from ._checks import as_array, check_choice, check_finite_tree, check_float, check_int
from .concept import AdditiveConcept
from .linear_share import DIRECTIONS
from .experiment import ExperimentConfig, ExperimentResult, sgd_options, standardize_labels, derive_seed, initial_model
from .smooth import smooth_function
from .stats import samples_needed  # noqa: F401  (N* by the book's one rule; a public name of this module)
from .tokens import embed, sample_tokens
from .training import predict, standardized_mse, train_sgd

__all__ = ["NonAdditiveConcept", "ExactlyOneConcept", "ParityConcept", "OUTSIDE_TARGETS", "make_target",
           "OutsideResult", "run_outside", "samples_needed", "measure_outside", "OutsideConfig", "OutsideRuns"]


class _LastPositionTarget:
    """Shared plumbing: a scalar label at the last position of sequences of ``length`` positions."""

    def __init__(self, length: int, token_dim: int, seed: int):
        self.length = check_int("length", length, minimum=3)
        self.token_dim = check_int("token_dim", token_dim, minimum=3)
        self.seed = check_int("seed", seed, minimum=0)
        self.output_dim = 1
        self.labelled = np.zeros(self.length, dtype=bool)
        self.labelled[-1] = True
        self._rng = np.random.default_rng(self.seed)

    def _unit_directions(self, k: int, balanced: bool) -> np.ndarray:
        """``k`` random unit vectors; ``balanced`` zeroes the constant last coordinate (fair signs)."""
        w = self._rng.standard_normal((k, self.token_dim))
        if balanced:
            w[:, -1] = 0.0
        return w / np.linalg.norm(w, axis=1, keepdims=True)

    def _check_x(self, x_star) -> np.ndarray:
        x_star = as_array("x_star", x_star, ndim=3, last_dim=self.token_dim)
        if x_star.shape[1] != self.length - 1:
            raise ValueError(f"x_star must have {self.length - 1} tokens (length - 1), got shape {x_star.shape}")
        return x_star

    def value(self, x_star) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, x_star) -> np.ndarray:
        """Targets ``(n, L, 1)``: the label at the last position, zero elsewhere."""
        v = self.value(self._check_x(x_star))
        out = np.zeros((v.shape[0], self.length, 1))
        out[:, -1, 0] = v
        return out

    def labels_for(self, x_star, seed: int = 0) -> np.ndarray:
        """Noise-free labels (the outside targets have no label noise)."""
        return self(x_star)


class NonAdditiveConcept(_LastPositionTarget):
    """``Phi((1 / sqrt(L - 1)) sum_{i=2}^{L} <w_i, x*_i>)`` with unit ``w_i`` (one smooth function of a sum)."""

    def __init__(self, length: int, token_dim: int, phi="sin(3z)", seed: int = 0, direction: str = "sphere"):
        super().__init__(length, token_dim, seed)
        self.phi = smooth_function(phi)
        # like the additive concept's directions: orthogonal to the constant coordinate, an even phi
        # of the sum has no linear part (chapter 5's headline task)
        check_choice("direction", direction, DIRECTIONS)
        self.w = self._unit_directions(self.length - 1, balanced=direction == "orthogonal_to_constant")

    def value(self, x_star) -> np.ndarray:
        z = np.einsum("nit,it->n", x_star, self.w) / np.sqrt(self.length - 1)
        return self.phi(z)


class ExactlyOneConcept(_LastPositionTarget):
    """``D_L1``: 1 when exactly one token has ``<v, x*_i> >= theta``, else 0.

    ``theta`` is the ``1 - 1/(L-1)`` quantile of ``<v, x*>`` (estimated once from 200,000 tokens of the
    concept's own seed), so each token's bit is set with probability ``1 / (L - 1)`` and the label is
    1 for about ``(1 - 1/(L-1))^(L-2)`` (~ 0.39 at L = 10) of the sequences.
    """

    def __init__(self, length: int, token_dim: int, seed: int = 0):
        super().__init__(length, token_dim, seed)
        self.v = self._unit_directions(1, balanced=True)[0]
        ref = sample_tokens(200_000, 2, self.token_dim, seed=derive_seed(self.seed, "exactly-one"))[:, 0]
        self.theta = float(np.quantile(ref @ self.v, 1.0 - 1.0 / (self.length - 1)))

    def bits(self, x_star) -> np.ndarray:
        """The token bits ``(n, L - 1)``."""
        return (self._check_x(x_star) @ self.v) >= self.theta

    def value(self, x_star) -> np.ndarray:
        return ((x_star @ self.v >= self.theta).sum(axis=1) == 1).astype(np.float64)


class ParityConcept(_LastPositionTarget):
    """The product of ``sign(<v_i, x*_i>)`` over ``k`` distinct token positions drawn with the seed."""

    def __init__(self, length: int, token_dim: int, k: int = 2, seed: int = 0):
        super().__init__(length, token_dim, seed)
        self.k = check_int("k", k, minimum=1)
        if self.k > self.length - 1:
            raise ValueError(f"k must be at most the number of tokens {self.length - 1}, got {k}")
        self.positions = np.sort(self._rng.choice(self.length - 1, size=self.k, replace=False))
        self.v = self._unit_directions(self.k, balanced=True)

    def value(self, x_star) -> np.ndarray:
        proj = np.einsum("nkt,kt->nk", x_star[:, self.positions], self.v)
        return np.prod(np.where(proj >= 0, 1.0, -1.0), axis=1)


OUTSIDE_TARGETS = ("additive", "non-additive", "exactly-one", "parity-2", "parity-3", "parity-5")


def make_target(name: str, cfg: ExperimentConfig):
    """The target ``name`` (one of :data:`OUTSIDE_TARGETS` or ``parity-<k>``) for the sizes of ``cfg``."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    seed = derive_seed(cfg.seed if cfg.concept_seed is None else cfg.concept_seed, "concept")
    if name == "additive":
        return AdditiveConcept(cfg.length, cfg.token_dim, cfg.hidden, 1, phi=cfg.phi, labels="last",
                               include_current=cfg.include_current, seed=seed, direction=cfg.direction,
                               center=cfg.center)
    if name == "non-additive":
        return NonAdditiveConcept(cfg.length, cfg.token_dim, cfg.phi, seed=seed, direction=cfg.direction)
    if name == "exactly-one":
        return ExactlyOneConcept(cfg.length, cfg.token_dim, seed=seed)
    if name.startswith("parity-") and name[7:].isdigit():
        return ParityConcept(cfg.length, cfg.token_dim, int(name[7:]), seed=seed)
    raise ValueError(f"name must be one of {OUTSIDE_TARGETS} (or parity-<k>), got {name!r}")


@dataclass
class OutsideResult:
    """SGD on W against one target: standardized errors (1.0 = predicting the mean)."""

    target: str
    config: ExperimentConfig
    train_mse: float
    test_mse: float
    seconds: float
    history: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"target": self.target, "config": self.config.to_dict(), "train_mse": self.train_mse,
                "test_mse": self.test_mse, "seconds": self.seconds, "history": self.history}


def run_outside(cfg: ExperimentConfig, targets=OUTSIDE_TARGETS, *, progress: bool = False) -> list[OutsideResult]:
    """Train SGD on W, exactly as :func:`~rnnlib.experiment.run_experiment`, once per target.

    The tokens, the initial RNN, the step size, the batch order and the iterate averaging are those of
    ``cfg``; only the labels differ. All targets train together as one ensemble (batched matrix products), which gives
    the same numbers as training them one by one.

    Args:
        cfg: the config (``labels`` must be ``"last"``, ``output_dim`` 1).
        targets: names from :data:`OUTSIDE_TARGETS` (or ``parity-<k>``).
        progress: progress bar over epochs.

    Returns:
        one :class:`OutsideResult` per target, in order.
    """
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    if cfg.labels != "last" or cfg.output_dim != 1:
        raise ValueError(f"run_outside needs labels='last' and output_dim=1, got {cfg.labels!r}, {cfg.output_dim}")
    targets = [targets] if isinstance(targets, str) else list(targets)
    if not targets:
        raise ValueError("targets must name at least one target")
    concepts = [make_target(t, cfg) for t in targets]
    start = time.perf_counter()
    data_seed = cfg.seed if cfg.data_seed is None else cfg.data_seed
    xs_tr = sample_tokens(cfg.n_train, cfg.length, cfg.token_dim, derive_seed(data_seed, "train"))
    xs_te = sample_tokens(cfg.n_test, cfg.length, cfg.token_dim, derive_seed(data_seed, "test"))
    x_tr, x_te = embed(xs_tr, cfg.eps_x), embed(xs_te, cfg.eps_x)
    labelled = concepts[0].labelled
    lab = np.flatnonzero(labelled)
    ys_tr, ys_te = [], []
    for c in concepts:
        y_tr, mean, std = standardize_labels(c(xs_tr), labelled)
        ys_tr.append(y_tr)
        ys_te.append(standardize_labels(c(xs_te), labelled, mean, std)[0])
    models = [initial_model(cfg)
              for _ in concepts]
    histories = train_sgd(models, x_tr, ys_tr, labelled, seed=derive_seed(cfg.seed, "sgd"), x_eval=x_te,
                          y_eval=ys_te, progress=progress, **sgd_options(cfg))
    W = torch.stack([mdl.W for mdl in models])
    A = torch.stack([mdl.A for mdl in models])
    B = torch.stack([mdl.B for mdl in models])
    Xtr = torch.as_tensor(x_tr).unsqueeze(0).expand(len(models), *x_tr.shape)
    Xte = torch.as_tensor(x_te).unsqueeze(0).expand(len(models), *x_te.shape)
    Ytr = torch.stack([torch.as_tensor(y[:, lab]) for y in ys_tr])
    Yte = torch.stack([torch.as_tensor(y[:, lab]) for y in ys_te])
    train = standardized_mse(predict(W, A, B, Xtr, lab, cfg.output_scale), Ytr)
    test = standardized_mse(predict(W, A, B, Xte, lab, cfg.output_scale), Yte)
    seconds = time.perf_counter() - start
    return [OutsideResult(t, cfg, float(train[k]), float(test[k]), seconds, histories[k].to_dict())
            for k, t in enumerate(targets)]


def measure_outside(result: ExperimentResult) -> dict:
    """A ``measure`` hook for :func:`rnnlib.sweep`: SGD on W against every outside target.

    ``result`` is the SGD-on-W run of the additive target itself; the other targets of
    :data:`OUTSIDE_TARGETS` train on the same tokens with the same config. Returns
    ``{target: test_mse}`` (``"additive"`` is ``result.test_mse``).
    """
    others = [t for t in OUTSIDE_TARGETS if t != "additive"]
    out = {"additive": float(result.test_mse)}
    out.update({r.target: r.test_mse for r in run_outside(result.config, others)})
    return out


# -- the engine's kind (rnnlib.engine): SGD on W against targets outside the class, cached ------------

@dataclass
class OutsideRuns:
    """The :class:`OutsideResult` of every target of one :class:`OutsideConfig`, in its order."""

    results: list

    def to_dict(self) -> dict:
        return {"results": [r.to_dict() for r in self.results]}

    @classmethod
    def from_dict(cls, data: dict) -> "OutsideRuns":
        check_finite_tree("outside result", data)
        out = []
        for d in data["results"]:
            for name in ("train_mse", "test_mse", "seconds"):
                check_float(name, d[name], nonnegative=True)
            out.append(OutsideResult(d["target"], ExperimentConfig.from_dict(d["config"]), float(d["train_mse"]),
                                     float(d["test_mse"]), float(d["seconds"]), dict(d["history"])))
        return cls(out)


@dataclass(frozen=True)
class OutsideConfig:
    """Kind ``"outside"`` (chapter 7): :func:`run_outside` of ``targets`` on ``run_config``'s task."""

    kind: ClassVar[str] = "outside"
    result_type: ClassVar = OutsideRuns

    run_config: ExperimentConfig
    targets: tuple = tuple(t for t in OUTSIDE_TARGETS if t != "additive")

    def __post_init__(self):
        targets = (self.targets,) if isinstance(self.targets, str) else tuple(self.targets)
        for t in targets:
            if not isinstance(t, str):
                raise TypeError(f"targets must be names, got {t!r}")
        object.__setattr__(self, "targets", targets)

    def to_dict(self) -> dict:
        return {"run": self.run_config.to_dict(), "targets": list(self.targets)}

    def run(self) -> OutsideRuns:
        return OutsideRuns(run_outside(self.run_config, self.targets))
