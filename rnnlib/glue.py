"""Glue a study's findings into the book with one call (presentation layer, all chapters;
Paper: none).

A chapter's prose quotes numbers with myst-nb's ``{glue:text}`key:fmt```; the format lives in the
text, the value comes from a cell. myst-nb stores a glued value through its ``text/plain`` repr and
formats it by ``literal_eval`` of that repr, so a numpy scalar (repr ``np.float64(0.5)``) cannot be
formatted and breaks a ``-W`` build. :func:`glue_all` therefore converts every value to a plain
Python ``int``, ``float`` or ``str`` first, and glues figures (closing them, so that a notebook never
shows them twice).

A study result offers its numbers through a ``numbers()`` method returning ``{key: value}`` (the
chapters' studies in :mod:`rnnlib.studies` all do); a plain mapping works too.
"""
from __future__ import annotations

import numbers as _numbers
from typing import Any, Mapping

import numpy as np

__all__ = ["plain", "glue_values", "glue_all"]


def plain(key: str, value: Any):
    """``value`` as a plain Python ``int``, ``float`` or ``str`` (a myst-nb glue value).

    Raises:
        TypeError: for anything else (an array, a dict, None), naming ``key``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise TypeError(f"glued value {key!r} must be a number or a string, got a bool ({value!r})")
    if isinstance(value, str):
        return str(value)
    if isinstance(value, _numbers.Integral):
        return int(value)
    if isinstance(value, _numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and np.issubdtype(value.dtype, np.number):
        return plain(key, value.item())
    raise TypeError(f"glued value {key!r} must be a number or a string, got {type(value).__name__}")


def _items(item) -> Mapping[str, Any]:
    if hasattr(item, "numbers") and callable(item.numbers):
        item = item.numbers()
    if not isinstance(item, Mapping):
        raise TypeError("glue_all takes study results (with a numbers() method) or mappings key -> value, "
                        f"got {type(item).__name__}")
    return item


#: myst-nb's prefix of a glued value's mime types (``myst_nb.ext.glue.GLUE_PREFIX``).
GLUE_PREFIX = "application/papermill.record/"


def _myst_glue(key: str, value) -> None:
    """``myst_nb.glue(key, value, display=False)``, written out: importing ``myst_nb.ext.glue`` imports
    nbformat's schema validator, a second of every chapter's execution (tests/test_glue_speed.py checks
    that both write the same output)."""
    from IPython.core.formatters import format_display_data
    from IPython.display import display

    mimebundle, metadata = format_display_data(value)
    metadata["scrapbook"] = dict(name=key, mime_prefix=GLUE_PREFIX)
    display({GLUE_PREFIX + k: v for k, v in mimebundle.items()}, raw=True, metadata=metadata)


def glue_values(*items, prefix: str = "") -> dict:
    """``{prefix + key: value}`` of ``items`` as :func:`glue_all` would glue them (numbers made plain).

    Args:
        items: study results (objects with ``numbers() -> {key: value}``) or mappings
            ``{key: value}``; a value is a number, a string, a matplotlib ``Figure`` or a rich display
            object (``IPython.display.Markdown`` or ``HTML``, e.g. a table for ``{glue:md}``).
        prefix: prepended to every key (e.g. ``"ch3-"``).

    Raises:
        ValueError: when two items give the same key.
        TypeError: for a value that is neither a number, a string, a figure nor a rich display object.
    """
    from matplotlib.figure import Figure

    glued: dict = {}
    for item in items:
        for key, value in _items(item).items():
            name = f"{prefix}{key}"
            if name in glued:
                raise ValueError(f"glue key {name!r} is given twice")
            # a figure, a rich display object (IPython's Markdown or HTML: a table), or a plain value
            rich = isinstance(value, Figure) or hasattr(value, "_repr_markdown_") or hasattr(value, "_repr_html_")
            glued[name] = value if rich else plain(name, value)
    return glued


def glue_all(*items, prefix: str = "") -> None:
    """Glue every named value of ``items`` (see :func:`glue_values`) for the book, without display.

    Figures are closed after gluing. Returns nothing, so a chapter cell that ends with this call
    shows no output.
    """
    from matplotlib.figure import Figure

    for name, value in glue_values(*items, prefix=prefix).items():
        _myst_glue(name, value)
        if isinstance(value, Figure):
            import matplotlib.pyplot as plt

            plt.close(value)
