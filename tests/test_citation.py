"""Citation and version (issue 17, item 4): CITATION.cff, the front page's "Cite this book", one version.

The version lives in three hand-edited places (pyproject.toml, rnnlib.__version__, CITATION.cff); these
tests fail when they disagree. The built front page must show the same version (it is substituted from
rnnlib.__version__ at build time by _ext/book_html.py) and a BibTeX block. CITATION.cff is checked
against the required structure of the Citation File Format 1.2.0 (keys and types of the schema that
matter here; the schema itself is not vendored).
"""
from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest
import yaml

import rnnlib

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / os.environ.get("RNNLIB_BOOK_HTML", "_build/fast/_build/html")
CFF = ROOT / "CITATION.cff"
# CFF 1.2.0: the keys a software citation must have, and the reference types this file may use.
REQUIRED = ("cff-version", "message", "title", "authors")
REFERENCE_TYPES = {"article", "conference-paper", "book", "software", "report", "generic"}


def cff() -> dict:
    return yaml.safe_load(CFF.read_text(encoding="utf-8"))


def pyproject_version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def _check_authors(authors, where: str) -> None:
    assert isinstance(authors, list) and authors, f"{where}: authors must be a non-empty list"
    for a in authors:
        assert isinstance(a, dict) and (a.get("name") or a.get("family-names")), (
            f"{where}: each author needs 'name' (an entity) or 'family-names' (a person), got {a!r}")


def test_the_three_versions_agree():
    assert rnnlib.__version__ == pyproject_version() == str(cff()["version"]), (
        f"rnnlib.__version__ {rnnlib.__version__!r}, pyproject.toml {pyproject_version()!r}, "
        f"CITATION.cff {cff()['version']!r}")


def test_version_is_semantic():
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", rnnlib.__version__), rnnlib.__version__


def test_citation_cff_has_the_structure_of_cff_1_2_0():
    data = cff()
    missing = [k for k in REQUIRED if k not in data]
    assert not missing, f"CITATION.cff lacks {missing}"
    assert data["cff-version"] == "1.2.0"
    assert data.get("type", "software") in ("software", "dataset")
    _check_authors(data["authors"], "CITATION.cff")
    assert data["authors"][0].get("name") == "the rnnlib authors"
    assert isinstance(data["version"], str), "quote the version, or YAML may read 0.10 as 0.1"
    released = str(data.get("date-released", ""))
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", released), f"date-released must be YYYY-MM-DD, got {released!r}"


def test_citation_cff_references_the_paper():
    refs = cff().get("references") or []
    assert refs, "CITATION.cff must list the paper under references"
    for ref in refs:
        assert ref.get("type") in REFERENCE_TYPES and ref.get("title"), ref
        _check_authors(ref.get("authors"), f"reference {ref.get('title')!r}")
    paper = next(r for r in refs if "Provable Generalization" in r["title"])
    assert {a["family-names"] for a in paper["authors"]} == {"Allen-Zhu", "Li"}
    assert paper["year"] == 2019
    # the same paper as the book's bibliography
    bib = (ROOT / "references.bib").read_text(encoding="utf-8")
    assert "1902.01028" in bib and any("1902.01028" in str(i.get("value")) for i in paper["identifiers"])


def test_front_page_source_has_the_cite_section_and_no_hand_typed_version():
    intro = (ROOT / "intro.md").read_text(encoding="utf-8")
    assert "## Cite this book" in intro and "```bibtex" in intro
    assert "{{ rnnlib_version }}" in intro
    assert rnnlib.__version__ not in intro.split("## Cite this book")[1], (
        "write {{ rnnlib_version }} instead of the version number: the build substitutes it")


@pytest.mark.book
@pytest.mark.skipif(not (HTML / "intro.html").is_file(), reason=f"no built book at {HTML}; run `make test`")
def test_built_front_page_shows_the_version_and_bibtex():
    page = (HTML / "intro.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", page)  # the BibTeX block is highlighted: tags inside
    assert "{{ rnnlib_version }}" not in page and "rnnlib_version" not in page
    assert f"version {rnnlib.__version__} of the book" in page
    assert "@misc{rnnlib_book" in text and f"Version {rnnlib.__version__}." in text
    assert 'href="book.pdf"' in page
