"""The claims ledger's readings of chapter 5's headline and its intervals (chapter 8; Allen-Zhu & Li
(2019), Theorem 1, recalled).

* :func:`measure_headline`: the "polynomial in L" row from chapter 5's ``HeadlineStudy.summary``;
* :func:`measure_comparison`: a baseline against SGD on ``W`` on the same headline;
* :func:`across_seeds` and :func:`wilson_interval`: the intervals the ledger's rules read (range over
  seeds; the Wilson score interval of a fraction).

:mod:`rnnlib.ledger_measures` re-exports them.
"""
from __future__ import annotations

import math
from statistics import NormalDist
from typing import Sequence

import numpy as np

from ._checks import check_float, check_int
from .headline import METHOD_LABELS
from .headline_stats import THRESHOLDS, comparison_verdict

__all__ = ["measure_headline", "measure_comparison", "measure_headline_width", "errors_per_width", "across_seeds",
           "wilson_interval", "LEVEL"]

#: The two-sided level of the ledger's intervals of a fraction (as chapter 5's bootstrap of N*).
LEVEL = 0.9


def wilson_interval(k: int, n: int, level: float = LEVEL) -> tuple:
    """The Wilson score interval of a fraction ``k / n`` (``level`` two-sided): an interval that stays
    inside ``[0, 1]`` and is not empty at ``k = 0`` or ``k = n``."""
    n = check_int("n", n, minimum=1)
    k = check_int("k", k, minimum=0)
    if k > n:
        raise ValueError(f"k must be at most n = {n}, got {k}")
    z = NormalDist().inv_cdf((1 + check_float("level", level, positive=True, below=1.0)) / 2)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def across_seeds(runs: Sequence[dict]) -> dict:
    """One dict from per-seed dicts of numbers: the mean of every key, and ``key_low`` / ``key_high``
    its range over the seeds (the interval the ledger's rules read); ``n_seeds``."""
    runs = list(runs)
    if not runs or not all(isinstance(r, dict) for r in runs):
        raise TypeError("runs must be a non-empty list of dicts of numbers")
    out = {"n_seeds": len(runs)}
    for k, v in runs[0].items():
        vals = np.array([r[k] for r in runs], dtype=float)
        out[k] = int(v) if isinstance(v, (int, np.integer)) and np.all(vals == vals[0]) else float(vals.mean())
        out[f"{k}_low"], out[f"{k}_high"] = float(vals.min()), float(vals.max())
    return out


