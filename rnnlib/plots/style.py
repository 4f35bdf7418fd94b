"""Shared figure style (all chapters; Paper: none): the same colour for the same L or m, and an opaque white background.

The background is opaque white in every form a figure takes (the notebook's inline PNGs, glued
figures, the sliders' frames saved by ``savefig``), so that the book's dark mode, which only dims
images, keeps every figure readable: dark text on a transparent PNG would sit on a dark page.
"""
from __future__ import annotations

import matplotlib

BACKGROUND = "white"

matplotlib.rcParams.update({"figure.dpi": 100, "axes.grid": True, "grid.alpha": 0.3,
                            "axes.spines.top": False, "axes.spines.right": False,
                            # opaque, whatever a matplotlibrc or a notebook front end set before
                            "figure.facecolor": BACKGROUND, "axes.facecolor": BACKGROUND,
                            "savefig.facecolor": BACKGROUND, "savefig.transparent": False})

_LENGTHS = [2, 3, 5, 10, 20, 40, 80, 100, 200]
_WIDTHS = [32, 64, 128, 256, 512, 1024, 2048, 4096]


def _pick(value, known, cmap_name):
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap(cmap_name)
    if value in known:
        pos = known.index(value)
    else:  # place unknown values by rank among the known ones
        pos = sum(v < value for v in known)
    return cmap(0.15 + 0.75 * pos / max(1, len(known) - 1))


def color_for_length(L: int):
    """The colour of sequence length ``L`` (a viridis shade, darker for short sequences)."""
    return _pick(L, _LENGTHS, "viridis")


def color_for_width(m: int):
    """The colour of width ``m`` (a plasma shade, darker for narrow networks)."""
    return _pick(m, _WIDTHS, "plasma")


def new_figure(ncols: int = 1, nrows: int = 1, width: float = 5.0, height: float = 3.6, **kwargs):
    """``plt.subplots`` with the book's panel size; returns ``(fig, axes)``.

    The figure is released from pyplot at once (``plt.close``), so that a notebook shows it only
    where it is displayed (as a cell's value, by ``display`` or by myst-nb's ``glue``) and never a
    second time when the cell ends; it stays fully usable. (Creating it through pyplot still
    starts the notebook's inline backend, which gives figures their PNG form.)
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows),
                             constrained_layout=True, **kwargs)
    plt.close(fig)
    fig.set_facecolor(BACKGROUND)  # fixed on the figure itself, so no later rc change makes it transparent
    fig.patch.set_alpha(1.0)
    return fig, axes
