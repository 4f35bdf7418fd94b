"""_ext/widget_ids.py: executed pages get widget model ids derived from the page, not random ones (issue 12),
so re-executing a page with widgets gives the same notebook, hence the same HTML and no PDF to print again."""
from __future__ import annotations

import copy
import json
import re
import sys
import uuid
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import widget_ids as wi  # noqa: E402

STATE, VIEW = wi.STATE_MIME, wi.VIEW_MIME


def _widget_notebook() -> dict:
    """Two cells showing a VBox of a slider and a label, as nbclient saves it, with fresh random ids."""
    box, slider, label, layout = (uuid.uuid4().hex for _ in range(4))
    view = {"model_id": box, "version_major": 2, "version_minor": 0}
    state = {
        layout: {"model_name": "LayoutModel", "state": {}},
        slider: {"model_name": "IntSliderModel", "state": {"value": 3, "layout": f"IPY_MODEL_{layout}"}},
        label: {"model_name": "LabelModel", "state": {"value": "x", "layout": f"IPY_MODEL_{layout}"}},
        box: {"model_name": "VBoxModel", "state": {"children": [f"IPY_MODEL_{slider}", f"IPY_MODEL_{label}"]}},
    }
    cells = [{"cell_type": "code", "id": "a", "metadata": {}, "execution_count": 1, "source": "box",
              "outputs": [{"output_type": "display_data", "metadata": {},
                           "data": {"text/plain": "VBox(...)", VIEW: view}}]},
             {"cell_type": "code", "id": "b", "metadata": {}, "execution_count": 2, "source": "1",
              "outputs": [{"output_type": "execute_result", "execution_count": 2, "metadata": {},
                           "data": {"text/plain": "1"}}]}]
    return {"cells": cells, "metadata": {"widgets": {STATE: {"state": state, "version_major": 2, "version_minor": 0}}},
            "nbformat": 4, "nbformat_minor": 5}


def test_two_executions_give_the_same_notebook_and_the_widgets_stay_linked():
    one, two = _widget_notebook(), _widget_notebook()
    old = wi.model_ids(one)
    assert len(old) == 4 and old != wi.model_ids(two)
    assert wi.canonicalize(one, "chapters/02_concept_class") == 4
    assert wi.canonicalize(two, "chapters/02_concept_class") == 4
    assert json.dumps(one, sort_keys=True) == json.dumps(two, sort_keys=True)
    text = json.dumps(one)
    assert not any(i in text for i in old)
    state = one["metadata"]["widgets"][STATE]["state"]
    # every reference and every view names a model of the saved state, and the structure is kept
    refs = set(re.findall(r"IPY_MODEL_([0-9a-f]{32})", text))
    view = one["cells"][0]["outputs"][0]["data"][VIEW]["model_id"]
    assert refs | {view} <= set(state) and state[view]["model_name"] == "VBoxModel"
    kids = [c.removeprefix("IPY_MODEL_") for c in state[view]["state"]["children"]]
    assert [state[k]["model_name"] for k in kids] == ["IntSliderModel", "LabelModel"]
    # ids follow the order of first appearance: the view of cell 1 first, then the state in its order
    assert view == wi.canonical_id("chapters/02_concept_class", 0)
    assert set(state) == {wi.canonical_id("chapters/02_concept_class", i) for i in range(4)}


def test_pages_get_different_ids_and_a_page_without_widgets_is_left_alone():
    one, two = _widget_notebook(), _widget_notebook()
    wi.canonicalize(one, "chapters/02_concept_class")
    wi.canonicalize(two, "chapters/08_claims_ledger")
    assert not wi.model_ids(one) & wi.model_ids(two)
    plain = {"cells": [{"cell_type": "markdown", "source": "x", "metadata": {}}], "metadata": {}}
    before = copy.deepcopy(plain)
    assert wi.canonicalize(plain, "intro") == 0 and plain == before


def test_a_notebook_node_stays_a_notebook_node():
    nb = nbformat.from_dict(_widget_notebook())
    wi.canonicalize(nb, "p")
    assert nb.cells[0].outputs[0].data[VIEW].model_id == wi.canonical_id("p", 0)
    nbformat.validate(nb)


@pytest.mark.parametrize("page, index", [("", 0), (None, 0), ("p", -1), ("p", True), ("p", 1.0)])
def test_canonical_id_checks_its_arguments(page, index):
    with pytest.raises(ValueError):
        wi.canonical_id(page, index)


def test_canonicalize_needs_a_notebook():
    with pytest.raises(TypeError, match="nb must be a notebook"):
        wi.canonicalize(["cells"], "p")


@pytest.mark.executor
def test_a_widget_page_executed_twice_gives_the_same_notebook(tmp_path):
    """Through the book's executor (execute_book.execute_page, which renames the ids): byte-identical."""
    import execute_book as eb

    source = ("import ipywidgets\nbox = ipywidgets.VBox([ipywidgets.IntSlider(value=3), ipywidgets.Label('x')])\n"
              "display(box)")
    texts = []
    for _ in range(2):
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source, id="c1")],
                                      metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                               "language": "python"}})
        page = eb.Page("pages/widgets", tmp_path / "widgets.ipynb", nb, timeout=120)
        assert not eb.execute_page(page).failed
        assert len(wi.model_ids(page.nb)) >= 3          # the box, its two children (and their layouts)
        texts.append(nbformat.writes(page.nb))
    assert texts[0] == texts[1]
