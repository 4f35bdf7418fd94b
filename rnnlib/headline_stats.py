"""Statistics of chapter 5's headline study (Allen-Zhu & Li (2019), Theorem 1; issue 13).

From the :class:`~rnnlib.headline.PointResult` of a :class:`~rnnlib.headline.HeadlineDesign`:

* :func:`method_curves`: one method's errors as :class:`rnnlib.generalization.Curves`
  ``(L, N, seeds)``;
* :func:`n_star_summary`: ``N*`` per ``L`` at a target error (the mean curve over seeds,
  interpolated on log-log axes by :func:`rnnlib.stats.samples_needed`), a bootstrap
  interval over seeds, the fitted power-law exponent with its bootstrap interval, and the residuals
  of a power law and of an exponential in ``L``;
* :func:`growth_verdict` and :func:`comparison_verdict`: the verdict rules, with thresholds fixed in
  :data:`THRESHOLDS` before any number is seen;
* :func:`excess_rate`: the slope of ``test error - noise floor`` against ``N`` on log-log axes, to
  compare with the ``N^(-1/2)`` of a generalization bound;
* :func:`token_profile`: the error on each earlier token's term (:func:`rnnlib.headline_probes.token_errors`),
  mean over seeds, at one ``L`` and ``N``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._checks import check_float, check_int
from .generalization import Curves
from .headline import PointResult
from .stats import fit_exponential, fit_power_law, samples_needed, samples_needed_rows

__all__ = ["THRESHOLDS", "method_curves", "result_grid", "NStarSummary", "n_star_summary", "growth_verdict",
           "comparison_verdict", "RateFit", "excess_rate", "headline_summary", "n_star_rows", "TokenProfile",
           "token_profile", "jackknife_se", "bootstrap_n_star",
           "bootstrap_exponents"]

#: Verdict thresholds, written before the measurements.
#: ``fit_ratio``: a growth law is preferred when the other one's rms residual (in log10 N*) is at least
#: this many times larger; ``min_lengths``: lengths with a finite N* needed for any growth verdict;
#: ``sample_ratio``: a method needs fewer samples than another when its N* is smaller by this factor
#: and the two bootstrap intervals do not overlap.
THRESHOLDS = {"fit_ratio": 1.5, "min_lengths": 3, "sample_ratio": 1.5}


def method_curves(results, method: str, metric: str = "test_mse") -> Curves:
    """``metric`` of ``method``'s results arranged as :class:`~rnnlib.generalization.Curves`.

    Rows are lengths ``L``, columns sample sizes ``N``, the last axis seeds (NaN where missing).
    ``metric`` is ``"test_mse"``, ``"train_mse"``, ``"noise_floor"``, ``"excess"`` (test minus floor)
    or ``"seconds"``.
    """
    rs = [r for r in results if isinstance(r, PointResult) and r.point.method == method]
    if not rs:
        raise ValueError(f"results hold no run of method {method!r}")

    def value(r):
        if metric == "excess":
            return r.test_mse - r.noise_floor
        if metric not in ("test_mse", "train_mse", "noise_floor", "seconds"):
            raise ValueError(f"metric must be test_mse, train_mse, noise_floor, excess or seconds, got {metric!r}")
        return getattr(r, metric)

    Ls, Ns, seeds, out = result_grid(rs, "length", value)
    return Curves(Ls, Ns, out, seeds, "length", "n_train", metric)


def result_grid(results, axis: str, value) -> tuple:
    """``(xs, Ns, seeds, values)``: ``value(r)`` of every result on the grid ``axis x N x seed``.

    ``axis`` is a config field (``"length"`` or ``"width"``); ``xs``, ``Ns`` and ``seeds`` are the sorted
    distinct values found, ``values`` has shape ``(len(xs), len(Ns), len(seeds))``, NaN where no result.
    """
    if axis not in ("length", "width"):
        raise ValueError(f"axis must be 'length' or 'width', got {axis!r}")
    xs = np.array(sorted({getattr(r.point.config, axis) for r in results}))
    Ns = np.array(sorted({r.point.config.n_train for r in results}))
    seeds = np.array(sorted({r.point.config.seed for r in results}))
    out = np.full((len(xs), len(Ns), len(seeds)), np.nan)
    for r in results:
        c = r.point.config
        out[np.searchsorted(xs, getattr(c, axis)), np.searchsorted(Ns, c.n_train), np.searchsorted(seeds, c.seed)] \
            = value(r)
    return xs, Ns, seeds, out


@dataclass(frozen=True)
class NStarSummary:
    """``N*(L)`` of one method at one target error, with intervals and growth-law fits.

    Attributes:
        method, target: the method and the standardized test error defining ``N*``.
        lengths: ``(k,)`` lengths ``L``.
        n_star: ``(k,)`` ``N*`` of the mean curve (NaN: not reached inside the grid, or already
            below target at the smallest ``N``; see ``status``).
        low, high: ``(k,)`` bootstrap percentile interval (``level``) over seeds; NaN where ``N*``
            is not inside the grid.
        status: per ``L``, ``"inside"``, ``"above grid"`` (never reached) or ``"below grid"``.
        exponent, exponent_low, exponent_high: power-law exponent of ``N* ~ L^b`` and its bootstrap
            interval (NaN with fewer than two finite ``N*``).
        power_rms, exp_rms: rms residual in ``log10 N*`` of the power law and of ``N* ~ 10^(c L)``.
        verdict: :func:`growth_verdict`.
    """

    method: str
    target: float
    lengths: np.ndarray
    n_star: np.ndarray
    low: np.ndarray
    high: np.ndarray
    status: tuple
    exponent: float
    exponent_low: float
    exponent_high: float
    power_rms: float
    exp_rms: float
    verdict: str


def _n_star(x, mean_curve, target) -> float:
    """:func:`rnnlib.stats.samples_needed` of a (positive) mean error curve; NaN outside the grid
    (``status`` says on which side)."""
    value = samples_needed(x, mean_curve, target)
    return value if math.isfinite(value) else math.nan


def bootstrap_n_star(values, x, target: float, n_boot: int, seed: int = 0) -> np.ndarray:
    """``N*`` of bootstrap mean curves: ``(n_boot, G)`` from ``values`` ``(G, K, S)`` (group, ``N``, seed).

    Replicate ``b`` draws, for every group independently, ``S`` seeds with replacement (the ``b``-th
    draw of ``numpy.random.default_rng(seed)``, one ``(G, S)`` draw per replicate), takes the mean
    curve over them (NaN cells skipped) and its ``N*`` (NaN outside the grid, as :func:`n_star_summary`).
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 3:
        raise ValueError(f"values must have shape (groups, N, seeds), got {values.shape}")
    n_boot = check_int("n_boot", n_boot, minimum=1)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    G, K, S = values.shape
    idx = np.stack([rng.integers(0, S, size=(G, S)) for _ in range(n_boot)])  # one draw per replicate, in order
    sample = np.take_along_axis(values[None], idx[:, :, None, :].repeat(K, axis=2), axis=3)
    with warnings.catch_warnings():  # an all-NaN cell (a point not run) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        means = np.nanmean(sample, axis=3)
    boot = samples_needed_rows(x, means.reshape(-1, K), target).reshape(n_boot, G)
    boot[~np.isfinite(boot)] = np.nan
    return boot


