"""Pure plotting functions of the book, one module per chapter topic (all chapters; Paper: none here,
each module names the section of the paper its figures show).

Every ``plot_*`` function takes data or parameters and returns a matplotlib
``Figure``; it never shows or saves it, so the same function serves a live widget
in a kernel, a kernel-free slider in the static book (:mod:`rnnlib.widgets`) and the
tests.  :mod:`rnnlib.plots.style` keeps one colour per sequence length ``L`` and per
width ``m`` across the whole book.
"""
from .style import color_for_length, color_for_width, new_figure

__all__ = ["color_for_length", "color_for_width", "new_figure"]
