"""Sample complexity from learning curves (paper.md section 9, experiments E5, E6, E9, E13).

The theorem says that SGD on ``W`` reaches population error ``OPT + eps`` with a number of
samples ``N`` polynomial in the length ``L`` (almost polynomial for smooth targets such as
``sin``), and only logarithmic in the width ``m``.  This module turns sweeps of
:func:`rnnlib.run_experiment` into the quantities that test the claim:

* :func:`learning_curves` arranges results as errors ``(groups, N values, seeds)``;
* :func:`sample_complexity` is ``N*``, the samples the mean curve needs to reach a target
  standardized test error, interpolated linearly in ``log N`` between grid points;
* :func:`fit_power_law` fits ``N* = a L^b`` by least squares on log-log axes and gives the
  standard error of ``b``; :func:`bootstrap_exponent` resamples seeds to give a second,
  assumption-light uncertainty; :func:`fit_exponential` fits ``N* = a 10^(c L)`` for comparison;
* :func:`steps_for_length` and :func:`with_step_budget` give the SGD budget scaled with ``L``
  (the practical step size is ``c / (lambda^2 L m)``, so ``L`` times more steps make up for it);
* :class:`LengthDesign` and :func:`length_design` hold chapter 5's main experiment (lengths,
  sample sizes, seeds, budget, target error) for the current profile, so chapter 8 and the front
  page read the very runs chapter 5 cached;
* :func:`trained_weight_norms` is a ``measure`` hook for :func:`rnnlib.sweep` that keeps the
  norms of the trained network, from which :mod:`rnnlib.bounds` evaluates the prior bounds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from ._checks import as_array, check_float, check_int
from .experiment import ExperimentConfig, ExperimentResult

__all__ = ["Curves", "learning_curves", "sample_complexity", "n_star", "PowerLawFit", "fit_power_law",
           "ExponentialFit", "fit_exponential", "bootstrap_exponent", "steps_for_length",
           "with_step_budget", "trained_weight_norms", "prior_bounds", "mean_prior_bounds", "NORM_PREFIX",
           "LengthDesign",
           "length_design"]

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
        import warnings
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


def sample_complexity(n_values, errors, target: float) -> float:
    """``N*``: where the error curve first falls to ``target``, interpolated linearly in ``log N``.

    Args:
        n_values: increasing sample sizes ``(k,)``.
        errors: errors at those sizes ``(k,)`` (e.g. the mean over seeds; NaN entries are skipped).
        target: the error to reach.

    Returns:
        ``N*`` as a float; NaN when the curve never reaches ``target`` in the grid, and also when
        it is already below ``target`` at the smallest ``N`` (then ``N*`` is only known to be
        smaller than the grid; no extrapolation is made).
    """
    n = as_array("n_values", n_values, ndim=1)
    e = np.asarray(errors, dtype=np.float64)
    if e.shape != n.shape:
        raise ValueError(f"errors must have the shape of n_values {n.shape}, got {e.shape}")
    target = check_float("target", target, positive=True)
    if np.any(n <= 0) or np.any(np.diff(n) <= 0):
        raise ValueError(f"n_values must be positive and increasing, got {n.tolist()}")
    keep = np.isfinite(e)
    n, e = n[keep], e[keep]
    if n.size == 0:
        return math.nan
    below = np.flatnonzero(e <= target)
    if below.size == 0 or below[0] == 0:
        return math.nan
    j = int(below[0])
    x0, x1 = math.log(n[j - 1]), math.log(n[j])
    frac = (e[j - 1] - target) / (e[j - 1] - e[j])
    return float(math.exp(x0 + frac * (x1 - x0)))


def n_star(curves: Curves, target: float) -> np.ndarray:
    """``N*`` of each group's mean curve, ``(groups,)`` (NaN where undefined)."""
    mean = curves.mean()
    return np.array([sample_complexity(curves.x, mean[i], target) for i in range(len(curves.groups))])


@dataclass(frozen=True)
class PowerLawFit:
    """``y = prefactor * x^exponent`` fitted by least squares on ``log10 y`` versus ``log10 x``.

    ``exponent_se`` is the ordinary least-squares standard error of the slope (NaN with two
    points); ``residual_rms`` is the root-mean-square residual in ``log10 y``.
    """

    exponent: float
    exponent_se: float
    prefactor: float
    residual_rms: float
    n_points: int

    def __call__(self, x):
        return self.prefactor * np.asarray(x, dtype=np.float64) ** self.exponent


