"""Figures over a parameter grid: a live control in a kernel, a kernel-free slider in the book.

A chapter's widget is a pure ``plot(**params) -> matplotlib Figure`` function from the
library (design.md section 7).  :func:`slider` renders it once per grid point into PNG
frames and returns an HTML block with one range input per parameter and a few lines
of inline JavaScript that swap the frame: it works in the static book without a
kernel and without any external script.  :func:`live` wraps the same function in
``ipywidgets.interact`` for readers running the notebook.
"""
from __future__ import annotations

import base64
import html
import io
import itertools
import json
import uuid
from typing import Callable, Mapping, Sequence

__all__ = ["slider", "live", "figure_png", "SliderHTML"]


def figure_png(fig, dpi: int = 90) -> bytes:
    """PNG bytes of a matplotlib figure (the figure is closed)."""
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _check_grid(grid: Mapping[str, Sequence]) -> dict[str, list]:
    if not isinstance(grid, Mapping) or not grid:
        raise ValueError(f"grid must be a non-empty mapping of parameter name -> values, got {grid!r}")
    out = {}
    for name, values in grid.items():
        values = list(values)
        if not values:
            raise ValueError(f"grid[{name!r}] must list at least one value, got {values!r}")
        out[str(name)] = values
    return out


class SliderHTML:
    """The HTML of a kernel-free slider; displays itself in Jupyter (``_repr_html_``)."""

    def __init__(self, html_text: str, n_frames: int, element_id: str):
        self.html = html_text
        self.n_frames = n_frames
        self.element_id = element_id

    def _repr_html_(self) -> str:
        return self.html


def slider(plot: Callable, grid: Mapping[str, Sequence], *, fixed: Mapping | None = None,
           labels: Mapping[str, str] | None = None, dpi: int = 90, seed_id: str | None = None) -> SliderHTML:
    """Render ``plot(**params)`` at every point of ``grid`` and return a kernel-free slider.

    Args:
        plot: ``plot(**params) -> matplotlib.figure.Figure``.
        grid: parameter name -> list of values; one range input per parameter.
        fixed: extra keyword arguments passed to every call.
        labels: display names of the parameters (default: the names).
        dpi: resolution of the frames.
        seed_id: a fixed element id (default: random), for reproducible HTML.

    Returns:
        a :class:`SliderHTML`; its frame changes in the browser as the inputs move.
    """
    grid = _check_grid(grid)
    fixed = dict(fixed or {})
    labels = dict(labels or {})
    names = list(grid)
    frames = {}
    for combo in itertools.product(*(range(len(grid[n])) for n in names)):
        params = {n: grid[n][i] for n, i in zip(names, combo)}
        png = figure_png(plot(**params, **fixed), dpi=dpi)
        frames["-".join(map(str, combo))] = "data:image/png;base64," + base64.b64encode(png).decode()
    uid = seed_id or "rnnlib-slider-" + uuid.uuid4().hex[:10]
    start = [len(grid[n]) // 2 for n in names]
    controls = []
    for k, n in enumerate(names):
        vals = [str(v) for v in grid[n]]
        controls.append(
            f'<label style="margin-right:1.5em">{html.escape(labels.get(n, n))} = '
            f'<input type="range" min="0" max="{len(vals) - 1}" step="1" value="{start[k]}" '
            f'data-param="{k}" class="rnnlib-slider-input" style="vertical-align:middle"> '
            f'<span class="rnnlib-slider-value">{html.escape(vals[start[k]])}</span></label>')
    values_js = json.dumps([[str(v) for v in grid[n]] for n in names])
    first = frames["-".join(map(str, start))]
    text = f"""<div id="{uid}" class="rnnlib-slider">
<div class="rnnlib-slider-controls">{''.join(controls)}</div>
<img class="rnnlib-slider-frame" src="{first}" alt="figure frame" style="max-width:100%">
<script type="application/json" class="rnnlib-slider-frames">{json.dumps(frames)}</script>
<script>
(function() {{
  var root = document.getElementById({json.dumps(uid)});
  if (!root) return;
  var frames = JSON.parse(root.querySelector('.rnnlib-slider-frames').textContent);
  var values = {values_js};
  var inputs = root.querySelectorAll('.rnnlib-slider-input');
  var shown = root.querySelectorAll('.rnnlib-slider-value');
  var img = root.querySelector('.rnnlib-slider-frame');
  function update() {{
    var key = [];
    for (var k = 0; k < inputs.length; k++) {{
      key.push(inputs[k].value);
      shown[k].textContent = values[k][+inputs[k].value];
    }}
    img.src = frames[key.join('-')];
    img.setAttribute('data-frame', key.join('-'));
  }}
  for (var k = 0; k < inputs.length; k++) inputs[k].addEventListener('input', update);
  update();
}})();
</script>
</div>"""
    return SliderHTML(text, len(frames), uid)


def live(plot: Callable, grid: Mapping[str, Sequence], *, fixed: Mapping | None = None,
         continuous_update: bool = False) -> None:
    """Display an ``ipywidgets.interactive`` control over ``grid`` calling ``plot`` (needs a kernel).

    Each grid entry becomes a selection slider; ``plot`` may take long (it may retrain),
    so updates happen on release unless ``continuous_update``.  The control is displayed
    by the call and nothing is returned, so it shows once whether or not the call ends
    the cell (``ipywidgets.interact`` returns the function, whose repr would print).
    """
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    grid = _check_grid(grid)
    fixed = dict(fixed or {})
    controls = {n: widgets.SelectionSlider(options=v, value=v[len(v) // 2], description=n,
                                           continuous_update=continuous_update)
                for n, v in grid.items()}

    def show(**params):
        fig = plot(**params, **fixed)
        display(fig)
        plt.close(fig)

    display(widgets.interactive(show, **controls))
