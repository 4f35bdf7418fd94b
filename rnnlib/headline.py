"""Chapter 5's headline on a task with no linear part (Allen-Zhu & Li (2019), Theorem 1).

The headline ``N*(L)`` (samples SGD on ``W`` needs to reach a standardized test error, against the
length ``L``) is measured on a target that a linear model of the tokens cannot fit: an even ``phi``
of directions ``w*`` orthogonal to the tokens' constant coordinate (``direction=
"orthogonal_to_constant"``, :mod:`rnnlib.linear_share`), without the current-token term
(``include_current=False``), each term centred.  Every method (:data:`METHODS`) runs on the same
data: ``sgd_w`` (the paper: SGD on ``W`` only, :func:`rnnlib.run_experiment` itself), ``sgd_wa``
(SGD on ``W`` and ``A``, Panigrahi & Goyal), ``linear_ridge`` (on the raw tokens),
``random_features`` (``B`` only, ridge on the initial hidden states) and ``ntk_ridge`` (kernel ridge
with the ``W``-only tangent kernel at initialization), from :mod:`rnnlib.baselines`.

:class:`HeadlinePoint` (a frozen dataclass: an :class:`~rnnlib.experiment.ExperimentConfig`, the
concept's ``direction`` and ``center``, and a method) is one run and a kind of the book's engine
(:func:`rnnlib.engine.run_many` caches it); :func:`run_point` maps it to a :class:`PointResult`,
whose ``from_dict`` validates a cached entry. :class:`HeadlineDesign` lists the points (one grid of
``N`` for every ``L``, a width per ``L``, the SGD budget scaled with ``L``, the tuning, the width study);
:func:`run_design` runs them without the cache. Statistics: :mod:`rnnlib.headline_stats`; probes
(per-token errors, the tuning of ``c``): :mod:`rnnlib.headline_probes`.
"""
from __future__ import annotations

import dataclasses
import math
import time
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np

from ._checks import check_choice, check_int
from .baselines import linear_ridge, ntk_ridge, random_features
from .experiment import Dataset, ExperimentConfig, make_dataset, run_experiment
from .headline_probes import StepTuning, point_work, seconds_per_work, token_errors
from .linear_share import DIRECTIONS
from .training import TrainingDiverged
from .tasks import BOOK_TASK, steps_for_length, with_step_budget

__all__ = ["METHODS", "METHOD_LABELS", "HeadlinePoint", "PointResult", "make_headline_dataset", "run_point",
           "HeadlineDesign", "run_design", "headline_base", "point_work", "seconds_per_work", "headline_design",
           "headline_contrasts", "NOISE_STD", "MAX_HALVINGS"]

METHODS = ("sgd_w", "sgd_wa", "linear_ridge", "random_features", "ntk_ridge")
#: How the book names the methods.
METHOD_LABELS = {"sgd_w": "SGD on W", "sgd_wa": "SGD on W and A", "linear_ridge": "linear ridge",
                 "random_features": "random features", "ntk_ridge": "NTK ridge"}


def headline_base(**changes) -> ExperimentConfig:
    """The book's task (:data:`rnnlib.tasks.BOOK_TASK`: ``c = 2``, ``lambda = 0.3``, batch 32, tail
    averaging 0.5, ``eps_x = 0.3``, ``token_dim = 8``, labels at the last position) with ``phi = z^2``,
    no current-token term and width 128; then ``changes``."""
    return BOOK_TASK.replace(width=128, phi="z^2", include_current=False).replace(**changes)


def make_headline_dataset(cfg: ExperimentConfig, direction: str = "orthogonal_to_constant",
                          center: bool = True) -> Dataset:
    """:func:`rnnlib.make_dataset` of ``cfg`` with the concept's ``direction`` and ``center`` options.

    The random streams are those of :func:`rnnlib.make_dataset` (concept, train, test and noise
    seeds derived from ``cfg``), so ``direction="sphere", center=False`` gives the same data.
    """
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    return make_dataset(cfg.replace(direction=direction, center=center))


