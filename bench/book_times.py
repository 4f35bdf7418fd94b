"""Opt-in: time the full-profile book build cold (empty execution cache) and warm (cache filled).

    python bench/book_times.py          # or: make bench-book

Runs ``make clean`` and then ``make book`` twice from the repository root, with the sweep cache
pointed at a new, empty directory (``RNNLIB_CACHE=_build/bench_sweep_cache``), so the cold build
trains every network.  Then it re-executes each chapter that uses the sweep engine with that cache
filled (the "warm chapter" times).  The builds are timed without the HTML and browser checks
that ``make book`` runs afterwards (``BOOK_CHECKS=0``).  It writes ``bench/book_times.json``: ``book_cold_seconds``,
``book_warm_seconds``, ``chapter_cold_seconds`` (per notebook, from the build log),
``chapter_warm_seconds``, the machine and the commit;
``bench/run_all.py`` copies those two figures into ``bench/results.json``.  After the cold build it
computes ``book_flop_efficiency`` (training FLOPs of the runs the cold build cached, over the build
time times the SGEMM peak measured then, with the breakdown of the rest: ``bench/book_flops.py``),
stores it in ``bench/book_times.json`` and writes it into ``bench/results.json``.  It takes as long
as two full builds (targets of issue 16: cold <= 15 minutes, warm <= 60 seconds on the 2-core
machine), so ``make bench`` does not run it.
"""
from __future__ import annotations

import argparse
import json
import os
import re
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


SWEEP_CACHE = ROOT / "_build" / "bench_sweep_cache"
# chapters whose warm time (sweep cache filled, notebook re-executed) is measured
WARM_CHAPTERS = ["chapters/05_generalization.ipynb", "chapters/06_why_it_works.ipynb",
                 "chapters/07_baselines_and_limits.ipynb", "chapters/08_claims_ledger.ipynb"]
EXECUTED = re.compile(r"(chapters/[\w.-]+?)(?:\.ipynb)?:?\s.*?Executed notebook in ([\d.]+) seconds")


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB_FAST"}  # the full profile
    env["RNNLIB_CACHE"] = str(SWEEP_CACHE)
    return env


def timed_make(target: str, log) -> float:
    env = _env()
    start = time.perf_counter()
    proc = subprocess.run(["make", target, "BOOK_CHECKS=0"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"`make {target}` failed (exit {proc.returncode}); see {log.name}")
    return seconds


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(HERE / "book_times.json"))
    parser.add_argument("--log", default=str(HERE / "book_times.log"))
    args = parser.parse_args(argv)
    machine = machine_info()
    with open(args.log, "w") as log:
        timed_make("clean", log)
        shutil.rmtree(SWEEP_CACHE, ignore_errors=True)
        print("make book (cold: empty execution and sweep caches) ...", flush=True)
        log.flush()
        start = log.tell()
        cold = timed_make("book", log)
        log.flush()
        end = log.tell()
        print(f"  {cold:.0f} s; FLOP efficiency of the cold build ...", flush=True)
        with open(args.log) as read:
            read.seek(start)
            cold_log = read.read(end - start)
        # measured now, before the warm build: the peak and kernel starts on the same machine state
        flops = book_flops.efficiency(SWEEP_CACHE, cold_log, cold, ROOT / "_build" / "jupyter_execute")
        book_flops.print_summary(flops)
        print("make book (warm: caches filled) ...", flush=True)
        warm = timed_make("book", log)
        print(f"  {warm:.0f} s", flush=True)
    chapters = {m.group(1).split("/")[-1]: float(m.group(2)) for m in EXECUTED.finditer(cold_log)}
    print("chapters, cold:", chapters, flush=True)
    chapters_warm = {}
    jupyter = str(Path(sys.executable).with_name("jupyter"))
    for nb in WARM_CHAPTERS:
        t0 = time.perf_counter()
        subprocess.run([jupyter, "nbconvert", "--to", "notebook", "--execute", nb, "--output-dir",
                        str(ROOT / "_build" / "bench_warm"), "--ExecutePreprocessor.timeout=1800"],
                       cwd=ROOT, env=_env(), check=True, capture_output=True)
        chapters_warm[Path(nb).stem] = time.perf_counter() - t0
        print(f"  {Path(nb).stem} warm: {chapters_warm[Path(nb).stem]:.0f} s", flush=True)
    machine["load_average_at_end"] = list(os.getloadavg())
    result = {"book_cold_seconds": cold, "book_warm_seconds": warm, "chapter_cold_seconds": chapters,
              "chapter_warm_seconds": chapters_warm, "book_flop_efficiency": flops, "machine": machine}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    book_flops.write_result(flops, HERE / "results.json")
    print(f"wrote {args.out} and book_flop_efficiency into {HERE / 'results.json'}")
    return result


if __name__ == "__main__":
    main()
