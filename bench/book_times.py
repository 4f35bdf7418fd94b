"""Opt-in: time the full-profile book build three ways, per chapter, in one run (issues 12 and 16).

    python bench/book_times.py          # or: make bench-book   (three full builds; run on an idle machine)
    python bench/book_times.py --fast   # the same three builds at fast-profile sizes (tests this script)

The three builds, each timed whole and per page (from myst-nb's log lines):

1. **cold**: ``make clean``, an empty engine cache (``RNNLIB_CACHE=_build/bench_sweep_cache``), then
   ``make book``: every network is trained and every page executed;
2. **warm**: ``make book`` again, nothing changed: the jupyter execution cache is filled and Sphinx
   re-reads no unchanged page, so no page is executed (per page: 0 s, and what the build did with it);
3. **re-execution**: the execution cache and the doctrees dropped (what the Makefile does when a
   file of ``rnnlib/`` changes), the engine cache kept, then ``make book``: every page is executed
   again and reads its experiments from the engine cache.  Its total is issue 12's figure ("a warm
   ``make book`` re-executes the whole book in at most 60 s").  It runs ``--reexec-repeats`` times
   (default 3; back-to-back runs differed by up to 19 s on this machine): ``book_reexec_seconds`` is the
   slowest, since the target must hold for every run, and ``book_reexec_seconds_runs`` lists them all.

The builds run without the HTML and browser checks that ``make book`` runs afterwards
(``BOOK_CHECKS=0``).  After the cold build it computes ``book_flop_efficiency`` (training FLOPs of
the runs the cold build cached, over the build time times the SGEMM peak measured then, with the
breakdown of the rest: ``bench/book_flops.py``).  It writes ``bench/book_times.json`` (all of the
above, the machine, and the load average before and after each build) and puts the book figures
and ``book_flop_efficiency`` into ``bench/results.json`` (``bench/run_all.py`` reads them from
``bench/book_times.json`` too).

``--fast`` builds the fast profile as ``make book-fast`` does (executor, Sphinx) into ``_build/bench_fast`` (its
own engine cache; no PDF) and writes only ``_build/bench_fast/book_times.json``: its figures are
not the book's and never go into ``bench/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _timing import machine_info  # noqa: E402
import book_flops  # noqa: E402

# myst-nb's log lines, one per page: "<path>: Executed notebook in 5.95 seconds" or
# "<path>: Using cached notebook: ID=3". `make book` executes the pages first (_ext/execute_book.py,
# which prints the first form, in myst-nb's format), then jupyter-book reads each from the cache
# (the second form): a page with both lines was executed by this build.
PAGE_LINE = re.compile(r"^(\S+?):? (?:Executed notebook in ([\d.]+) seconds|(Using cached notebook))", re.MULTILINE)
TARGETS = {"book_cold_seconds": 900, "book_warm_seconds": 60, "book_reexec_seconds": 60}


class Profile:
    """Where and how one profile builds: ``make book`` (full) or the commands of ``make book-fast`` (fast)."""

    def __init__(self, fast: bool):
        self.fast = fast
        self.out = ROOT / "_build" / "bench_fast" if fast else ROOT
        self.build_dir = self.out / "_build"          # jupyter-book's _build under --path-output
        self.sweep_cache = (self.out if fast else ROOT / "_build") / ("sweep_cache" if fast else "bench_sweep_cache")

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if k not in ("RNNLIB_FAST", "MPLBACKEND")}
        if self.fast:
            env["RNNLIB_FAST"] = "1"
        env["RNNLIB_CACHE"] = str(self.sweep_cache)
        return env

    def clean(self, log) -> None:
        if self.fast:  # not self.out: the log being written lives there
            shutil.rmtree(self.build_dir, ignore_errors=True)
        else:
            _run(["make", "clean"], log, self.env())
        shutil.rmtree(self.sweep_cache, ignore_errors=True)

    def drop_execution_cache(self) -> None:
        """As the Makefile's ``.rnnlib-sources`` rule when ``rnnlib/`` changed: re-execute every page."""
        for name in (".jupyter_cache", ".doctrees"):
            shutil.rmtree(self.build_dir / name, ignore_errors=True)

    def build_command(self) -> list[str]:
        if self.fast:  # as `make book-fast` (executor, Sphinx, executed notebooks), chained in one shell
            return ["bash", "-c", " && ".join(shlex.join(c) for c in book_flops.fast_build_commands(self.out))]
        return ["make", "book", "BOOK_CHECKS=0"]