@dataclass(frozen=True)
class HeadlinePoint:
    """One run: a config, the concept's direction law and centring, and a method of :data:`METHODS`.

    A kind of the book's engine (:func:`rnnlib.engine.run_many`): ``kind``, ``result_type``
    (:class:`PointResult`), ``to_dict`` and ``run``; a chapter reads every point from the cache.
    """

    kind: ClassVar[str] = "headline"
    result_type: ClassVar = None  # PointResult, set below

    config: ExperimentConfig
    method: str = "sgd_w"
    direction: str = "orthogonal_to_constant"
    center: bool = True

    def __post_init__(self):
        if not isinstance(self.config, ExperimentConfig):
            raise TypeError(f"config must be an ExperimentConfig, got {type(self.config).__name__}")
        check_choice("method", self.method, METHODS)
        check_choice("direction", self.direction, DIRECTIONS)
        if not isinstance(self.center, bool):
            raise TypeError(f"center must be a bool, got {self.center!r}")

    @property
    def experiment(self) -> ExperimentConfig:
        """The config of the run: ``config`` with the concept's options and, for SGD, what is trained."""
        changes = {"direction": self.direction, "center": self.center}
        if self.method in ("sgd_w", "sgd_wa"):
            changes["trained"] = "W" if self.method == "sgd_w" else "WA"
        return self.config.replace(**changes)

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "method": self.method, "direction": self.direction,
                "center": self.center}

    def run(self) -> "PointResult":
        return run_point(self)

    def estimated_cost(self) -> float:
        return point_work(self)  # a pool starts the longest points first (rnnlib.engine)

    def code_modules(self) -> list[str]:
        return ["headline"]  # its import closure: experiment, training, baselines, concept


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, got {value!r} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


@dataclass
class PointResult:
    """What one :class:`HeadlinePoint` measured (standardized errors: 1.0 = predicting the mean).

    ``test_mse`` is against the (noisy) test labels; ``noise_floor`` is the standardized error of the
    true concept on them (``OPT``; 0 without noise); ``seconds`` is the wall time of the run and
    ``info["cpu_seconds"]`` its processor time (with one torch thread, the cost on an idle core).
    """

    point: HeadlinePoint
    train_mse: float
    test_mse: float
    noise_floor: float
    seconds: float
    info: dict = field(default_factory=dict)
    #: SGD only: per token position 2.. of the label, :func:`rnnlib.headline_probes.token_errors` and the
    #: mean square of the label's change (``token_scale``), which weights positions and seeds when pooled.
    token_mse: tuple = ()
    token_scale: tuple = ()

    def to_dict(self) -> dict:
        return {"point": self.point.to_dict(), "train_mse": self.train_mse, "test_mse": self.test_mse,
                "noise_floor": self.noise_floor, "seconds": self.seconds, "info": dict(self.info),
                "token_mse": list(self.token_mse), "token_scale": list(self.token_scale)}

    @classmethod
    def from_dict(cls, data: dict) -> "PointResult":
        """Rebuild from :meth:`to_dict`; a damaged entry (a missing field, a non-finite or negative
        number) raises ``ValueError`` or ``TypeError`` naming the field."""
        if not isinstance(data, dict):
            raise TypeError(f"result must be a dict, got {type(data).__name__}")
        missing = sorted({"point", "train_mse", "test_mse", "noise_floor", "seconds"} - set(data))
        if missing:
            raise ValueError(f"result dict lacks field(s) {missing}")
        if not isinstance(data["point"], dict) or "config" not in data["point"]:
            raise TypeError(f"point must be a dict with a config, got {data['point']!r}")
        p = dict(data["point"])
        p["config"] = ExperimentConfig.from_dict(p["config"])
        nums = {}
        for name in ("train_mse", "test_mse", "noise_floor", "seconds"):
            nums[name] = _number(name, data[name])
            if nums[name] < 0:
                raise ValueError(f"{name} must be >= 0, got {nums[name]}")
        info = data.get("info", {})
        if not isinstance(info, dict):
            raise TypeError(f"info must be a dict, got {type(info).__name__}")
        info = {str(k): v if isinstance(v, str) else _number(f"info[{k!r}]", v) for k, v in info.items()}
        tok, sc = ([_number(f"{k}[{i}]", v) for i, v in enumerate(data.get(k, ()))]
                   for k in ("token_mse", "token_scale"))
        if len(sc) != len(tok):
            raise ValueError(f"token_scale must have one entry per token_mse entry, got {len(sc)} and {len(tok)}")
        return cls(HeadlinePoint(**p), info=info, token_mse=tuple(tok), token_scale=tuple(sc), **nums)


