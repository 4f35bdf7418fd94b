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


# ---------------------------------------------------------------------------------------------
# Issue 14: what a reader must never see. Visible text only: input cells and code shown on purpose
# (appendix/making_the_book.md) are code, not output; an output's repr or a sentence is checked.

# Python reprs that mean an unformatted value reached the page (a print of a dict, an array, a numpy
# scalar, an object without a display).
REPRS = {
    r"np\.(?:float|int|uint|bool|str)\w*\(": "a numpy scalar repr (np.float64(...))",
    r"\barray\(": "a numpy array repr",
    r"\btensor\(": "a torch tensor repr",
    r"\bdtype=": "a dtype in a repr",
    r"\{'": "a dict (or set) repr with string keys",
    r"\['": "a list repr with string items",
    r"\{-?\d+(?:\.\d+)?: ": "a dict repr with number keys",
    r"<rnnlib\.": "an rnnlib object repr",
    r" object at 0x[0-9a-f]+": "a default object repr",
    r"\b[A-Z]\w*Warning: ": "a Python warning printed into the page (stderr of a cell)",
    r"\[\s*-?\d*\.\d+(?:e[-+]?\d+)?(?:\s+-?\d*\.\d+(?:e[-+]?\d+)?)+\s*\]": "a printed numpy array ([0.1 0.2])",
}


def visible_text(page: Path) -> str:
    """What a reader reads on ``page``: the HTML without input cells, code blocks outside cell outputs,
    inline code, scripts and styles. Cell outputs (text, tables) and prose stay."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for tag in soup(["script", "style", "code", "nav", "header", "footer"]):
        tag.decompose()
    for tag in soup.select("div.cell_input"):
        tag.decompose()
    for tag in soup.select("div[class*='highlight-']"):
        if not tag.find_parent("div", class_="cell_output"):
            tag.decompose()
    return soup.get_text(" ")


def test_no_page_refers_to_paper_md():
    """paper.md is the authors' working copy, not part of the book: cite the paper's section instead."""
    hits = [str(p.relative_to(HTML)) for p in pages() if "paper.md" in p.read_text(encoding="utf-8")]
    assert not hits, f"pages that refer to paper.md: {hits}"


@pytest.mark.parametrize("doc", toc_files())
def test_no_python_reprs_in_pages(doc):
    page = HTML / f"{doc}.html"
    text = visible_text(page)
    hits = [f"{REPRS[pattern]}: ...{' '.join(text[max(0, m.start() - 60):m.end() + 60].split())}..."
            for pattern in REPRS for m in re.finditer(pattern, text)]
    assert not hits, f"{doc}.html shows raw Python output; print a sentence or a table instead:\n" + "\n".join(hits)


# A glue role or directive in the source. myst-nb renders a role whose key is missing as nothing at all
# (the sentence just loses its number) and only warns "No key 'k' found in glue data for this document"
# [mystnb.glue]; a missing glue:figure leaves no figure. The page carries no marker, so the checks below
# read the sources: every key must be glued by an executed notebook of this build, and every glue:text
# role must have its pasted value on the page.
_GLUE_ROLE = re.compile(r"\{glue(?::(\w+))?\}`([^`]+)`")
_FENCE = re.compile(r"^\s*(`{3,}|~{3,}|:{3,})\s*(?:\{([\w:-]+)\}\s*(\S*))?")


def _prose_and_directives(text: str) -> tuple[str, list[tuple[str, str, dict]]]:
    """MyST markdown split into its text without code (fenced blocks that are not directives, with
    everything nested in them, such as a glue:figure shown as an example; ``double-backtick`` code
    spans) and its directives ``(name, argument, options)``."""
    lines, out, directives, open_fences, i = text.splitlines(), [], [], [], 0
    while i < len(lines):
        line = lines[i]
        if open_fences and re.match(rf"^\s*{re.escape(open_fences[-1][0])}{{{len(open_fences[-1])},}}\s*$", line):
            open_fences.pop()                       # the end of a directive
            i += 1
            continue
        m = _FENCE.match(line)
        if m and m.group(2):                        # a directive: keep its content, read its options
            open_fences.append(m.group(1))
            options, i = {}, i + 1
            while i < len(lines) and (o := re.match(r"^\s*:([\w-]+):\s*(.*)$", lines[i])):
                options[o.group(1)] = o.group(2).strip()
                i += 1
            directives.append((m.group(2), m.group(3), options))
            continue
        if m:                                       # code: skip to its closing fence
            fence = m.group(1)
            i += 1
            while i < len(lines) and not re.match(rf"^\s*{re.escape(fence[0])}{{{len(fence)},}}\s*$", lines[i]):
                i += 1
            i += 1
            continue
        out.append(line)
        i += 1
    return re.sub(r"``.+?``", " ", "\n".join(out)), directives


def glue_references(source: Path) -> list[tuple[str, str, str]]:
    """``(kind, document, key)`` of every glue role and directive in a page's source (the markdown
    cells of a notebook, or a MyST markdown file), without code that shows the syntax. ``document``
    is the page's own, or the one named by ``path::key`` or a directive's ``:doc:``; a glue:text
    role's format is dropped."""
    import json

    if source.suffix == ".ipynb":
        cells = json.loads(source.read_text(encoding="utf-8"))["cells"]
        text = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    else:
        text = source.read_text(encoding="utf-8")
    prose, directives = _prose_and_directives(text)
    own = str(source.relative_to(ROOT).with_suffix(""))
    found = [(m.group(1) or "any", m.group(2).strip(), "") for m in _GLUE_ROLE.finditer(prose)]
    found += [(name.partition(":")[2] or "any", arg, opts.get("doc", "")) for name, arg, opts in directives
              if name.partition(":")[0] == "glue"]
    refs = []
    for kind, ref, doc_option in found:
        doc, _, key = ref.rpartition("::")
        if kind == "text":
            key = key.partition(":")[0]
        doc = doc or doc_option
        refs.append((kind, str(Path(doc).with_suffix("")) if doc else own, key))
    return refs