def _run(cmd: list[str], log, env: dict) -> float:
    log.flush()
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"`{' '.join(cmd)}` failed (exit {proc.returncode}); see {log.name}")
    return seconds


def page_times(log_text: str) -> tuple[dict, list]:
    """Executed seconds per page (``chapters/05_generalization``; 0.0 for a page only read from the
    execution cache) and the pages read from the cache without being executed by this build. A page
    executed by _ext/execute_book.py and then read from the cache by jupyter-book keeps its seconds
    (pages run two at a time there, so their seconds add up to more than the wall time)."""
    executed, cached = {}, []
    for m in PAGE_LINE.finditer(log_text):
        page = "/".join(Path(m.group(1)).with_suffix("").parts[-2:])
        if m.group(3):
            if page not in cached:
                cached.append(page)
        else:
            executed[page] = float(m.group(2))
    cached = [p for p in cached if p not in executed]
    seconds = {**{p: 0.0 for p in cached}, **executed}
    order = [m_page for m_page in dict.fromkeys(
        "/".join(Path(m.group(1)).with_suffix("").parts[-2:]) for m in PAGE_LINE.finditer(log_text))]
    return {p: seconds[p] for p in order}, cached


def warm_status(page: str, build: dict) -> str:
    """What the warm build did with ``page``: Sphinx re-reads only changed sources, so an unchanged
    page is neither executed nor read from the execution cache."""
    if page in build["cached_pages"]:
        return "read from the execution cache"
    return "executed" if page in build["pages"] else "up to date, not re-read"