HeadlinePoint.result_type = PointResult


def _noise_floor(data: Dataset) -> float:
    """The clean concept's standardized error on the noisy test labels (``OPT``), training statistics."""
    lab = np.flatnonzero(data.labelled)
    mean = data.y_train[:, lab].mean(axis=0)
    std = np.maximum(data.y_train[:, lab].std(axis=0), 1e-12)
    y_te = (data.y_test[:, lab] - mean) / std
    clean = (data.concept(data.x_star_test)[:, lab] - mean) / std
    return float((((clean - y_te) ** 2).mean(axis=0) / y_te.var(axis=0)).mean())


_RIDGE = {"linear_ridge": linear_ridge, "random_features": random_features, "ntk_ridge": ntk_ridge}


#: Halvings of a diverging SGD run's ``c`` (``L = 40`` diverged at ``c / 8`` of ``L = 10``'s; ``c / 64`` < book's 2).
MAX_HALVINGS = 6


def run_point(point: HeadlinePoint, data: Dataset | None = None) -> PointResult:
    """Run one point: SGD through :func:`rnnlib.run_experiment`, a baseline of :mod:`rnnlib.baselines`
    on :func:`rnnlib.make_dataset`'s data (or ``data``, when given)."""
    if not isinstance(point, HeadlinePoint):
        raise TypeError(f"point must be a HeadlinePoint, got {type(point).__name__}")
    start, cpu = time.perf_counter(), time.process_time()
    cfg = point.experiment
    tokens = scales = ()
    if point.method in ("sgd_w", "sgd_wa"):
        data = make_dataset(cfg) if data is None else data  # once: the runs and the token probe share it
        for halved in range(MAX_HALVINGS + 1):  # a run that diverges with the chosen c trains again with c / 2
            try:
                res = run_experiment(cfg.replace(lr_scale=cfg.lr_scale / 2 ** halved), keep_model=True, data=data)
                break
            except TrainingDiverged:
                if halved == MAX_HALVINGS:
                    raise
        train, test, floor, info = res.train_mse, res.test_mse, res.noise_floor, {"n_steps": res.n_steps,
                                                                                 "lr": res.lr, "halved": halved}
        tokens, scales = (tuple(map(float, a)) for a in token_errors(res.config, res.model, data, with_scale=True))
    else:
        data = make_dataset(cfg) if data is None else data
        res = _RIDGE[point.method](cfg, data)
        train, test, info = res.train_mse, res.test_mse, dict(res.info)
        floor = _noise_floor(data) if cfg.noise_std > 0 else 0.0
    info["cpu_seconds"] = time.process_time() - cpu  # the cost on a shared machine (wall time is not)
    return PointResult(point, float(train), float(test), float(floor), time.perf_counter() - start, info, tokens,
                       scales)


def _as_tuple(name, value, minimum=1):
    value = tuple(value)
    if not value:
        raise ValueError(f"{name} must be a non-empty sequence, got {value!r}")
    return tuple(check_int(f"{name}[{i}]", v, minimum=minimum) for i, v in enumerate(value))


