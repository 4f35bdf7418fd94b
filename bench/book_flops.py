"""The share of a cold book build that is useful arithmetic: ``book_flop_efficiency`` (issue 16).

    book_flop_efficiency = training FLOPs of the build / (build seconds x SGEMM peak FLOP/s)

The training FLOPs are counted analytically (:func:`sgd_step_flops`) from the configs of the runs
the build trained, which are the entries of the sweep cache a cold build starts empty and fills
(``bench/book_times.py`` points ``RNNLIB_CACHE`` at a fresh directory).  Runs a chapter trains
outside the sweep engine (a direct ``run_experiment``, the probes of chapters 3 and 6) leave no
entry and are not counted, so the figure is a lower bound; ``runs_counted`` says how many were.
The peak is a 2048 x 2048 float32 ``torch.mm`` at torch's default threads, timed in this run.
The rest of the build time is broken down from the build log and measurements made here: notebook
execution per page (the log's "Executed notebook in"), Sphinx (the build minus the executor's wall time), kernel
starts (a kernel started and ``rnnlib``, torch and matplotlib imported, times the pages executed),
cache reads (every entry read and parsed), plotting (figures in the executed notebooks times the
time to draw and encode one), and by difference the other work of the cells.

Usage, after a build (``bench/book_times.py`` runs it after its cold full-profile build and
writes the result into ``bench/book_times.json`` and ``bench/results.json``)::

    python bench/book_flops.py --cache DIR --log BUILD_LOG --build-seconds S --executed OUT/jupyter_execute
        [--results bench/results.json]     # also writes book_flop_efficiency into that file

or, a small cold run on the fast profile that builds the book itself (into ``_build/flops``, with a
fresh sweep cache; about 4 minutes on 2 cores; ``make book-flops``)::

    python bench/book_flops.py --fast-build
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
EXECUTED_LINE = re.compile(r"^(\S+?):? Executed notebook in ([\d.]+) seconds", re.MULTILINE)
# _ext/execute_book.py's summary: pages run two at a time, so their seconds add up to more than the wall
EXECUTOR_LINE = re.compile(r"^execute_book: \d+ pages executed in ([\d.]+) s", re.MULTILINE)


def sgd_step_flops(n: int, L: int, m: int, d_x: int, d: int = 1, labelled: int = 1, trained: str = "W") -> int:
    """Floating-point operations of the matrix products of one SGD step of ``rnnlib.training``.

    A step on a batch of ``n`` sequences of length ``L`` (inputs of dimension ``d_x`` =
    token_dim + 1, width ``m``, ``d`` outputs read at ``labelled`` positions: 1 for labels="last",
    ``L`` for "all"); a product of a (p x q) by a (q x r) matrix counts 2 p q r.

    Forward: all input terms ``A x_l`` in one product, ``2 n L d_x m``; the recurrence
    ``h_l = relu(W h_{l-1} + A x_l)`` multiplies by ``W`` at ``l = 2..L`` (``h_0 = 0``),
    ``2 n m^2 (L - 1)``; the readout ``lambda B h_l`` at the labelled positions, ``2 n m d P``.
    Backward (paper section 2, the W-only algorithm): ``B^T err``, ``2 n m d P``; back through time
    ``g_{l-1} = W^T (g_l * 1[h_l > 0])`` for ``l = L..3`` (none is needed below ``l = 2``, where
    ``W`` gets no gradient from ``h_0 = 0``), ``2 n m^2 (L - 2)``; the gradient
    ``dW = sum_l g_l h_{l-1}^T`` over ``l = 2..L`` as one product, fused into the update,
    ``2 n m^2 (L - 1)``; the running loss ``err . err``, ``2 n d P``.  In all, for ``trained="W"``:

        F_step = 2 n m [ (3L - 4) m + L d_x + 2 d P ] + 2 n d P

    which is the ``2 n m^2 (3(L-1) - 1)`` of bench/README.md plus the input and readout terms
    (tests/test_book_flops.py checks it against the products torch runs, counted by
    ``torch.utils.flop_counter``).
    Training ``A`` adds one more step back through time and ``dA``: ``2 n m (m + L d_x)``;
    training ``B`` adds ``dB``: ``2 n m d P``.  Elementwise work (ReLU, masks, the update of ``A``
    and ``B``) is not counted.  F is linear in ``n``, so an epoch over ``N`` samples costs
    ``F_step`` at ``n = N`` whatever the batch size.
    """
    for name, v in (("n", n), ("L", L), ("m", m), ("d_x", d_x), ("d", d), ("labelled", labelled)):
        if not isinstance(v, int) or v < 0:
            raise ValueError(f"{name} must be a non-negative int, got {v!r}")
    if L >= 2:
        flops = 2 * n * m * ((3 * L - 4) * m + L * d_x + 2 * d * labelled)
    else:
        flops = 2 * n * m * (d_x + 2 * d * labelled)
    flops += 2 * n * d * labelled   # the epoch's sum of squared errors, err . err
    if "A" in trained:
        # back through time down to l = 1 (one more product by W^T when L >= 2), and dA
        flops += 2 * n * m * ((m if L >= 2 else 0) + L * d_x)
    if "B" in trained:
        flops += 2 * n * m * d * labelled
    return int(flops)


def final_check_flops(n: int, L: int, m: int, d_x: int, d: int = 1, labelled: int = 1) -> int:
    """Floating-point operations of the check of the final model after training (``rnnlib.callbacks``:
    the training error of the last iterate, one forward pass over the ``n`` training sequences):
    ``2 n m (L d_x + (L - 1) m + d P)``, the forward terms of :func:`sgd_step_flops`."""
    return int(2 * n * m * (L * d_x + max(L - 1, 0) * m + d * labelled))


def run_flops(config: dict) -> int:
    """Training FLOPs of one run from its config: ``epochs`` epochs over ``n_train`` samples, and the
    forward pass over them that checks the final model."""
    L, N = int(config["length"]), int(config["n_train"])
    P = L if config.get("labels", "last") == "all" else 1
    m, d_x, d = int(config["width"]), int(config["token_dim"]) + 1, int(config.get("output_dim", 1))
    return (int(config["epochs"]) * sgd_step_flops(N, L, m, d_x, d, P, config.get("trained", "W"))
            + (final_check_flops(N, L, m, d_x, d, P) if int(config["epochs"]) > 0 else 0))


def _sgd_runs(entry: dict) -> list[tuple[dict, dict]]:
    """``(config, result)`` of the SGD training a cache entry holds: an ``sgd`` run, a chapter 5
    ``headline`` point of SGD on W (or on W and A), chapter 4's ``tracked_sgd``, chapter 6's
    ``interference`` (two runs) and ``single_position_sgd``; other kinds (ridge baselines, probes, lemma fits)
    hold no SGD training of this form and are not counted, so the total is a lower bound."""
    kind, r = entry.get("kind", "sgd"), entry.get("result") or {}
    if kind == "sgd" and "config" in r:
        return [(r["config"], r)]
    if kind == "headline" and r.get("point", {}).get("method") in ("sgd_w", "sgd_wa"):
        cfg = dict(r["point"]["config"], trained="WA" if r["point"]["method"] == "sgd_wa" else "W")
        return [(cfg, {"seconds": r.get("seconds"), "n_steps": r.get("info", {}).get("n_steps")})]
    # chapter 6: two models trained together (original and changed targets; the run's seconds once),
    # and SGD on W against one-position targets (no run time stored)
    if kind == "interference" and "run" in r.get("config", {}):
        return [(r["config"]["run"], {"seconds": r.get("seconds")}), (r["config"]["run"], {"seconds": 0.0})]
    if kind == "single_position_sgd" and "run" in r.get("config", {}):
        return [(r["config"]["run"], {})]
    # chapter 4: a run with its pseudo-network tracker (the tracker's probes are not counted)
    if kind == "tracked_sgd" and "config" in r.get("result", {}):
        return [(r["result"]["config"], r["result"])]
    return []


def cache_flops(cache_dir: Path) -> dict:
    """Training FLOPs and run time summed over the SGD runs of an engine cache; the entries' read time."""
    t0 = time.perf_counter()
    entries = []
    for path in sorted(Path(cache_dir).glob("*.json")):
        try:
            entries.append(json.loads(path.read_text()))
        except (OSError, ValueError):
            continue
    read_seconds = time.perf_counter() - t0
    flops, seconds, steps_mismatch, runs, kinds = 0, 0.0, 0, 0, {}
    for e in entries:
        kinds[e.get("kind", "sgd")] = kinds.get(e.get("kind", "sgd"), 0) + 1
        for cfg, r in _sgd_runs(e):
            runs += 1
            flops += run_flops(cfg)
            seconds += float(r.get("seconds") or 0.0)
            expected = int(cfg["epochs"]) * math.ceil(int(cfg["n_train"]) / int(cfg["batch_size"]))
            steps_mismatch += int((r.get("n_steps") or expected) != expected)
    return {"runs": runs, "entries_by_kind": kinds, "flops": flops, "run_seconds": seconds,
            "read_seconds": read_seconds, "runs_with_unexpected_step_count": steps_mismatch}