@dataclass(frozen=True)
class ExponentialFit:
    """``y = prefactor * 10^(rate * x)`` fitted by least squares on ``log10 y`` versus ``x``."""

    rate: float
    rate_se: float
    prefactor: float
    residual_rms: float
    n_points: int

    def __call__(self, x):
        return self.prefactor * 10.0 ** (self.rate * np.asarray(x, dtype=np.float64))


def _line_fit(u, v):
    """Slope, its standard error, intercept and residual rms of ``v = a + b u``."""
    k = u.size
    A = np.stack([np.ones(k), u], axis=1)
    coef, *_ = np.linalg.lstsq(A, v, rcond=None)
    resid = v - A @ coef
    rms = float(np.sqrt(np.mean(resid ** 2)))
    if k > 2:
        s2 = float(resid @ resid) / (k - 2)
        se = math.sqrt(s2 / float(((u - u.mean()) ** 2).sum()))
    else:
        se = math.nan
    return float(coef[1]), se, float(coef[0]), rms


def _positive_pairs(x, y):
    x = as_array("x", x, ndim=1) if not isinstance(x, np.ndarray) else x.astype(np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        raise ValueError(f"x and y must have the same shape, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y) & (x > 0) & (y > 0)
    if keep.sum() < 2:
        raise ValueError("a fit needs at least two finite positive points, "
                         f"got x={x.tolist()}, y={y.tolist()}")
    return x[keep], y[keep]


def fit_power_law(x, y) -> PowerLawFit:
    """Fit ``y = a x^b`` on log-log axes (NaN or non-positive points are left out).

    The same least-squares fit as :func:`rnnlib.lazy.fit_power_law` (which it calls with three or
    more points), returned with the residual and the number of points used; with two points the
    line is exact and the standard error is NaN.
    """
    from .lazy import fit_power_law as _lazy_fit

    x, y = _positive_pairs(x, y)
    if x.size >= 3:
        b, a, se = _lazy_fit(x, y)
    else:
        b, se, log_a, _ = _line_fit(np.log10(x), np.log10(y))
        a = 10.0 ** log_a
    rms = float(np.sqrt(np.mean((np.log10(y) - np.log10(a) - b * np.log10(x)) ** 2)))
    return PowerLawFit(float(b), float(se), float(a), rms, int(x.size))


def fit_exponential(x, y) -> ExponentialFit:
    """Fit ``y = a 10^(c x)`` on semi-log axes (NaN or non-positive ``y`` are left out)."""
    x, y = _positive_pairs(x, y)
    c, se, a, rms = _line_fit(x, np.log10(y))
    return ExponentialFit(c, se, 10.0 ** a, rms, int(x.size))


def bootstrap_exponent(curves: Curves, target: float, *, n_boot: int = 2000, seed: int = 0) -> np.ndarray:
    """Exponents of :func:`fit_power_law` over bootstrap resamples of the seeds.

    Each replicate draws, independently for every group, as many seeds as it has, with
    replacement, recomputes the mean curves, ``N*`` per group and the fitted exponent.  Replicates
    in which fewer than two groups reach the target give NaN.

    Returns:
        ``(n_boot,)`` float64 exponents.
    """
    n_boot = check_int("n_boot", n_boot, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    G, K, S = curves.values.shape
    out = np.full(n_boot, np.nan)
    gs = curves.groups.astype(np.float64)
    for b in range(n_boot):
        idx = rng.integers(0, S, size=(G, S))
        sample = np.take_along_axis(curves.values, idx[:, None, :].repeat(K, axis=1), axis=2)
        with _quiet():
            mean = np.nanmean(sample, axis=2)
        ns = np.array([sample_complexity(curves.x, mean[i], target) for i in range(G)])
        if np.isfinite(ns).sum() >= 2:
            out[b] = fit_power_law(gs, ns).exponent
    return out


def steps_for_length(length: int, steps_at_10: int) -> int:
    """SGD steps for length ``L``: ``steps_at_10 * max(1, L / 10)``.

    The practical step size ``c / (lambda^2 L m)`` shrinks like ``1/L`` while each of the ``L - 1``
    token terms of the target carries ``1/(L-1)`` of its variance, so the number of steps must
    grow like ``L``; below ``L = 10`` the budget is not reduced (short sequences are not cheaper
    to fit per step).
    """
    length = check_int("length", length, minimum=1)
    steps_at_10 = check_int("steps_at_10", steps_at_10, minimum=1)
    return int(round(steps_at_10 * max(1.0, length / 10.0)))


def with_step_budget(cfg: ExperimentConfig, steps: int) -> ExperimentConfig:
    """``cfg`` with ``epochs`` set so that SGD takes at least ``steps`` steps on ``cfg.n_train`` samples."""
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    steps = check_int("steps", steps, minimum=1)
    per_epoch = math.ceil(cfg.n_train / cfg.batch_size)
    return cfg.replace(epochs=max(1, math.ceil(steps / per_epoch)))


def trained_weight_norms(result: ExperimentResult) -> dict:
    """A ``measure`` hook for :func:`rnnlib.sweep`: the norms of the trained network.

    Returns ``{"norm_spectral_W": ..., ...}``: every field of :class:`rnnlib.bounds.WeightNorms`
    of ``result.model`` (``W`` after training, ``A`` and ``B`` as trained or at init), from which
    :func:`prior_bounds` evaluates the prior generalization bounds without keeping the network.
    """
    from .bounds import weight_norms

    if result.model is None:
        raise ValueError("trained_weight_norms needs result.model (run with keep_model=True)")
    return {NORM_PREFIX + k: float(v) for k, v in weight_norms(result.model).to_dict().items()}


def prior_bounds(result: ExperimentResult) -> dict:
    """The prior bounds of :mod:`rnnlib.bounds` on the trained network of ``result``, at its ``L``.

    ``result.extras`` must hold the norms of :func:`trained_weight_norms` (run the sweep with
    ``measure=trained_weight_norms``).  Returns ``{key: log10 value}`` for the keys of
    :data:`rnnlib.bounds.BOUNDS`.
    """
    from .bounds import WeightNorms, evaluate_bounds

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


@dataclass(frozen=True, eq=False)
class LengthDesign:
    """Chapter 5's main experiment (paper.md section 9, E5): SGD on ``W`` for every ``L x N x seed``.

    Attributes:
        base: the config every run starts from (width, token size, scales, step size, averaging).
        lengths: the sequence lengths ``L``.
        n_grid: ``{L: sample sizes N}``, a window around each ``N*(L)``.
        seeds: the seeds (each draws its own data, initialization and batch order).
        steps_at_10: SGD steps at ``L <= 10``; :func:`steps_for_length` scales them with ``L``.
        target: the standardized test error that defines ``N*``.
    """

    base: ExperimentConfig
    lengths: tuple
    n_grid: dict
    seeds: tuple
    steps_at_10: int
    target: float

    def configs(self) -> list[ExperimentConfig]:
        """Every run of the design, ``L`` outermost, then ``N``, then the seed."""
        return [with_step_budget(self.base.replace(length=L, n_train=N, seed=s),
                                 steps_for_length(L, self.steps_at_10))
                for L in self.lengths for N in self.n_grid[L] for s in self.seeds]


def length_design(fast: bool | None = None) -> LengthDesign:
    """Chapter 5's :class:`LengthDesign` for the full profile, or the fast one (``RNNLIB_FAST=1``).

    Args:
        fast: ``True``/``False`` to choose the profile; ``None`` reads ``RNNLIB_FAST`` now.
    """
    from .profile import is_fast

    if fast is None:
        fast = is_fast()
    if not isinstance(fast, bool):
        raise TypeError(f"fast must be True, False or None, got {fast!r}")
    width, n_test = (64, 400) if fast else (256, 2000)
    base = ExperimentConfig(width=width, token_dim=8, eps_x=0.3, output_scale=0.3, lr_scale=2.0,
                            batch_size=32, phi="sin(3z)", labels="last", n_test=n_test, average=0.5)
    if fast:
        return LengthDesign(base, (4, 8, 16), {4: (10, 30, 100, 300), 8: (30, 100, 300), 16: (300, 1000, 3000)},
                            (0, 1), 400, 0.6)
    return LengthDesign(base, (5, 10, 20, 40),
                        {5: (30, 100, 300, 1000, 3000), 10: (30, 100, 300, 1000, 3000), 20: (300, 1000, 3000),
                         40: (1000, 3000, 10000)}, (0, 1, 2), 1000, 0.5)
