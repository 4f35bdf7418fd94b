"""Opt-in: time the full-profile book build cold (empty execution cache) and warm (cache filled).

    python bench/book_times.py          # or: make bench-book

Runs ``make clean`` and then ``make book`` twice from the repository root, and writes
``bench/book_times.json`` (``book_cold_seconds``, ``book_warm_seconds``, the machine, the commit);
``bench/run_all.py`` copies those two figures into ``bench/results.json``.  It takes as long as two
full builds (targets: cold <= 25 minutes, warm <= 60 seconds on the 2-core machine), so
``make bench`` does not run it.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _timing import machine_info  # noqa: E402


def timed_make(target: str, log) -> float:
    env = {k: v for k, v in os.environ.items() if k != "RNNLIB_FAST"}  # the full profile
    start = time.perf_counter()
    proc = subprocess.run(["make", target], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
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
        print("make book (cold: empty execution cache) ...", flush=True)
        cold = timed_make("book", log)
        print(f"  {cold:.0f} s\nmake book (warm: cache filled) ...", flush=True)
        warm = timed_make("book", log)
        print(f"  {warm:.0f} s", flush=True)
    machine["load_average_at_end"] = list(os.getloadavg())
    result = {"book_cold_seconds": cold, "book_warm_seconds": warm, "machine": machine}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return result


if __name__ == "__main__":
    main()
