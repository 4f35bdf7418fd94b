"""nbval's checks on the notebooks the book build executed, without executing them again (issue 16).

`make test` executes each chapter once: the fast-profile book build (myst-nb's cache mode,
``raise_on_error``, so a failing ``assert`` in a cell stops the build) writes every executed page
to ``_build/fast/_build/jupyter_execute/``, and this file applies to those notebooks what
``pytest --nbval-lax --nbval-sanitize-with tests/nbval_sanitize.cfg chapters/`` checked by
re-executing them:

- every code cell ran (it has an execution count), except cells tagged ``skip-execution``, which
  the build leaves alone (chapters 3 and 4's live controls; ``tests/test_live_controls.py``
  executes those under the book's executor);
- no cell output is an error;
- a cell marked ``# NBVAL_CHECK_OUTPUT`` (or tagged ``nbval-check-output``) shows the outputs stored
  in the chapter, compared after the substitutions of ``tests/nbval_sanitize.cfg`` (nbval's own
  parser of that file, and its --nbval-lax rule: only those cells are compared).

``make book`` runs it on the full build.  Marker ``book``: needs a built book, skips without one.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / os.environ.get("RNNLIB_BOOK_HTML", "_build/fast/_build/html")
EXECUTED = HTML.parent / "jupyter_execute"      # where myst-nb writes each executed page
CHAPTERS = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"

pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(not EXECUTED.is_dir(), reason=f"no executed notebooks at {EXECUTED}; run `make test` or `make book`"),
]


def _marked(cell, comment: str, tag: str) -> bool:
    return comment in cell.source or tag in cell.metadata.get("tags", [])


def _sanitize(text: str) -> str:
    import re

    from nbval.plugin import get_sanitize_patterns

    for regex, replace in get_sanitize_patterns(SANITIZE.read_text(encoding="utf-8")):
        text = re.sub(regex, replace, text)
    return text


def _comparable(outputs) -> list:
    """Outputs as nbval compares them: type, text and data (not metadata or counts), sanitized."""
    out = []
    for o in outputs:
        item = {"output_type": o["output_type"]}
        if "text" in o:
            item["text"] = _sanitize(o["text"])
        for mime, value in sorted(o.get("data", {}).items()):
            item[mime] = _sanitize(value if isinstance(value, str) else "".join(value))
        out.append(item)
    return out


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_cell_of_the_chapter_ran_without_error(chapter):
    path = EXECUTED / "chapters" / f"{chapter}.ipynb"
    assert path.is_file(), f"the build did not execute chapters/{chapter}.ipynb (no {path})"
    executed = nbformat.read(path, as_version=4)
    source = nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4)
    code = [(i, c) for i, c in enumerate(executed.cells) if c.cell_type == "code" and c.source.strip()]
    assert [c.source for _, c in code] == [c.source for c in source.cells
                                           if c.cell_type == "code" and c.source.strip()], \
        f"{path} is not the execution of the current chapters/{chapter}.ipynb"
    ran = [c for _, c in code if "skip-execution" not in c.metadata.get("tags", [])]
    assert ran, f"{chapter}: no executable code cell"
    not_run = [i for i, c in code if c in ran and c.execution_count is None]
    assert not not_run, f"{chapter}: cells {not_run} were not executed by the build"
    errors = [(i, o.get("ename")) for i, c in code for o in c.outputs if o.output_type == "error"]
    assert not errors, f"{chapter}: error outputs (cell, exception): {errors}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_checked_outputs_match_the_stored_ones(chapter):
    path = EXECUTED / "chapters" / f"{chapter}.ipynb"
    if not path.is_file():
        pytest.fail(f"the build did not execute chapters/{chapter}.ipynb (no {path})")
    executed = [c for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]
    stored = [c for c in nbformat.read(ROOT / "chapters" / f"{chapter}.ipynb", as_version=4).cells
              if c.cell_type == "code"]
    checked = [(s, e) for s, e in zip(stored, executed) if _marked(s, "# NBVAL_CHECK_OUTPUT", "nbval-check-output")]
    if not checked:
        pytest.skip(f"{chapter} marks no cell # NBVAL_CHECK_OUTPUT (nbval --nbval-lax compares none)")
    for s, e in checked:
        assert _comparable(e.outputs) == _comparable(s.outputs), f"{chapter}: outputs differ in cell\n{s.source}"
