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
