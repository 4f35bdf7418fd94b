"""Whether a page's experiment-engine work is all cached, asked before `make book` schedules it (issue 12).

Chapter: every page (the appendix "How the book is made and checked"); paper section: none, this is build
tooling.

Two pages carry a scheduling constraint for the cold build (``_ext/execute_book.py``): chapter 5 runs
alone (``execute_alone``: its process pool trains on every core), chapter 8 runs last (``execute_last``: its
ledger reads the runs of chapters 5 and 6, and started beside them on an empty cache it trained them
again). With the engine's cache filled, neither page trains anything and the constraint only leaves a
core idle. Such a page's notebook metadata may name a probe, ``"rnnlib": {"cached_probe":
"module:function"}``: a function of no arguments that returns True only when the page's engine work is
all in the cache (``rnnlib.studies.generalization.headline_cached``, ``rnnlib.studies.ledger.ledger_inputs_cached``).
:func:`engine_cached` calls it in a process of its own, as the page's kernel would run it: the same
interpreter, environment (``RNNLIB_FAST``, ``RNNLIB_CACHE``) and working directory (one process asks every
probe of the pages in one folder: the library is imported once, about 2 s of CPU). Only ``True`` returned
counts as cached; anything else (False, an error, a time-out) keeps the constraint. ``execute_book`` asks
while the first page marked alone already runs, so the probe costs the cold build nothing but its CPU.
A wrong "cached" answer only costs time: the engine computes the same numbers whichever page runs beside
which.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

PROBE_KEY = "cached_probe"          # the notebook metadata (under "rnnlib") naming a page's probe
PROBE_TIMEOUT = 120.0               # seconds; past it the pages asked are taken as not cached
_NAME = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
# Run in the probes' process: one line per probe, "True" only when the function returned True (not merely
# something truthy); an error is that probe's answer, the others are still asked.
_CALL = """
import importlib, sys
for probe in sys.argv[1:]:
    module, name = probe.split(":")
    try:
        answer = "True" if getattr(importlib.import_module(module), name)() is True else "False"
    except BaseException as err:
        answer = "error " + repr(err).replace("\\n", " ")
    print(probe, answer, sep="\\t", flush=True)
"""


def check_probe(name: object) -> str:
    """``name`` if it has the form ``package.module:function``, else ValueError."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"a page's {PROBE_KEY} must be 'package.module:function', got {name!r}")
    return name


def engine_cached(probes: list[str], cwd: Path, timeout: float = PROBE_TIMEOUT,
                  python: str = sys.executable) -> dict[str, tuple[bool, str]]:
    """``{probe: (whether it says the page's engine work is all cached, a short account for the log)}``,
    the probes called one after another in one process (one import of the library) run with ``python`` in
    ``cwd`` with this process's environment."""
    for probe in probes:
        check_probe(probe)
    start = time.perf_counter()
    try:
        done = subprocess.run([python, "-c", _CALL, *probes], cwd=str(cwd), env=dict(os.environ), timeout=timeout,
                              capture_output=True, text=True, check=False)
    except subprocess.TimeoutExpired:
        return {p: (False, f"{p}: no answer in {timeout:.0f} s") for p in probes}
    seconds = time.perf_counter() - start
    lines = dict(line.split("\t", 1) for line in done.stdout.splitlines() if "\t" in line)
    answers = {}
    for probe in probes:
        said = lines.get(probe)
        if said == "True":
            answers[probe] = (True, f"{probe}: all cached ({seconds:.1f} s)")
        elif said == "False":
            answers[probe] = (False, f"{probe}: not all cached ({seconds:.1f} s)")
        else:
            why = said or (done.stderr.strip().splitlines() or [f"status {done.returncode}"])[-1]
            answers[probe] = (False, f"{probe} failed ({why}); taken as not cached")
    return answers


def relax_constraints(pages: list, probe_of, cwd_of, log=print) -> list:
    """Ask the probe of every page that runs alone or last (``probe_of(page)``: its probe name or None;
    one process per working directory ``cwd_of(page)``); a page whose probe says cached loses both
    constraints (``page.alone = page.last = False``). Returns the pages relaxed."""
    asked = [p for p in pages if (p.alone or p.last) and probe_of(p)]
    groups: dict[Path, list] = {}
    for page in asked:
        groups.setdefault(Path(cwd_of(page)), []).append(page)
    answers = {}
    for cwd, group in groups.items():
        said = engine_cached(list(dict.fromkeys(probe_of(p) for p in group)), cwd)
        answers.update({id(p): said[probe_of(p)] for p in group})
    relaxed = []
    for page in asked:
        cached, account = answers[id(page)]
        if cached:
            page.alone = page.last = False
            relaxed.append(page)
        log(f"{page.path}: {account}; {'scheduled as any page' if cached else 'constraint kept'} [execute_book]")
    return relaxed
