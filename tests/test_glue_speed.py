"""rnnlib.glue writes a glued value exactly as myst_nb.glue(..., display=False) does, without importing it."""
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402
from IPython.display import HTML, Markdown  # noqa: E402

from rnnlib import glue  # noqa: E402


def _captured(monkeypatch, fn, *args):
    import IPython.display
    seen = []
    monkeypatch.setattr(IPython.display, "display", lambda *a, **k: seen.append((a, k)))
    fn(*args)
    return seen


@pytest.mark.parametrize("value", [0.25, 3, "a b", Markdown("| a |\n|---|\n| 1 |"), HTML("<b>x</b>")])
def test_the_same_output_as_myst_nb(monkeypatch, value):
    from myst_nb.ext import glue as myst_glue
    seen = []
    monkeypatch.setattr(myst_glue, "ipy_display", lambda *a, **k: seen.append((a, k)))
    myst_glue.glue("k", value, display=False)
    assert _captured(monkeypatch, glue._myst_glue, "k", value) == seen
    assert glue.GLUE_PREFIX == myst_glue.GLUE_PREFIX


def test_a_figure_gives_the_same_output_as_myst_nb(monkeypatch):
    import matplotlib.pyplot as plt
    from myst_nb.ext import glue as myst_glue
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    seen = []
    monkeypatch.setattr(myst_glue, "ipy_display", lambda *a, **k: seen.append((a, k)))
    myst_glue.glue("f", fig, display=False)
    assert _captured(monkeypatch, glue._myst_glue, "f", fig) == seen
    plt.close(fig)


def test_gluing_does_not_import_nbformat():
    code = ("import sys, rnnlib.glue as g; g.glue_all({'x': 1.5, 'y': 'z'}); "
            "print('nbformat' in sys.modules, 'myst_nb' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
