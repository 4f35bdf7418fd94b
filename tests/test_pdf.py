"""The whole-book PDF (issue 17, item 2), as `make pdf` writes it next to the built HTML.

`make test` builds the fast-profile book, runs `make pdf` on it, then this file with
RNNLIB_BOOK_HTML=_build/fast/_build/html. It checks that book.pdf has a plausible number of pages, holds
the title of every chapter (as the built pages show it), one bookmark per page, typeset math (MathJax's
web fonts) on every page that has math, the header of the claims ledger's table,
and embeds at least one image per figure of the chapter pages.
Without Chromium (no PDF can be printed) the tests skip, as the browser tests do, unless
RNNLIB_REQUIRE_BROWSER is set.
"""
from __future__ import annotations

import html
import os
import re
import sys
import unicodedata
from functools import lru_cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "_ext"))

from cdp import INSTALL_HINT, find_chromium  # noqa: E402

HTML = ROOT / os.environ.get("RNNLIB_BOOK_HTML", "_build/fast/_build/html")
PDF = HTML / "book.pdf"
REQUIRED = os.environ.get("RNNLIB_REQUIRE_BROWSER", "") not in ("", "0")
CHAPTER_PAGES = sorted((HTML / "chapters").glob("*.html")) if HTML.is_dir() else []

pytestmark = [
    pytest.mark.book,
    pytest.mark.skipif(not HTML.is_dir(), reason=f"no built book at {HTML}; run `make test` or `make book`"),
    pytest.mark.skipif(find_chromium() is None and not PDF.is_file() and not REQUIRED,
                       reason=f"no book.pdf, and it cannot be printed: {INSTALL_HINT}"),
]


def _squash(text: str) -> str:
    # NFKC: the PDF's text has ligatures (the "fi" of "figures" is one glyph)
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().lower()


@lru_cache(maxsize=1)
def reader():
    from pypdf import PdfReader

    assert PDF.is_file(), f"no {PDF}: run `make pdf` (make test and make book do)"
    return PdfReader(str(PDF))


@lru_cache(maxsize=1)
def pdf_text() -> str:
    return _squash(" ".join(page.extract_text() or "" for page in reader().pages))


def chapter_title(page: Path) -> str:
    """The visible text of the page's first <h1>, without math, the section number and the pilcrow."""
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page.read_text(encoding="utf-8"), re.S).group(1)
    h1 = re.sub(r'<span class="section-number">.*?</span>|<a class="headerlink".*?</a>', "", h1, flags=re.S)
    h1 = re.sub(r'<span class="math[^"]*">.*?</span>', " ", h1, flags=re.S)
    return _squash(html.unescape(re.sub(r"<[^>]+>", "", h1)))


def test_the_book_has_chapter_pages():
    assert len(CHAPTER_PAGES) >= 8, f"only {len(CHAPTER_PAGES)} chapter pages in {HTML}"


def test_page_count():
    from book_pdf import toc_pages

    n = len(reader().pages)
    n_docs = len(toc_pages(ROOT))
    # at least a page per document and more for the chapters, and not a runaway layout
    assert n_docs + len(CHAPTER_PAGES) <= n <= 60 * n_docs, f"{n} PDF pages for {n_docs} documents"


@pytest.mark.parametrize("page", [p.name for p in CHAPTER_PAGES])
def test_every_chapter_title_is_in_the_pdf(page):
    title = chapter_title(HTML / "chapters" / page)
    words = [w for w in re.split(r"[^\w]+", title) if w]
    assert words, f"{page}: no title found"
    # the title's words in order (math, dashes and line breaks may separate them in the PDF's text)
    pattern = r"\W+".join(re.escape(w) for w in words)
    assert re.search(pattern, pdf_text()), f"{page}: title {title!r} is not in book.pdf"


