"""Timing helpers shared by the benchmarks: interleaved rounds, medians, machine description."""
from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]


def interleaved(fns: dict, rounds: int, warmup: int = 2) -> dict:
    """Time every callable of ``fns`` once per round, ``rounds`` times, rotating the order each round.

    Running the contenders back to back within a round, and starting with a different one each
    round, makes load drifting on a shared machine hit all of them alike; a ratio taken within
    one round then cancels most of the drift.  Returns ``{name: array of seconds per round}``.
    """
    names = list(fns)
    for _ in range(warmup):
        for name in names:
            fns[name]()
    times = {name: np.empty(rounds) for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            t = time.perf_counter()
            fns[name]()
            times[name][r] = time.perf_counter() - t
    return times


def ratio_summary(num: np.ndarray, den: np.ndarray) -> dict:
    """Median of per-round ratios ``num / den`` with its spread (interquartile range) as the noise,
    and the ratio of the best (least disturbed) rounds of each."""
    r = num / den
    q1, med, q3 = np.percentile(r, [25, 50, 75])
    return {"median": float(med), "q1": float(q1), "q3": float(q3), "rounds": int(r.size),
            "noise_iqr_over_median": float((q3 - q1) / med), "best_over_best": float(num.min() / den.min())}


def with_threads(n: int):
    """Context manager setting torch's intra-op threads to ``n`` and restoring them."""
    class _T:
        def __enter__(self):
            self.old = torch.get_num_threads()
            torch.set_num_threads(n)

        def __exit__(self, *exc):
            torch.set_num_threads(self.old)
    return _T()


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_commit() -> str | None:
    try:
        return subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None


def machine_info() -> dict:
    blas = next((line.strip() for line in torch.__config__.show().splitlines() if "Math Kernel" in line
                 or "OpenBLAS" in line), None)
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count(),
        "torch_version": torch.__version__,
        "torch_threads_default": torch.get_num_threads(),
        "blas": blas,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
        "omp_env": {k: v for k, v in os.environ.items() if k.startswith(("OMP_", "MKL_", "GOMP_"))},
        "git_commit": _git_commit(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
    }
