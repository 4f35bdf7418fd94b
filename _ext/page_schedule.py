"""`make book`'s page scheduler: the pages executed a few at a time, chapter 5 alone, chapter 8 last (issue 12).

Chapter: every page (the appendix "How the book is made and checked"); paper section: none, this is build
tooling. Used by ``_ext/execute_book.py`` (which re-exports these names), kept apart so that the rules of
who runs beside whom read in one place: :func:`run_pages`.
"""
from __future__ import annotations

import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

DEFAULT_EXPECTED = 10.0            # seconds expected of a page never timed


@dataclass(eq=False)
class Page:
    """One page to execute: its document name, source file, notebook as myst-nb reads it, and how to run it."""

    doc: str
    path: Path
    nb: Any = None                      # nbformat.NotebookNode, executed in place
    read_fmt: dict | None = None        # jupyter-cache's reader of a text notebook (None: .ipynb)
    timeout: int | None = 600
    allow_errors: bool = False
    alone: bool = False
    expected: float = DEFAULT_EXPECTED
    in_temp: bool = False               # execute.run_in_temp: a temporary working directory
    last: bool = False                  # start only when every page not marked last has finished
    probe: str | None = None            # "module:function": True when the page's engine work is all cached


@dataclass
class Outcome:
    """What executing a page gave: its time, and the error class name and traceback if a cell failed."""

    seconds: float
    error: str | None = None
    traceback: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.error is not None


class PageFailed(RuntimeError):
    """One or more pages failed; ``failures`` lists (document, error class name)."""

    def __init__(self, failures: list[tuple[str, str]]):
        self.failures = failures
        super().__init__("; ".join(f"{doc}: {error}" for doc, error in failures))


def _rank(page: Page) -> tuple:
    """Who starts first: pages marked alone (ties, i.e. all of them, in reading order), then the longest
    expected, those marked last after all the others. Read afresh each time: the probe may clear marks."""
    return (0,) if page.alone else (1, page.last, -page.expected)


def _next_page(todo: list[Page], running: list[Page], slots: int, probing: bool) -> Page | None:
    """The page to start now, or None: a page marked alone runs with no other page beside it (the first
    in reading order); then the longest expected; a page marked last once every other page has finished.
    While the probe runs, only a page marked alone or an unmarked page starts."""
    if not todo or len(running) >= slots or any(p.alone for p in running):
        return None
    alone = [p for p in todo if p.alone]
    if alone:
        return None if running else alone[0]
    page = min(todo, key=_rank)     # min is stable: ties in reading order
    if page.last and (probing or any(not p.last for p in running)):
        return None  # a page marked last reads the others' results: wait until they are cached
    return page


def run_pages(pages: list[Page], execute: Callable[[Page], Outcome], slots: int = 2,
              report: Callable[[Page, Outcome], None] | None = None,
              probe: Callable[[], Any] | None = None) -> list[tuple[Page, Outcome]]:
    """Execute ``pages``: those marked alone first, one at a time, then the rest ``slots`` at a time.

    ``execute(page)`` runs in a worker thread; ``report(page, outcome)`` runs in the calling thread as
    each page finishes (so whatever it writes, e.g. the cache database, is written by one thread).
    ``probe()``, if given, runs in a thread of its own from the start, beside the first page marked alone,
    and may clear pages' ``alone`` and ``last`` marks (``page_probe.relax_constraints``); until it returns,
    no page marked last starts, nor any page beside one marked alone. An exception from ``probe`` leaves
    the marks as they were. An exception from ``execute`` counts as that page's failure. After a failure
    no page is started; those running finish and are reported, then ``PageFailed`` names every failed
    page. Returns (page, outcome) in the order the pages finished.
    """
    if not isinstance(slots, int) or isinstance(slots, bool) or slots < 1:
        raise ValueError(f"slots must be a positive integer, got {slots!r}")
    todo = sorted(pages, key=_rank)  # sorted is stable: ties in reading order
    order = {id(page): i for i, page in enumerate(todo)}
    finished: list[tuple[Page, Outcome]] = []
    failures: list[tuple[str, str]] = []

    def guarded(page: Page) -> Outcome:
        start = time.perf_counter()
        try:
            return execute(page)
        except Exception as err:  # a dead kernel, an unreadable notebook: the page fails, with its name
            return Outcome(time.perf_counter() - start, type(err).__name__, traceback.format_exc())

    def finish(page: Page, outcome: Outcome) -> None:
        finished.append((page, outcome))
        if outcome.failed:
            failures.append((page.doc, outcome.error))
        if report is not None:
            report(page, outcome)

    with ThreadPoolExecutor(max_workers=slots + 1, thread_name_prefix="execute-book") as pool:
        probing = None if probe is None else pool.submit(probe)
        running: dict = {}
        while True:
            while not failures and (page := _next_page(todo, list(running.values()), slots, probing is not None)):
                todo.remove(page)
                running[pool.submit(guarded, page)] = page
            if not running and probing is None:
                break
            done, _ = wait([*running, *([probing] if probing else [])], return_when=FIRST_COMPLETED)
            if probing in done:
                if probing.exception() is not None:
                    print(f"execute_book: the cache probe failed ({probing.exception()!r}); every page keeps "
                          "its marks", file=sys.stderr, flush=True)
                done.discard(probing)
                probing = None
            for future in sorted(done, key=lambda f: order[id(running[f])]):
                finish(running.pop(future), future.result())
    if failures:
        raise PageFailed(failures)
    return finished
