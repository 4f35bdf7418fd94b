"""Sample complexity from learning curves (chapter 5; Allen-Zhu & Li (2019), Theorem 1).

The theorem says that SGD on ``W`` reaches population error ``OPT + eps`` with a number of
samples ``N`` polynomial in the length ``L`` (almost polynomial for smooth targets such as
``sin``), and only logarithmic in the width ``m``.  This module turns sweeps of
:func:`rnnlib.run_experiment` into the quantities that test the claim:

* :func:`learning_curves` arranges results as errors ``(groups, N values, seeds)``;
* :func:`n_star` is ``N*`` of each group's mean curve, the samples needed to reach a target
  standardized test error, by the one rule of :func:`rnnlib.stats.samples_needed` (log-log
  interpolation inside the grid; NaN for ``N* <= N_min``, inf for ``N* > N_max``);
* :func:`bootstrap_exponent` resamples seeds (:func:`rnnlib.stats.bootstrap`) to give an
  assumption-light uncertainty of the exponent of :func:`rnnlib.stats.fit_power_law`;
* :func:`trained_weight_norms` is a ``measure`` hook for :func:`rnnlib.sweep` that keeps the
  norms of the trained network, from which :func:`prior_bounds` evaluates the prior bounds of
  :mod:`rnnlib.bounds`.

The step budget (:func:`steps_for_length`, :func:`with_step_budget`) lives in :mod:`rnnlib.tasks`,
and the fits in :mod:`rnnlib.stats`; both are imported here under their former names.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._checks import check_float
from .bounds import WeightNorms, evaluate_bounds, weight_norms
from .experiment import ExperimentResult
from .stats import (ExponentialFit, PowerLawFit, bootstrap, fit_exponential, fit_power_law,  # noqa: F401
                    samples_needed)
from .tasks import steps_for_length, with_step_budget  # noqa: F401

__all__ = ["Curves", "learning_curves", "sample_complexity", "n_star", "PowerLawFit", "fit_power_law",
           "ExponentialFit", "fit_exponential", "bootstrap_exponent", "steps_for_length",
           "with_step_budget", "trained_weight_norms", "prior_bounds", "mean_prior_bounds", "NORM_PREFIX"]

NORM_PREFIX = "norm_"


@dataclass
class Curves:
    """Errors of a sweep arranged for plotting and fitting.

    Attributes:
        groups: the values of the grouping field (e.g. lengths ``L``), sorted.
        x: the values of the x field (e.g. sample sizes ``N``), sorted.
        values: ``(len(groups), len(x), n_seeds)`` float64; NaN where a run is missing.
        seeds: the seeds, in the order of the last axis.
        by, x_field, metric: the names used.
    """

    groups: np.ndarray
    x: np.ndarray
    values: np.ndarray
    seeds: np.ndarray
    by: str
    x_field: str
    metric: str

    def mean(self) -> np.ndarray:
        """Mean over seeds, ``(groups, x)`` (NaN-aware)."""
        with np.errstate(invalid="ignore"), _quiet():
            return np.nanmean(self.values, axis=2)

    def spread(self) -> np.ndarray:
        """Standard deviation over seeds, ``(groups, x)`` (0 with one seed)."""
        with np.errstate(invalid="ignore"), _quiet():
            return np.nanstd(self.values, axis=2)

    def group(self, value) -> np.ndarray:
        """The ``(x, seeds)`` slice of one group."""
        idx = np.flatnonzero(self.groups == value)
        if idx.size == 0:
            raise ValueError(f"{self.by}={value!r} is not in the curves; groups are {self.groups.tolist()}")
        return self.values[idx[0]]


class _quiet:
    """Silence numpy's 'mean of empty slice' warnings (all-NaN cells stay NaN)."""

    def __enter__(self):
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def _field(result: ExperimentResult, name: str):
    if hasattr(result.config, name) and name in result.config.to_dict():
        return getattr(result.config, name)
    if name in result.extras:
        return result.extras[name]
    if hasattr(result, name):
        return getattr(result, name)
    raise ValueError(f"{name!r} is neither a config field, a result field nor an extra of the results")


