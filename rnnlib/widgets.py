"""Figures over a parameter grid: a live control in a kernel, a kernel-free slider in the book.

Presentation layer of every chapter with a widget (chapters 2, 3, 4 and 8, and the appendix "How
the book is made and checked"); it implements no part of the paper
(Paper: none).  A chapter's widget is a pure
``plot(**params) -> matplotlib Figure`` function from the library (design.md section 7).
:func:`slider` renders it once per grid point into PNG frames (kept in the engine's cache by
:mod:`rnnlib.slider_frames`, so a re-executed chapter reads them) and returns an HTML block with one
range input per parameter and a few lines of inline JavaScript that swap the frame: it works in
the static book without a kernel and without any external script.  :func:`live` wraps the same
function in an ``ipywidgets.interactive`` control for readers running the notebook, and
:func:`live_html` does the same for a function that returns HTML (chapter 8's theory calculator,
:func:`rnnlib.ledger_view.theory_calculator_html`).

Why the live controls set their output widget's ``outputs`` instead of displaying into it: the
book's executor (nbclient, under myst-nb and jupyter-cache) plays the widget front end.  When a
cell displays into an ``ipywidgets.Output`` (``with out: display(fig)``, which is what
``ipywidgets.interact`` does), nbclient echoes every captured output back to the kernel as a
``comm_msg`` on the shell socket while it waits on that same socket for the cell's
``execute_reply``; if the reply arrives during that send, its wake-up is lost and the cell waits
until its timeout (600 s in the book) with both processes idle (upstream jupyter/nbclient#312;
issue 16).  Setting ``Output.outputs`` is a widget state change that the kernel publishes on IOPub,
which nbclient only records, so the executor never sends anything during a cell; the state is
saved in the notebook and the static page renders it.
"""
from __future__ import annotations

import base64
import functools
import html
import json
import uuid
from typing import Callable, Mapping, Sequence

from .slider_frames import figure_png, slider_frames

__all__ = ["slider", "live", "live_html", "output_of", "figure_png", "SliderHTML"]


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
           labels: Mapping[str, str] | None = None, dpi: int = 90, seed_id: str | None = None,
           cache_dir=None) -> SliderHTML:
    """Render ``plot(**params)`` at every point of ``grid`` and return a kernel-free slider.

    Args:
        plot: ``plot(**params) -> matplotlib.figure.Figure``.
        grid: parameter name -> list of values; one range input per parameter.
        fixed: extra keyword arguments passed to every call.
        labels: display names of the parameters (default: the names).
        dpi: resolution of the frames.
        seed_id: a fixed element id (default: random), for reproducible HTML.
        cache_dir: the engine's cache for the frames (:mod:`rnnlib.slider_frames`: only a module-level
            function of ``rnnlib`` over plain JSON values is cached); ``None``: the default; ``False``: none.

    Returns:
        a :class:`SliderHTML`; its frame changes in the browser as the inputs move.
    """
    grid = _check_grid(grid)
    fixed = dict(fixed or {})
    labels = dict(labels or {})
    names = list(grid)
    frames = slider_frames(plot, grid, fixed, dpi, cache_dir=cache_dir)
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


def output_of(obj, *, dpi: int = 90) -> dict:
    """One Jupyter ``display_data`` output (an nbformat output dict) showing ``obj``.

    A matplotlib Figure becomes a PNG at ``dpi`` (and is closed); a ``str`` is HTML; any other
    object must have ``_repr_html_``.  The dict is what an ``ipywidgets.Output`` holds in its
    ``outputs`` and what the notebook saves as that widget's state.
    """
    from matplotlib.figure import Figure

    if isinstance(obj, Figure):
        label = obj.get_suptitle() if hasattr(obj, "get_suptitle") else ""
        png = base64.b64encode(figure_png(obj, dpi=dpi)).decode("ascii")
        data = {"image/png": png, "text/plain": f"<Figure {label}>" if label else "<Figure>"}
    elif isinstance(obj, str):
        data = {"text/html": obj, "text/plain": "<HTML>"}
    elif callable(getattr(obj, "_repr_html_", None)):
        data = {"text/html": obj._repr_html_(), "text/plain": "<HTML>"}
    else:
        raise TypeError("a live control's function must return a matplotlib Figure, an HTML str or an "
                        f"object with _repr_html_, got {type(obj).__name__}")
    return {"output_type": "display_data", "data": data, "metadata": {}}


