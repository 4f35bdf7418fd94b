"""Time and peak memory of ``rnnlib.ntk.ntk_gram`` in this (fresh) process.

    python bench/ntk_cost.py N LENGTH WIDTH CHUNK THREADS N_TEST

prints one JSON line: ``seconds_gram``, ``cpu_seconds_gram``, ``seconds_cross``, ``cpu_seconds_cross``
(the ``(N_TEST, N)`` cross-kernel, 0 when N_TEST = 0), ``rss_before_mb`` (after imports and data),
``peak_rss_mb`` (``VmHWM``, the peak resident set of this process's memory map; ``ru_maxrss`` would
not do: Linux carries it across fork and exec, so a child of a large process such as pytest reports
its parent's peak), ``threads``, ``finite``.  torch allocates outside
Python's allocator, so ``tracemalloc`` cannot see it; the peak resident set size of a separate process
can.  :func:`rnnlib.ntk.measure_ntk_cost` runs this script in a subprocess (chapter 7 reports it).
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np
import torch

import rnnlib
from rnnlib.ntk import ntk_gram


def rss_mb(field: str = "VmRSS") -> float:
    """``field`` of /proc/self/status in MB (``VmRSS`` now, ``VmHWM`` the peak)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main(argv: list[str]) -> dict:
    n, length, width, chunk, threads, n_test = (int(v) for v in argv)
    if threads > 0:
        torch.set_num_threads(threads)
    model = rnnlib.ElmanRNN(9, width, seed=0)
    x = rnnlib.embed(rnnlib.sample_tokens(n, length, 8, seed=1), 0.3)
    xt = rnnlib.embed(rnnlib.sample_tokens(n_test, length, 8, seed=2), 0.3) if n_test else None
    before = rss_mb()
    t0, c0 = time.perf_counter(), time.process_time()
    K = ntk_gram(model, x, output_scale=0.3, chunk=chunk)
    t1, c1 = time.perf_counter(), time.process_time()
    if n_test:
        ntk_gram(model, xt, x, output_scale=0.3, chunk=chunk)
    t2, c2 = time.perf_counter(), time.process_time()
    peak = rss_mb("VmHWM")
    return {"seconds_gram": t1 - t0, "cpu_seconds_gram": c1 - c0,
            "seconds_cross": t2 - t1, "cpu_seconds_cross": c2 - c1,
            "rss_before_mb": before, "peak_rss_mb": peak, "threads": torch.get_num_threads(),
            "finite": bool(np.isfinite(K).all())}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
