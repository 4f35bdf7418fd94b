"""Figures of chapter 3, the RNN at random initialization.

Paper: the forward stability, stable activation patterns and backward coherence that the proof of
Allen-Zhu & Li (2019), section 5, uses (recalled, as restated by Panigrahi & Goyal 2021).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.ticker import NullLocator

from .style import color_for_width, new_figure

__all__ = ["plot_forward_stability", "plot_pattern_flips", "plot_backward_norms",
           "plot_coherence_heatmap", "plot_coherence_vs_width", "plot_initialization"]


def plot_forward_stability(results: Sequence, *, y_max: float = 1e30):
    """``||h_l||`` versus ``l`` per width, beside the Lipschitz product ``||W||_2^l``.

    Args:
        results: :class:`rnnlib.ForwardStability` objects, one per width.
        y_max: top of the (log) y axis; the norm product leaves it and is marked with its final value.

    One panel per width: a thin line per initialization seed (median over sequences), the
    median seed in bold, ``||W||_2^l`` dashed; the shaded region ``l <= sqrt(m)`` is where
    ``m >= l^2``.  A last panel shows each seed's growth rate in decades per step.
    """
    results = list(results)
    k = len(results)
    ncols = 2 if k + 1 > 2 else k + 1
    nrows = -(-(k + 1) // ncols)
    fig, axes = new_figure(ncols=ncols, nrows=nrows, width=4.4, height=3.3)
    axes = np.atleast_1d(axes).ravel()
    for ax in axes[k + 1:]:
        ax.set_visible(False)
    lo = min(0.1, min(float(np.min(r.typical)) for r in results) / 2)
    for ax, r in zip(axes, results):
        L = r.norms.shape[-1]
        ell = np.arange(1, L + 1)
        col = color_for_width(r.width)
        typ = r.typical
        for row in typ:
            ax.plot(ell, np.minimum(row, y_max), color=col, lw=0.7, alpha=0.45)
        ax.plot(ell, np.median(typ, axis=0), color=col, lw=2.2, label="median over seeds")
        spec = float(np.median(r.spectral))
        prod = np.exp(ell * np.log(spec))
        ax.plot(ell, np.minimum(prod, y_max), "k--", lw=1.2, label=r"$\|W\|_2^{\,l}$")
        ax.annotate(rf"$\|W\|_2^{{{L}}}\approx 10^{{{L * np.log10(spec):.0f}}}$", xy=(0.97, 0.96),
                    xycoords="axes fraction", ha="right", va="top", fontsize=8)
        ax.axvspan(1, min(L, np.sqrt(r.width)), color="0.85", alpha=0.6, lw=0,
                   label=r"$l \leq \sqrt{m}$")
        ax.set_yscale("log")
        ax.set_ylim(lo, y_max)
        ax.set_xlim(1, L)
        ax.set_title(f"m = {r.width} ({len(r.seeds)} seeds)")
        ax.set_xlabel("step l")
        ax.set_ylabel(r"$\|h_l\|$ (median over sequences)")
        ax.legend(loc="center right", fontsize=7)
    ax = axes[k]
    for pos, r in enumerate(results):
        rate = r.growth_rate()
        jitter = np.linspace(-0.15, 0.15, len(rate))
        ax.scatter(pos + jitter, rate, color=color_for_width(r.width), s=14, zorder=3)
    spec = float(np.median(np.concatenate([r.spectral for r in results])))
    ax.axhline(np.log10(spec), color="k", ls="--", lw=1.2, label=r"$\log_{10}\|W\|_2$ (norm product)")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_xticks(range(k), [str(r.width) for r in results])
    ax.set_xlabel("width m")
    ax.set_ylabel(r"growth of $\|h_l\|$ (decades per step)")
    ax.set_title("per-seed growth rate")
    ax.legend(loc="center right", fontsize=7)
    return fig


def plot_pattern_flips(eps_values, flips: Mapping[str, np.ndarray], predicted: np.ndarray | None = None,
                       *, width: int | None = None, step_eps: float | None = None):
    """Fraction of flipped ReLU patterns versus ``eps_x`` (log-log) and versus the step at one ``eps_x``.

    Args:
        eps_values: the input scales, length ``E``.
        flips: label -> per-step flip fractions ``(E, L)`` (e.g. another sequence, the
            input-free trajectory).
        predicted: optional Gaussian (Sheppard) prediction ``(E, L)`` for the first entry of ``flips``.
        width: ``m``, for the title.
        step_eps: the ``eps_x`` whose per-step profile the right panel shows (default: the
            value closest to 0.3).
    """
    eps = np.asarray(eps_values, dtype=float)
    fig, (ax, ax2) = new_figure(ncols=2, width=4.6, height=3.5)
    styles = ["o-", "s-", "^-"]
    for (label, arr), st in zip(flips.items(), styles):
        ax.plot(eps, np.asarray(arr)[:, 1:].mean(axis=1), st, ms=4, label=label)
    if predicted is not None:
        ax.plot(eps, np.asarray(predicted)[:, 1:].mean(axis=1), "k--", lw=1.2, label="Gaussian prediction")
    ref = np.asarray(next(iter(flips.values())))[:, 1:].mean(axis=1)
    ax.plot(eps, ref[0] * eps / eps[0], ":", color="0.4", lw=1.2, label=r"slope 1 ($\propto \varepsilon_x$)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"input scale $\varepsilon_x$")
    ax.set_ylabel("fraction of flipped patterns (steps 2..L)")
    ax.set_title("flips versus input scale" + (f" (m = {width})" if width else ""))
    ax.legend(fontsize=7)
    k = int(np.argmin(np.abs(eps - (0.3 if step_eps is None else step_eps))))
    L = np.asarray(next(iter(flips.values()))).shape[1]
    ell = np.arange(1, L + 1)
    for (label, arr), st in zip(flips.items(), styles):
        ax2.plot(ell, np.asarray(arr)[k], st, ms=4, label=label)
    if predicted is not None:
        ax2.plot(ell, np.asarray(predicted)[k], "k--", lw=1.2, label="Gaussian prediction")
    ax2.set_xlabel("step l")
    ax2.set_ylabel("fraction of flipped patterns")
    ax2.set_title(rf"per step at $\varepsilon_x$ = {eps[k]:.2g}")
    ax2.legend(fontsize=7)
    return fig


def _gap_stats(rel: np.ndarray, outputs: Sequence[int]):
    """Median and 10-90% band of relative norms grouped by the number of steps j - i."""
    n, L, J = rel.shape
    gaps, med, lo, hi = [], [], [], []
    i = np.arange(1, L + 1)[:, None]
    gap = np.asarray(outputs)[None, :] - i  # (L, J)
    for g in range(0, int(np.nanmax(gap)) + 1):
        vals = rel[:, gap == g].ravel()
        vals = vals[np.isfinite(vals)]
        if vals.size:
            gaps.append(g)
            med.append(np.median(vals))
            lo.append(np.quantile(vals, 0.1))
            hi.append(np.quantile(vals, 0.9))
    return np.array(gaps), np.array(med), np.array(lo), np.array(hi)


def plot_backward_norms(norms: Mapping[int, tuple]):
    """``||Back_{i->j}|| / ||B||`` versus the number of steps ``j - i``, one curve per width.

    Args:
        norms: width ``m`` -> ``(relative_norms, outputs)`` where ``relative_norms`` is
            :meth:`rnnlib.BackwardMaps.relative_norms` ``(n, L, J)`` and ``outputs`` the
            output positions; the band is the 10-90% range over samples and pairs.
    """
    fig, ax = new_figure(width=5.0, height=3.6)
    for m, (rel, outputs) in sorted(norms.items()):
        g, med, lo, hi = _gap_stats(np.asarray(rel), outputs)
        col = color_for_width(m)
        ax.plot(g, med, "o-", color=col, ms=3, label=f"m = {m}")
        ax.fill_between(g, lo, hi, color=col, alpha=0.18, lw=0)
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_xlabel("number of steps j - i")
    ax.set_ylabel(r"$\|\mathrm{Back}_{i\to j}\|_F \,/\, \|B\|_F$")
    ax.set_title("backward stability (median, 10-90% band)")
    ax.legend(fontsize=8)
    return fig


def plot_coherence_heatmap(cos: np.ndarray, pairs: Sequence[tuple[int, int]], *, width: int | None = None):
    """Heatmap of ``|cos(Back_{i->j}, Back_{i'->j'})|`` with the maps grouped by length ``j - i``.

    Args:
        cos: ``(P, P)`` matrix from :meth:`rnnlib.BackwardMaps.cos_matrix`.
        pairs: the ``P`` pairs ``(i, j)``, as returned by ``distinct_pairs(..., order="length")``.
        width: ``m``, for the title.
    """
    import matplotlib.colors as mcolors

    cos = np.asarray(cos)
    gaps = np.array([j - i for i, j in pairs])
    fig, ax = new_figure(width=5.6, height=4.8)
    floor = max(1e-3, float(np.min(cos)))
    im = ax.imshow(cos, cmap="magma", norm=mcolors.LogNorm(vmin=floor, vmax=1.0), interpolation="nearest")
    edges = np.flatnonzero(np.diff(gaps)) + 0.5
    for e in edges:
        ax.axhline(e, color="w", lw=0.4, alpha=0.6)
        ax.axvline(e, color="w", lw=0.4, alpha=0.6)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(gaps)) + 1])
    ends = np.concatenate([starts[1:], [len(gaps)]])
    centres = (starts + ends - 1) / 2
    labels = [str(gaps[s]) for s in starts]
    ax.set_xticks(centres, labels, fontsize=7)
    ax.set_yticks(centres, labels, fontsize=7)
    ax.grid(False)
    ax.set_xlabel("map (i' -> j'), grouped by its length j' - i'")
    ax.set_ylabel("map (i -> j), grouped by its length j - i")
    title = r"$|\cos(\mathrm{Back}_{i\to j}, \mathrm{Back}_{i'\to j'})|$"
    ax.set_title(title + (f", m = {width}" if width else ""), fontsize=10)
    fig.colorbar(im, ax=ax, shrink=0.85, label="|cos| (mean over sequences, log scale)")
    return fig


def plot_coherence_vs_width(widths, coherence: Mapping[str, np.ndarray], *, fits: Mapping[str, float] | None = None):
    """Mean off-diagonal ``|cos|`` of backward maps versus ``m`` (log-log) beside ``1/sqrt(m)``.

    Args:
        widths: the widths ``m``.
        coherence: label -> mean ``|cos|`` at each width (e.g. maps into the same output, maps of
            the same length).
        fits: optional label -> fitted exponent, shown in the legend.
    """
    m = np.asarray(widths, dtype=float)
    fig, ax = new_figure(width=5.2, height=3.8)
    marks = ["o-", "s-", "^-", "D-"]
    for (label, vals), st in zip(coherence.items(), marks):
        text = label if not fits or label not in fits else f"{label} (slope {fits[label]:.2f})"
        ax.plot(m, vals, st, ms=5, label=text)
    ax.plot(m, 1 / np.sqrt(m), "k--", lw=1.2, label=r"$1/\sqrt{m}$")
    ax.set_xscale("log", base=2)
    ax.set_xticks(m, [str(int(v)) for v in m])
    ax.xaxis.set_minor_locator(NullLocator())  # keep only the width ticks
    ax.set_yscale("log")
    ax.set_xlabel("width m")
    ax.set_ylabel("mean off-diagonal |cos| of backward maps")
    ax.set_title("backward coherence versus width")
    ax.legend(fontsize=7)
    return fig


def plot_initialization(m: int, L: int, *, seed: int = 0, n: int = 8, eps_x: float = 0.3, token_dim: int = 8):
    """One view of the RNN at init for width ``m`` and length ``L`` (the chapter's widget).

    Panels: ``||h_l||`` per sequence beside ``||W||_2^l``; ``||Back_{i->L}|| / ||B||`` versus ``i``;
    the ``|cos|`` matrix of the maps ``Back_{i->L}``, ``i = 1..L``.  Computes everything from the
    parameters (float64 hidden norms, float32 backward maps).
    """
    from .._linalg import spectral_norm
    from ..backward import backward_maps
    from ..forward import hidden_norms
    from ..rnn import ElmanRNN
    from ..tokens import embed, sample_tokens

    model = ElmanRNN(token_dim + 1, m, seed=seed)
    x = embed(sample_tokens(n, L, token_dim, seed=seed + 1), eps_x)
    norms = hidden_norms(model, x)
    bm = backward_maps(model, x, outputs=L)
    rel = bm.relative_norms()[:, :, 0]
    pairs = [(i, L) for i in range(1, L + 1)]
    cos = bm.cos_matrix(pairs)
    fig, axes = new_figure(ncols=3, width=3.7, height=3.3)
    ell = np.arange(1, L + 1)
    col = color_for_width(m)
    ax = axes[0]
    for row in norms:
        ax.plot(ell, row, color=col, lw=0.8, alpha=0.6)
    spec = spectral_norm(model.W)
    ax.plot(ell, np.minimum(spec ** ell, 1e30), "k--", lw=1.2, label=rf"$\|W\|_2^l$, $\|W\|_2$ = {spec:.2f}")
    ax.set_yscale("log")
    ax.set_ylim(min(0.1, norms.min() / 2), 1e30)
    ax.set_xlabel("step l")
    ax.set_ylabel(r"$\|h_l\|$")
    ax.set_title(f"forward: m = {m}, L = {L}")
    ax.legend(fontsize=7, loc="upper left")
    ax = axes[1]
    ax.plot(ell, np.median(rel, axis=0), "o-", color=col, ms=3, label="median over sequences")
    ax.fill_between(ell, rel.min(axis=0), rel.max(axis=0), color=col, alpha=0.2, lw=0, label="range")
    ax.axhline(1.0, color="k", lw=0.8, ls="--")
    ax.set_yscale("log")
    ax.set_xlabel("input step i")
    ax.set_ylabel(r"$\|\mathrm{Back}_{i\to L}\| / \|B\|$")
    ax.set_title("backward stability")
    ax.legend(fontsize=7)
    ax = axes[2]
    import matplotlib.colors as mcolors
    im = ax.imshow(cos, cmap="magma", norm=mcolors.LogNorm(vmin=1e-3, vmax=1.0), origin="lower",
                   extent=(0.5, L + 0.5, 0.5, L + 0.5), interpolation="nearest")
    ax.grid(False)
    ax.set_xlabel("i'")
    ax.set_ylabel("i")
    off = cos[~np.eye(L, dtype=bool)].mean() if L > 1 else float("nan")
    ax.set_title(rf"$|\cos(\mathrm{{Back}}_{{i\to L}}, \mathrm{{Back}}_{{i'\to L}})|$, mean {off:.3f}", fontsize=9)
    fig.colorbar(im, ax=ax, shrink=0.85, label="|cos|")
    return fig
