import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from rnnlib.widgets import slider  # noqa: E402


def _plot(a, b=1):
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, a * b])
    ax.set_title(f"{a} {b}")
    return fig


def test_slider_renders_one_distinct_frame_per_grid_point():
    s = slider(_plot, {"a": [1, 2, 3], "b": [1, -1]}, seed_id="x1")
    assert s.n_frames == 6
    html = s._repr_html_()
    assert html.count('type="range"') == 2 and 'id="x1"' in html
    assert "http" not in html  # no external script or image
    frames = html.split("rnnlib-slider-frames\">")[1].split("</script>")[0]
    import json
    data = json.loads(frames)
    assert len(set(data.values())) == 6


def test_slider_rejects_an_empty_grid():
    with pytest.raises(ValueError, match="grid"):
        slider(_plot, {})
    with pytest.raises(ValueError, match="grid\\['a'\\]"):
        slider(_plot, {"a": []})


def test_live_displays_one_interactive_control_and_returns_nothing(monkeypatch):
    """The control shows once, whether or not the call ends a cell, and replots when it moves."""
    import IPython.display
    import ipywidgets

    from rnnlib.widgets import live

    shown, calls = [], []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))

    def plot(a, b):
        calls.append((a, b))
        return _plot(a, b)

    assert live(plot, {"a": [1, 2, 3]}, fixed={"b": 5}) is None
    controls = [o for o in shown if isinstance(o, ipywidgets.interactive)]
    assert len(controls) == 1
    assert calls == [(2, 5)]  # drawn once at the middle of the grid
    controls[0].children[0].value = 3
    assert calls == [(2, 5), (3, 5)]


def test_live_sets_its_output_widget_and_never_displays_into_it(monkeypatch):
    """The figure is the Output widget's state (what the book saves), not output captured into it."""
    import base64

    import IPython.display
    import ipywidgets

    from rnnlib.widgets import live

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    entered = []
    monkeypatch.setattr(ipywidgets.Output, "__enter__", lambda self: entered.append(self))
    live(_plot, {"a": [1, 2, 3]}, fixed={"b": 5})
    (control,) = shown
    (out,) = [c for c in control.children if isinstance(c, ipywidgets.Output)]
    (first,) = out.outputs
    assert first["output_type"] == "display_data"
    assert base64.b64decode(first["data"]["image/png"]).startswith(b"\x89PNG")
    control.children[0].value = 1
    assert out.outputs[0]["data"]["image/png"] != first["data"]["image/png"]
    assert entered == []  # outside a front end's message, nothing is captured


def test_live_html_draws_the_returned_html_once_and_on_change(monkeypatch):
    import IPython.display
    import ipywidgets

    from rnnlib.widgets import live_html

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append(obj))
    live_html(lambda n, unit: f"<b>{n} {unit}</b>", fixed={"unit": "s"}, n=ipywidgets.IntSlider(value=3, min=1, max=9))
    (control,) = shown
    out = control.children[-1]
    assert [o["data"]["text/html"] for o in out.outputs] == ["<b>3 s</b>"]
    control.children[0].value = 7
    assert [o["data"]["text/html"] for o in out.outputs] == ["<b>7 s</b>"]
    with pytest.raises(ValueError, match="at least one control"):
        live_html(lambda: "<p>")


def test_output_of_rejects_what_it_cannot_show_and_the_calculator_renders():
    from rnnlib.ledger_view import theory_calculator_html
    from rnnlib.widgets import output_of

    with pytest.raises(TypeError, match="got int"):
        output_of(3)
    html = theory_calculator_html("sin(3z)", 0.1, 10, 1, 256)
    assert html.startswith("<table>") and html.count("<tr>") == 2  # header and one row
    assert output_of(html)["data"]["text/html"] == html
