"""Cached kinds of chapter 6's lemma section: the rate ``1/sqrt(M)`` and the noisy threshold.

Chapter 6 (why it works), the indicator-to-function lemma (Allen-Zhu, Li & Liang 2019, Lemma 6.2;
its robust form with a noisy threshold, Allen-Zhu & Li (2019), Lemma 5.2(b), recalled). They wrap
:func:`rnnlib.lemma.fit_indicator`, :func:`rnnlib.lemma.sup_error_vs_neurons` and
:func:`rnnlib.lemma.shared_sup_errors` in the engine's kind protocol (:mod:`rnnlib.engine`):

* :class:`LemmaRateConfig` (kind ``lemma_rate``) -> :class:`LemmaRateResult`;
* :class:`LemmaNoiseConfig` (kind ``lemma_noise``) -> :class:`LemmaNoiseResult`.

(Moved out of :mod:`rnnlib.lemma`, which still answers their old import path.)
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from ._checks import check_int
from .lemma import fit_indicator, shared_sup_errors, sup_error_vs_neurons
from .payload import finite_array, finite_number, float_tuple, int_tuple

__all__ = ["LemmaRateConfig", "LemmaRateResult", "LemmaNoiseConfig", "LemmaNoiseResult"]


@dataclass(frozen=True)
class LemmaRateConfig:
    """Kind ``lemma_rate``: the fit of ``phi`` and its sup error against the number of neurons ``M``.

    Fields: ``phi`` (a name of :data:`rnnlib.SMOOTH_FUNCTIONS`), ``ms`` (the ``M`` values),
    ``n_draws`` draws of the neurons per ``M`` (seeds from ``seed``), ``curve_ms``: the ``M`` values
    at which the estimate on a grid of ``n_curve`` points of ``u`` is kept for a figure (seed 1).
    """

    kind: ClassVar[str] = "lemma_rate"
    phi: str
    ms: tuple
    n_draws: int
    seed: int = 0
    curve_ms: tuple = ()
    n_curve: int = 201

    def to_dict(self) -> dict:
        return {"phi": self.phi, "ms": list(self.ms), "n_draws": self.n_draws, "seed": self.seed,
                "curve_ms": list(self.curve_ms), "n_curve": self.n_curve}

    @classmethod
    def from_dict(cls, d: dict) -> LemmaRateConfig:
        return cls(str(d["phi"]), int_tuple("ms", d["ms"]), int(d["n_draws"]), int(d["seed"]),
                   int_tuple("curve_ms", d["curve_ms"]), int(d["n_curve"]))

    def estimated_cost(self) -> float:
        """Relative cost for a pool's schedule: neurons evaluated on the grid of ``u``."""
        return float(self.n_draws * sum(self.ms) + sum(self.curve_ms))

    def run(self) -> LemmaRateResult:
        fit = fit_indicator(self.phi)
        u = np.linspace(-1, 1, check_int("n_curve", self.n_curve, minimum=2))
        curves = np.array([fit.estimate(u, M, seed=1) for M in self.curve_ms]).reshape(len(self.curve_ms), u.size)
        return LemmaRateResult(self, sup_error_vs_neurons(fit, self.ms, n_draws=self.n_draws, seed=self.seed),
                               fit.second_moment, fit.bias_error(), curves)


@dataclass(frozen=True, eq=False)
class LemmaRateResult:
    """``errors`` ``(len(ms), n_draws)``; ``second_moment`` ``E[H^2]``; ``bias`` (infinite ``M``);
    ``curves`` ``(len(curve_ms), n_curve)``: the finite-``M`` estimates on ``u in [-1, 1]``."""

    config: LemmaRateConfig
    errors: np.ndarray
    second_moment: float
    bias: float
    curves: np.ndarray

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "errors": self.errors.tolist(),
                "second_moment": self.second_moment, "bias": self.bias, "curves": self.curves.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> LemmaRateResult:
        config = LemmaRateConfig.from_dict(d["config"])
        # JSON drops the shape of an empty array: no curve_ms, no curves, shape (0, n_curve)
        curves = np.empty((0, config.n_curve)) if not config.curve_ms and d["curves"] == [] \
            else finite_array("curves", d["curves"], 2)
        return cls(config, finite_array("errors", d["errors"], 2),
                   finite_number("second_moment", d["second_moment"]), finite_number("bias", d["bias"]), curves)


LemmaRateConfig.result_type = LemmaRateResult


@dataclass(frozen=True)
class LemmaNoiseConfig:
    """Kind ``lemma_noise``: sup error at ``M`` neurons when every threshold carries ``N(0, tau^2)``
    noise, for the plain fit of ``phi`` and for fits that know ``tau`` (one per ``tau`` of ``taus``)."""

    kind: ClassVar[str] = "lemma_noise"
    phi: str
    taus: tuple
    M: int
    n_draws: int
    seed: int = 5

    def to_dict(self) -> dict:
        return {"phi": self.phi, "taus": list(self.taus), "M": self.M, "n_draws": self.n_draws, "seed": self.seed}

    @classmethod
    def from_dict(cls, d: dict) -> LemmaNoiseConfig:
        return cls(str(d["phi"]), float_tuple("taus", d["taus"]), int(d["M"]), int(d["n_draws"]), int(d["seed"]))

    def estimated_cost(self) -> float:
        """Relative cost for a pool's schedule, as :meth:`LemmaRateConfig.estimated_cost`: per draw, one
        block of normals and, per ``tau``, a pattern and two weighted sums."""
        return float(self.n_draws * self.M * (1 + 3 * len(self.taus)))

    def run(self) -> LemmaNoiseResult:
        plain = fit_indicator(self.phi)
        aware = [fit_indicator(self.phi, noise_std=tau) for tau in self.taus]
        # the plain and the noise-aware fit at each tau on the same neurons and noise draws (as before)
        err = shared_sup_errors([[plain, f] for f in aware], self.taus, M=self.M, n_draws=self.n_draws,
                                seed=self.seed)
        return LemmaNoiseResult(self, err[:, 0], err[:, 1], np.array([f.second_moment for f in aware]))


@dataclass(frozen=True, eq=False)
class LemmaNoiseResult:
    """``plain``, ``aware``: sup errors ``(len(taus), n_draws)``; ``aware_second``: ``E[H^2]`` per ``tau``."""

    config: LemmaNoiseConfig
    plain: np.ndarray
    aware: np.ndarray
    aware_second: np.ndarray

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "plain": self.plain.tolist(), "aware": self.aware.tolist(),
                "aware_second": self.aware_second.tolist()}

    @classmethod
    def from_dict(cls, d: dict) -> LemmaNoiseResult:
        return cls(LemmaNoiseConfig.from_dict(d["config"]), finite_array("plain", d["plain"], 2),
                   finite_array("aware", d["aware"], 2), finite_array("aware_second", d["aware_second"], 1))


LemmaNoiseConfig.result_type = LemmaNoiseResult