def sgemm_peak(size: int = 2048, reps: int = 7) -> float:
    """FLOP/s of a ``size`` x ``size`` float32 ``torch.mm`` at torch's default threads (median of ``reps``)."""
    import torch

    a, b = torch.randn(size, size), torch.randn(size, size)
    out = torch.empty(size, size)
    for _ in range(2):
        torch.mm(a, b, out=out)
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        torch.mm(a, b, out=out)
        times.append(time.perf_counter() - t)
    return 2 * size ** 3 / statistics.median(times)


def kernel_start_seconds(reps: int = 2) -> float:
    """Seconds to start a ``python3`` kernel and import what every chapter imports, then stop it."""
    from jupyter_client.manager import start_new_kernel

    times = []
    for _ in range(reps):
        t = time.perf_counter()
        km, kc = start_new_kernel(kernel_name="python3")
        try:
            kc.execute_interactive("import torch, matplotlib.pyplot, rnnlib, myst_nb", timeout=120)
        finally:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def figure_seconds(reps: int = 3) -> float:
    """Seconds to draw a typical book figure and encode it as PNG (chapter 2's explorer, two panels)."""
    import matplotlib

    matplotlib.use("Agg")
    from rnnlib.plots.concept_class import plot_concept_explorer
    from rnnlib.widgets import figure_png

    times = []
    for _ in range(reps):
        t = time.perf_counter()
        figure_png(plot_concept_explorer(8, "sin(3z)"), dpi=100)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def count_figures(executed: Path) -> int:
    """PNG images in the executed notebooks: outputs, glued figures and slider frames."""
    n = 0
    for path in Path(executed).rglob("*.ipynb"):
        text = path.read_text(encoding="utf-8")
        n += text.count('"image/png"') + text.count("data:image/png;base64,")
    return n