def timed_build(profile: Profile, log_path: Path, log) -> dict:
    """One build: wall seconds, per-page seconds, pages read from the cache, load before and after."""
    log.flush()
    start = log.tell()
    load_before = list(os.getloadavg())
    seconds = _run(profile.build_command(), log, profile.env())
    log.flush()
    with open(log_path, errors="replace") as read:
        read.seek(start)
        text = read.read()
    pages, cached = page_times(text)
    return {"seconds": seconds, "pages": pages, "cached_pages": cached, "load_before": load_before,
            "load_after": list(os.getloadavg()), "log": text}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="fast-profile sizes into _build/bench_fast (a test)")
    parser.add_argument("--out", default=None, help="output JSON (default bench/book_times.json, or "
                        "_build/bench_fast/book_times.json with --fast)")
    parser.add_argument("--log", default=None, help="build log (default beside the output JSON)")
    parser.add_argument("--no-flops", action="store_true", help="skip book_flop_efficiency")
    parser.add_argument("--reexec-repeats", type=int, default=3,
                        help="re-execution builds, back to back (default 3; the slowest is the figure)")
    args = parser.parse_args(argv)
    if args.reexec_repeats < 1:
        parser.error(f"--reexec-repeats must be at least 1, got {args.reexec_repeats}")
    profile = Profile(args.fast)
    if args.fast:
        profile.out.mkdir(parents=True, exist_ok=True)
    out = Path(args.out) if args.out else (profile.out / "book_times.json" if args.fast else HERE / "book_times.json")
    log_path = Path(args.log) if args.log else out.with_suffix(".log")
    machine = machine_info()
    builds, flops = {}, None
    with open(log_path, "w") as log:
        profile.clean(log)
        reexecs = [(f"reexec_{k}" if k else "reexec", "execution cache dropped, engine cache filled")
                   for k in range(args.reexec_repeats)]
        for name, what in (("cold", "empty execution and engine caches"), ("warm", "both caches filled"), *reexecs):
            if name.startswith("reexec"):
                profile.drop_execution_cache()
            print(f"book build, {name} ({what}) ...", flush=True)
            builds[name] = timed_build(profile, log_path, log)
            print(f"  {builds[name]['seconds']:.0f} s", flush=True)
            if name == "cold" and not args.no_flops:
                # measured now, before the warm build: the peak and kernel starts on the same machine state
                flops = book_flops.efficiency(profile.sweep_cache, builds["cold"]["log"], builds["cold"]["seconds"],
                                              profile.build_dir / "jupyter_execute")
                book_flops.print_summary(flops)
    machine["load_average_at_end"] = list(os.getloadavg())
    chapters = sorted(set().union(*(b["pages"] for b in builds.values())))
    runs = [builds[name] for name, _ in reexecs]
    slowest = max(runs, key=lambda b: b["seconds"])
    result = {
        "profile": "fast" if args.fast else "full",
        "book_cold_seconds": builds["cold"]["seconds"],
        "book_warm_seconds": builds["warm"]["seconds"],
        "book_reexec_seconds": slowest["seconds"],
        "book_reexec_seconds_runs": [b["seconds"] for b in runs],
        "chapter_cold_seconds": builds["cold"]["pages"],
        # seconds the warm build executed each page: 0.0 unless the execution cache missed
        "chapter_warm_seconds": {p: builds["warm"]["pages"].get(p, 0.0) for p in chapters},
        "chapter_warm_status": {p: warm_status(p, builds["warm"]) for p in chapters},
        "chapter_reexec_seconds": slowest["pages"],     # the pages of the slowest re-execution
        "targets": TARGETS,
        "book_flop_efficiency": flops,
        "load_average_per_build": {k: {"before": b["load_before"], "after": b["load_after"]}
                                   for k, b in builds.items()},
        "machine": machine,
    }
    out.write_text(json.dumps(result, indent=2) + "\n")
    print_table(result)
    if not args.fast:
        write_results(result, HERE / "results.json")
        print(f"wrote {out} and the book figures into {HERE / 'results.json'}")
    else:
        print(f"wrote {out} (fast profile: bench/results.json untouched)")
    return result


def print_table(result: dict) -> None:
    rows = sorted(set(result["chapter_cold_seconds"]) | set(result["chapter_reexec_seconds"]))
    print(f"\n{'page':40s} {'cold s':>8s} {'warm s':>8s} {'re-exec s':>10s}")
    for p in rows:
        cells = [result[k].get(p) for k in ("chapter_cold_seconds", "chapter_warm_seconds", "chapter_reexec_seconds")]
        print(f"{p:40s} " + " ".join(f"{'-' if v is None else f'{v:.1f}':>{w}s}" for v, w in zip(cells, (8, 8, 10))))
    for key, limit in TARGETS.items():
        print(f"{key:40s} {result[key]:8.0f}   target <= {limit} s ({result['profile']} profile)")
    if len(result.get("book_reexec_seconds_runs", [])) > 1:
        print(f"{'  re-executions (the slowest above)':40s} "
              + ", ".join(f"{s:.0f}" for s in result["book_reexec_seconds_runs"]) + " s")


def write_results(result: dict, path: Path) -> None:
    """Put the book figures (and ``book_flop_efficiency`` with its breakdown) into ``bench/results.json``."""
    data = json.loads(path.read_text()) if path.exists() else {}
    for key in ("book_cold_seconds", "book_warm_seconds", "book_reexec_seconds"):
        data[key] = result[key]
    if "book_reexec_seconds_runs" in result:
        data["book_reexec_seconds_runs"] = result["book_reexec_seconds_runs"]
    data.setdefault("details", {})["book_times"] = {k: result[k] for k in (
        "chapter_cold_seconds", "chapter_warm_seconds", "chapter_warm_status", "chapter_reexec_seconds",
        "load_average_per_build", "machine")}
    path.write_text(json.dumps(data, indent=2) + "\n")
    if result["book_flop_efficiency"] is not None:
        book_flops.write_result(result["book_flop_efficiency"], path)


if __name__ == "__main__":
    main()