def measure_headline(summary: dict, method: str = "sgd_w", target: float | None = None) -> dict:
    """The numbers of the ledger's "polynomial in L" row, from chapter 5's headline (issue 13).

    Args:
        summary: :func:`rnnlib.headline_stats.headline_summary` of the chapter's results,
            ``{method: {target: NStarSummary}}`` (chapter 5's :class:`HeadlineStudy` holds it as
            ``study.summary``).
        method: the method the row is about (the paper's: SGD on ``W``).
        target: the target error (default: the middle one of the summary's targets).

    Returns:
        ``target``; per length ``lengths``, ``n_star``, ``low``, ``high`` (NaN outside the grid) and
        ``status``; ``n_inside`` (lengths with ``N*`` inside the grid); the power-law ``exponent``
        with its bootstrap interval; ``power_rms`` and ``exp_rms``; ``growth``, the chapter's verdict
        (:func:`rnnlib.headline_stats.growth_verdict`); and ``min_lengths``, the rule's minimum.
    """
    if not isinstance(summary, dict) or method not in summary:
        raise ValueError(f"summary must be a headline summary holding method {method!r}, got "
                         f"{sorted(summary) if isinstance(summary, dict) else type(summary).__name__}")
    targets = sorted(summary[method])
    target = targets[len(targets) // 2] if target is None else float(target)
    if target not in summary[method]:
        raise ValueError(f"target must be one of {targets}, got {target}")
    s = summary[method][target]
    return {"target": float(target), "lengths": [int(L) for L in s.lengths],
            "n_star": [float(v) for v in s.n_star], "low": [float(v) for v in s.low],
            "high": [float(v) for v in s.high], "status": list(s.status),
            "n_inside": sum(st == "inside" for st in s.status), "exponent": float(s.exponent),
            "exponent_low": float(s.exponent_low), "exponent_high": float(s.exponent_high),
            "power_rms": float(s.power_rms), "exp_rms": float(s.exp_rms), "growth": s.verdict,
            "min_lengths": int(THRESHOLDS["min_lengths"])}


def measure_comparison(summary: dict, method: str, target: float | None = None, reference: str = "sgd_w") -> dict:
    """One baseline against SGD on ``W`` on chapter 5's headline (the ledger's comparison rows).

    Returns ``method``, ``label``, ``target`` (default the middle target), ``lengths``, ``verdicts``
    (per length, :func:`rnnlib.headline_stats.comparison_verdict` from the baseline's side: ``"fewer
    samples"``, ``"more samples"``, ``"about the same"``, ``"not reached in the grid"`` or
    ``"undetermined"``), ``sgd`` and ``other``, the ``N*`` per length (NaN outside the grid), with
    ``sgd_low``/``sgd_high`` and ``other_low``/``other_high`` (bootstrap intervals) and ``sgd_status``
    and ``status`` (chapter 5's ``"inside"``, ``"above grid"`` or ``"below grid"``).
    """
    for name in (method, reference):
        if not isinstance(summary, dict) or name not in summary:
            raise ValueError(f"summary must be a headline summary holding method {name!r}, got "
                             f"{sorted(summary) if isinstance(summary, dict) else type(summary).__name__}")
    targets = sorted(summary[reference])
    target = targets[len(targets) // 2] if target is None else float(target)
    if target not in summary[method] or target not in summary[reference]:
        raise ValueError(f"target must be one of {targets}, got {target}")
    ours, other = summary[reference][target], summary[method][target]
    lengths = [int(L) for L in ours.lengths if L in list(other.lengths)]
    return {"method": method, "label": METHOD_LABELS.get(method, method), "target": float(target),
            "lengths": lengths, "verdicts": [comparison_verdict(ours, other, L) for L in lengths],
            "sgd": [float(ours.n_star[list(ours.lengths).index(L)]) for L in lengths],
            "other": [float(other.n_star[list(other.lengths).index(L)]) for L in lengths],
            "status": [other.status[list(other.lengths).index(L)] for L in lengths],
            "sgd_status": [ours.status[list(ours.lengths).index(L)] for L in lengths],
            "sgd_low": [float(ours.low[list(ours.lengths).index(L)]) for L in lengths],
            "sgd_high": [float(ours.high[list(ours.lengths).index(L)]) for L in lengths],
            "other_low": [float(other.low[list(other.lengths).index(L)]) for L in lengths],
            "other_high": [float(other.high[list(other.lengths).index(L)]) for L in lengths]}


def errors_per_width(rows, n_train: int | None = None, what: str = "runs") -> dict:
    """Test error per width at one ``N``, the numbers the ledger's width rule reads.

    Args:
        rows: ``(width, n_train, test_mse)`` of every run (any number of seeds per width and ``N``).
        n_train: the ``N`` compared; default the largest ``N`` run at every width.
        what: the name of the runs in error messages.

    Returns:
        ``widths``, ``error`` (mean over seeds per width; also as ``test_mse``), ``error_low`` /
        ``error_high`` (the range over seeds), ``ratio`` (widest over narrowest), ``n_train`` and
        ``n_seeds`` (the fewest seeds at a width).
    """
    rows = [(int(m), int(n), float(e)) for m, n, e in rows]
    widths = sorted({m for m, _, _ in rows})
    if len(widths) < 2:
        raise ValueError(f"{what} must hold at least two widths (a trend in m is measured), got {widths}")
    common = set.intersection(*({n for m, n, _ in rows if m == w} for w in widths))
    if n_train is None:
        if not common:
            raise ValueError(f"no sample size N is run at every width {widths}; pass n_train")
        n_train = max(common)
    elif n_train not in common:
        raise ValueError(f"n_train must be trained at every width, one of {sorted(common)}, got {n_train}")
    per = [[e for m, n, e in rows if m == w and n == n_train] for w in widths]
    err = np.array([np.mean(p) for p in per])
    return {"widths": np.array(widths, dtype=float), "error": err, "test_mse": err,
            "error_low": np.array([min(p) for p in per]), "error_high": np.array([max(p) for p in per]),
            "ratio": float(err[-1] / err[0]), "n_train": int(n_train), "n_seeds": int(min(len(p) for p in per))}


def measure_headline_width(results, length: int | None = None, method: str = "sgd_w") -> dict:
    """The width row's numbers from chapter 5's width study: test error per width at one ``N``.

    Args:
        results: chapter 5's :class:`rnnlib.headline.PointResult` s (``study.results + study.width_results``);
            only ``method`` at ``length`` is read.
        length: the width study's length (default: the shortest length with at least two widths).
        method: the method compared across widths (SGD on ``W``).

    Returns:
        :func:`errors_per_width` at the largest ``N`` run at every width, and ``length``.
    """
    rows = [r for r in results if r.point.method == method]
    by_length: dict = {}
    for r in rows:
        by_length.setdefault(r.point.config.length, set()).add(r.point.config.width)
    if length is None:
        multi = sorted(L for L, ws in by_length.items() if len(ws) >= 2)
        if not multi:
            raise ValueError(f"results must hold {method} runs at two or more widths at one length, "
                             f"got widths per length {by_length}")
        length = multi[0]
    length = check_int("length", length, minimum=1)
    at = [(r.point.config.width, r.point.config.n_train, r.test_mse) for r in rows if r.point.config.length == length]
    return {**errors_per_width(at, what=f"{method} runs at L = {length} (two or more widths)"), "length": length}