def bootstrap_exponents(x, boot) -> np.ndarray:
    """``fit_power_law(x, row).exponent`` of every row of ``boot`` ``(n_boot, G)`` with two finite values
    (NaN otherwise). Replicates often repeat a row (few seeds, few lengths reached): each distinct row
    is fitted once."""
    fits: dict[bytes, float] = {}
    out = np.full(len(boot), np.nan)
    for b, row in enumerate(boot):
        if np.isfinite(row).sum() >= 2:
            key = row.tobytes()
            if key not in fits:
                fits[key] = fit_power_law(x, row).exponent
            out[b] = fits[key]
    return out


def _status(x, mean_curve, target):
    finite = np.isfinite(mean_curve)
    if not finite.any():
        return "above grid"
    first = mean_curve[finite][0]
    if first <= target:
        return "below grid"
    return "inside" if np.nanmin(mean_curve) <= target else "above grid"


def _fits(lengths, ns):
    keep = np.isfinite(ns)
    if keep.sum() < 2:
        return math.nan, math.nan, math.nan
    p = fit_power_law(lengths[keep], ns[keep])
    e = fit_exponential(lengths[keep], ns[keep])
    return p.exponent, p.residual_rms, e.residual_rms


def growth_verdict(power_rms: float, exp_rms: float, n_finite: int) -> str:
    """``"power law"``, ``"exponential"`` or ``"undecided"`` by :data:`THRESHOLDS` (residuals in log10)."""
    if n_finite < THRESHOLDS["min_lengths"] or not (math.isfinite(power_rms) and math.isfinite(exp_rms)):
        return "undecided"
    ratio = THRESHOLDS["fit_ratio"]
    if exp_rms >= ratio * max(power_rms, 1e-12):
        return "power law"
    if power_rms >= ratio * max(exp_rms, 1e-12):
        return "exponential"
    return "undecided"