def execution_seconds(log_text: str) -> dict[str, float]:
    """Seconds per executed page, from myst-nb's "Executed notebook in" lines of a build log."""
    return {"/".join(Path(m.group(1)).parts[-2:]): float(m.group(2)) for m in EXECUTED_LINE.finditer(log_text)}


def efficiency(cache_dir: Path, log_text: str, build_seconds: float, executed: Path | None,
               workers: int = 2) -> dict:
    """``book_flop_efficiency`` and the breakdown of the build time (see the module docstring)."""
    runs = cache_flops(cache_dir)
    peak = sgemm_peak()
    pages = execution_seconds(log_text)
    executing = sum(pages.values())
    walls = [float(m.group(1)) for m in EXECUTOR_LINE.finditer(log_text)]
    executing_wall = sum(walls) if walls else executing  # pages side by side: the executor's wall time
    kernel = kernel_start_seconds()
    per_figure = figure_seconds()
    figures = count_figures(executed) if executed is not None and Path(executed).is_dir() else None
    plotting = None if figures is None else figures * per_figure
    training_wall = runs["run_seconds"] / workers
    other = executing - len(pages) * kernel - runs["read_seconds"] - (plotting or 0.0) - training_wall
    useful = runs["flops"] / peak
    return {
        "book_flop_efficiency": useful / build_seconds,
        "training_flops": runs["flops"],
        "runs_counted": runs["runs"],
        "build_seconds": build_seconds,
        "sgemm_peak_gflops": peak / 1e9,
        "breakdown_seconds": {
            "useful_arithmetic_at_peak": useful,
            "training_runs_sum": runs["run_seconds"],
            "training_flop_rate_over_peak":
                (runs["flops"] / runs["run_seconds"] / peak) if runs["run_seconds"] else None,
            "notebook_execution": executing,
            "notebook_execution_wall": executing_wall,
            "kernel_starts": len(pages) * kernel,
            "cache_reads": runs["read_seconds"],
            "plotting_estimate": plotting,
            "other_cell_work_by_difference": other,
            "sphinx_and_rest": build_seconds - executing_wall,
        },
        "per_page_execution_seconds": pages,
        "measured": {"kernel_start_and_imports_seconds": kernel, "seconds_per_figure": per_figure,
                     "figures": figures, "sweep_workers_assumed": workers,
                     "runs_with_unexpected_step_count": runs["runs_with_unexpected_step_count"]},
        "notes": ("training FLOPs count the matrix products of SGD steps (bench/book_flops.py, "
                  "sgd_step_flops) of the sweep-cached runs only, so the efficiency is a lower bound; "
                  "training_runs_sum adds the run times of runs that trained in parallel workers; "
                  "other_cell_work_by_difference counts training as that sum over the workers"),
        "load_average_at_measurement": list(os.getloadavg()),
    }


