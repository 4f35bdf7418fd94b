"""_ext/execute_book.py: the book's pages executed two at a time into myst-nb's execution cache (issues 12, 16).

The scheduler is tested with an injected execute function (no kernel); then two tiny notebooks (an
.ipynb and a MyST-markdown notebook, read with the book's own configuration) are executed into a
temporary jupyter-cache and opened as myst-nb's cache mode opens them: it must find both there and
execute neither.
"""
from __future__ import annotations

import json
import re
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
sys.path.insert(0, str(ROOT / "bench"))

import execute_book as eb  # noqa: E402
from execute_book import Outcome, Page, PageFailed, run_pages  # noqa: E402


def _wait_for(condition, what: str, timeout: float = 20.0) -> None:
    """Poll ``condition()`` until it holds; past ``timeout`` seconds, fail naming ``what`` (no test hangs)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.002)


class Recorder:
    """A fake execute: sleeps, and records when each page started and ended and how many ran at once.

    ``until(recorder, page)``, if given, holds each page after its start until it returns True: the
    orderings the tests assert then follow from events, not from sleeps racing each other on a loaded
    machine (a page of 0.3 s against a probe of 0.1 s once failed under ``pytest -n 2``)."""

    def __init__(self, seconds=0.15, fail=(), until=None):
        self.seconds, self.fail, self.until = seconds, set(fail), until
        self.lock = threading.Lock()
        self.events: list[tuple[str, str]] = []
        self.running = 0
        self.peak = 0
        self.alone_overlap = []

    def __call__(self, page: Page) -> Outcome:
        with self.lock:
            self.events.append(("start", page.doc))
            self.running += 1
            self.peak = max(self.peak, self.running)
            if self.running > 1:
                self.alone_overlap.append(page.doc)
        if self.until is not None:
            _wait_for(lambda: self.until(self, page), f"the condition holding {page.doc}")
        time.sleep(self.seconds)
        with self.lock:
            self.running -= 1
            self.events.append(("end", page.doc))
        if page.doc in self.fail:
            raise RuntimeError(f"cell failed in {page.doc}")
        return Outcome(self.seconds)

    def starts(self):
        return [doc for what, doc in self.events if what == "start"]


def _pages(spec):
    return [Page(doc, Path(doc), alone=alone, expected=expected) for doc, alone, expected in spec]


def test_alone_pages_run_first_and_alone_then_two_at_a_time_longest_first():
    pages = _pages([("a", False, 5), ("b", False, 20), ("ch5", True, 13), ("c", False, 9), ("d", False, 14)])
    rec = Recorder(until=lambda r, page: page.alone or r.peak >= 2)   # b and d wait for each other
    reported = []
    main = threading.current_thread()

    def report(page, outcome):
        assert threading.current_thread() is main, "results must be written from the calling thread"
        reported.append(page.doc)

    finished = run_pages(pages, rec, slots=2, report=report)
    assert rec.starts() == ["ch5", "b", "d", "c", "a"]
    # ch5 ended before any other page started
    assert rec.events[:2] == [("start", "ch5"), ("end", "ch5")]
    assert rec.peak == 2
    assert sorted(reported) == sorted(p.doc for p in pages) and [p.doc for p, _ in finished] == reported
    assert all(not o.failed for _, o in finished)


def test_a_page_marked_last_starts_once_every_other_page_has_finished():
    """Chapter 8's ledger reads the other chapters' runs: beside them it would train them again."""
    pages = _pages([("a", False, 5), ("b", False, 20), ("c", False, 9)])
    pages.append(Page("ledger", Path("ledger"), expected=50, last=True))  # expected longest, still last
    rec = Recorder(seconds=0.05)
    run_pages(pages, rec, slots=2)
    assert rec.starts() == ["b", "c", "a", "ledger"]
    started = rec.events.index(("start", "ledger"))
    assert {doc for what, doc in rec.events[:started] if what == "end"} == {"a", "b", "c"}


def test_slots_bound_the_pages_running_at_once():
    pages = _pages([(f"p{i}", False, i) for i in range(6)])
    rec = Recorder(seconds=0.05, until=lambda r, page: r.peak >= 3)   # the first three wait for each other
    run_pages(pages, rec, slots=3)
    assert rec.peak == 3
    rec1 = Recorder(seconds=0.02)
    run_pages(pages, rec1, slots=1)
    assert rec1.peak == 1 and rec1.starts() == [f"p{i}" for i in range(5, -1, -1)]


def test_a_failure_names_the_page_and_starts_no_other():
    pages = _pages([("a", False, 30), ("bad", False, 20), ("c", False, 10), ("d", False, 5)])
    rec = Recorder(seconds=0.05, fail={"bad"})
    with pytest.raises(PageFailed, match="bad: RuntimeError") as info:
        run_pages(pages, rec, slots=1)
    assert info.value.failures == [("bad", "RuntimeError")]
    assert rec.starts() == ["a", "bad"]


def test_a_failing_alone_page_stops_the_build():
    pages = _pages([("ch5", True, 13), ("a", False, 5)])
    with pytest.raises(PageFailed, match="ch5"):
        run_pages(pages, Recorder(seconds=0.01, fail={"ch5"}), slots=2)


@pytest.mark.parametrize("slots", [0, -1, 1.5, True])
def test_slots_must_be_a_positive_integer(slots):
    with pytest.raises(ValueError, match="slots"):
        run_pages([], Recorder(), slots=slots)


def test_the_book_pages_are_read_as_myst_nb_reads_them():
    nb_config, md_config = eb.book_configs(ROOT)
    docs = eb.toc_documents(ROOT)
    pages = {p.doc: p for p in (eb.read_page(d, nb_config, md_config, ROOT) for d in docs) if p}
    chapters = sorted(p.stem for p in (ROOT / "chapters").glob("*.ipynb"))
    assert {f"chapters/{c}" for c in chapters} <= set(pages)
    assert "appendix/making_the_book" in pages and pages["appendix/making_the_book"].read_fmt is not None
    assert "intro" not in pages and "bibliography" not in pages          # plain Markdown, never executed
    alone = [d for d, p in pages.items() if p.alone]
    assert alone == ["chapters/05_generalization"]
    assert [d for d, p in pages.items() if p.last] == ["chapters/08_claims_ledger"]
    # both constraints are for the cold build: each page names the probe that lifts it when all is cached
    assert pages["chapters/05_generalization"].probe == "rnnlib.studies.generalization:headline_cached"
    assert pages["chapters/08_claims_ledger"].probe == "rnnlib.studies.ledger:ledger_inputs_cached"
    assert [d for d, p in pages.items() if p.probe] == ["chapters/05_generalization", "chapters/08_claims_ledger"]
    # chapter 5's own mystnb metadata (its longer timeout) is honoured, as myst-nb honours it
    assert pages["chapters/05_generalization"].timeout == 2400 > pages["chapters/01_question"].timeout


def test_page_times_keep_the_executor_seconds_of_a_page_then_read_from_the_cache():
    import book_times

    log = ("/r/chapters/02_concept_class.ipynb: Executed notebook in 7.50 seconds [execute_book]\n"
           "/r/appendix/reproducibility.md: already in the execution cache, not executed [execute_book]\n"
           "/r/chapters/02_concept_class.ipynb: Using cached notebook: ID=4 [mystnb]\n"
           "/r/chapters/03_initialization.ipynb: Using cached notebook: ID=5 [mystnb]\n")
    seconds, cached = book_times.page_times(log)
    assert seconds == {"chapters/02_concept_class": 7.5, "chapters/03_initialization": 0.0}
    assert cached == ["chapters/03_initialization"]


# -- real kernels ------------------------------------------------------------------------------------

KERNEL = {"display_name": "Python 3", "language": "python", "name": "python3"}
MD_NOTEBOOK = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A page

```{code-cell} ipython3
import os
print("md", os.path.basename(os.getcwd()))
```
"""


