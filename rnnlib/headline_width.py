"""Chapter 5's width study: does ``N*`` depend on the width ``m``? (Allen-Zhu & Li (2019), Theorem 1,
recalled: the width the theorem asks for and the sample count it gives).

Theorem 1 asks for a width ``m`` polynomial in ``L`` and ``1/eps`` and then gives a sample count that
does not grow with ``m`` (a width enters only through logarithms).  From SGD on ``W`` at one length,
several widths, one grid of ``N`` and several seeds (:meth:`rnnlib.headline.HeadlineDesign.width_points`),
:func:`width_summary` gives the mean error per width and ``N``, ``N*`` per width at each target with a
bootstrap interval over seeds, the slope of ``log N*`` against ``log m`` with its interval, and a
verdict by :data:`WIDTH_THRESHOLDS`, written before any number was seen.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from ._checks import check_float, check_int
from .headline import PointResult
from .headline_stats import bootstrap_exponents, result_grid
from .stats import fit_power_law, samples_needed, samples_needed_rows

__all__ = ["WIDTH_THRESHOLDS", "WidthSummary", "width_summary", "width_verdict"]

#: ``slope``: ``N* ~ m^b`` "stays" when the 90% interval of ``b`` lies within ``[-slope, slope]``, "rises"
#: or "falls" when it lies beyond ``+slope`` or ``-slope``, and is "borderline" when it straddles one
#: of them.  0.25 because a dependence through ``log m`` alone changes ``N*`` by at most
#: ``log 512 / log 32 = 1.8`` over widths 32..512, a slope of 0.21 on log-log axes; a slope of 0.25
#: doubles ``N*`` over a 16-fold width.  ``min_widths``: widths with ``N*`` inside the grid needed for
#: any verdict (with two, any line fits exactly).
WIDTH_THRESHOLDS = {"slope": 0.25, "min_widths": 3}


def width_verdict(slope: float, low: float, high: float, n_finite: int) -> str:
    """``"falls"``, ``"stays"``, ``"rises"``, ``"borderline"`` or ``"undecided"`` (too few widths)."""
    t = WIDTH_THRESHOLDS["slope"]
    if n_finite < WIDTH_THRESHOLDS["min_widths"] or not all(math.isfinite(v) for v in (slope, low, high)):
        return "undecided"
    if high < -t:
        return "falls"
    if low > t:
        return "rises"
    if -t <= low and high <= t:
        return "stays"
    return "borderline"


@dataclass(frozen=True)
class WidthSummary:
    """The width study at one length.

    Attributes:
        length: ``L``; widths: ``(k,)``; n_values: ``(n,)``; targets: the target errors.
        errors, sems: ``(k, n)`` mean test error over seeds and its standard error (NaN: not run).
        n_seeds: ``(k, n)`` seeds measured at each point.
        n_star, low, high: ``{target: (k,)}`` ``N*`` of the mean curve and its bootstrap interval
            (NaN where ``N*`` is not inside the grid; ``status`` says why).
        status: ``{target: tuple}`` per width, ``"inside"``, ``"above grid"`` or ``"below grid"``.
        slope: ``{target: (b, low, high)}`` of ``N* ~ m^b`` (NaN with fewer than two finite ``N*``).
        verdict: ``{target: str}`` by :func:`width_verdict`.
    """

    length: int
    widths: np.ndarray
    n_values: np.ndarray
    targets: tuple
    errors: np.ndarray
    sems: np.ndarray
    n_seeds: np.ndarray
    n_star: dict
    low: dict
    high: dict
    status: dict
    slope: dict
    verdict: dict

    def to_dict(self) -> dict:
        """Plain lists and floats (NaN where ``N*`` is not inside the grid); see :meth:`HeadlineStudy.width_summary`."""
        f = lambda a: [float(v) for v in a]  # noqa: E731
        return {"length": int(self.length), "widths": [int(m) for m in self.widths],
                "n_values": [int(n) for n in self.n_values], "errors": [f(r) for r in self.errors],
                "sems": [f(r) for r in self.sems], "n_seeds": [[int(v) for v in r] for r in self.n_seeds],
                "n_star": {t: f(self.n_star[t]) for t in self.targets},
                "n_star_interval": {t: [(float(a), float(b)) for a, b in zip(self.low[t], self.high[t])]
                                    for t in self.targets},
                "status": {t: list(self.status[t]) for t in self.targets},
                "slope": {t: tuple(float(v) for v in self.slope[t]) for t in self.targets},
                "verdict": dict(self.verdict), "threshold": dict(WIDTH_THRESHOLDS)}


def _status(x, curve, target) -> str:
    finite = np.isfinite(curve)
    if not finite.any() or np.nanmin(curve) > target:
        return "above grid"
    return "below grid" if curve[finite][0] <= target else "inside"


def _n_star(x, curve, target) -> float:
    v = samples_needed(x, curve, target) if np.isfinite(curve).any() else math.nan
    return v if math.isfinite(v) else math.nan


def width_summary(results, targets, *, length: int | None = None, method: str = "sgd_w", n_boot: int = 1000,
                  level: float = 0.9, seed: int = 0) -> WidthSummary:
    """Summarize the width study from :class:`~rnnlib.headline.PointResult` s of ``method`` at ``length``
    (default: the shortest length present).  Bootstrap replicates resample, for every width
    independently, the seeds with replacement and recompute the mean curve, ``N*`` and the slope."""
    n_boot = check_int("n_boot", n_boot, minimum=1)
    level = check_float("level", level, positive=True, below=1.0)
    rs = [r for r in results if isinstance(r, PointResult) and r.point.method == method]
    if not rs:
        raise ValueError(f"results hold no run of method {method!r}")
    length = min(r.point.config.length for r in rs) if length is None else check_int("length", length, minimum=1)
    rs = [r for r in rs if r.point.config.length == length]
    if not rs:
        raise ValueError(f"results hold no run of {method!r} at length {length}")
    ms, ns, ss, vals = result_grid(rs, "width", lambda r: r.test_mse)
    with warnings.catch_warnings():  # an all-NaN cell (a point not run) stays NaN
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(vals, axis=2)
        count = np.isfinite(vals).sum(axis=2)
        sem = np.nanstd(vals, axis=2, ddof=1) / np.sqrt(np.maximum(count, 1))
        rng = np.random.default_rng(check_int("seed", seed, minimum=0))
        idx = rng.integers(0, len(ss), size=(n_boot, len(ms), len(ss)))
        boot_means = np.nanmean(np.take_along_axis(vals[None], idx[:, :, None, :].repeat(len(ns), 2), 3), 3)
    q = (1 - level) / 2
    out = {k: {} for k in ("n_star", "low", "high", "status", "slope", "verdict")}
    for t in (float(v) for v in targets):
        t = check_float("target", t, positive=True)
        est = np.array([_n_star(ns, mean[i], t) for i in range(len(ms))])
        st = tuple(_status(ns, mean[i], t) for i in range(len(ms)))
        boot = samples_needed_rows(ns, boot_means.reshape(-1, len(ns)), t).reshape(n_boot, len(ms))
        boot[~np.isfinite(boot)] = np.nan
        slopes = bootstrap_exponents(ms, boot)
        inside = [s == "inside" and np.isfinite(boot[:, i]).any() for i, s in enumerate(st)]
        out["low"][t] = np.array([np.nanquantile(boot[:, i], q) if ok else np.nan for i, ok in enumerate(inside)])
        out["high"][t] = np.array([np.nanquantile(boot[:, i], 1 - q) if ok else np.nan for i, ok in enumerate(inside)])
        b = fit_power_law(ms, est).exponent if np.isfinite(est).sum() >= 2 else math.nan
        ok = slopes[np.isfinite(slopes)]
        lo, hi = (float(np.quantile(ok, q)), float(np.quantile(ok, 1 - q))) if ok.size else (math.nan, math.nan)
        out["n_star"][t], out["status"][t], out["slope"][t] = est, st, (float(b), lo, hi)
        out["verdict"][t] = width_verdict(b, lo, hi, int(np.isfinite(est).sum()))
    return WidthSummary(int(length), ms, ns, tuple(float(t) for t in targets), mean, sem, count, **out)
