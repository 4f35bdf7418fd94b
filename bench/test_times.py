"""Opt-in: time ``make test`` from a fresh clone, virtual environment included (issue 16: at most 7 minutes).

    python bench/test_times.py          # or: make bench-test   (about 6 minutes; run on an idle machine)

It clones the repository's committed ``HEAD`` into a temporary directory (uncommitted changes are not
measured: it says so), runs ``make test`` there with the environment a new shell would give it (no
``RNNLIB_*`` variable), and times the whole command and each step of it from the lines ``make`` prints
(creating ``.venv`` and installing the pins, lint, unit tests, the offline assets, the fast book's
pages, Sphinx, the PDF, the book checks).  Package downloads come from the machine's caches when they
are there (pip's and uv's), as they would on a CI machine that ran before; the JSON says which.

It writes ``bench/test_times.json`` (the total, the steps, the machine, the load average before and
after, the commit) and puts ``test_fresh_clone_seconds`` into ``bench/results.json``
(``bench/run_all.py`` reads it from ``bench/test_times.json`` too).  A failing ``make test`` is
reported with its exit status and the log's tail, and nothing is written to ``bench/results.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from _timing import machine_info  # noqa: E402  (bench/ is not a package)

#: Issue 16's limit for ``make test`` from a fresh clone, in seconds.
TARGET_SECONDS = 420
#: The steps of ``make test``, each recognized by the first line ``make`` (or the step) prints.
STEPS = [("venv", re.compile(r"^Creating \.venv")),
         ("lint", re.compile(r"ruff check")),
         ("unit tests", re.compile(r"pytest tests -m \"not book and not browser\"")),
         ("offline assets", re.compile(r"^rm -rf _offline_assets")),
         ("pages", re.compile(r"execute_book\.py\s.*--path-output \S+$")),
         ("sphinx", re.compile(r"jupyter-book build|jb_build\.py build")),
         ("executed notebooks", re.compile(r"execute_book\.py .*--write-executed")),
         ("pdf", re.compile(r"book_pdf\.py")),
         ("book checks", re.compile(r"pytest -m \"book or browser\""))]


def steps_of(stamped: list[tuple[float, str]], end: float) -> dict[str, float]:
    """``{step: seconds}`` from ``(time, line)`` pairs: a step lasts from its first line to the next step's."""
    starts = []
    for name, pattern in STEPS:
        hit = next((t for t, line in stamped if pattern.search(line)), None)
        if hit is not None:
            starts.append((hit, name))
    starts.sort()
    return {name: round((starts[i + 1][0] if i + 1 < len(starts) else end) - t, 1)
            for i, (t, name) in enumerate(starts)}


def run(target: str = "test", keep: bool = False) -> dict:
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.strip()
    if dirty:
        print("note: uncommitted changes are not measured (the clone is of HEAD)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="rnnlib-test-times-"))
    clone = work / "repo"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RNNLIB_") and k not in ("MPLBACKEND", "VIRTUAL_ENV")}
    machine = machine_info()
    load_before = list(os.getloadavg())
    stamped: list[tuple[float, str]] = []
    start = time.perf_counter()
    with subprocess.Popen(["make", target], cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, bufsize=1) as proc:
        for line in proc.stdout:
            stamped.append((time.perf_counter() - start, line.rstrip("\n")))
    seconds = time.perf_counter() - start
    result = {"test_fresh_clone_seconds": round(seconds, 1), "target_seconds": TARGET_SECONDS,
              "exit_status": proc.returncode, "steps": steps_of(stamped, seconds),
              "summary_lines": [line for _, line in stamped if re.search(r"\d+ passed", line)],
              "uv_cache_present": (Path.home() / ".cache" / "uv").is_dir(),
              "pip_cache_present": (Path.home() / ".cache" / "pip").is_dir(),
              "load_before": load_before, "load_after": list(os.getloadavg()), "machine": machine}
    (work / "make_test.log").write_text("\n".join(f"{t:8.1f} {line}" for t, line in stamped) + "\n")
    if not keep:
        shutil.rmtree(clone, ignore_errors=True)
    print(f"make {target} from a fresh clone: {seconds:.0f} s (exit status {proc.returncode}; target <= "
          f"{TARGET_SECONDS} s); log {work / 'make_test.log'}")
    for name, s in result["steps"].items():
        print(f"  {name:20s} {s:7.1f} s")
    if proc.returncode != 0:
        print("\n".join(line for _, line in stamped[-30:]), file=sys.stderr)
    return result


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(HERE / "test_times.json"))
    parser.add_argument("--keep", action="store_true", help="keep the clone (its _build and .venv) for a look")
    args = parser.parse_args(argv)
    result = run(keep=args.keep)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    if result["exit_status"] == 0 and Path(args.out).resolve() == (HERE / "test_times.json").resolve():
        write_results(result, HERE / "results.json")
        print(f"wrote {args.out} and test_fresh_clone_seconds into {HERE / 'results.json'}")
    return result


def write_results(result: dict, path: Path) -> None:
    """Put ``test_fresh_clone_seconds`` (and its steps under ``details.test_times``) into ``bench/results.json``
    (also called by ``bench/run_all.py`` when it rewrites that file)."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data["test_fresh_clone_seconds"] = result["test_fresh_clone_seconds"]
    data.setdefault("details", {})["test_times"] = {k: result[k] for k in ("steps", "load_before", "load_after",
                                                                             "machine", "uv_cache_present")}
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    sys.exit(0 if main()["exit_status"] == 0 else 1)