class _Logger:
    def __init__(self):
        self.messages = []

    def _log(self, msg, *args, **kwargs):
        self.messages.append(str(msg))

    info = warning = debug = error = _log


def _write_ipynb(path: Path, source: str, metadata: dict | None = None) -> None:
    nb = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
                     "source": source}],
          "metadata": {"kernelspec": KERNEL, **(metadata or {})}, "nbformat": 4, "nbformat_minor": 5}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1) + "\n", encoding="utf-8")


@pytest.mark.executor
def test_executed_pages_are_found_by_myst_nb_in_the_cache_and_a_failing_cell_fails(tmp_path, monkeypatch, capfd):
    """A book of three pages run at once: two run and are cached where myst-nb finds them, the third
    fails with its traceback, is not cached, and the script exits with status 1."""
    from myst_nb.core.execute.cache import NotebookClientCache

    _write_ipynb(tmp_path / "pages" / "one.ipynb", "x = 6 * 7\nprint(x)\nfrom myst_nb import glue\nglue('answer', x, display=False)",
                 {"rnnlib": {"execute_alone": False}})
    (tmp_path / "more").mkdir()
    (tmp_path / "more" / "two.md").write_text(MD_NOTEBOOK, encoding="utf-8")
    _write_ipynb(tmp_path / "bad.ipynb", "raise ValueError('the cell fails')")
    (tmp_path / "intro.md").write_text("# A book\n", encoding="utf-8")
    (tmp_path / "_config.yml").write_text((ROOT / "_config.yml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n  - file: pages/one\n"
                                       "  - file: more/two\n  - file: bad\n", encoding="utf-8")
    monkeypatch.setattr(eb, "ROOT", tmp_path)
    out = tmp_path / "out"
    assert eb.main(["--path-output", str(out), "--slots", "3"]) == 1
    printed = capfd.readouterr()
    for doc in ("pages/one.ipynb", "more/two.md"):
        assert re.search(rf"{re.escape(str(tmp_path / doc))}: Executed notebook in [\d.]+ seconds", printed.out)
    assert "bad.ipynb: Executing notebook failed: CellExecutionError" in printed.err
    assert "the cell fails" in printed.err and "execute_book: failed: bad: CellExecutionError" in printed.err
    times = json.loads((out / "_build" / eb.TIMES_FILE).read_text())
    assert set(times) == {"pages/one", "more/two"}

    nb_config, md_config = eb.book_configs(tmp_path)
    writer = eb.CacheWriter(out / "_build" / ".jupyter_cache")
    assert not writer.is_cached(eb.read_page("bad", nb_config, md_config, tmp_path))
    config = nb_config.copy(execution_cache_path=str(out / "_build" / ".jupyter_cache"))
    for doc, expected in (("pages/one", "42\n"), ("more/two", "md more\n")):
        fresh = eb.read_page(doc, nb_config, md_config, tmp_path)     # as Sphinx would read it again
        logger = _Logger()
        with NotebookClientCache(fresh.nb, fresh.path, config, logger, read_fmt=fresh.read_fmt) as client:
            outputs = [c for c in client.notebook.cells if c.cell_type == "code"][0].outputs
        assert any(m.startswith("Using cached notebook") for m in logger.messages), (doc, logger.messages)
        assert not any("Executing notebook" in m for m in logger.messages), (doc, logger.messages)
        assert outputs[0]["text"] == expected     # and the kernel ran in the page's own folder

    # after the build: the executed notebooks where myst-nb writes them, without the glued values' records
    folder = out / "_build" / "jupyter_execute"
    pages = [eb.read_page(doc, nb_config, md_config, tmp_path) for doc in ("pages/one", "more/two")]
    assert eb.write_executed(pages, writer, folder) == 2
    one = nbformat.read(folder / "pages" / "one.ipynb", as_version=4).cells[0]
    assert one.execution_count == 1 and one.outputs[0]["text"] == "42\n"
    assert len(one.outputs) == 1            # the glued value's record went to myst-nb's glue data
    cached = writer.cache.get_cache_bundle(writer.cache.match_cache_notebook(pages[0].nb).pk).nb.cells[0]
    assert [o.get("metadata", {}).get("scrapbook", {}).get("name") for o in cached.outputs] == [None, "answer"]
    with pytest.raises(SystemExit, match="bad"):
        eb.write_executed(pages + [eb.read_page("bad", nb_config, md_config, tmp_path)], writer, folder)


@pytest.mark.executor
def test_stopping_the_kernel_at_once_loses_no_output(tmp_path):
    """execute_page kills the kernel when the last cell has replied (no graceful shutdown): every output,
    up to the last line of a long stream and a display, is in the executed notebook."""
    _write_ipynb(tmp_path / "p.ipynb", "for i in range(3000):\n    print(i)\n"
                 "from IPython.display import display\ndisplay({'text/plain': 'the end'}, raw=True)")
    nb = nbformat.read(tmp_path / "p.ipynb", as_version=4)
    outcome = eb.execute_page(Page("p", tmp_path / "p.ipynb", nb=nb, timeout=60))
    assert not outcome.failed, outcome.traceback
    outputs = nb.cells[0].outputs
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert text.split() == [str(i) for i in range(3000)]
    assert outputs[-1].output_type == "display_data" and outputs[-1].data["text/plain"] == "the end"


def test_notebook_metadata_does_not_change_the_cache_key(tmp_path):
    from jupyter_cache import get_cache

    _write_ipynb(tmp_path / "a.ipynb", "1 + 1")
    _write_ipynb(tmp_path / "b.ipynb", "1 + 1", {"rnnlib": {"execute_alone": True}})
    _write_ipynb(tmp_path / "c.ipynb", "1 + 2", {"rnnlib": {"execute_alone": True}})
    nb_config, md_config = eb.book_configs(ROOT)
    a, b, c = (eb.read_page(d, nb_config, md_config, tmp_path) for d in ("a", "b", "c"))
    cache = get_cache(str(tmp_path / "cache"))
    key = [cache.create_hashed_notebook(p.nb)[1] for p in (a, b, c)]
    assert key[0] == key[1] != key[2]


# -- the probes that lift "alone" and "last" when a page's engine work is all cached (_ext/page_probe.py) ----

PROBES = """
import os, time
def yes(): return True
def no(): return False
def truthy(): return 1
def boom(): raise RuntimeError("the probe broke")
def env(): return os.environ.get("RNNLIB_PROBE_TEST") == "1"
def slow(): time.sleep(30)
"""


def test_a_probe_says_cached_only_when_its_function_returns_true(tmp_path, monkeypatch):
    import page_probe

    (tmp_path / "probe_mod.py").write_text(PROBES, encoding="utf-8")
    names = [f"probe_mod:{name}" for name in ("yes", "no", "truthy", "boom", "env", "missing")]
    answers = page_probe.engine_cached(names, tmp_path)        # one process asks them all, in turn
    assert [k for k, (cached, _) in answers.items() if cached] == ["probe_mod:yes"]
    assert "RuntimeError('the probe broke')" in answers["probe_mod:boom"][1]
    assert "not all cached" in answers["probe_mod:no"][1] and "AttributeError" in answers["probe_mod:missing"][1]
    monkeypatch.setenv("RNNLIB_PROBE_TEST", "1")        # the page's environment reaches the probe
    assert page_probe.engine_cached(["probe_mod:env"], tmp_path)["probe_mod:env"][0] is True
    slow = page_probe.engine_cached(["probe_mod:yes", "probe_mod:slow"], tmp_path, timeout=1.0)
    assert not any(cached for cached, _ in slow.values()) and "no answer in 1 s" in slow["probe_mod:slow"][1]


@pytest.mark.parametrize("name", ["probe_mod", "probe_mod:", "a b:c", ":f", 3, None])
def test_a_probe_name_is_module_colon_function(name):
    import page_probe

    with pytest.raises(ValueError, match="cached_probe must be 'package.module:function'"):
        page_probe.check_probe(name)


def test_a_malformed_probe_in_the_metadata_stops_the_reading(tmp_path):
    _write_ipynb(tmp_path / "a.ipynb", "1", {"rnnlib": {"execute_alone": True, "cached_probe": "no colon"}})
    nb_config, md_config = eb.book_configs(ROOT)
    with pytest.raises(ValueError, match="cached_probe"):
        eb.read_page("a", nb_config, md_config, tmp_path)


@pytest.mark.parametrize("cached", [True, False])
def test_alone_and_last_hold_unless_the_page_probe_says_cached(tmp_path, cached):
    """Both branches, through a real probe process: cached, chapter 5 runs beside the others and chapter 8
    starts as soon as a slot is free; not cached, chapter 5 runs first and alone and chapter 8 last."""
    import page_probe

    (tmp_path / "probe_mod.py").write_text(PROBES, encoding="utf-8")
    probe = "probe_mod:yes" if cached else "probe_mod:no"
    pages = [Page("a", tmp_path / "a.ipynb", expected=20), Page("b", tmp_path / "b.ipynb", expected=14),
             Page("c", tmp_path / "c.ipynb", expected=9),
             Page("ch5", tmp_path / "ch5.ipynb", alone=True, expected=13, probe=probe),
             Page("ch8", tmp_path / "ch8.ipynb", last=True, expected=30, probe=probe)]
    logged = []
    relaxed = page_probe.relax_constraints(pages, lambda p: p.probe, lambda p: p.path.parent, logged.append)
    assert [p.doc for p in relaxed] == (["ch5", "ch8"] if cached else [])
    assert len(logged) == 2 and all((": all cached" in m) == cached for m in logged)
    rec = Recorder(seconds=0.1)
    run_pages(pages, rec, slots=2)
    if cached:   # the longest expected first, whatever the flags said
        assert rec.starts() == ["ch8", "a", "b", "ch5", "c"]
        assert "ch5" in rec.alone_overlap or rec.events.index(("end", "ch5")) > rec.events.index(("start", "c"))
    else:
        assert rec.events[:2] == [("start", "ch5"), ("end", "ch5")]
        assert rec.starts()[-1] == "ch8" and rec.events.index(("start", "ch8")) > max(
            rec.events.index(("end", d)) for d in ("a", "b", "c"))


def test_pages_without_constraints_are_not_probed(tmp_path):
    import page_probe

    pages = [Page("a", tmp_path / "a.ipynb", probe="probe_mod:missing")]      # neither alone nor last
    assert page_probe.relax_constraints(pages, lambda p: p.probe, lambda p: p.path.parent,
                                        lambda m: pytest.fail(m)) == []


def _probe_clearing(pages, started, log, rec):
    """A probe that answers once the pages named in ``started`` have started, and clears ``pages``' marks."""
    def probe():
        _wait_for(lambda: set(started) <= set(rec.starts()), f"{started} to start")
        for page in pages:
            page.alone = page.last = False
        log.append(list(rec.starts()))    # the pages started before the probe answered
    return probe


def test_the_probe_runs_beside_the_first_alone_page_and_nothing_else_starts_before_it_answers():
    pages = [Page("a", Path("a"), expected=20), Page("b", Path("b"), expected=14),
             Page("ch5", Path("ch5"), alone=True, expected=13), Page("ch8", Path("ch8"), last=True, expected=30)]
    log = []
    # ch5 runs until ch8 has started: the probe's answer must let ch8 start beside it
    rec = Recorder(seconds=0.01, until=lambda r, page: page.doc != "ch5" or "ch8" in r.starts())
    run_pages(pages, rec, slots=2, probe=_probe_clearing([pages[2], pages[3]], ["ch5"], log, rec))
    assert log == [["ch5"]]
    # ch5 started at once; once the probe cleared the marks, the others started while ch5 still ran,
    # ch8 first (the longest expected) instead of last
    assert rec.starts() == ["ch5", "ch8", "a", "b"]
    assert rec.events.index(("start", "ch8")) < rec.events.index(("end", "ch5"))


def test_a_probe_that_clears_nothing_or_fails_keeps_alone_and_last(capfd):
    for probe in (lambda: None, lambda: 1 / 0):
        pages = [Page("a", Path("a"), expected=20), Page("ch5", Path("ch5"), alone=True, expected=13),
                 Page("b", Path("b"), expected=14), Page("ch8", Path("ch8"), last=True, expected=30)]
        rec = Recorder(seconds=0.05)
        run_pages(pages, rec, slots=2, probe=probe)
        assert rec.events[:2] == [("start", "ch5"), ("end", "ch5")] and rec.starts() == ["ch5", "a", "b", "ch8"]
        assert rec.events.index(("start", "ch8")) > max(rec.events.index(("end", d)) for d in ("a", "b"))
    assert "the cache probe failed (ZeroDivisionError" in capfd.readouterr().err


def test_without_an_alone_page_unmarked_pages_start_while_the_probe_runs():
    pages = [Page("a", Path("a"), expected=20), Page("ch8", Path("ch8"), last=True, expected=30),
             Page("b", Path("b"), expected=14)]
    log = []
    rec = Recorder(seconds=0.01, until=lambda r, page: bool(log))   # a and b run until the probe answered
    run_pages(pages, rec, slots=2, probe=_probe_clearing([pages[1]], ["a", "b"], log, rec))
    assert log == [["a", "b"]] and rec.starts() == ["a", "b", "ch8"]
