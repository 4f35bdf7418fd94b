"""The length row's figure of chapter 8 (the claims ledger), also drawn by its tests: the samples SGD on
W needs versus ``L`` beside the prior bounds evaluated on the same networks (Allen-Zhu & Li (2019),
Theorem 1, against the norm-based bounds of Zhang et al., Bartlett et al. and Tu et al.).

Chapter 5's own figures are in :mod:`rnnlib.plots.headline`.  Pure functions: each takes data and
returns a matplotlib ``Figure``.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ..stats import PowerLawFit
from .style import new_figure

__all__ = ["draw_beside_bounds", "plot_result", "plot_ledger_result"]

_BOUND_STYLE = {"zhang": ("Zhang et al. factor", "s"), "bartlett": ("Bartlett et al. spectral product", "^"),
                "tu_factor": ("Tu et al. factor", "D")}


def draw_beside_bounds(ax, lengths, n_star, *, bounds: Mapping[str, Sequence] | None = None,
                       bounds_at_init: Mapping[str, Sequence] | None = None, fit: PowerLawFit | None = None):
    """On ``ax``, ``log10 N*`` versus ``L`` beside the prior bounds (log10 values per ``L``).

    ``fit``, if given, is drawn as a line through the measured points (a power law in ``L``).
    """
    L = np.asarray(lengths, dtype=np.float64)
    ns = np.asarray(n_star, dtype=np.float64)
    ok = np.isfinite(ns)
    ax.plot(L[ok], np.log10(ns[ok]), "ko", ms=7, zorder=4, label="$\\log_{10} N^*$, SGD on W (measured)")
    if fit is not None:
        grid = np.linspace(L.min(), L.max(), 100)
        ax.plot(grid, np.log10(fit(grid)), "k-", lw=2,
                label=f"power-law fit $N^* \\propto L^{{{fit.exponent:.2f} \\pm {fit.exponent_se:.2f}}}$")
    else:
        ax.plot(L[ok], np.log10(ns[ok]), "k-", lw=2)
    for key, values in (bounds or {}).items():
        name, marker = _BOUND_STYLE.get(key, (key, "o"))
        ax.plot(L, np.asarray(values, dtype=np.float64), marker=marker, ls="-", label=f"{name}, trained W")
    for key, values in (bounds_at_init or {}).items():
        name, marker = _BOUND_STYLE.get(key, (key, "o"))
        ax.plot(L, np.asarray(values, dtype=np.float64), marker=marker, ls="--", mfc="none", color="0.4",
                label=f"{name}, W at init")
    ax.set_xlabel("sequence length L")
    ax.set_ylabel("$\\log_{10}$ of the quantity")
    ax.legend(fontsize=8)


def plot_result(lengths, n_star, fit: PowerLawFit, *, bounds: Mapping[str, Sequence], target: float, width: int):
    """The book's result in one figure: samples SGD on W needs versus ``L``, beside the prior bounds.

    Args:
        lengths, n_star: ``L`` values and the measured ``N*`` (NaN entries are skipped).
        fit: the power law fitted to them.
        bounds: ``{key: log10 bound per L}`` evaluated on the trained networks.
        target: the test error that defines ``N*``; ``width``: the networks' ``m`` (for the title).
    """
    fig, ax = new_figure(1, 1, width=7.0, height=4.4)
    draw_beside_bounds(ax, lengths, n_star, bounds=bounds, fit=fit)
    ax.set_title(f"samples SGD on W needs to reach test error {target:g} (m = {width}), "
                 "beside prior generalization bounds", fontsize=10)
    return fig


def plot_ledger_result(study):
    """Chapter 8's result in one figure, from a :class:`rnnlib.studies.ledger.LedgerStudy`: ``log10 N*`` of
    SGD on W per ``L`` on chapter 5's headline with its bootstrap interval (an open triangle at the
    largest ``N`` where the target is not reached inside the grid), beside ``log10`` of the samples the
    prior bounds require for the same error (chapter 5's ``prior``)."""
    d = study.figure_data()
    L = np.asarray(d["lengths"], dtype=np.float64)
    ns, lo, hi = (np.asarray(d[k], dtype=np.float64) for k in ("n_star", "low", "high"))
    inside = np.array([s == "inside" for s in d["status"]])
    above = np.array([s == "above grid" for s in d["status"]])
    fig, ax = new_figure(1, 1, width=7.0, height=4.4)
    if inside.any():
        y = np.log10(ns[inside])
        ax.errorbar(L[inside], y, yerr=[y - np.log10(lo[inside]), np.log10(hi[inside]) - y], fmt="ko-", lw=2,
                    capsize=4, label="SGD on W: N* [90% bootstrap]")
    if above.any():
        ax.plot(L[above], np.full(above.sum(), np.log10(d["n_max"])), "k^", mfc="none", ms=9,
                label=f"SGD on W: target not reached by N = {d['n_max']:,}")
    markers = iter("sD^vo")
    for label, values in d["prior"].items():
        ax.plot(L, np.asarray(values, dtype=np.float64), marker=next(markers, "o"), ls="--", label=label)
    ax.set_xlabel("sequence length L")
    ax.set_ylabel("$\\log_{10}$ samples")
    ax.set_title(f"samples to reach test error {d['target']:g}: SGD on W (m = {d['width']}) beside what prior "
                 "bounds require", fontsize=10)
    ax.legend(fontsize=8)
    return fig
