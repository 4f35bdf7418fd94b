"""Checks shared by the tests of the figure modules (rnnlib.plots.*)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402


def assert_labelled(fig: Figure, *, data_axes_only: bool = False) -> None:
    """Every visible axes (colorbars aside) has an x and a y label; then the figure is closed.

    With ``data_axes_only`` the rule covers only axes that draw data (images, lines, collections),
    and at least one visible axes must exist.
    """
    assert isinstance(fig, Figure), type(fig)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.get_label() != "<colorbar>"]
    assert axes, "the figure has no visible axes"
    for ax in axes:
        if data_axes_only and not (ax.images or ax.lines or ax.collections):
            continue
        assert ax.get_xlabel() and ax.get_ylabel(), ax.get_title()
    plt.close(fig)
