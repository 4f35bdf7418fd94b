"""The book's statistics: growth-law fits, samples needed, standardized error, bootstrap intervals.

Chapters 4-8 measure growth laws (``N*`` versus ``L`` in chapter 5, displacement versus ``m`` in
chapter 4, the lemma's ``1/sqrt(M)`` in chapter 6) and compare methods by their standardized
error.  Every one of those computations lives here, once (Allen-Zhu & Li (2019), Theorem 1: the theorem's
sample complexity is polynomial in ``L``; the tests of that claim are fits of ``N*(L)``).

* :func:`fit_power_law` fits ``y = a x^b`` on log-log axes, :func:`fit_exponential` fits
  ``y = a 10^(c x)`` on semi-log axes; both report the slope's standard error and the residual.
* :func:`samples_needed` is ``N*``, the sample size at which an error curve reaches a target, with
  one rule at the edges (below).  :func:`n_star_bounds` gives the bracket it implies and
  :func:`format_n_star` the words a table prints.
* :func:`standardized_error` is the mean over labelled outputs of ``MSE / Var(y)`` (1.0 is the error
  of predicting the mean), in numpy.
* :func:`bootstrap` resamples seeds (the last axis) and recomputes any statistic.

The rule for ``N*`` (one rule for every chapter)
-------------------------------------------------
The error curve is read in grid order, NaN entries skipped.  ``N*`` is where it *first* reaches the
target (``error <= target``):

* inside the grid, between the bracketing grid points ``N_{j-1} < N* <= N_j``, by linear
  interpolation of ``log error`` in ``log N`` (exact for a learning curve that is a power law
  between the two points, which is how test error falls with ``N`` at this scale);
* already reached at the smallest ``N``: ``N* <= N_min`` is all the grid says; ``NaN`` is returned
  (the curve is never extrapolated below the grid), and :func:`format_n_star` prints ``<= N_min``;
* never reached: ``N* > N_max``; ``inf`` is returned, printed ``> N_max``.

Fits skip both (they keep finite points only), so no silent extrapolation enters a growth law.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._checks import as_array, check_float, check_int

__all__ = ["PowerLawFit", "ExponentialFit", "fit_power_law", "fit_exponential", "samples_needed",
           "samples_needed_rows", "n_star_bounds", "format_n_star", "standardized_error", "bootstrap"]


@dataclass(frozen=True)
class PowerLawFit:
    """``y = prefactor * x^exponent`` fitted by least squares on ``log10 y`` versus ``log10 x``.

    ``exponent_se`` is the ordinary least-squares standard error of the slope (NaN with two
    points; it measures scatter around the line, not seed-to-seed variation); ``residual_rms`` is the
    root-mean-square residual in ``log10 y``; ``n_points`` the points used.
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


def _line_fit(u: np.ndarray, v: np.ndarray) -> tuple[float, float, float, float]:
    """Slope, its standard error (NaN with two points), intercept and residual rms of ``v = a + b u``."""
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


