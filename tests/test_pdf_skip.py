"""_ext/book_pdf.py prints book.pdf again only when a page it prints changed (issue 16: the warm build).

No Chromium needed: the decision is made from the built pages and the PDF's record of them.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import book_pdf  # noqa: E402

PAGES = ["intro.html", "chapters/01_question.html"]


def _book(tmp_path: Path) -> tuple[Path, Path]:
    html = tmp_path / "html"
    for i, page in enumerate(PAGES):
        (html / page).parent.mkdir(parents=True, exist_ok=True)
        (html / page).write_text(f"<html>page {i}</html>")
    return html, html / book_pdf.OUTPUT_NAME


def _age(path: Path, seconds: float) -> None:
    st = path.stat()
    os.utime(path, (st.st_atime - seconds, st.st_mtime - seconds))


def test_no_pdf_yet_must_be_printed(tmp_path):
    html, out = _book(tmp_path)
    assert book_pdf.up_to_date(html, out, PAGES) is None


def test_a_pdf_newer_than_every_page_is_up_to_date(tmp_path):
    html, out = _book(tmp_path)
    for page in PAGES:
        _age(html / page, 100)
    out.write_bytes(b"%PDF")
    assert book_pdf.up_to_date(html, out, PAGES) == "newer than every page it prints"


def test_a_page_written_again_with_the_same_bytes_does_not_reprint(tmp_path):
    html, out = _book(tmp_path)
    out.write_bytes(b"%PDF")
    out.with_name(book_pdf.SOURCES_NAME).write_text(json.dumps(book_pdf.page_digests(html, PAGES)))
    _age(out, 100)
    _age(out.with_name(book_pdf.SOURCES_NAME), 100)
    (html / PAGES[1]).write_text("<html>page 1</html>")          # Sphinx wrote it again, unchanged
    assert book_pdf.up_to_date(html, out, PAGES) == "its pages are unchanged since it was printed"
    (html / PAGES[1]).write_text("<html>page 1, a new figure</html>")
    assert book_pdf.up_to_date(html, out, PAGES) is None


def test_main_skips_an_up_to_date_pdf_and_force_prints(tmp_path, capsys, monkeypatch):
    html, out = _book(tmp_path)
    (html / "index.html").write_text("<html></html>")
    monkeypatch.setattr(book_pdf, "toc_pages", lambda root=ROOT: PAGES)
    for page in PAGES:
        _age(html / page, 100)
    out.write_bytes(b"%PDF")
    assert book_pdf.main([str(html)]) == 0
    assert "is up to date (newer than every page it prints); not printed again" in capsys.readouterr().out
    printed = []
    monkeypatch.setattr(book_pdf, "find_chromium", lambda: "/chromium")
    monkeypatch.setattr(book_pdf, "print_book", lambda *a, **k: printed.append((*a, k)) or (2, 5))
    assert book_pdf.main([str(html), "--force", "--workers", "2"]) == 0
    assert printed and printed[0][3] == 2 and printed[0][4] == {"reuse": False}  # --force prints every page
    assert "2 book pages, 5 PDF pages" in capsys.readouterr().out


def test_sphinx_asset_queries_are_not_a_change_but_a_changed_asset_is(tmp_path):
    html, out = _book(tmp_path)
    (html / "_static").mkdir()
    (html / "_static" / "style.css").write_text("p { color: black }")
    (html / PAGES[0]).write_text('<html><link href="_static/style.css" />page 0</html>')
    out.write_bytes(b"%PDF")
    out.with_name(book_pdf.SOURCES_NAME).write_text(json.dumps(book_pdf.page_digests(html, PAGES)))
    _age(out, 100)
    _age(out.with_name(book_pdf.SOURCES_NAME), 100)
    (html / PAGES[0]).write_text('<html><link href="_static/style.css?v=8cd3d715" />page 0</html>')
    assert book_pdf.up_to_date(html, out, PAGES) == "its pages are unchanged since it was printed"
    (html / "_static" / "style.css").write_text("p { color: red }")
    assert book_pdf.up_to_date(html, out, PAGES) is None


def test_a_new_commit_in_the_provenance_footer_is_not_a_change(tmp_path):
    # the footer names the commit and print hides it (the PDF's first page states it once)
    html, out = _book(tmp_path)
    footer = '<aside class="rnnlib-provenance" id="provenance"><p>at commit <code>{}</code></p></aside>'
    (html / PAGES[0]).write_text("<html>page 0" + footer.format("abc1234") + "</html>")
    before = book_pdf.page_digests(html, PAGES)
    (html / PAGES[0]).write_text("<html>page 0" + footer.format("def5678 (uncommitted changes)") + "</html>")
    assert book_pdf.page_digests(html, PAGES) == before
    (html / PAGES[0]).write_text("<html>page 0, changed" + footer.format("def5678") + "</html>")
    assert book_pdf.page_digests(html, PAGES)[PAGES[0]] != before[PAGES[0]]


@pytest.mark.parametrize("workers", [0, -2, 1.5])
def test_workers_must_be_a_positive_integer(tmp_path, workers):
    html, out = _book(tmp_path)
    with pytest.raises(ValueError, match="workers"):
        book_pdf.print_book(html, "/chromium", out, workers)


def _blank_pdf(width: int) -> bytes:
    import io

    from pypdf import PdfWriter
    writer, buf = PdfWriter(), io.BytesIO()
    writer.add_blank_page(width=width, height=100)
    writer.write(buf)
    return buf.getvalue()


def test_only_changed_pages_are_printed_again_and_the_book_keeps_its_order(tmp_path, monkeypatch):
    from pypdf import PdfReader
    html, out = _book(tmp_path)
    (html / "index.html").write_text("<html>index</html>")
    monkeypatch.setattr(book_pdf, "toc_pages", lambda root=None: list(PAGES))
    calls = []

    def fake_print(base, pages, chromium, workers):
        calls.append(list(pages))
        return [(f"Title of {p}", _blank_pdf(100 + 10 * PAGES.index(p))) for p in pages]

    monkeypatch.setattr(book_pdf, "_print_pages", fake_print)
    assert book_pdf.print_book(html, "chromium", out) == (2, 2)
    (html / PAGES[1]).write_text("<html>page 1, re-executed with a new number</html>")
    assert book_pdf.print_book(html, "chromium", out) == (2, 2)
    assert calls == [PAGES, [PAGES[1]]]
    reader = PdfReader(out)
    assert [float(p.mediabox.width) for p in reader.pages] == [100.0, 110.0]   # reading order kept
    assert [o.title for o in reader.outline] == [f"Title of {p}" for p in PAGES]
    # the store holds exactly the current pages; --force (reuse=False) prints every page
    assert len(list((tmp_path / book_pdf.PAGES_DIR).glob("*.pdf"))) == 2
    book_pdf.print_book(html, "chromium", out, reuse=False)
    assert calls[-1] == PAGES