def _request_type() -> str | None:
    """The message type of the kernel request being handled (``execute_request``, ``comm_msg``...).

    None outside a kernel.  A control's value changes by a front end's ``comm_msg``; during a cell
    (``execute_request``) the book's executor may be the front end (see the module docstring).
    """
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - IPython comes with ipywidgets
        return None
    ip = get_ipython()
    if ip is None or not hasattr(ip, "get_parent"):
        return None
    return ((ip.get_parent() or {}).get("header") or {}).get("msg_type")


@functools.cache
def _live_control_class():
    """``ipywidgets.interactive`` whose output widget is set, never displayed into (defined on first
    use: :func:`slider` needs no ipywidgets)."""
    import ipywidgets

    class LiveControl(ipywidgets.interactive):
        """The controls of ``interactive`` and one ``Output`` whose ``outputs`` each update sets."""

        def __init__(self, render: Callable, fixed: Mapping, dpi: int, controls: Mapping):
            self._render, self._fixed, self._dpi = render, dict(fixed), dpi
            # interactive calls update() once, for the initial values, before returning
            super().__init__(self._call, **controls)

        def _call(self, **params):
            return self._render(**params, **self._fixed)

        def update(self, *args):
            params = {w._kwarg: w.get_interact_value() for w in self.kwargs_widgets}
            self.kwargs = params
            if _request_type() == "comm_msg":
                # a reader moved a control in a running notebook: the figure may take a while (it
                # may retrain), so its progress bars and any error show in the output area meanwhile;
                # no executor is involved, so capturing output is safe here
                with self.out:
                    self.out.clear_output(wait=True)
                    try:
                        shown = output_of(self.f(**params), dpi=self._dpi)
                    except Exception:
                        from IPython import get_ipython

                        get_ipython().showtraceback()
                        return
            else:
                # during a cell (or outside a kernel): no capture, and an error fails the cell
                shown = output_of(self.f(**params), dpi=self._dpi)
            self.result = shown
            self.out.outputs = (shown,)

    return LiveControl


def live(plot: Callable, grid: Mapping[str, Sequence], *, fixed: Mapping | None = None,
         continuous_update: bool = False, dpi: int = 90) -> None:
    """Display a live control over ``grid`` that draws ``plot(**params, **fixed)`` (needs a kernel).

    Each grid entry becomes a selection slider starting at the middle of its values; ``plot`` may
    take long (it may retrain), so updates happen on release unless ``continuous_update``.  The
    figure is drawn once by the call (an error in it fails the cell) and then whenever a control
    moves, as a PNG set into the control's ``Output`` widget (see the module docstring: no output is
    captured during a cell, so the book's executor cannot stall).  The control is displayed by the
    call and nothing is returned, so it shows once whether or not the call ends the cell.

    Args:
        plot: ``plot(**params, **fixed) -> matplotlib.figure.Figure``.
        grid: parameter name -> list of values (non-empty).
        fixed: keyword arguments passed to every call.
        continuous_update: redraw while a slider is dragged, not only on release.
        dpi: resolution of the figure.
    """
    import ipywidgets
    from IPython.display import display

    grid = _check_grid(grid)
    controls = {n: ipywidgets.SelectionSlider(options=v, value=v[len(v) // 2], description=n,
                                              continuous_update=continuous_update)
                for n, v in grid.items()}
    display(_live_control_class()(plot, fixed or {}, dpi, controls))


def live_html(render: Callable, *, fixed: Mapping | None = None, **controls) -> None:
    """Display a live control whose output is the HTML that ``render(**params, **fixed)`` returns.

    ``controls`` are given as to ``ipywidgets.interact``: a widget, a list of options, a number
    range ``(min, max[, step])``.  Like :func:`live`, it sets the output widget's ``outputs``
    (never displays into it), draws once in the call and returns nothing.

    Args:
        render: ``render(**params, **fixed) -> str`` (HTML) or an object with ``_repr_html_``.
        fixed: keyword arguments passed to every call.
        **controls: one control per parameter of ``render``.
    """
    from IPython.display import display

    if not controls:
        raise ValueError("live_html needs at least one control (keyword argument), got none")
    display(_live_control_class()(render, fixed or {}, 90, controls))