def n_star_summary(results, method: str, target: float, *, n_boot: int = 1000, level: float = 0.9,
                   seed: int = 0) -> NStarSummary:
    """``N*`` per ``L`` for one method at one target, with bootstrap intervals over seeds.

    Each bootstrap replicate resamples, for every ``L`` independently, the seeds with replacement,
    recomputes the mean curve and ``N*``, and refits the power law on the lengths where ``N*`` is
    finite (replicates with fewer than two give no exponent).
    """
    target = check_float("target", target, positive=True)
    n_boot = check_int("n_boot", n_boot, minimum=1)
    level = check_float("level", level, positive=True, below=1.0)
    curves = method_curves(results, method)
    Ls = curves.groups.astype(np.float64)
    mean = curves.mean()
    ns = np.array([_n_star(curves.x, mean[i], target) for i in range(len(Ls))])
    status = tuple(_status(curves.x, mean[i], target) for i in range(len(Ls)))
    boot = bootstrap_n_star(curves.values, curves.x, target, n_boot, seed)
    exps = bootstrap_exponents(Ls, boot)
    q = (1 - level) / 2
    # an interval only where the point estimate lies inside the grid (elsewhere it would describe
    # the few replicates that happen to cross the target)
    low = np.array([np.nanquantile(c, q) if st == "inside" and np.isfinite(c).any() else np.nan
                    for c, st in zip(boot.T, status)])
    high = np.array([np.nanquantile(c, 1 - q) if st == "inside" and np.isfinite(c).any() else np.nan
                     for c, st in zip(boot.T, status)])
    b_exp, p_rms, e_rms = _fits(Ls, ns)
    ok = exps[np.isfinite(exps)]
    e_lo, e_hi = (float(np.quantile(ok, q)), float(np.quantile(ok, 1 - q))) if ok.size else (math.nan, math.nan)
    return NStarSummary(method, target, curves.groups, ns, low, high, status, b_exp, e_lo, e_hi, p_rms, e_rms,
                        growth_verdict(p_rms, e_rms, int(np.isfinite(ns).sum())))


def comparison_verdict(ours: NStarSummary, other: NStarSummary, length) -> str:
    """How ``other`` compares with ``ours`` (SGD on W) at one length, by :data:`THRESHOLDS`.

    Returns ``"fewer samples"``, ``"more samples"``, ``"about the same"`` (from ``other``'s point of
    view), ``"not reached in the grid"`` when ``other`` never reaches the target but ``ours`` does,
    or ``"undetermined"``.
    """
    i = int(np.flatnonzero(ours.lengths == length)[0])
    j = int(np.flatnonzero(other.lengths == length)[0])
    a, b = ours.n_star[i], other.n_star[j]
    if not math.isfinite(b):
        if other.status[j] == "above grid" and math.isfinite(a):
            return "not reached in the grid"
        if other.status[j] == "below grid" and ours.status[i] != "below grid":
            return "fewer samples"
        return "undetermined"
    if not math.isfinite(a):
        return "fewer samples" if ours.status[i] == "above grid" else "undetermined"
    r = THRESHOLDS["sample_ratio"]
    disjoint_low = other.high[j] < ours.low[i]
    disjoint_high = other.low[j] > ours.high[i]
    if b * r <= a and disjoint_low:
        return "fewer samples"
    if b >= a * r and disjoint_high:
        return "more samples"
    return "about the same"


@dataclass(frozen=True)
class RateFit:
    """``excess(N) ~ a N^slope`` fitted on log-log axes (``slope_se``: least-squares standard error)."""

    slope: float
    slope_se: float
    prefactor: float
    n_points: int


def excess_rate(n_values, excess) -> RateFit:
    """Fit the slope of the excess test error (test minus noise floor) against ``N``.

    Args:
        n_values: ``(k,)`` sample sizes; excess: ``(k,)`` mean excess errors (non-positive or NaN
            entries are left out, a fit needs two).
    """
    fit = fit_power_law(np.asarray(n_values, dtype=np.float64), np.asarray(excess, dtype=np.float64))
    return RateFit(fit.exponent, fit.exponent_se, fit.prefactor, fit.n_points)


