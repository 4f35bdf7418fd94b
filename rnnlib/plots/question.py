"""Figures of Chapter 1, the question: the position example and the prior bounds against L.

Paper: Allen-Zhu & Li (2019), section 1, the introduction (position-dependence; the exponential-in-L bounds of
earlier work, Zhang et al. 2018, Bartlett et al. 2017, Tu et al. 2020).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .._checks import as_array
from ..bounds import BOUNDS
from .style import color_for_width, new_figure

__all__ = ["plot_position_example", "plot_prior_bounds"]

_LINESTYLES = {"zhang": "-", "bartlett": "--", "tu_factor": ":", "tu_lambda": "-."}


def plot_position_example(same_token, sentences, words: Sequence[Sequence[str]], *, output: int = -1):
    """The same token means different things at different positions (Chapter 1).

    Args:
        same_token: ``pair_contributions`` of one sequence whose data tokens are all the same
            token, shape ``(L, L)`` (or ``(L, L, 1)``), indexed ``[i-1, j-1]``: what the token at
            position ``i`` adds to the target at position ``j``.
        sentences: ``pair_contributions`` of several sentences, shape ``(k, L', L'[, 1])``.
        words: the words of each sentence, ``k`` lists of ``L' - 1`` strings (positions 2..L').
        output: the output position whose contributions the bar chart shows (default: the last).

    Returns:
        a Figure: (a) heatmap of the contributions of the repeated token, input position
        against output position; (b) each word's contribution to the output of each sentence.
    """
    same = as_array("same_token", same_token)
    same = same[..., 0] if same.ndim == 3 else same
    if same.ndim != 2 or same.shape[0] != same.shape[1]:
        raise ValueError(f"same_token must have shape (L, L) or (L, L, 1), got {same.shape}")
    sent = as_array("sentences", sentences)
    sent = sent[..., 0] if sent.ndim == 4 else sent
    if sent.ndim != 3 or sent.shape[1] != sent.shape[2]:
        raise ValueError(f"sentences must have shape (k, L, L) or (k, L, L, 1), got {sent.shape}")
    k, Ls = sent.shape[0], sent.shape[1]
    if len(words) != k or any(len(w) != Ls - 1 for w in words):
        raise ValueError(f"words must hold {k} lists of {Ls - 1} words, got {[len(w) for w in words]}")

    fig, (ax0, ax1) = new_figure(2, width=5.2, height=4.0)
    L = same.shape[0]
    live = np.triu(np.ones((L, L), dtype=bool)) & (np.arange(L)[:, None] >= 1)
    shown = np.where(live, same, np.nan)
    vmax = np.nanmax(np.abs(shown))
    im = ax0.imshow(shown, cmap="RdBu_r", vmin=-vmax, vmax=vmax, origin="upper")
    ax0.set_xticks(range(L), [str(j + 1) for j in range(L)])
    ax0.set_yticks(range(L), [str(i + 1) for i in range(L)])
    ax0.set_xlabel("output position $j$")
    ax0.set_ylabel("input position $i$ (same token everywhere)")
    ax0.set_title("(a) contribution of one token, $i \\to j$")
    ax0.grid(False)
    fig.colorbar(im, ax=ax0, shrink=0.85, label="contribution to $F^*_j$ (a.u.)")

    j = output % Ls
    width = 0.8 / k
    for s in range(k):
        contrib = sent[s, 1:j + 1, j]
        pos = np.arange(1, j + 1) + (s - (k - 1) / 2) * width
        bars = ax1.bar(pos, contrib, width=width * 0.95, label=f"“{' '.join(words[s])}”: "
                       f"$F^*_{{{j + 1}}}$ = {contrib.sum():+.3f}")
        for x, v, w in zip(pos, contrib, words[s][:j]):
            ax1.annotate(w, (x, v), textcoords="offset points", xytext=(0, 3 if v >= 0 else -10),
                         ha="center", fontsize=8, color=bars.patches[0].get_facecolor())
    ax1.axhline(0, color="0.3", lw=0.8)
    ax1.set_xticks(range(1, j + 1), [str(i + 1) for i in range(1, j + 1)])
    ax1.set_xlabel("input position $i$")
    ax1.set_ylabel(f"contribution to the output at position {j + 1} (a.u.)")
    ax1.set_title("(b) same words, different order")
    ax1.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=1, frameon=False)
    return fig


def plot_prior_bounds(bounds_by_width: Mapping[int, Mapping[str, np.ndarray]],
                      hidden_norms: Mapping[int, np.ndarray], *,
                      keys: Sequence[str] = ("zhang", "bartlett", "tu_factor"),
                      spectral_W: Mapping[int, float] | None = None):
    """Prior bounds against the measured hidden-state norm (Chapter 1).

    Args:
        bounds_by_width: width ``m`` -> :func:`rnnlib.bounds.evaluate_bounds` output (a dict with
            ``"length"`` and one ``log10`` array per bound).
        hidden_norms: width ``m`` -> typical ``||h_l||`` of several random networks, shape
            ``(n_networks, L_max)`` (for instance the mean over sequences of each network).
        keys: which bounds to draw (keys of :data:`rnnlib.bounds.BOUNDS`).
        spectral_W: width -> ``||W||_2``; if given, panel (b) also draws ``log10 ||W||_2^l``.

    Returns:
        a Figure: (a) ``log10`` of each bound against ``L`` (colour = ``m``, line style = bound),
        with ``log10 ||h_L||`` of the widest network for scale; (b) ``log10 ||h_l||`` against ``l``,
        each network as a thin line and their median as a thick one.
    """
    if not bounds_by_width or not hidden_norms:
        raise ValueError("bounds_by_width and hidden_norms must be non-empty mappings width -> values")
    unknown = [k for k in keys if k not in BOUNDS]
    if unknown:
        raise ValueError(f"keys must be among {sorted(BOUNDS)}, got {unknown}")
    fig, (ax0, ax1) = new_figure(2, width=5.4, height=4.0)
    for m, res in sorted(bounds_by_width.items()):
        for key in keys:
            ax0.plot(res["length"], res[key], _LINESTYLES[key], color=color_for_width(m), lw=1.6)
    widest = max(hidden_norms)
    norms = as_array("hidden_norms", hidden_norms[widest], ndim=2)
    ax0.plot(np.arange(1, norms.shape[1] + 1), np.log10(np.median(norms, axis=0)), color="black", lw=2)
    # two legends: colour = width, line style = bound
    from matplotlib.lines import Line2D

    width_handles = [Line2D([], [], color=color_for_width(m), lw=2, label=f"$m$ = {m}")
                     for m in sorted(bounds_by_width)]
    bound_handles = [Line2D([], [], color="0.35", ls=_LINESTYLES[k], lw=1.6, label=BOUNDS[k]["label"])
                     for k in keys]
    bound_handles.append(Line2D([], [], color="black", lw=2, label=f"measured $\\|h_L\\|$, $m$ = {widest}"))
    first = ax0.legend(handles=bound_handles, fontsize=7.5, loc="upper left")
    ax0.add_artist(first)
    ax0.legend(handles=width_handles, fontsize=7.5, loc="lower right")
    ax0.set_xlabel("sequence length $L$")
    ax0.set_ylabel(r"$\log_{10}$ of the bound's weight factor")
    ax0.set_title("(a) norm-based bounds at random initialization")

    for m, h in sorted(hidden_norms.items()):
        h = as_array("hidden_norms", h, ndim=2)
        ell = np.arange(1, h.shape[1] + 1)
        log_h = np.log10(h)
        ax1.plot(ell, log_h.T, color=color_for_width(m), lw=0.7, alpha=0.45)
        ax1.plot(ell, np.median(log_h, axis=0), color=color_for_width(m), lw=2.2,
                 label=f"$\\|h_\\ell\\|$, $m$ = {m}: median and each of {h.shape[0]} nets")
        if spectral_W is not None and m in spectral_W:
            ax1.plot(ell, ell * np.log10(spectral_W[m]), ls="--", color=color_for_width(m), lw=1)
    if spectral_W is not None:
        ax1.plot([], [], ls="--", color="0.35", label=r"$\|W\|_2^{\ell}$")
        top = max(np.log10(np.max(h)) for h in hidden_norms.values())
        ax1.set_ylim(-0.6, max(3.0, top + 0.5))
    ax1.axhline(0, color="0.3", lw=0.8)
    ax1.set_xlabel(r"step $\ell$")
    ax1.set_ylabel(r"$\log_{10}\|h_\ell\|$")
    ax1.set_title("(b) the hidden state itself")
    ax1.legend(fontsize=7.5, loc="upper left")
    return fig