@dataclass(frozen=True)
class HeadlineDesign:
    """The headline study: every ``method x L x N x seed`` on one shared grid of ``N``.

    Attributes:
        base: the config every run starts from (:func:`headline_base`).
        lengths: the lengths ``L``.
        n_grid: sample sizes ``N``, one geometric grid shared by every ``L``.
        seeds: seeds (each draws its own concept, data, initialization and batch order).
        widths: ``{L: m}``, the width at each length.
        steps_at_10: SGD steps at ``L <= 10``, scaled by :func:`rnnlib.generalization.steps_for_length`.
        methods: the methods of :data:`METHODS` to run.
        ntk_max: the largest ``N * L`` at which ``ntk_ridge`` runs (its Gram matrix costs
            ``~ N^2 L^2 m``); larger points are left out and reported as such.
        n_max: ``{L: largest N}`` run at that length (default: the whole grid).
        n_min: ``{L: smallest N}`` run at that length (default: the whole grid); where the error at
            the largest ``N`` is above every target, smaller ``N`` cannot locate ``N*`` either.
        stops: ``{method: longest L}`` it runs at (its cost puts longer lengths out of the budget).
        direction, center: the concept's options (see :class:`rnnlib.AdditiveConcept`).
        tune_grid: step constants ``c`` SGD's validation chooses from (:class:`rnnlib.headline_probes.StepTuning`,
            per SGD method, length of ``tune_lengths`` and ``N`` of ``tune_ns`` (default: the grid), at seed
            ``tune_seed``); empty: ``base.lr_scale`` everywhere.
        lr_scales: ``{(method, L, N): c}`` chosen (:meth:`with_tuning`); see :meth:`lr_scale`.
        width_grid, width_lengths: the width study (issue 13, item 7): SGD on ``W`` at these widths and
            lengths, on the whole grid and every seed.
    """

    base: ExperimentConfig
    lengths: tuple
    n_grid: tuple
    seeds: tuple
    widths: dict
    steps_at_10: int = 1000
    methods: tuple = METHODS
    ntk_max: int = 20000
    n_max: dict = field(default_factory=dict)
    n_min: dict = field(default_factory=dict)
    stops: dict = field(default_factory=dict)
    direction: str = "orthogonal_to_constant"
    center: bool = True
    tune_grid: tuple = ()
    tune_ns: tuple = ()
    tune_seed: int = 0
    tune_lengths: tuple = ()
    lr_scales: dict = field(default_factory=dict)
    width_grid: tuple = ()
    width_lengths: tuple = ()

    def __post_init__(self):
        object.__setattr__(self, "lengths", _as_tuple("lengths", self.lengths, 3))
        object.__setattr__(self, "n_grid", _as_tuple("n_grid", self.n_grid, 2))
        object.__setattr__(self, "seeds", _as_tuple("seeds", self.seeds, 0))
        if list(self.n_grid) != sorted(set(self.n_grid)):
            raise ValueError(f"n_grid must be increasing, got {self.n_grid}")
        missing = [L for L in self.lengths if L not in self.widths]
        if missing:
            raise ValueError(f"widths must give a width for every length, missing {missing}")
        for m in (*self.methods, *self.stops):
            check_choice("methods and stops", m, METHODS)
        for name in ("width_grid", "width_lengths", "tune_lengths", "tune_ns"):
            object.__setattr__(self, name, _as_tuple(name, getattr(self, name), 2) if getattr(self, name) else ())
        if set(self.width_lengths) - set(self.lengths) or set(self.tune_lengths) - set(self.lengths):
            raise ValueError(f"width_lengths and tune_lengths must be among lengths {self.lengths}, got "
                             f"{self.width_lengths} and {self.tune_lengths}")
        if self.tune_grid:
            StepTuning(self.base, self.tune_grid)  # validates the grid

    def _left_out(self, method, L, N) -> bool:
        return (N > self.n_max.get(L, math.inf) or N < self.n_min.get(L, 0) or L > self.stops.get(method, math.inf)
                or (method == "ntk_ridge" and N * L > self.ntk_max))

    def points(self, methods=None) -> list[HeadlinePoint]:
        """Every point, method outermost, then ``L``, ``N``, seed; NTK points above ``ntk_max`` left out."""
        return [self.point(method, L, N, s) for method in (self.methods if methods is None else methods)
                for L in self.lengths for N in self.n_grid if not self._left_out(method, L, N) for s in self.seeds]

    def point(self, method: str, L: int, N: int, seed: int, width: int | None = None) -> HeadlinePoint:
        """One run of the design (``width``: the design's width at ``L`` unless given)."""
        cfg = self.base.replace(length=L, n_train=N, seed=seed, width=self.widths[L] if width is None else width,
                                lr_scale=self.lr_scale(method, L, N))
        cfg = with_step_budget(cfg, steps_for_length(L, self.steps_at_10))
        return HeadlinePoint(cfg, method, self.direction, self.center)

    def lr_scale(self, method: str, L: int, N: int) -> float:
        """The ``c`` a run trains with: the one chosen at the longest tuned length ``<= L`` and the largest
        tuned ``N <= N`` (the smallest tuned ``N`` below the tuned ones); ``base.lr_scale`` if none."""
        Ls = [k[1] for k in self.lr_scales if k[0] == method and k[1] <= L]
        if not Ls:
            return self.base.lr_scale
        Ns = sorted(k[2] for k in self.lr_scales if k[:2] == (method, max(Ls)))
        return self.lr_scales[(method, max(Ls), max([n for n in Ns if n <= N] or Ns[:1]))]

    def tuning_points(self) -> list[StepTuning]:
        """The choice of ``c`` per SGD method, tuned length and ``N`` (empty without ``tune_grid``)."""
        c0, s = self.base.lr_scale, self.tune_seed  # the key does not depend on the c chosen
        return [StepTuning(self.point(m, L, N, s).experiment.replace(lr_scale=c0), self.tune_grid)
                for m in self.methods if m in ("sgd_w", "sgd_wa") and self.tune_grid
                for L in self.tune_lengths or self.lengths for N in self.tune_ns or self.n_grid]

    def with_tuning(self, results) -> "HeadlineDesign":
        """This design with the ``c`` each :class:`~rnnlib.headline_probes.TuningResult` chose."""
        return self.replace(lr_scales={("sgd_w" if r.tuning.config.trained == "W" else "sgd_wa",
                                        r.tuning.config.length, r.tuning.config.n_train): r.chosen for r in results})

    def width_points(self) -> list[HeadlinePoint]:
        """The width study: SGD on ``W`` at every width, length of ``width_lengths``, ``N`` and seed."""
        return [self.point("sgd_w", L, N, s, width=m) for L in self.width_lengths for m in self.width_grid
                for N in self.n_grid for s in self.seeds]

    def skipped(self) -> list[tuple]:
        """``(method, L, N)`` left out of :meth:`points` by ``ntk_max``, ``n_max``, ``n_min`` or ``stops``."""
        return [(m, L, N) for m in self.methods for L in self.lengths for N in self.n_grid
                if self._left_out(m, L, N)]

    def work(self) -> dict:
        """``{method: work}``, the design's cost in units a measured rate turns into seconds.

        SGD (``sgd_w``, ``sgd_wa``): ``steps x batch x L x m^2`` multiply-adds (forward and backward
        through the recurrence); ``ntk_ridge``: ``(N + n_test) N L^2 m`` for its Gram matrices plus
        ``N^3`` for the eigendecomposition; the ridge baselines on features are negligible (0).
        Multiply by seconds per unit measured on the machine (:func:`seconds_per_work`).
        """
        out = {m: 0.0 for m in self.methods}
        for p in self.points():
            out[p.method] += point_work(p)
        main = set(self.points(("sgd_w",)))  # a width point equal to a headline point runs once
        out["width"] = sum(point_work(p) for p in self.width_points() if p not in main)
        # a tuning trains once per c on four fifths of the samples
        out["tuning"] = sum(0.8 * len(t.grid) * point_work(HeadlinePoint(t.config, "sgd_w"))
                            for t in self.tuning_points())
        return out

    def replace(self, **changes) -> "HeadlineDesign":
        return dataclasses.replace(self, **changes)


