"""The unrolled RNN as a diagram (Chapter 3): the recurrence, the ReLU patterns and a backward map.

Paper: the Elman network of the setup of Allen-Zhu & Li (2019), section 3 (recalled),
``h_l = sigma(W h_{l-1} + A x_l)``, ``y_l = B h_l``, and the backward maps
``Back_{i->j} = B D_j W ... D_{i+1} W`` of its proof (section 5, as restated by Panigrahi & Goyal 2021),
drawn for one choice of ``i < j``.
"""
from __future__ import annotations

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .._checks import check_int
from .style import new_figure

__all__ = ["plot_unrolled_rnn"]

_FORWARD, _BACKWARD, _PATTERN = "0.2", "tab:red", "tab:blue"


def _box(ax, x, y, text, *, color="0.2", face="white", w=0.9, h=0.5, size=10):
    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.04", fc=face, ec=color, lw=1.3))
    ax.text(x, y, text, ha="center", va="center", fontsize=size, color=color if face == "white" else "black")


def _arrow(ax, start, end, *, color=_FORWARD, style="-|>", ls="-", rad=0.0, lw=1.3):
    ax.add_patch(FancyArrowPatch(start, end, arrowstyle=style, mutation_scale=11, color=color, lw=lw,
                                 linestyle=ls, connectionstyle=f"arc3,rad={rad}", shrinkA=2, shrinkB=2))


def plot_unrolled_rnn(length: int = 5, i: int = 2, j: int | None = None):
    """The network unrolled over ``length`` steps, with the backward map ``Back_{i->j}`` marked.

    Args:
        length: steps drawn, ``L >= 2``.
        i, j: the input and output positions of the marked backward map, ``1 <= i < j <= L``
            (``j`` defaults to ``L``).

    Returns:
        a Figure: per step ``l`` (columns), the input ``x_l`` enters through ``A x_l``, the previous
        state through ``W h_{l-1}`` (black), the ReLU applies the pattern ``D_l`` (blue) and gives
        ``h_l``, read out as ``y_l = B h_l``; the red path is ``Back_{i->j}``: from the output ``y_j``
        back to ``h_i``, through ``D_j W, ..., D_{i+1} W``.
    """
    L = check_int("length", length, minimum=2)
    j = L if j is None else check_int("j", j, minimum=2)
    i = check_int("i", i, minimum=1)
    if not i < j <= L:
        raise ValueError(f"i and j must satisfy 1 <= i < j <= length = {L}, got i = {i}, j = {j}")
    fig, ax = new_figure(width=1.9 * (L + 1), height=4.6)
    ax.set_axis_off()
    ax.set_xlim(-0.8, 2.0 * L + 0.8)
    ax.set_ylim(-0.7, 4.5)
    X = {ell: 2.0 * ell for ell in range(L + 1)}          # column of step l; l = 0 holds h_0
    y_x, y_z, y_h, y_y = 0.0, 1.3, 2.5, 3.7                # rows: input, pre-activation, state, output
    _box(ax, X[0], y_h, "$h_0 = 0$")
    for ell in range(1, L + 1):
        x = X[ell]
        _box(ax, x, y_x, f"$x_{{{ell}}}$", w=0.7)
        _box(ax, x, y_z, f"$\\sigma(\\cdot)$, $D_{{{ell}}}$", color=_PATTERN, face="#dbe8f6", w=1.1)
        _box(ax, x, y_h, f"$h_{{{ell}}}$", w=0.7)
        _box(ax, x, y_y, f"$y_{{{ell}}} = B h_{{{ell}}}$", w=1.25)
        _arrow(ax, (x, y_x + 0.25), (x, y_z - 0.25))
        ax.text(x + 0.08, (y_x + y_z) / 2, f"$A x_{{{ell}}}$", fontsize=9, va="center")
        _arrow(ax, (x, y_z + 0.25), (x, y_h - 0.25))
        _arrow(ax, (x, y_h + 0.25), (x, y_y - 0.25))
        _arrow(ax, (X[ell - 1] + 0.35, y_h - 0.15), (x - 0.55, y_z + 0.15))
        ax.text((X[ell - 1] + x) / 2 + 0.05, (y_h + y_z) / 2 + 0.12, f"$W h_{{{ell - 1}}}$", fontsize=9,
                ha="center", va="bottom")
    # Back_{i->j}: from y_j down to h_j, then back through D_l W for l = j, ..., i+1
    _arrow(ax, (X[j] + 0.45, y_y - 0.25), (X[j] + 0.4, y_h + 0.1), color=_BACKWARD, ls="--", lw=1.8)
    ax.text(X[j] + 0.55, (y_y + y_h) / 2, "$B$", color=_BACKWARD, fontsize=9, va="center")
    for ell in range(j, i, -1):
        _arrow(ax, (X[ell] - 0.35, y_h + 0.12), (X[ell - 1] + 0.35, y_h + 0.12), color=_BACKWARD, ls="--",
               rad=0.35, lw=1.8)
        ax.text((X[ell] + X[ell - 1]) / 2, y_h + 0.62, f"$D_{{{ell}}} W$", color=_BACKWARD, fontsize=9,
                ha="center")
    factors = "\\, ".join(f"D_{{{ell}}} W" for ell in range(j, i, -1))
    title = f"$\\mathrm{{Back}}_{{{i}\\to {j}}} = \\partial y_{{{j}}} / \\partial h_{{{i}}} = B\\, {factors}$"
    ax.text(X[0], 4.35, title + "  (red, dashed)", color=_BACKWARD, fontsize=10, ha="left", va="center")
    ax.text(X[0], -0.55, "forward (black): $h_\\ell = \\sigma(W h_{\\ell-1} + A x_\\ell)$, pattern "
            "$D_\\ell = \\mathrm{diag}(\\mathbb{1}[W h_{\\ell-1} + A x_\\ell \\geq 0])$ (blue)", fontsize=9.5,
            ha="left", va="center")
    return fig