def _finite_positive(x, y, *, x_positive: bool) -> tuple[np.ndarray, np.ndarray]:
    """The pairs of ``x, y`` (1-d, same shape) with finite values, ``y > 0`` (and ``x > 0`` if asked)."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 1 or x.shape != y.shape:
        raise ValueError(f"x and y must be 1-d with the same shape, got {x.shape} and {y.shape}")
    keep = np.isfinite(x) & np.isfinite(y) & (y > 0)
    if x_positive:
        keep &= x > 0
    if keep.sum() < 2:
        raise ValueError("a fit needs at least two finite positive points, "
                         f"got x={x.tolist()}, y={y.tolist()}")
    return x[keep], y[keep]


def fit_power_law(x, y) -> PowerLawFit:
    """Fit ``y = a x^b`` by least squares on log-log axes.

    Args:
        x, y: ``(k,)`` values; pairs with a NaN, an infinity or a non-positive value are left out
            (``N*`` outside its grid is NaN or inf, see the module docstring).

    Returns:
        :class:`PowerLawFit`; with two points the line is exact and ``exponent_se`` is NaN.

    Raises:
        ValueError: fewer than two usable points.
    """
    x, y = _finite_positive(x, y, x_positive=True)
    b, se, log_a, rms = _line_fit(np.log10(x), np.log10(y))
    return PowerLawFit(b, se, 10.0 ** log_a, rms, int(x.size))


def fit_exponential(x, y) -> ExponentialFit:
    """Fit ``y = a 10^(c x)`` on semi-log axes (pairs with a non-finite value or ``y <= 0`` left out)."""
    x, y = _finite_positive(x, y, x_positive=False)
    c, se, log_a, rms = _line_fit(x, np.log10(y))
    return ExponentialFit(c, se, 10.0 ** log_a, rms, int(x.size))


def _checked(n_values, errors, target, *, rows: bool = False) -> tuple[np.ndarray, np.ndarray, float]:
    """Checked ``(N, errors, target)``: ``errors`` of the shape of ``n_values``, or ``(rows, k)`` rows of it."""
    n = as_array("n_values", n_values, ndim=1)
    e = np.asarray(errors, dtype=np.float64)
    if rows and (e.ndim != 2 or e.shape[1:] != n.shape):
        raise ValueError(f"errors must have shape (rows, {n.size}), got {e.shape}")
    if not rows and e.shape != n.shape:
        raise ValueError(f"errors must have the shape of n_values {n.shape}, got {e.shape}")
    target = check_float("target", target, positive=True)
    if np.any(n <= 0) or np.any(np.diff(n) <= 0):
        raise ValueError(f"n_values must be positive and increasing, got {n.tolist()}")
    finite = np.isfinite(e)
    if np.any(e[finite] <= 0):
        where = ""
        if rows:
            bad = int(np.flatnonzero((finite & ~(e > 0)).any(axis=1))[0])
            e, where = e[bad], f" in row {bad}"
        raise ValueError(f"errors must be positive (log-log interpolation), got {e.tolist()}{where}")
    return n, e, target


def _curve(n_values, errors, target) -> tuple[np.ndarray, np.ndarray, float]:
    """Checked ``(N, error)`` with NaN errors dropped, and the target."""
    n, e, target = _checked(n_values, errors, target)
    keep = np.isfinite(e)
    return n[keep], e[keep], target


def samples_needed(n_values, errors, target: float) -> float:
    """``N*``: where the error curve first reaches ``target`` (the module's rule at the edges).

    Args:
        n_values: increasing sample sizes ``(k,)``.
        errors: the error at each of them ``(k,)`` (for instance the mean over seeds); NaN entries
            are skipped, other entries must be positive.
        target: the error to reach (positive).

    Returns:
        ``N*`` interpolated on log-log axes between the bracketing grid points; ``NaN`` when the
        smallest ``N`` already reaches the target (``N* <= N_min``) or no entry is finite; ``inf``
        when the curve never reaches it (``N* > N_max``).
    """
    n, e, target = _curve(n_values, errors, target)
    if n.size == 0:
        return math.nan
    below = np.flatnonzero(e <= target)
    if below.size == 0:
        return math.inf
    j = int(below[0])
    if j == 0:
        return math.nan
    if e[j] == target:
        return float(n[j])
    frac = (math.log(e[j - 1]) - math.log(target)) / (math.log(e[j - 1]) - math.log(e[j]))
    return float(math.exp(math.log(n[j - 1]) + frac * (math.log(n[j]) - math.log(n[j - 1]))))


def samples_needed_rows(n_values, errors, target: float) -> np.ndarray:
    """:func:`samples_needed` of each row of ``errors`` ``(R, k)`` on one grid ``n_values`` ``(k,)``.

    The same numbers as the loop over rows (the same rule and the same scalar arithmetic), with the
    search for the bracketing points done for all rows at once (a bootstrap has thousands of rows).
    """
    n, e, target = _checked(n_values, errors, target, rows=True)
    finite = np.isfinite(e)
    out = np.full(e.shape[0], math.inf)
    out[~finite.any(axis=1)] = math.nan
    with np.errstate(invalid="ignore"):
        hit = finite & (e <= target)
    rows = np.flatnonzero(hit.any(axis=1))
    first = hit[rows].argmax(axis=1)  # the first finite point at or below the target
    cols = np.arange(n.size)
    last = np.maximum.accumulate(np.where(finite[rows], cols, -1), axis=1)  # last finite point so far
    prev = np.where(first > 0, last[np.arange(rows.size), np.maximum(first - 1, 0)], -1)
    ln = [math.log(v) for v in n.tolist()]
    lt = math.log(target)
    for r, j, i in zip(rows.tolist(), first.tolist(), prev.tolist()):
        if i < 0:  # already reached at the first finite point
            out[r] = math.nan
        elif e[r, j] == target:
            out[r] = float(n[j])
        else:
            a, b = math.log(e[r, i]), math.log(e[r, j])
            out[r] = math.exp(ln[i] + (a - lt) / (a - b) * (ln[j] - ln[i]))
    return out


def n_star_bounds(n_values, errors, target: float) -> tuple[float, float]:
    """The interval ``(lower, upper)`` that the grid gives for ``N*``.

    ``(N*, N*)`` inside the grid, ``(0, N_min)`` when the first finite point reaches the target,
    ``(N_max, inf)`` when none does, ``(nan, nan)`` without a finite point.
    """
    value = samples_needed(n_values, errors, target)
    n, e, _ = _curve(n_values, errors, target)
    if math.isinf(value):
        return float(n[-1]), math.inf
    if math.isnan(value):
        return (0.0, float(n[0])) if n.size else (math.nan, math.nan)
    return value, value


def format_n_star(value: float, n_values, spec: str = ",.0f", *, words: bool = False) -> str:
    """``N*`` for a table: the number, ``"<= N_min"`` for NaN, ``"> N_max"`` for inf.

    ``n_values`` is the grid the value came from (its ends name the bound); ``words=True`` writes
    ``"at most N_min"`` and ``"more than N_max"`` for prose.
    """
    n = as_array("n_values", n_values, ndim=1)
    if math.isnan(value):
        return ("at most " if words else "<= ") + format(float(n[0]), spec)
    if math.isinf(value):
        return ("more than " if words else "> ") + format(float(n[-1]), spec)
    return format(float(value), spec)


def standardized_error(pred, y, *, axis: int = 0) -> float:
    """Mean over outputs of ``MSE / Var(y)``, the samples along ``axis``: 1.0 is predicting the mean.

    Args:
        pred, y: arrays of the same shape, e.g. ``(n, nl, d)`` predictions and targets at the
            labelled positions (samples first).
        axis: the sample axis.

    Returns:
        The standardized error (float); an output with zero variance counts with variance
        ``1e-12`` (as :func:`rnnlib.training.standardized_mse`).
    """
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(y, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"pred and y must have the same shape, got {p.shape} and {t.shape}")
    if p.size == 0:
        raise ValueError(f"pred and y must hold at least one sample, got shape {p.shape}")
    var = np.maximum(t.var(axis=axis), 1e-12)
    return float((((p - t) ** 2).mean(axis=axis) / var).mean())


def bootstrap(values, statistic: Callable[[np.ndarray], float], *, n_boot: int = 2000,
              seed: int = 0) -> np.ndarray:
    """``statistic`` over bootstrap resamples of the last axis (the seeds) of ``values``.

    Each replicate draws, independently for every index of the first axis (a group: a length, a
    width), as many seeds as the last axis holds, with replacement; every other axis shares the
    draw (one seed gives a whole learning curve).  A replicate whose statistic raises
    ``ValueError`` (for instance a fit with too few points) or returns a non-finite value is NaN.

    Args:
        values: ``(G, ..., S)`` array, at least 2-d.
        statistic: ``statistic(resampled) -> float`` on an array of the shape of ``values``.
        n_boot: replicates; seed: seeds the resampling.

    Returns:
        ``(n_boot,)`` float64.
    """
    v = np.asarray(values, dtype=np.float64)
    if v.ndim < 2:
        raise ValueError(f"values must be at least 2-d (groups, ..., seeds), got shape {v.shape}")
    if not callable(statistic):
        raise TypeError(f"statistic must be callable, got {type(statistic).__name__}")
    n_boot = check_int("n_boot", n_boot, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    G, S = v.shape[0], v.shape[-1]
    shape = (G,) + (1,) * (v.ndim - 2) + (S,)
    out = np.full(n_boot, np.nan)
    for b in range(n_boot):
        idx = np.broadcast_to(rng.integers(0, S, size=(G, S)).reshape(shape), v.shape)
        with warnings.catch_warnings():
            # all-NaN cells of a resample give NaN means; they are part of the answer, not an error
            warnings.simplefilter("ignore", RuntimeWarning)
            try:
                value = float(statistic(np.take_along_axis(v, idx, axis=-1)))
            except ValueError:
                value = math.nan
        out[b] = value if math.isfinite(value) else math.nan
    return out