def headline_summary(results, targets, methods=None, *, n_boot: int = 1000, seed: int = 0) -> dict:
    """``{method: {target: NStarSummary}}`` for every method present in ``results`` (or ``methods``)."""
    present = list(dict.fromkeys(r.point.method for r in results if isinstance(r, PointResult)))
    methods = present if methods is None else [m for m in methods if m in present]
    if not methods:
        raise ValueError(f"results hold none of the methods {methods!r}")
    return {m: {float(t): n_star_summary(results, m, t, n_boot=n_boot, seed=seed) for t in targets}
            for m in methods}


def n_star_rows(summary: dict, reference: str = "sgd_w") -> list[list[str]]:
    """Table rows ``[method, target, N* per L (interval or status), exponent, verdict vs reference]``.

    ``summary`` is :func:`headline_summary`'s result; cells are text ready for
    :func:`rnnlib.baselines.format_table`.
    """
    rows = []
    for method, by_target in summary.items():
        for target, s in by_target.items():
            cells = [f"{n:,.0f} [{lo:,.0f}, {hi:,.0f}]" if st == "inside" else st
                     for n, lo, hi, st in zip(s.n_star, s.low, s.high, s.status)]
            exp = (f"{s.exponent:.2f} [{s.exponent_low:.2f}, {s.exponent_high:.2f}]"
                   if math.isfinite(s.exponent) else "n/a")
            ref = summary.get(reference, {}).get(target)
            vs = ("reference" if method == reference or ref is None else
                  ", ".join(f"L={L}: {comparison_verdict(ref, s, L)}" for L in s.lengths if L in ref.lengths))
            rows.append([method, f"{target:g}", *cells, exp, s.verdict, vs])
    return rows


@dataclass(frozen=True)
class TokenProfile:
    """Per token position ``i`` (paper numbering, 2 = first token), the error on that token's term of
    the label pooled over seeds as a ratio of sums (``sum err x scale / sum scale``: a seed whose term
    is small weighs little), ``mean`` ``(k,)`` with its jackknife standard error over seeds ``sem``;
    ``values`` and ``scales`` ``(seeds, k)``.  :meth:`pooled` pools a set of positions the same way."""

    method: str
    length: int
    n_train: int
    positions: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    values: np.ndarray
    scales: np.ndarray

    def pooled(self, columns) -> tuple[np.ndarray, float]:
        """``(per-seed-left-out ratios (seeds,), ratio)`` of the positions ``columns`` (indices)."""
        num = (self.values * self.scales)[:, columns].sum(axis=1)
        den = self.scales[:, columns].sum(axis=1)
        loo = np.array([(num.sum() - num[s]) / (den.sum() - den[s]) for s in range(len(num))]) \
            if len(num) > 1 else np.full(1, np.nan)
        return loo, float(num.sum() / den.sum())


def token_profile(results, method: str, length: int, n_train: int) -> TokenProfile:
    """The per-token errors of ``method``'s runs at ``length`` and ``n_train`` (every seed)."""
    rs = [r for r in results if isinstance(r, PointResult) and r.point.method == method
          and r.point.config.length == length and r.point.config.n_train == n_train and r.token_mse]
    if not rs:
        raise ValueError(f"results hold no per-token errors of {method!r} at L = {length}, N = {n_train}")
    v = np.array([r.token_mse for r in rs])
    w = np.array([r.token_scale if r.token_scale else (1.0,) * len(r.token_mse) for r in rs])
    last = length if rs[0].point.config.include_current else length - 1
    prof = TokenProfile(method, int(length), int(n_train), np.arange(2, last + 1), np.zeros(v.shape[1]),
                        np.zeros(v.shape[1]), v, w)
    for i in range(v.shape[1]):
        loo, prof.mean[i] = prof.pooled([i])
        prof.sem[i] = jackknife_se(loo)
    return prof


def jackknife_se(leave_one_out) -> float:
    """Jackknife standard error from the ``S`` leave-one-out estimates (NaN for fewer than 2)."""
    loo = np.asarray(leave_one_out, dtype=np.float64)
    if loo.size < 2 or not np.isfinite(loo).all():
        return math.nan
    return float(math.sqrt((loo.size - 1) / loo.size * ((loo - loo.mean()) ** 2).sum()))
