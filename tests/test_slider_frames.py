"""rnnlib.slider_frames: a slider's frames read from the engine's cache are the frames it renders."""
import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from rnnlib import widgets  # noqa: E402
from rnnlib.plots import concept_class as cc  # noqa: E402
from rnnlib.slider_frames import FramesResult, frames_config, render_frames, slider_frames  # noqa: E402

GRID = {"length": [3, 4], "phi": ["z", "z^2"]}
FIXED = {"n_stats": 20, "n_sequences": 2}


def test_cached_frames_equal_rendered_frames_and_are_read_back(tmp_path, monkeypatch):
    fresh = render_frames(cc.plot_concept_explorer, GRID, FIXED, 40)
    assert len(fresh) == 4
    assert slider_frames(cc.plot_concept_explorer, GRID, FIXED, 40, cache_dir=tmp_path) == fresh
    assert len(list(tmp_path.glob("*.json"))) == 1

    def boom(*a, **k):
        raise AssertionError("rendered again although cached")
    monkeypatch.setattr("rnnlib.slider_frames.render_frames", boom)
    assert slider_frames(cc.plot_concept_explorer, GRID, FIXED, 40, cache_dir=tmp_path) == fresh
    html = widgets.slider(cc.plot_concept_explorer, GRID, fixed=FIXED, dpi=40, seed_id="s", cache_dir=tmp_path).html
    assert all(f in html for f in fresh.values())


def test_the_key_holds_grid_fixed_dpi_and_function():
    base = frames_config(cc.plot_concept_explorer, GRID, FIXED, 40)
    assert base is not None and base.plot == "rnnlib.plots.concept_class:plot_concept_explorer"
    others = [frames_config(cc.plot_concept_explorer, {"length": [3, 5], "phi": ["z", "z^2"]}, FIXED, 40),
              frames_config(cc.plot_concept_explorer, GRID, {"n_stats": 21, "n_sequences": 2}, 40),
              frames_config(cc.plot_concept_explorer, GRID, FIXED, 41),
              frames_config(cc.plot_taylor_truncations, GRID, FIXED, 40)]
    assert all(o.to_dict() != base.to_dict() for o in others)
    with matplotlib.rc_context({"lines.linewidth": 7}):  # settings that change the PNG change the key
        assert frames_config(cc.plot_concept_explorer, GRID, FIXED, 40).to_dict() != base.to_dict()


def test_plots_that_may_close_over_data_are_not_cached(tmp_path):
    data = [1.0]

    def local(length, phi, **k):
        return cc.plot_concept_explorer(length, phi, **k)
    assert frames_config(local, GRID, FIXED, 40) is None
    assert frames_config(lambda **k: data, GRID, FIXED, 40) is None
    assert frames_config(cc.plot_concept_explorer, {"length": [3, (4, 5)]}, FIXED, 40) is None  # not plain JSON
    slider_frames(local, {"length": [3], "phi": ["z"]}, FIXED, 40, cache_dir=tmp_path)
    assert not list(tmp_path.glob("*.json"))


def test_a_damaged_entry_is_refused():
    with pytest.raises((TypeError, ValueError)):
        FramesResult.from_dict({"frames": {"0": "not a png"}})
    with pytest.raises((TypeError, ValueError)):
        FramesResult.from_dict({"frames": {}})
