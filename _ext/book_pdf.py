"""`make pdf`: the whole built book as one PDF, printed by headless Chromium, offline (issue 17, item 2).

Usage: ``python _ext/book_pdf.py HTML_DIR [--force] [--workers N]`` (the Makefile passes _build/html, or the fast build's
folder in `make test`). Every page named in _toc.yml is opened, in reading order, from a local HTTP
server on 127.0.0.1; once MathJax has typeset it, its saved widgets are rendered and its images are
decoded, Chromium prints it (DevTools ``Page.printToPDF``, A4, with backgrounds, so figures and
tables print as shown). The pages are merged with pypdf into HTML_DIR/book.pdf, one bookmark per page,
which the front page links to. Solutions of the exercises are opened before printing: a printed
dropdown cannot be opened. Chromium is driven by the DevTools client of tests/cdp.py.

The pages are printed ``--workers`` at a time (default 3), each worker a Chromium of its own, and
merged in reading order: a page spends most of its time waiting (loading, MathJax, decoding images),
not computing. When book.pdf is already newer than every page it prints and every file they load, or those are
byte for byte the ones it was printed from (their digests are kept beside it, in book.pdf.json:
Sphinx writes some pages again on every build), the script says so and prints nothing; ``--force`` (``make pdf
PDF_FORCE=1``) prints it anyway. Otherwise only the pages that changed are printed: each printed page is
kept (its PDF and title) in a folder beside HTML_DIR, ``.pdf_pages``, under the digest of its HTML and
of the files all pages load, and a page whose digest is there is taken from it. Re-executing the book
gives most pages byte for byte again (10 of 13 in the full book), so only the others are printed.

Without Chromium the script says so and writes nothing; with RNNLIB_REQUIRE_BROWSER set (CI) that is
an error, as for the browser tests.
"""
from __future__ import annotations

import argparse
import base64
import functools
import hashlib
import io
import json
import os
import queue
import re
import sys
import threading
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import yaml
from pypdf import PdfReader, PdfWriter

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from cdp import INSTALL_HINT, Chromium, find_chromium  # noqa: E402

OUTPUT_NAME = "book.pdf"
SOURCES_NAME = "book.pdf.json"   # digests of the pages book.pdf was printed from
PAGES_DIR = ".pdf_pages"          # beside HTML_DIR: each page's PDF, under the digest it was printed from
WORKERS = 3
LOAD_TIMEOUT = 120.0
# A4 in inches, margins of 1.5 cm
PAPER = {"paperWidth": 8.27, "paperHeight": 11.69, "marginTop": 0.6, "marginBottom": 0.6,
         "marginLeft": 0.6, "marginRight": 0.6}

# Resolves when the page is ready to print: MathJax's first pass done, saved widgets rendered, images
# decoded (or after the time-out), then opens every closed dropdown (exercise solutions, hidden cells).
READY = r"""
(async () => {
  const deadline = Date.now() + TIMEOUT_MS;
  const sleep = ms => new Promise(r => setTimeout(r, ms));
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  const views = () => Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'))
    .filter(v => !(v.previousElementSibling && v.previousElementSibling.querySelector('.jupyter-widgets, .widget-output, .lm-Widget')));
  while ((views().length > 0 || Array.from(document.images).some(i => !i.complete)) && Date.now() < deadline) { await sleep(100); }
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  document.querySelectorAll('button.toggle-button').forEach(b => { if (b.parentElement && b.parentElement.classList.contains('toggle-hidden')) b.click(); });
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  if (window.MathJax && MathJax.typesetPromise) { await MathJax.typesetPromise(); }
  await sleep(300);
  return document.title;
})()
""".replace("TIMEOUT_MS", str(int(LOAD_TIMEOUT * 1000)))


def toc_documents(root: Path = ROOT) -> list[str]:
    """Every document named in _toc.yml in reading order (the root, then ``file`` and ``glob`` entries at
    any depth), without extension; tests/test_book_html.py checks the built pages against it."""
    toc = yaml.safe_load((root / "_toc.yml").read_text(encoding="utf-8"))
    found = [toc["root"]]
    sources = {".md", ".ipynb", ".rst"}

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                found.append(node["file"])
            if "glob" in node:
                found.extend(str(p.relative_to(root).with_suffix("")) for p in sorted(root.glob(node["glob"]))
                             if p.suffix in sources)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({k: v for k, v in toc.items() if k != "root"})
    return [str(Path(f).with_suffix("")) if Path(f).suffix in sources else f for f in found]