def glued_keys() -> dict[str, set[str] | None]:
    """``{document: keys}``: the keys each executed page of the book glued in this build.

    myst-nb takes the glued outputs out of the notebook it renders (and out of jupyter_execute/), so
    they are read from the build's execution cache (``execute_notebooks: cache`` in _config.yml), where
    a glued output carries ``metadata.scrapbook.name``. A notebook's record is the one jupyter-cache
    matches to the notebook's current code, as myst-nb does; None when there is none (the book was
    built from other code). A MyST markdown page counts with its latest record.
    """
    import nbformat
    from jupyter_cache import get_cache

    cache_dir = HTML.parent / ".jupyter_cache"
    if not cache_dir.is_dir():
        pytest.skip(f"no execution cache at {cache_dir} (the build did not use execute_notebooks: cache)")
    cache = get_cache(str(cache_dir))
    records = {}
    for record in cache.list_cache_records():
        path = Path(record.uri).resolve()
        if path.is_relative_to(ROOT) and path.suffix == ".md":
            doc = str(path.relative_to(ROOT).with_suffix(""))
            if doc not in records or record.created > records[doc].created:
                records[doc] = record
    for nb in ROOT.glob("chapters/*.ipynb"):
        try:
            records[str(nb.relative_to(ROOT).with_suffix(""))] = cache.match_cache_notebook(
                nbformat.read(nb, as_version=4))
        except KeyError:
            records[str(nb.relative_to(ROOT).with_suffix(""))] = None
    return {doc: None if record is None else {
        o["metadata"]["scrapbook"]["name"] for c in cache.get_cache_bundle(record.pk).nb.cells
        if c.cell_type == "code" for o in c.get("outputs", []) if "scrapbook" in o.get("metadata", {})}
        for doc, record in records.items()}


def _sources() -> list[Path]:
    found = []
    for doc in toc_files():
        found += [ROOT / f"{doc}{ext}" for ext in (".ipynb", ".md") if (ROOT / f"{doc}{ext}").is_file()]
    return found


def test_every_glue_key_resolves():
    """Every key a page pastes was glued by the notebook it names, in this build."""
    glued, missing, stale = glued_keys(), [], set()
    for source in _sources():
        for kind, doc, key in glue_references(source):
            if glued.get(doc) is None:
                stale.add(doc)
            elif key not in glued[doc]:
                missing.append(f"{source.relative_to(ROOT)}: {kind} {doc}::{key}")
    assert not stale, f"the build holds no execution of the current code of {sorted(stale)}: rebuild the book"
    assert not missing, "glue keys that no executed cell glued (they render as nothing):\n" + "\n".join(missing)


def test_every_glued_text_is_rendered():
    """The page shows one pasted value per ``{glue:text}`` role of its source (a missing key leaves none)."""
    short = []
    for source in _sources():
        page = HTML / source.relative_to(ROOT).with_suffix(".html")
        roles = sum(kind == "text" for kind, _, _ in glue_references(source))
        pasted = page.read_text(encoding="utf-8").count('class="pasted-text"') if page.is_file() else 0
        if pasted < roles:
            short.append(f"{page.relative_to(HTML)}: {pasted} pasted values for {roles} glue:text roles")
    assert not short, "glued text missing from pages:\n" + "\n".join(short)