def headline_design(fast: bool | None = None) -> HeadlineDesign:
    """:func:`rnnlib.tasks.headline_design`: the design is written there, beside the book's other designs."""
    from .tasks import headline_design as design  # tasks imports this module lazily, too
    return design(fast)


#: Label noise of the agnostic contrast: about ``OPT = 0.16`` at ``L = 5`` (measured in the prototype).
NOISE_STD = 0.033


def headline_contrasts(design: HeadlineDesign) -> dict:
    """:func:`rnnlib.tasks.headline_contrasts` (written beside the book's other designs)."""
    from .tasks import headline_contrasts as contrasts
    return contrasts(design)


def run_design(points, *, executor: Executor | None = None) -> list[PointResult]:
    """Run points (a :class:`HeadlineDesign` or a list of :class:`HeadlinePoint`) in order.

    ``executor``: any ``concurrent.futures.Executor`` (e.g. a process pool); ``None`` runs serially.
    Caching is left to the book's engine, which keys a run on its frozen config (the point).
    """
    pts = points.points() if isinstance(points, HeadlineDesign) else list(points)
    for i, p in enumerate(pts):
        if not isinstance(p, HeadlinePoint):
            raise TypeError(f"points[{i}] must be a HeadlinePoint, got {type(p).__name__}")
    return [run_point(p) for p in pts] if executor is None else list(executor.map(run_point, pts))
