"""Deterministic ipywidgets model ids in the book's executed pages (issue 12: the re-execution time).

Chapter: every page with saved widgets (the appendix "How the book is made and checked"); paper section:
none, this is build tooling.

ipywidgets names each model with a random ``uuid4().hex``, so a page with widgets (chapters 2 and 8, the
appendix on making the book) got new HTML on every execution, and `make pdf` printed it again although
nothing shown had changed. ``_ext/execute_book.py`` calls :func:`canonicalize` on each executed notebook
before storing it in myst-nb's execution cache: every model id of the saved widget state
(``metadata.widgets``) and of the outputs' widget views is replaced, everywhere in the notebook (the views'
``model_id``, the state's keys, its ``IPY_MODEL_<id>`` references, any other text that quotes it), by an
id derived from the page and the order in which the id first appears in the notebook (cells in order,
then the metadata). The mapping is one to one and the new ids have the old form (32 hex digits), so the
widget manager renders the same widgets; only the names change.
"""
from __future__ import annotations

import hashlib
import json
import re
from typing import Any

STATE_MIME = "application/vnd.jupyter.widget-state+json"
VIEW_MIME = "application/vnd.jupyter.widget-view+json"
MODEL_ID = re.compile(r"[0-9a-f]{32}")   # ipywidgets' uuid4().hex


def model_ids(nb: Any) -> set[str]:
    """The widget model ids of a notebook (dict or NotebookNode): the keys of its saved widget state
    and the ``model_id`` of every widget view among its outputs."""
    found = set()
    state = nb.get("metadata", {}).get("widgets", {}).get(STATE_MIME, {}).get("state", {})
    found.update(k for k in state if MODEL_ID.fullmatch(k))
    for cell in nb.get("cells", []):
        for output in cell.get("outputs", []) or []:
            view = (output.get("data") or {}).get(VIEW_MIME)
            model = view.get("model_id") if isinstance(view, dict) else None
            if isinstance(model, str) and MODEL_ID.fullmatch(model):
                found.add(model)
    return found


def canonical_id(page: str, index: int) -> str:
    """The ``index``-th (from 0) model id of ``page`` (a document name such as ``chapters/02_concept_class``)."""
    if not isinstance(page, str) or not page:
        raise ValueError(f"page must be a non-empty document name, got {page!r}")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError(f"index must be a non-negative integer, got {index!r}")
    return hashlib.sha256(f"rnnlib-widget\0{page}\0{index}".encode()).hexdigest()[:32]


def canonicalize(nb: Any, page: str) -> int:
    """Rename ``nb``'s widget model ids in place (see the module docstring); returns how many were renamed.

    ``nb`` is a notebook dict or NotebookNode (its ``cells`` and ``metadata`` are replaced by renamed copies).
    The order of first appearance is read from the notebook's JSON in its own key order (not sorted: the
    state's keys are the random ids themselves, in the order the kernel opened the models)."""
    if not isinstance(nb, dict) or "cells" not in nb:
        raise TypeError(f"nb must be a notebook (a dict with 'cells'), got {type(nb).__name__}")
    ids = model_ids(nb)
    if not ids:
        return 0
    text = json.dumps({"cells": nb["cells"], "metadata": nb.get("metadata", {})}, ensure_ascii=False)
    pattern = re.compile("|".join(sorted(ids)))
    mapping: dict[str, str] = {}
    for match in pattern.finditer(text):
        mapping.setdefault(match.group(0), canonical_id(page, len(mapping)))
    clash = set(mapping.values()) & (set(MODEL_ID.findall(text)) - ids)
    if clash:  # practically impossible (a 128-bit hash equal to a 128-bit id elsewhere); never merge two ids
        raise ValueError(f"canonical widget ids {sorted(clash)} of page {page!r} already occur in it")
    renamed = json.loads(pattern.sub(lambda m: mapping[m.group(0)], text))
    if type(nb).__name__ == "NotebookNode":  # keep nbformat's attribute access
        from nbformat import from_dict
        renamed = from_dict(renamed)
    nb["cells"] = renamed["cells"]
    nb["metadata"] = renamed["metadata"]
    return len(mapping)
