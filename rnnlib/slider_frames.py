"""The frames of a kernel-free slider, rendered once and kept in the engine's cache.

Presentation layer of the chapters with a kernel-free slider (chapters 2 and 3, and any chapter
calling :func:`rnnlib.widgets.slider`); it implements no part of the paper (Paper: none).

A slider draws ``plot(**params)`` at every point of its grid and saves each figure as a PNG frame:
a few seconds per slider, spent again at every re-execution of the book.  When ``plot`` is a
module-level function of ``rnnlib`` and the grid and fixed arguments are plain JSON values, the
frames are a function of those values and of the code, so :class:`SliderFrames` makes them a kind
of the book's engine (:mod:`rnnlib.engine`): the key holds the function's name, the grid, the fixed
arguments, the resolution, the matplotlib version and settings (``rcParams``: they write the PNG
bytes) and the digest of the code the plotting module imports (:func:`rnnlib.cache.code_digest`),
so editing a plot re-renders its frames.  A plot that closes over data (a lambda, a function
defined in a notebook) has no such key and is drawn every time (:func:`frames_config` returns ``None``).
"""
from __future__ import annotations

import base64
import hashlib
import importlib
import io
import itertools
import json
from dataclasses import dataclass
from typing import Callable, ClassVar, Mapping

__all__ = ["SliderFrames", "FramesResult", "figure_png", "render_frames", "frames_config", "slider_frames"]

PREFIX = "data:image/png;base64,"


def figure_png(fig, dpi: int = 90) -> bytes:
    """PNG bytes of a matplotlib figure (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def render_frames(plot: Callable, grid: Mapping[str, list], fixed: Mapping, dpi: int) -> dict[str, str]:
    """``{"i-j-...": PNG data URI}``: ``plot(**params, **fixed)`` at every grid point (indices joined by ``-``)."""
    names = list(grid)
    frames = {}
    for combo in itertools.product(*(range(len(grid[n])) for n in names)):
        params = {n: grid[n][i] for n, i in zip(names, combo)}
        png = figure_png(plot(**params, **fixed), dpi=dpi)
        frames["-".join(map(str, combo))] = PREFIX + base64.b64encode(png).decode()
    return frames


@dataclass
class FramesResult:
    """The frames of one slider: ``{"i-j-...": "data:image/png;base64,..."}``."""

    frames: dict

    def to_dict(self) -> dict:
        return {"frames": dict(self.frames)}

    @classmethod
    def from_dict(cls, data: dict) -> "FramesResult":
        """Rebuild from :meth:`to_dict`; a damaged entry raises ``ValueError`` or ``TypeError``."""
        frames = data.get("frames") if isinstance(data, dict) else None
        if not isinstance(frames, dict) or not frames:
            raise TypeError(f"frames must be a non-empty dict, got {type(frames).__name__}")
        for k, v in frames.items():
            if not isinstance(v, str) or not v.startswith(PREFIX) or not all(p.isdigit() for p in k.split("-")):
                raise ValueError(f"frame {k!r} must be a PNG data URI keyed by grid indices")
        return cls(dict(frames))


@dataclass(frozen=True)
class SliderFrames:
    """Kind ``slider_frames``: the frames of ``plot`` (``"rnnlib.<module>:<function>"``) over ``grid``.

    ``grid`` and ``fixed`` are canonical JSON (``[[name, [values]], ...]`` and ``{name: value}``);
    ``matplotlib`` is the version that renders the PNGs and ``rc`` a digest of its ``rcParams``.
    """

    kind: ClassVar[str] = "slider_frames"
    result_type: ClassVar = FramesResult

    plot: str
    grid: str
    fixed: str
    dpi: int
    matplotlib: str
    rc: str = ""

    def to_dict(self) -> dict:
        return {"plot": self.plot, "grid": self.grid, "fixed": self.fixed, "dpi": self.dpi,
                "matplotlib": self.matplotlib, "rc": self.rc}

    def function(self) -> Callable:
        module, _, name = self.plot.partition(":")
        return getattr(importlib.import_module(module), name)

    def run(self) -> FramesResult:
        grid = {n: list(v) for n, v in json.loads(self.grid)}
        return FramesResult(render_frames(self.function(), grid, json.loads(self.fixed), self.dpi))

    def code_modules(self) -> list[str]:
        return [self.plot.partition(":")[0], "slider_frames"]  # the plot's import closure, and the renderer


def _json(value) -> str | None:
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text if json.loads(text) == value else None  # tuples, int keys...: not the same value back


def frames_config(plot: Callable, grid: Mapping[str, list], fixed: Mapping, dpi: int) -> SliderFrames | None:
    """The cache key of a slider's frames, or ``None`` when the frames may depend on more than it holds
    (``plot`` is not a module-level function of ``rnnlib``, or a value is not plain JSON)."""
    import matplotlib

    module, name = getattr(plot, "__module__", None) or "", getattr(plot, "__qualname__", "")
    if not module.startswith("rnnlib.") or "." in name or "<" in name or getattr(plot, "__closure__", None):
        return None
    try:
        if getattr(importlib.import_module(module), name, None) is not plot:
            return None
    except ImportError:
        return None
    g, f = _json([[n, list(v)] for n, v in grid.items()]), _json(dict(fixed))
    if g is None or f is None:
        return None
    rc = sorted((k, repr(v)) for k, v in matplotlib.rcParams.items() if k not in ("backend", "interactive"))
    rc = hashlib.sha256(repr(rc).encode()).hexdigest()[:16]
    return SliderFrames(f"{module}:{name}", g, f, int(dpi), matplotlib.__version__, rc)


def slider_frames(plot: Callable, grid: Mapping[str, list], fixed: Mapping, dpi: int, *,
                  cache_dir=None) -> dict[str, str]:
    """:func:`render_frames`, read from the engine's cache when :func:`frames_config` gives a key
    (``cache_dir``: the engine's cache, ``None`` for the default; ``False``: always render)."""
    config = None if cache_dir is False else frames_config(plot, grid, fixed, dpi)
    if config is None:
        return render_frames(plot, grid, fixed, dpi)
    from .engine import run_many

    return dict(run_many([config], cache_dir=cache_dir, progress=False)[0].frames)
