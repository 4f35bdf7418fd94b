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
    """Chapter 8's result in one figure: :func:`plot_result` of a :class:`rnnlib.studies.ledger.LedgerStudy`
    (its length row: ``N*`` per ``L``, the power law, the prior bounds on the same networks)."""
    d = study.figure_data()
    return plot_result(d["lengths"], d["n_star"], d["fit"], bounds=d["bounds"], target=d["target"], width=d["width"])
