"""Cached kinds of chapter 6's existence section: the explicit ``W*`` and SGD on the same targets.

Chapter 6 (why it works), the existence of a good ``W*`` (Allen-Zhu & Li (2019), section 5 and
Lemma 5.2, recalled; the construction follows the sketch of Panigrahi & Goyal 2021). They wrap
:class:`rnnlib.existence.ExistenceSetup` and :func:`rnnlib.existence.sgd_on_target` in the engine's
kind protocol (:mod:`rnnlib.engine`), so a rebuilt chapter reads them from the cache:

* :class:`ExistenceConfig` (kind ``existence``) -> :class:`ExistenceResult`: one RNN at
  initialization (width, seed), ``W*`` built for each single-position target at ``i0 = L``;
* :class:`SinglePositionSGDConfig` (kind ``single_position_sgd``) -> :class:`SinglePositionSGDResult`.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import ClassVar

import numpy as np

from .config import ExperimentConfig
from .existence import ExistenceSetup, SinglePositionTarget, sgd_on_target
from .payload import finite_array, finite_number, str_tuple
from .rnn import ElmanRNN
from .tokens import sample_tokens

__all__ = ["ExistenceConfig", "ExistenceResult", "SinglePositionSGDConfig", "SinglePositionSGDResult"]


@dataclass(frozen=True)
class ExistenceConfig:
    """``W*`` for the targets ``phi(<w*, x*_L>)`` (``phis``, target seed ``target_seed``) on an RNN of
    ``width`` (seed ``seed``), design and probe tokens from ``design_seed`` and ``probe_seed``.

    ``scatter_phi``: the target whose outputs (target, pseudo-network) and true-RNN error are kept.
    """

    kind: ClassVar[str] = "existence"
    width: int
    seed: int
    phis: tuple
    n_design: int
    n_probe: int
    length: int = 10
    token_dim: int = 8
    eps_x: float = 0.3
    output_scale: float = 0.3
    target_seed: int = 7
    design_seed: int = 101
    probe_seed: int = 102
    scatter_phi: str = ""

    def to_dict(self) -> dict:
        return {**{f.name: getattr(self, f.name) for f in fields(self)}, "phis": list(self.phis)}

    @classmethod
    def from_dict(cls, d: dict) -> ExistenceConfig:
        if not isinstance(d, dict) or set(d) != {f.name for f in fields(cls)}:
            raise ValueError(f"an existence config needs the fields {[f.name for f in fields(cls)]}, got {d!r}")
        return cls(**{**d, "phis": str_tuple("phis", d["phis"])})

    def estimated_cost(self) -> float:
        """Relative cost for a pool's schedule, in the unit of ``ExperimentConfig.estimated_cost``
        (``n L m^2``): the gradient factors of the design and probe inputs (a forward and a backward
        pass), and the true RNN's two forward passes for ``scatter_phi``."""
        n = 2 * (self.n_design + self.n_probe) + (2 * self.n_probe if self.scatter_phi else 0)
        return float(n * self.length * self.width ** 2)

    def run(self) -> ExistenceResult:
        L, t = self.length, self.token_dim
        setup = ExistenceSetup(ElmanRNN(t + 1, self.width, seed=self.seed), L,
                               sample_tokens(self.n_design, L, t, seed=self.design_seed),
                               sample_tokens(self.n_probe, L, t, seed=self.probe_seed),
                               eps_x=self.eps_x, output_scale=self.output_scale)
        cols = {k: [] for k in ("pseudo_error", "predicted", "frobenius", "diagonal_error", "cross_rms")}
        rnn_error, scatter = -1.0, np.zeros((2, 0))
        for phi in self.phis:
            target = SinglePositionTarget(L, t, L, phi, seed=self.target_seed)
            w_star = setup.construct(target)
            out = setup.evaluate(w_star, target, true_rnn=phi == self.scatter_phi)
            cols["pseudo_error"].append(out["pseudo_error"])
            # Monte-Carlo prediction: weights B_r^2 / ||B||^2 leave an effective m / 3 neurons
            cols["predicted"].append(3 * w_star.fit.second_moment / (self.width * out["target"].var()))
            cols["frobenius"].append(w_star.frobenius)
            cols["diagonal_error"].append(out["diagonal_error"])
            cols["cross_rms"].append(out["cross_rms"])
            if phi == self.scatter_phi:
                rnn_error, scatter = out["rnn_error"], np.stack([out["target"], out["pseudo"]])
        return ExistenceResult(self, {k: np.array(v) for k, v in cols.items()}, setup.tau, setup.sigma_b,
                               rnn_error, scatter)


@dataclass(frozen=True, eq=False)
class ExistenceResult:
    """Per target (order of ``config.phis``): ``values[name]`` for ``pseudo_error`` (standardized),
    ``predicted`` (``3 E[H^2] / (m Var phi)``), ``frobenius`` (``||W*||_F``), ``diagonal_error``,
    ``cross_rms``; the threshold noise ``tau`` and scale ``sigma_b``; for ``scatter_phi``: the true
    RNN's error at ``W + W*`` (``-1`` if none) and ``scatter`` ``(2, n_probe)`` (target, pseudo)."""

    config: ExistenceConfig
    values: dict
    tau: float
    sigma_b: float
    rnn_error: float
    scatter: np.ndarray

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "values": {k: v.tolist() for k, v in self.values.items()},
                "tau": self.tau, "sigma_b": self.sigma_b, "rnn_error": self.rnn_error,
                "scatter": self.scatter.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> ExistenceResult:
        if not isinstance(d.get("values"), dict):
            raise TypeError("an existence result needs a 'values' mapping")
        values = {k: finite_array(f"values[{k!r}]", v, 1) for k, v in d["values"].items()}
        return cls(ExistenceConfig.from_dict(d["config"]), values, finite_number("tau", d["tau"]),
                   finite_number("sigma_b", d["sigma_b"]), finite_number("rnn_error", d["rnn_error"]),
                   finite_array("scatter", d["scatter"], 2))


ExistenceConfig.result_type = ExistenceResult


@dataclass(frozen=True)
class SinglePositionSGDConfig:
    """SGD on W (``run``'s task, tokens, initialization and step size) on ``phi(<w*, x*_position>)``."""

    kind: ClassVar[str] = "single_position_sgd"
    run_config: ExperimentConfig
    phi: str
    position: int
    target_seed: int = 7

    def to_dict(self) -> dict:
        return {"run": self.run_config.to_dict(), "phi": self.phi, "position": self.position,
                "target_seed": self.target_seed}

    @classmethod
    def from_dict(cls, d: dict) -> SinglePositionSGDConfig:
        return cls(ExperimentConfig.from_dict(d["run"]), str(d["phi"]), int(d["position"]), int(d["target_seed"]))

    def estimated_cost(self) -> float:
        return self.run_config.estimated_cost()

    def run(self) -> SinglePositionSGDResult:
        cfg = self.run_config
        target = SinglePositionTarget(cfg.length, cfg.token_dim, self.position, self.phi, seed=self.target_seed)
        return SinglePositionSGDResult(self, sgd_on_target(target, cfg))


@dataclass(frozen=True)
class SinglePositionSGDResult:
    """``test_mse``: standardized test error of SGD on W on the single-position target."""

    config: SinglePositionSGDConfig
    test_mse: float

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "test_mse": self.test_mse}

    @classmethod
    def from_dict(cls, d: dict) -> SinglePositionSGDResult:
        return cls(SinglePositionSGDConfig.from_dict(d["config"]), finite_number("test_mse", d["test_mse"]))


SinglePositionSGDConfig.result_type = SinglePositionSGDResult
