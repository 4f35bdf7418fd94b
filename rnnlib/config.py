"""The config of one SGD run (chapters 4-5; the setting of Allen-Zhu & Li (2019),
section 3 and Theorem 1, recalled).

:class:`ExperimentConfig` names everything that determines an experiment; the same config (and
seed) gives the same numbers.  Its defaults are the book's task (chapter 5 and the ledger): the
practical step size with constant ``c = 2`` and tail averaging over the last half of the steps.

Configs are canonical: equal experiments are equal configs with equal cache keys.  ``phi``
spellings ("z^2", "square", " z^2 ") become one name, integers given for float fields become
floats, numpy scalars become Python numbers; bools where integers are expected, complex numbers
and strings such as "no" for boolean options are refused with a named error.  Requests beyond
the machine are refused before anything is allocated (:func:`check_resources`).
"""
from __future__ import annotations

import dataclasses
import importlib
import math
import os
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._checks import check_bool, check_choice, check_float, check_int
from .linear_share import DIRECTIONS
from .smooth import smooth_function
from .training import TRAINABLE, practical_step_size

__all__ = ["ExperimentConfig", "derive_seed", "estimated_memory", "check_resources", "memory_limit",
           "ResourceError", "INT_FIELDS", "FLOAT_FIELDS"]

INT_FIELDS = ("length", "width", "n_train", "n_test", "token_dim", "hidden", "output_dim", "epochs",
              "batch_size", "seed")
OPTIONAL_INT_FIELDS = ("data_seed", "concept_seed", "eval_every")
FLOAT_FIELDS = ("eps_x", "output_scale", "lr_scale", "average", "noise_std")
OPTIONAL_FLOAT_FIELDS = ("lr", "b_var")


class ResourceError(ValueError):
    """A request needs more memory than this machine offers a single run; nothing was allocated."""


def derive_seed(seed: int, stream: str) -> int:
    """An independent 32-bit seed for one random stream (model, data, concept, ...) of ``seed``."""
    tag = int.from_bytes(stream.encode(), "little") % (2 ** 32)
    return int(np.random.SeedSequence([seed, tag]).generate_state(1)[0])