def toc_pages(root: Path = ROOT) -> list[str]:
    """The HTML pages of the book in reading order (root first), as paths relative to the output."""
    return [doc + ".html" for doc in toc_documents(root)]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


# Sphinx appends its checksum "?v=<crc32>" to the links of static files only once they have been
# copied, so the first build after an empty output folder writes some pages again with the query
# added, and nothing printed changes; the files themselves are digested below.
ASSET_QUERY = re.compile(rb"\?v=[0-9a-f]{8}(?=[\"'])")
#: A notebook page's provenance footer (_ext/book_html.py), hidden in print: it names the commit, so it
#: would change every page's digest at each commit without changing what is printed.
PROVENANCE = re.compile(rb'<aside class="rnnlib-provenance".*?</aside>', re.DOTALL)
ASSET_FOLDERS = ("_static", "_images")    # what the printed pages load: styles, scripts, fonts, figures


def _asset_files(html_dir: Path) -> list[Path]:
    return sorted(f for folder in ASSET_FOLDERS if (html_dir / folder).is_dir()
                  for f in (html_dir / folder).rglob("*") if f.is_file())


def page_digests(html_dir: Path, pages: list[str]) -> dict[str, str]:
    """sha256 of each printed page's HTML (without Sphinx's "?v=" queries and the provenance footer, which
    print hides), and one of all the files under _static/ and _images/ that the pages load."""
    digests = {p: hashlib.sha256(PROVENANCE.sub(b"", ASSET_QUERY.sub(b"", (html_dir / p).read_bytes()))).hexdigest()
               for p in pages}
    assets = hashlib.sha256()
    for f in _asset_files(html_dir):
        assets.update(f.relative_to(html_dir).as_posix().encode() + b"\0" + f.read_bytes())
    digests["/".join(ASSET_FOLDERS)] = assets.hexdigest()
    return digests