def fast_build_commands(out: Path) -> list[list[str]]:
    """The commands of ``make book-fast`` into ``out``: ``_ext/execute_book.py`` executes the pages two
    at a time into the execution cache, Jupyter Book's command line (``_ext/jb_build.py``) reads them from
    it, then the executed notebooks are written for the checks."""
    py = sys.executable
    execute = [py, str(ROOT / "_ext" / "execute_book.py"), "--path-output", str(out)]
    jb = [py, str(ROOT / "_ext" / "jb_build.py")]
    return [execute, jb + ["build", str(ROOT), "--path-output", str(out), "-W", "-n", "--keep-going"],
            execute + ["--write-executed"]]


def fast_build(out: Path = ROOT / "_build" / "flops") -> tuple[Path, str, float, Path]:
    """A cold fast-profile build of the book into ``out`` with an empty sweep cache; timed.

    Returns the sweep cache, the build log, the build's wall seconds and its jupyter_execute folder.
    """
    import shutil
    import subprocess

    shutil.rmtree(out, ignore_errors=True)
    cache = out / "sweep_cache"
    cache.mkdir(parents=True)
    env = {**os.environ, "RNNLIB_FAST": "1", "RNNLIB_CACHE": str(cache)}
    env.pop("MPLBACKEND", None)
    t0 = time.perf_counter()
    log = ""
    for cmd in fast_build_commands(out):  # as `make book-fast`: the executor, Sphinx, the executed notebooks
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
        log += proc.stdout + proc.stderr
        if proc.returncode != 0:
            break
    seconds = time.perf_counter() - t0
    (out / "build.log").write_text(log)
    if proc.returncode != 0:
        raise SystemExit(f"the fast build failed (exit {proc.returncode}); see {out / 'build.log'}")
    return cache, log, seconds, out / "_build" / "jupyter_execute"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast-build", action="store_true", help="build the fast profile cold first (small run)")
    parser.add_argument("--cache", help="sweep cache the cold build filled (its RNNLIB_CACHE)")
    parser.add_argument("--log", help="the build's log (myst-nb's 'Executed notebook in' lines)")
    parser.add_argument("--build-seconds", type=float, help="wall time of the build")
    parser.add_argument("--executed", default=None, help="the build's jupyter_execute folder (figure count)")
    parser.add_argument("--results", default=None, help="JSON file to write book_flop_efficiency into")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.fast_build:
        cache, log, seconds, executed = fast_build()
    else:
        if not (args.cache and args.log and args.build_seconds):
            parser.error("give --fast-build, or --cache, --log and --build-seconds of a build")
        cache, log, seconds = Path(args.cache), Path(args.log).read_text(errors="replace"), args.build_seconds
        executed = Path(args.executed) if args.executed else None
    out = efficiency(cache, log, seconds, executed)
    print_summary(out)
    if args.results:
        write_result(out, Path(args.results))
        print(f"wrote book_flop_efficiency into {args.results}")
    return out


def print_summary(out: dict) -> None:
    print(f"book_flop_efficiency = {out['book_flop_efficiency']:.2e}: {out['training_flops'] / 1e12:.3f} TFLOP in "
          f"{out['runs_counted']} cached runs, build {out['build_seconds']:.0f} s, SGEMM peak "
          f"{out['sgemm_peak_gflops']:.0f} GFLOP/s; load average {out['load_average_at_measurement'][0]:.1f}")
    for k, v in out["breakdown_seconds"].items():
        print(f"  {k:34s} {'n/a' if v is None else f'{v:10.2f}'}")


def write_result(out: dict, path: Path) -> None:
    """Put ``book_flop_efficiency`` (and its breakdown under ``details``) into a results JSON file."""
    data = json.loads(path.read_text()) if path.exists() else {}
    data["book_flop_efficiency"] = out["book_flop_efficiency"]
    data.setdefault("details", {})["book_flop_efficiency"] = out
    path.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