def test_the_pdf_embeds_the_figures():
    figures = set()
    for page in CHAPTER_PAGES:
        text = page.read_text(encoding="utf-8")
        figures |= {(page.name, src) for src in re.findall(r'<img[^>]+src="([^"]*_images/[^"]+)"', text)}
    images = sum(len(p.images) for p in reader().pages)
    assert figures, "the chapter pages show no figures"
    assert images >= len(figures), f"book.pdf embeds {images} images, the chapters show {len(figures)} figures"


def _document_spans() -> list[tuple[str, range]]:
    """(bookmark title, PDF page indices) of each printed page of the book, from the PDF's outline."""
    r = reader()
    starts = [(item.title, r.get_destination_page_number(item)) for item in r.outline if not isinstance(item, list)]
    ends = [s for _, s in starts[1:]] + [len(r.pages)]
    return [(title, range(start, end)) for (title, start), end in zip(starts, ends)]


def _has_web_font(page) -> bool:
    """Chromium embeds MathJax's web fonts (CHTML output) as Type3 fonts; system fonts are Type0."""
    fonts = ((page.get("/Resources") or {}).get("/Font") or {}).values()
    return any(f.get_object().get("/Subtype") == "/Type3" for f in fonts)


def test_every_page_of_the_book_is_bookmarked_in_order():
    from book_pdf import toc_pages

    titles = [t for t, _ in _document_spans()]
    assert len(titles) == len(toc_pages(ROOT)), f"bookmarks {titles}"
    for page in CHAPTER_PAGES:
        assert any(chapter_title(page).split()[0] in _squash(t) for t in titles), f"no bookmark for {page.name}"


def test_pages_with_math_print_typeset_math():
    from book_pdf import toc_pages

    spans = _document_spans()
    for (title, span), page in zip(spans, toc_pages(ROOT)):
        if 'class="math' in (HTML / page).read_text(encoding="utf-8"):
            assert any(_has_web_font(reader().pages[i]) for i in span), f"{page} ({title}): no typeset math in book.pdf"


def _cells(row_html: str, tag: str) -> list[str]:
    return [_squash(html.unescape(re.sub(r"<[^>]+>", " ", c)))
            for c in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", row_html, re.S)]


def test_the_pdf_holds_the_ledger_table():
    ledger = next(p for p in CHAPTER_PAGES if "ledger" in p.name)
    tables = re.findall(r"<table.*?</table>", ledger.read_text(encoding="utf-8"), re.S)
    table = next((t for t in tables if "verdict" in _cells(t, "th")), None)
    assert table, "the ledger page has no table with a Verdict column"
    headers = [h for h in _cells(table, "th") if h]
    assert all(h in pdf_text() for h in headers), f"the ledger's header {headers} is not in book.pdf"
    rows = [_cells(r, "td") for r in re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)]
    claims = [r[headers.index("claim") + 1] if len(r) == len(headers) + 1 else r[0] for r in rows if r][:5]
    # compared without spaces and punctuation: a narrow printed column breaks lines, and long words, anywhere
    flat = re.sub(r"\W+", "", pdf_text())
    for claim in claims:
        words = "".join([w for w in re.split(r"[^\w]+", claim) if w][:6])
        assert words in flat, f"ledger row {claim[:60]!r} is not in book.pdf"


def test_exercise_solutions_are_printed_open():
    """A printed dropdown cannot be opened: _ext/book_pdf.py opens the solutions before printing."""
    solutions = []
    for page in CHAPTER_PAGES:
        text = page.read_text(encoding="utf-8")
        for body in re.findall(r'<div class="solution[^"]*dropdown[^"]*"[^>]*>.*?<section[^>]*>\s*<p>(.*?)</p>', text, re.S):
            solutions.append((page.name, _squash(html.unescape(re.sub(r"<[^>]+>", " ", body)))))
    if not solutions:
        pytest.skip("the chapters have no exercises (add them with the exercise script)")
    for page, first in solutions:
        words = [w for w in re.split(r"[^\w]+", re.sub(r"\\\(.*?\\\)", " ", first)) if w][:5]
        assert re.search(r"\W+".join(map(re.escape, words)), pdf_text()), f"{page}: solution {first[:60]!r} not in book.pdf"