def up_to_date(html_dir: Path, out: Path, pages: list[str]) -> str | None:
    """Why ``out`` need not be printed again (None if it must): it is newer than every page it prints
    and every file those pages load, or all of them are the ones it was printed from."""
    if not out.is_file() or any(not (html_dir / p).is_file() for p in pages):
        return None
    sources = [html_dir / p for p in pages] + _asset_files(html_dir)
    if all(f.stat().st_mtime < out.stat().st_mtime for f in sources):
        return "newer than every page it prints"
    record = out.with_name(SOURCES_NAME)
    try:
        recorded = json.loads(record.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if record.stat().st_mtime >= out.stat().st_mtime - 1 and recorded == page_digests(html_dir, pages):
        return "its pages are unchanged since it was printed"
    return None


def _print_pages(base: str, pages: list[str], chromium: str, workers: int) -> list[tuple[str, bytes]]:
    """(title, PDF bytes) of every page, in the order given, printed by ``workers`` Chromiums at once."""
    todo: queue.Queue = queue.Queue()
    for item in enumerate(pages):
        todo.put(item)
    printed: dict[int, tuple[str, bytes]] = {}
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with Chromium(chromium, timeout=LOAD_TIMEOUT) as browser:
                browser.send("Page.enable")  # for the load events that navigate() waits for
                while not errors:
                    try:
                        index, page = todo.get_nowait()
                    except queue.Empty:
                        return
                    browser.navigate(base + urllib.parse.quote(page), timeout=LOAD_TIMEOUT)
                    title = browser.evaluate(READY, await_promise=True, timeout=LOAD_TIMEOUT + 30) or page
                    data = browser.send("Page.printToPDF", timeout=LOAD_TIMEOUT, printBackground=True,
                                        preferCSSPageSize=False, **PAPER)["data"]
                    printed[index] = (title, base64.b64decode(data))
                    print(f"  {page}: {title}", flush=True)
        except BaseException as err:  # reported by the caller, with the page that failed
            errors.append(err)

    threads = [threading.Thread(target=work, name=f"pdf-print-{i}") for i in range(min(workers, len(pages)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return [printed[i] for i in range(len(pages))]


def page_keys(digests: dict[str, str], pages: list[str]) -> dict[str, str]:
    """Each page's key in the ``.pdf_pages`` store: its HTML's digest with that of the files all pages load
    (the figures are named by their content, so a new figure is a new page HTML)."""
    assets = digests["/".join(ASSET_FOLDERS)]
    return {p: hashlib.sha256(f"{digests[p]}\0{assets}".encode()).hexdigest() for p in pages}


def stored_pages(store: Path, keys: dict[str, str]) -> dict[str, tuple[str, bytes]]:
    """``{page: (title, PDF bytes)}`` of the pages whose key is in ``store`` (an unreadable entry is missing)."""
    found = {}
    for page, key in keys.items():
        try:
            title = json.loads((store / f"{key}.json").read_text(encoding="utf-8"))["title"]
            data = (store / f"{key}.pdf").read_bytes()
        except (OSError, ValueError, KeyError, TypeError):
            continue
        if isinstance(title, str) and data.startswith(b"%PDF"):
            found[page] = (title, data)
    return found


def store_pages(store: Path, keys: dict[str, str], printed: dict[str, tuple[str, bytes]]) -> None:
    """Keep the newly printed pages under their keys and drop entries no page of this book has."""
    store.mkdir(parents=True, exist_ok=True)
    for page, (title, data) in printed.items():
        key = keys[page]
        (store / f"{key}.pdf.part").write_bytes(data)
        (store / f"{key}.pdf.part").replace(store / f"{key}.pdf")
        (store / f"{key}.json").write_text(json.dumps({"page": page, "title": title}) + "\n", encoding="utf-8")
    live = set(keys.values())
    for f in store.iterdir():
        if f.name.split(".")[0] not in live:
            f.unlink(missing_ok=True)


def print_book(html_dir: Path, chromium: str, out: Path, workers: int = WORKERS, *,
               reuse: bool = True) -> tuple[int, int]:
    """Print every page into ``out``, ``workers`` pages at a time, taking unchanged pages from the
    ``.pdf_pages`` store beside ``html_dir`` (unless ``reuse`` is false); returns (pages of the book,
    pages of the PDF)."""
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ValueError(f"workers must be a positive integer, got {workers!r}")
    pages = toc_pages()
    missing = [p for p in pages if not (html_dir / p).is_file()]
    if missing:
        raise SystemExit(f"error: the built book in {html_dir} lacks {missing}; build it first (make book)")
    digests = page_digests(html_dir, pages)
    keys = page_keys(digests, pages)
    store = html_dir.parent / PAGES_DIR
    kept = stored_pages(store, keys) if reuse else {}
    todo = [p for p in pages if p not in kept]
    if kept:
        print(f"  {len(kept)} of {len(pages)} pages unchanged since they were printed: taken from {store}")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(html_dir)))
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, name="pdf-server", daemon=True).start()
    base = f"http://127.0.0.1:{httpd.server_address[1]}/"
    try:
        printed = dict(zip(todo, _print_pages(base, todo, chromium, workers))) if todo else {}
    finally:
        httpd.shutdown()
        httpd.server_close()
    store_pages(store, keys, printed)
    writer = PdfWriter()
    for title, data in ({**kept, **printed}[p] for p in pages):
        writer.append(PdfReader(io.BytesIO(data)), outline_item=title.split(" — ")[0].split(" | ")[0].strip())
    writer.add_metadata({"/Title": "Can SGD Learn RNNs? An executable account", "/Author": "the rnnlib authors"})
    tmp = out.with_suffix(".pdf.part")
    with open(tmp, "wb") as fh:
        writer.write(fh)
    tmp.replace(out)
    out.with_name(SOURCES_NAME).write_text(json.dumps(digests, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return len(pages), len(writer.pages)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("html_dir", help="the built book (make book: _build/html)")
    parser.add_argument("--force", action="store_true", help="print every page, even if book.pdf is up to date")
    parser.add_argument("--workers", type=int, default=WORKERS, help=f"pages printed at a time (default {WORKERS})")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    html_dir = Path(args.html_dir).resolve()
    if not (html_dir / "index.html").is_file():
        print(f"error: no built book in {html_dir}; run `make book` (or `make book-fast`) first", file=sys.stderr)
        return 1
    out = html_dir / OUTPUT_NAME
    reason = None if args.force else up_to_date(html_dir, out, toc_pages())
    if reason is not None:
        print(f"PDF: {out} is up to date ({reason}); not printed again (make pdf PDF_FORCE=1 prints it)")
        return 0
    chromium = find_chromium()
    if chromium is None:
        required = os.environ.get("RNNLIB_REQUIRE_BROWSER", "") not in ("", "0")
        print(f"{'error' if required else 'warning'}: no PDF: {INSTALL_HINT}", file=sys.stderr)
        return 1 if required else 0
    n_pages, n_sheets = print_book(html_dir, chromium, out, args.workers, reuse=not args.force)
    print(f"PDF: {out} ({n_pages} book pages, {n_sheets} PDF pages)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