class _Lazy:
    """A class attribute imported on first use (the result type lives in the module that computes it)."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name

    def __get__(self, obj, owner):
        return getattr(importlib.import_module(self.module), self.name)


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that determines one experiment. The defaults learn (test MSE well below 1).

    Attributes:
        length: ``L``, positions including the start token.
        width: ``m``, hidden neurons.
        n_train, n_test: training samples ``N`` (at least 2) and held-out samples.
        token_dim: dimension of a raw token ``x*`` (the network input has one more).
        phi: the smooth function of the target (a name accepted by :func:`rnnlib.smooth_function`;
            stored under its canonical name).
        hidden: ``p``, hidden units per (i -> j) two-layer target network.
        output_dim: ``d``.
        eps_x: input scale of the data tokens.
        output_scale: ``lambda``.
        lr: step size; ``None`` uses ``lr_scale / (lambda^2 L m)``.
        lr_scale: the constant ``c`` of the practical step size (the book's task: 2).
        epochs, batch_size: SGD budget.
        average: fraction of the SGD steps, at the end of training, whose iterates are averaged
            (tail averaging; the theorem's guarantee is for an average over iterates); ``0``: the
            last iterate (the book's task: 0.5).
        trained: ``"W"`` (the paper), ``"WA"`` or ``"WAB"``.
        labels: ``"last"`` or ``"all"`` labelled positions.
        include_current: index convention of the concept (``i <= j`` versus ``i < j``).
        noise_std: label noise (relative to the normalized target, whose scale is about 0.3-1).
        b_var: variance of ``B``'s entries (``None``: ``1/d``).
        seed: seeds the model, the batch order, and (unless overridden) the data and concept.
        data_seed, concept_seed: optional separate seeds for the data and the concept.
        eval_every: evaluate the held-out set every this many epochs (``None``: about 10 times).
        direction, center: the concept's law of directions ``w*`` and the centring of its terms
            (:class:`rnnlib.AdditiveConcept`; chapter 5's headline uses ``"orthogonal_to_constant"``
            and ``True``). Left out of :meth:`to_dict` at their defaults, so that the cache keys
            of every other run do not change.
    """

    kind: ClassVar[str] = "sgd"
    result_type: ClassVar = _Lazy("rnnlib.experiment", "ExperimentResult")

    length: int = 10
    width: int = 256
    n_train: int = 1000
    n_test: int = 2000
    token_dim: int = 8
    phi: str = "sin(3z)"
    hidden: int = 1
    output_dim: int = 1
    eps_x: float = 0.3
    output_scale: float = 0.3
    lr: float | None = None
    lr_scale: float = 2.0
    epochs: int = 30
    batch_size: int = 32
    average: float = 0.5
    trained: str = "W"
    labels: str = "last"
    include_current: bool = True
    noise_std: float = 0.0
    b_var: float | None = None
    seed: int = 0
    data_seed: int | None = None
    concept_seed: int | None = None
    eval_every: int | None = None
    direction: str = "sphere"
    center: bool = False

    def __post_init__(self):
        put = lambda name, value: object.__setattr__(self, name, value)  # noqa: E731 - frozen
        minimum = {"length": 2, "width": 1, "n_train": 2, "n_test": 2, "token_dim": 2, "hidden": 1,
                   "output_dim": 1, "epochs": 0, "batch_size": 1, "seed": 0, "data_seed": 0,
                   "concept_seed": 0, "eval_every": 1}
        for name in INT_FIELDS:
            put(name, check_int(name, getattr(self, name), minimum=minimum[name]))
        for name in OPTIONAL_INT_FIELDS:
            if getattr(self, name) is not None:
                put(name, check_int(name, getattr(self, name), minimum=minimum[name]))
        positive = {"eps_x", "output_scale", "lr_scale", "lr", "b_var"}
        for name in FLOAT_FIELDS + OPTIONAL_FLOAT_FIELDS:
            value = getattr(self, name)
            if value is not None:
                put(name, check_float(name, value, positive=name in positive, nonnegative=True))
        if self.average > 1:
            raise ValueError(f"average must be a fraction in [0, 1], got {self.average}")
        if not isinstance(self.phi, str):
            raise TypeError(f"phi must be a function name (str), got {type(self.phi).__name__}")
        put("phi", smooth_function(self.phi.strip()).name)  # one name per function: one cache key
        for name, choices in (("trained", TRAINABLE), ("labels", ("last", "all"))):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise TypeError(f"{name} must be one of {choices}, got {value!r} of type "
                                f"{type(value).__name__}")
            put(name, check_choice(name, value.strip(), choices))
        put("include_current", check_bool("include_current", self.include_current))
        if not isinstance(self.direction, str):
            raise TypeError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}")
        put("direction", check_choice("direction", self.direction.strip(), DIRECTIONS))
        if not isinstance(self.center, bool):
            raise TypeError(f"center must be a bool, got {self.center!r} of type {type(self.center).__name__}")

    @property
    def step_size(self) -> float:
        """The step size this config trains with."""
        if self.lr is not None:
            return self.lr
        return practical_step_size(self.output_scale, self.length, self.width, self.lr_scale)

    def replace(self, **changes) -> "ExperimentConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for name, default in (("direction", "sphere"), ("center", False)):
            if out[name] == default:  # absent at the default: older runs keep their cache keys
                del out[name]
        return out

    @classmethod
    def from_dict(cls, data: dict) -> "ExperimentConfig":
        """Build from a dict; unknown keys raise ``ValueError`` naming them."""
        if not isinstance(data, dict):
            raise TypeError(f"config must be a dict, got {type(data).__name__}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown config field(s) {unknown}; known fields are {sorted(known)}")
        return cls(**data)

    # -- the engine's kind protocol (rnnlib.engine) --
    def run(self):
        """Train this config (:func:`rnnlib.run_experiment`), keeping the model for derived kinds."""
        from .experiment import run_experiment
        return run_experiment(self, keep_model=True)

    def code_modules(self) -> list[str]:
        return ["experiment"]  # the module that trains; its import closure keys the cache

    def estimated_cost(self) -> float:
        """Relative cost: SGD steps x batch x ``L`` x ``m^2`` (the matrix products of BPTT)."""
        steps = self.epochs * -(-self.n_train // self.batch_size)
        return float(steps * min(self.batch_size, self.n_train) * self.length * self.width ** 2
                     + self.n_test * self.length * self.width ** 2)


def estimated_memory(cfg: ExperimentConfig) -> int:
    """Bytes one run of ``cfg`` needs at its peak, estimated from its sizes (float32 everywhere).

    Weights and their copies (W, W_0, the gradient, the average, the measured copy: ``8 m^2``),
    the data and labels (``(N + n_test) L (token_dim + 1 + d)``, twice for raw and embedded tokens),
    the hidden states of a batch kept for backpropagation (``4 batch L m``), the predict buffer
    (``max(2^21, L m)``) and the activation patterns of up to 256 probe inputs (``2 x 256 L m``).
    """
    m, L = cfg.width, cfg.length
    floats = (8 * m * m + 2 * (cfg.n_train + cfg.n_test) * L * (cfg.token_dim + 1 + cfg.output_dim)
              + 4 * min(cfg.batch_size, cfg.n_train) * L * m + max(2 ** 21, L * m)
              + 2 * min(256, cfg.n_test) * L * m)
    return 4 * int(floats)


def memory_limit() -> int:
    """Bytes a single run may use: ``$RNNLIB_MAX_MEMORY_GB`` if set, else a quarter of the physical
    memory (a run must leave room for a worker per core, the notebook kernel and the system)."""
    env = os.environ.get("RNNLIB_MAX_MEMORY_GB", "").strip()
    if env:
        return int(float(env) * 2 ** 30)
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 4
    except (ValueError, OSError, AttributeError):
        return 4 * 2 ** 30


def check_resources(cfg: ExperimentConfig) -> None:
    """Refuse ``cfg`` with :class:`ResourceError` if its estimated memory exceeds :func:`memory_limit`."""
    need, limit = estimated_memory(cfg), memory_limit()
    if need > limit:
        raise ResourceError(f"config needs an estimated {need / 2 ** 30:.3g} GiB (width={cfg.width}, "
                            f"length={cfg.length}, n_train={cfg.n_train}, n_test={cfg.n_test}), more "
                            f"than the {limit / 2 ** 30:.3g} GiB a single run may use here (a quarter of "
                            f"the memory; set RNNLIB_MAX_MEMORY_GB to change it)")
    if not math.isfinite(cfg.step_size) or cfg.step_size <= 0:
        raise ValueError(f"the step size of this config is {cfg.step_size}; choose lr or lr_scale so "
                         f"that it is a positive finite number")