def learning_curves(results: Sequence[ExperimentResult], *, by: str = "length", x: str = "n_train",
                    metric: str = "test_mse") -> Curves:
    """Arrange ``metric`` of ``results`` by ``by`` (rows), ``x`` (columns) and seed (last axis).

    ``metric`` may be a result field (``"test_mse"``), ``"gap"`` (test minus train error) or a key
    of ``result.extras``.  Results sharing ``by``, ``x`` and ``seed`` must not repeat.
    """
    results = [r for r in results if r is not None]
    if not results:
        raise ValueError("results must hold at least one ExperimentResult")
    for r in results:
        if not isinstance(r, ExperimentResult):
            raise TypeError(f"results must hold ExperimentResult objects, got {type(r).__name__}")

    def value(r):
        if metric == "gap":
            return r.test_mse - r.train_mse
        return float(_field(r, metric))

    gs = np.array(sorted({_field(r, by) for r in results}))
    xs = np.array(sorted({_field(r, x) for r in results}))
    seeds = np.array(sorted({r.config.seed for r in results}))
    out = np.full((len(gs), len(xs), len(seeds)), np.nan)
    for r in results:
        i = int(np.flatnonzero(gs == _field(r, by))[0])
        j = int(np.flatnonzero(xs == _field(r, x))[0])
        s = int(np.flatnonzero(seeds == r.config.seed)[0])
        if not np.isnan(out[i, j, s]):
            raise ValueError(f"two results share {by}={gs[i]}, {x}={xs[j]}, seed={seeds[s]}; "
                             "group them by another field")
        out[i, j, s] = value(r)
    return Curves(gs, xs, out, seeds, by, x, metric)


sample_complexity = samples_needed  # the former name: N* by the one rule of rnnlib.stats


def n_star(curves: Curves, target: float) -> np.ndarray:
    """``N*`` of each group's mean curve, ``(groups,)``, by :func:`rnnlib.stats.samples_needed`.

    NaN where the smallest ``N`` already reaches ``target`` (``N* <= N_min``), inf where no ``N`` of
    the grid does (``N* > N_max``); fits leave both out.
    """
    mean = curves.mean()
    return np.array([samples_needed(curves.x, mean[i], target) for i in range(len(curves.groups))])


def bootstrap_exponent(curves: Curves, target: float, *, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Exponents of :func:`rnnlib.stats.fit_power_law` over bootstrap resamples of the seeds.

    :func:`rnnlib.stats.bootstrap` draws, independently for every group, as many seeds as it has,
    with replacement; each replicate recomputes the mean curves, ``N*`` per group and the fitted
    exponent.  Replicates in which fewer than two groups reach the target give NaN.

    Returns:
        ``(n_boot,)`` float64 exponents.
    """
    gs = curves.groups.astype(np.float64)

    def exponent(values: np.ndarray) -> float:
        mean = np.nanmean(values, axis=2)
        ns = np.array([samples_needed(curves.x, mean[i], target) for i in range(len(gs))])
        return fit_power_law(gs, ns).exponent

    check_float("target", target, positive=True)
    return bootstrap(curves.values, exponent, n_boot=n_boot, seed=seed)


def trained_weight_norms(result: ExperimentResult) -> dict:
    """A ``measure`` hook for :func:`rnnlib.sweep`: the norms of the trained network.

    Returns ``{"norm_spectral_W": ..., ...}``: every field of :class:`rnnlib.bounds.WeightNorms`
    of ``result.model`` (``W`` after training, ``A`` and ``B`` as trained or at init), from which
    :func:`prior_bounds` evaluates the prior generalization bounds without keeping the network.
    """
    if result.model is None:
        raise ValueError("trained_weight_norms needs result.model (run with keep_model=True)")
    return {NORM_PREFIX + k: float(v) for k, v in weight_norms(result.model).to_dict().items()}


def prior_bounds(result: ExperimentResult) -> dict:
    """The prior bounds of :mod:`rnnlib.bounds` on the trained network of ``result``, at its ``L``.

    ``result.extras`` must hold the norms of :func:`trained_weight_norms` (run the sweep with
    ``measure=trained_weight_norms``).  Returns ``{key: log10 value}`` for the keys of
    :data:`rnnlib.bounds.BOUNDS`.
    """
    norms = {k[len(NORM_PREFIX):]: v for k, v in result.extras.items() if k.startswith(NORM_PREFIX)}
    if not norms:
        raise ValueError("result.extras holds no weight norms; run the sweep with "
                         "measure=rnnlib.generalization.trained_weight_norms")
    norms["width"] = int(norms["width"])
    values = evaluate_bounds(WeightNorms(**norms), [result.config.length])
    return {k: float(v[0]) for k, v in values.items() if k not in ("length", "norms")}


def mean_prior_bounds(results: Sequence[ExperimentResult], lengths: Sequence[int],
                      keys: Sequence[str] = ("zhang", "bartlett", "tu_factor")) -> dict:
    """``{key: [mean log10 prior bound over the results at L, for L in lengths]}``.

    Each result's bounds come from :func:`prior_bounds` (the sweep must have run with
    ``measure=trained_weight_norms``); a length without results raises ``ValueError``.
    """
    per_run = [(r.config.length, prior_bounds(r)) for r in results]
    out = {k: [] for k in keys}
    for L in lengths:
        at = [b for length, b in per_run if length == L]
        if not at:
            raise ValueError(f"results hold no run at length {L}; lengths are {sorted({n for n, _ in per_run})}")
        for k in keys:
            out[k].append(float(np.mean([b[k] for b in at])))
    return out
