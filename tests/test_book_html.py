"""Checks of a built HTML book (design section 8: "a fast-profile build ... then a check of the HTML").

`make test` builds the fast-profile book into _build/fast and runs this file with
RNNLIB_BOOK_HTML=_build/fast/_build/html; `make book` runs it on the full build (_build/html).
Without a built book the tests skip, and the plain unit-test run deselects them (marker `book`).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
from book_pdf import toc_documents  # noqa: E402  (the book's own reading of _toc.yml)

HTML = ROOT / os.environ.get("RNNLIB_BOOK_HTML", "_build/fast/_build/html")

pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(not HTML.is_dir(), reason=f"no built book at {HTML}; run `make test` or `make book`"),
]

# What a failed or half-rendered cell, role or directive leaves in the HTML.
BAD_MARKERS = {
    "Traceback": "a Python traceback",
    'class="output error"': "an error output",
    'class="problematic"': "an unresolved reference or role",
    'class="system-message"': "a docutils error message",
}


def toc_files() -> list[str]:
    """Every document named in _toc.yml (root and all nested entries), without extension."""
    return toc_documents(ROOT)


def pages() -> list[Path]:
    return sorted(p for p in HTML.rglob("*.html") if "_static" not in p.parts and "_sources" not in p.parts)


def test_index_exists():
    assert (HTML / "index.html").is_file(), f"{HTML / 'index.html'} is missing"


def test_every_toc_entry_has_a_page():
    missing = [f for f in toc_files() if not (HTML / f"{f}.html").is_file()]
    assert not missing, f"_toc.yml entries without an HTML page in {HTML}: {missing}"


def test_toc_lists_every_chapter_notebook():
    listed = set(toc_files())
    notebooks = {str(p.relative_to(ROOT).with_suffix("")) for p in (ROOT / "chapters").glob("*.ipynb")}
    assert not notebooks - listed, f"chapters missing from _toc.yml: {sorted(notebooks - listed)}"


@pytest.mark.parametrize("marker", sorted(BAD_MARKERS))
def test_no_failure_traces_in_pages(marker):
    hits = [str(p.relative_to(HTML)) for p in pages() if marker in p.read_text(encoding="utf-8")]
    assert not hits, f"{BAD_MARKERS[marker]} ({marker!r}) rendered in: {hits}"


def test_pages_load_nothing_from_the_network():
    """Math and widgets must render offline (design section 1): no script or stylesheet from a CDN.

    MathJax, RequireJS and the widget manager are fetched from npm by `make assets` and copied into
    the output's _static/ (html_extra_path); _config.yml points mathjax_path and nb_ipywidgets_js at
    them. tests/test_browser.py checks the same in a browser, request by request.
    """
    external = re.compile(r"<(?:script|link)\b[^>]*\b(?:src|href)=\"(?:https?:)?//[^\"]*\"[^>]*>")
    hits = []
    for p in pages():
        for tag in external.findall(p.read_text(encoding="utf-8")):
            if "<link" in tag and 'rel="stylesheet"' not in tag and 'rel="preload"' not in tag:
                continue  # ordinary hyperlinks in <link rel="canonical"> etc. load nothing
            hits.append(f"{p.relative_to(HTML)}: {tag}")
    assert not hits, "pages load resources from the network:\n" + "\n".join(hits)
    for asset in ("mathjax/tex-chtml-full.js", "ipywidgets/require.js", "ipywidgets/embed-amd.js"):
        assert (HTML / "_static" / asset).is_file(), f"_static/{asset} not copied into the book (`make assets`)"


def test_citations_resolve():
    """sphinxcontrib-bibtex renders an unknown key as its bare label; a resolved one links to the bibliography."""
    unresolved = []
    for p in pages():
        # Code may show the role's syntax on purpose (appendix/making_the_book.md).
        text = re.sub(r"<(pre|code)\b.*?</\1>", "", p.read_text(encoding="utf-8"), flags=re.S)
        unresolved += [f"{p.relative_to(HTML)}: {m}" for m in re.findall(r"\{cite[:a-z]*\}`[^`]*`", text)]
    assert not unresolved, f"cite roles left unrendered: {unresolved}"
    bib = HTML / "bibliography.html"
    if bib.is_file():
        assert "Allen-Zhu" in bib.read_text(encoding="utf-8"), "bibliography page lists no references"
