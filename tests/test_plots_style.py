"""rnnlib.plots.style.new_figure: figures that show where they are displayed, and only there."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from rnnlib.plots.style import new_figure  # noqa: E402
from rnnlib.widgets import figure_png  # noqa: E402


def test_new_figure_is_released_from_pyplot():
    """A glued figure must not be drawn again when the cell ends (the inline backend shows pyplot's open figures)."""
    before = plt.get_fignums()
    fig, axes = new_figure(3, 2, width=2.0, height=1.5)
    assert plt.get_fignums() == before
    assert axes.shape == (2, 3)
    assert np.allclose(fig.get_size_inches(), (6.0, 3.0))
    plt.close(fig)  # what chapters do after glue: harmless here


def test_new_figure_renders_and_passes_subplot_options():
    fig, axes = new_figure(2, squeeze=False, sharey=True)
    assert axes.shape == (1, 2)
    axes[0, 0].plot([0, 1], [0, 1])
    png = figure_png(fig)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 1000
