"""`make book`'s executor: the book's pages executed before Sphinx, two at a time, into myst-nb's cache.

Chapter: every page (the appendix "How the book is made and checked"); paper section: none, this is
build tooling (issues 12 and 16: a warm re-execution of the whole book, and the build's time).

Usage: ``python _ext/execute_book.py [--path-output DIR] [--slots N]``, before
``jupyter-book build . --path-output DIR`` with the same environment (the Makefile's ``book`` and
``book-fast``), and ``python _ext/execute_book.py --path-output DIR --write-executed`` after it: on a
cache hit myst-nb writes the page's notebook without its outputs to ``_build/jupyter_execute``, where
the nbval checks (tests/test_executed_notebooks.py) read the executed notebooks, so this writes them
there from the cache.

Jupyter Book (myst-nb, ``execute_notebooks: cache``) executes the pages one after another while
Sphinx reads them, so a 2-core machine runs one kernel at a time. This script does the same work
first, on every core: it reads each page of _toc.yml exactly as myst-nb will (the book's
_config.yml through Jupyter Book's own reading of it; ``.ipynb`` pages and MyST-markdown notebooks
with myst-nb's reader; a notebook's ``mystnb`` metadata, such as chapter 5's longer timeout), skips a
page whose code is already in the jupyter-cache database (``cache.match_cache_notebook``), and
executes the others with jupyter-cache's ``single_nb_execution`` (the call myst-nb makes, with the
same working directory, timeout and ``allow_errors``), then stores each executed notebook in that
database as myst-nb does (``<path-output>/_build/.jupyter_cache``). Jupyter Book then finds every
page there ("Using cached notebook") and executes none.

Scheduling. Pages whose notebook metadata says ``"rnnlib": {"execute_alone": true}`` run first, one
at a time, with no other page beside them: chapter 5 on an empty engine cache trains on a process
pool over every core for about ten minutes (its issue-13 budget assumes it has both cores), and a
second kernel beside it would only slow both. Then the other pages run ``--slots`` at a time (default:
the number of cores), the longest expected first, so that no slot idles at the end; the expectation
is the page's time in the previous run of this script (``<path-output>/_build/execute_book_seconds.json``),
else ``EXPECTED_SECONDS``. A page whose metadata says ``"rnnlib": {"execute_last": true}`` starts only
once every other page has finished: chapter 8's ledger reads the runs of chapters 3 to 7 from the
engine cache, and started beside them on an empty cache it trained the same runs again in its own
kernel (104 s in the cold full build, against about 20 s after them). Both constraints exist for the
cold build. A page whose metadata also names a ``cached_probe`` (chapters 5 and 8) is asked, in a process
of its own, whether its engine work is all cached (``_ext/page_probe.py``); the question runs beside the
first page marked alone, and until it is answered no other page starts beside that one and no page marked
last starts. A page whose answer is yes is then scheduled as any other page (``_ext/page_schedule.py``).

Widget model ids are random; each executed notebook's ids are renamed to ids derived from the page
(``_ext/widget_ids.py``) before it is cached, so re-executing a page with widgets gives the same HTML.

Each executed page prints myst-nb's line "<path>: Executed notebook in X seconds" (which
bench/book_times.py reads). A failing cell prints its traceback, records it in the cache as myst-nb
does, lets the pages already running finish (their results are cached), starts no other page, and
exits with status 1, which stops ``make book``. Only the main thread writes to the cache database:
kernels run in worker threads, results come back to the main thread.
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import re
import sys
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path, PurePosixPath
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))

import page_probe  # noqa: E402
import widget_ids  # noqa: E402
from book_pdf import toc_documents  # noqa: E402
from page_schedule import DEFAULT_EXPECTED, Outcome, Page, PageFailed, run_pages  # noqa: E402, F401

METADATA_KEY = "rnnlib"            # the notebook metadata this script reads
ALONE_KEY = "execute_alone"        # ... and its flag: run this page with no other page beside it
LAST_KEY = "execute_last"          # ... and: run this page once every other page has finished
SOURCE_SUFFIXES = (".ipynb", ".md")
TIMES_FILE = "execute_book_seconds.json"
# Static hint of each page's time (seconds re-executed with the engine cache filled, full profile, at
# 7ffb5a5); used for a page that this script has not timed yet, 10 s for a page not listed.
EXPECTED_SECONDS = {
    "chapters/01_question": 5, "chapters/02_concept_class": 19, "chapters/03_initialization": 14,
    "chapters/04_sgd_on_w": 9, "chapters/05_generalization": 13, "chapters/06_why_it_works": 9,
    "chapters/07_baselines_and_limits": 12, "chapters/08_claims_ledger": 14,
    "appendix/reproducibility": 5, "appendix/making_the_book": 3,
}


# -- reading the book as myst-nb does -------------------------------------------------------------

def book_configs(root: Path = ROOT):
    """(myst-nb's NbParserConfig, myst-parser's MdParserConfig) for the book, from Jupyter Book's own
    reading of _config.yml (``get_final_config``, as ``jupyter-book build`` calls it)."""
    # jupyter_book.config imports jsonschema, whose optional IRI format checker (rfc3987_syntax) builds
    # a grammar on import, 2 s; Jupyter Book validates _config.yml without format checkers, so the
    # validation is the same without it.
    sys.modules.setdefault("rfc3987_syntax", None)
    from jupyter_book.config import get_final_config
    from myst_nb.core.config import NbParserConfig
    from myst_parser.config.main import MdParserConfig

    conf, _ = get_final_config(user_yaml=root / "_config.yml", cli_config={"latex_individualpages": False},
                               sourcedir=root)
    nb_values = {name: conf[f"nb_{name}"] for name, _, fld in NbParserConfig().as_triple()
                 if not fld.metadata.get("sphinx_exclude") and f"nb_{name}" in conf}
    md_values = {name: conf[f"myst_{name}"] for name, _, fld in MdParserConfig().as_triple()
                 if "sphinx" not in fld.metadata.get("omit", []) and f"myst_{name}" in conf}
    return NbParserConfig(**nb_values), MdParserConfig(**md_values)


def source_path(doc: str, root: Path = ROOT) -> Path | None:
    """The source file of a document of _toc.yml (``chapters/01_question`` -> ``.../01_question.ipynb``)."""
    for suffix in SOURCE_SUFFIXES:
        if (root / (doc + suffix)).is_file():
            return root / (doc + suffix)
    return None


def read_page(doc: str, nb_config, md_config, root: Path = ROOT, expected: dict | None = None) -> Page | None:
    """The page as myst-nb's parser reads it, or None if myst-nb would not execute it (not a notebook,
    or excluded by ``execute.exclude_patterns``)."""
    from myst_nb.core.nb_to_tokens import nb_node_to_dict
    from myst_nb.core.read import create_nb_reader

    path = source_path(doc, root)
    if path is None:
        return None
    text = path.read_text(encoding="utf-8")
    reader = create_nb_reader(str(path), md_config, nb_config, text)  # decided by suffix or top-matter
    if reader is None:
        return None
    import book_html  # the book's own source-read substitution, which Sphinx applies before myst-nb reads

    if book_html.VERSION_TOKEN in text:
        text = text.replace(book_html.VERSION_TOKEN, book_html.library_version())
    nb = reader.read(text)
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    for pattern, alias in (nb_config.kernel_rgx_aliases or {}).items():
        if kernel is not None and re.fullmatch(pattern, kernel):
            nb.metadata["kernelspec"]["name"] = alias
            break
    config = nb_config
    if nb_config.metadata_key in nb.metadata:
        overrides = nb_node_to_dict(nb.metadata[nb_config.metadata_key])
        overrides.pop("output_folder", None)
        config = nb_config.copy(**overrides)
    if any(PurePosixPath(path.as_posix()).match(p) for p in config.execution_excludepatterns):
        return None
    hints = {**EXPECTED_SECONDS, **(expected or {})}
    ours = nb.metadata.get(METADATA_KEY, {})
    probe = ours.get(page_probe.PROBE_KEY)
    return Page(doc, path, nb, reader.read_fmt, config.execution_timeout, config.execution_allow_errors,
                bool(ours.get(ALONE_KEY, False)), float(hints.get(doc, DEFAULT_EXPECTED)),
                bool(config.execution_in_temp), bool(ours.get(LAST_KEY, False)),
                None if probe is None else page_probe.check_probe(probe))


def execute_page(page: Page) -> Outcome:
    """Execute ``page.nb`` in place as myst-nb's cache mode does (in the page's folder, or a temporary one).

    The kernel is stopped at once when the last cell has replied (``shutdown_kernel="immediate"``; every
    output has arrived by then), not asked to shut down: a graceful shutdown kept the slot 0.8 s (chapter 1)
    to 2.6 s (chapter 6, which joins its process pool's workers at exit) longer, about 4 s of the whole
    book's re-execution. Nothing is lost: the engine stores each result when it is computed, and a pool's
    workers exit when their kernel dies (``rnnlib.engine.process_pool``)."""
    from jupyter_cache.executors.utils import single_nb_execution

    with (tempfile.TemporaryDirectory() if page.in_temp else nullcontext(str(page.path.parent))) as cwd:
        result = single_nb_execution(page.nb, cwd=os.path.abspath(cwd), allow_errors=page.allow_errors,
                                     timeout=page.timeout, meta_override=True, shutdown_kernel="immediate")
    error = None if result.err is None else type(result.err).__name__
    widget_ids.canonicalize(page.nb, page.doc)  # before it is cached: the same page gives the same HTML
    return Outcome(result.time, error, result.exc_string)


class CacheWriter:
    """myst-nb's bookkeeping in the jupyter-cache database, done from one thread: a project record per
    page before it runs, then the executed notebook (or the traceback) when it finishes."""

    def __init__(self, cache_path: Path):
        from jupyter_cache import get_cache

        self.cache = get_cache(str(cache_path))
        self.uris: dict[str, str] = {}

    def is_cached(self, page: Page) -> bool:
        try:
            record = self.cache.match_cache_notebook(page.nb)
        except KeyError:
            return False
        return record is not None

    def stage(self, page: Page) -> None:
        from jupyter_cache.cache.db import NbProjectRecord

        if page.read_fmt is not None:
            record = self.cache.add_nb_to_project(str(page.path), read_data=page.read_fmt)
        else:
            record = self.cache.add_nb_to_project(str(page.path))
        NbProjectRecord.remove_tracebacks([record.pk], self.cache.db)
        self.uris[page.doc] = record.uri

    def store(self, page: Page, outcome: Outcome) -> None:
        from jupyter_cache.base import CacheBundleIn
        from jupyter_cache.cache.db import NbProjectRecord

        if outcome.failed:
            NbProjectRecord.set_traceback(self.uris[page.doc], outcome.traceback, self.cache.db)
            return
        record = self.cache.cache_notebook_bundle(
            CacheBundleIn(page.nb, self.uris[page.doc], data={"execution_seconds": outcome.seconds}),
            check_validity=False, overwrite=True)
        outcome.extra["cache_id"] = record.pk


def write_executed(pages: list[Page], writer: CacheWriter, folder: Path) -> int:
    """Write each page's executed notebook to ``folder/<doc>.ipynb`` (``<path-output>/_build/jupyter_execute``),
    where myst-nb writes the notebook it executed, and where the nbval checks and bench/book_flops.py
    read it: on a cache hit myst-nb writes the notebook it read, without outputs (it writes its reader's
    notebook, not the one merged from the cache). The notebook written is myst-nb's own merge of the
    cached outputs into the page, without the glued values, as myst-nb writes it. Returns the number
    written; a page missing from the cache is an error."""
    import nbformat
    from myst_nb.ext.glue import extract_glue_data_cell

    missing = [p.doc for p in pages if not writer.is_cached(p)]
    if missing:
        raise SystemExit(f"error: no executed notebook in the cache for {missing}; build the book first")
    for page in pages:
        _, merged = writer.cache.merge_match_into_notebook(page.nb)
        for cell in merged.cells:   # myst-nb moves glued values out of the outputs (into <doc>.glue.json)
            if cell.cell_type == "code":
                extract_glue_data_cell(cell)
        target = folder.joinpath(*(page.doc + ".ipynb").split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(nbformat.writes(merged), encoding="utf-8")
    return len(pages)


def _report(writer: CacheWriter, times: dict) -> Callable[[Page, Outcome], None]:
    def report(page: Page, outcome: Outcome) -> None:
        writer.store(page, outcome)
        if outcome.failed:
            print(f"{page.path}: Executing notebook failed: {outcome.error} [execute_book]\n{outcome.traceback}",
                  file=sys.stderr, flush=True)
        else:
            times[page.doc] = round(outcome.seconds, 2)
            print(f"{page.path}: Executed notebook in {outcome.seconds:.2f} seconds [execute_book]", flush=True)
    return report


def default_slots() -> int:
    """The cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--path-output", default=".", help="jupyter-book's --path-output (default: .)")
    parser.add_argument("--slots", type=int, default=None, help="pages executed at a time (default: cores)")
    parser.add_argument("--write-executed", action="store_true",
                        help="after `jupyter-book build`: write the executed notebooks into _build/jupyter_execute")
    args = parser.parse_args(argv)
    slots = default_slots() if args.slots is None else args.slots
    if slots < 1:
        parser.error(f"--slots must be at least 1, got {slots}")
    nb_config, md_config = book_configs(ROOT)
    if nb_config.execution_mode != "cache":
        print(f"execute_book: _config.yml's execute_notebooks is {nb_config.execution_mode!r}, not 'cache'; "
              "nothing to do (jupyter-book executes the pages itself)")
        return 0
    build = Path(args.path_output).absolute() / "_build"
    cache_path = Path(nb_config.execution_cache_path) if nb_config.execution_cache_path else build / ".jupyter_cache"
    times_path = build / TIMES_FILE
    times = json.loads(times_path.read_text()) if times_path.is_file() else {}
    pages = [p for p in (read_page(doc, nb_config, md_config, ROOT, times) for doc in toc_documents(ROOT)) if p]
    writer = CacheWriter(cache_path)
    if args.write_executed:
        folder = build / "jupyter_execute"
        print(f"execute_book: wrote {write_executed(pages, writer, folder)} executed notebooks into {folder}")
        return 0
    todo = [p for p in pages if not writer.is_cached(p)]
    for page in pages:
        if page not in todo:
            print(f"{page.path}: already in the execution cache, not executed [execute_book]", flush=True)
    for page in todo:
        writer.stage(page)
    start = time.perf_counter()
    probe = functools.partial(page_probe.relax_constraints, todo, lambda p: p.probe,
                              lambda p: Path(tempfile.gettempdir()) if p.in_temp else p.path.parent)
    try:
        finished = run_pages(todo, execute_page, slots, _report(writer, times), probe)
    except PageFailed as err:
        print(f"execute_book: failed: {err}", file=sys.stderr, flush=True)
        return 1
    finally:
        build.mkdir(parents=True, exist_ok=True)
        times_path.write_text(json.dumps(times, indent=1, sort_keys=True) + "\n")
    wall = time.perf_counter() - start
    total = sum(o.seconds for _, o in finished)
    print(f"execute_book: {len(finished)} pages executed in {wall:.1f} s ({total:.1f} s of page time, "
          f"{slots} at a time, alone: {[p.doc for p in todo if p.alone]}); {len(pages) - len(todo)} already cached "
          f"in {cache_path}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
