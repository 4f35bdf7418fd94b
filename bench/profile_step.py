"""Where the time of one SGD step goes: a torch.profiler breakdown of the library's step.

    python bench/profile_step.py [--width 128] [--models 1,16] [--threads 1]

For each ensemble size k it runs ``steps`` SGD steps of the W-only BPTT (batch 32, L = 10, d_x = 8)
under the profiler and prints the time per operator, the share spent in matrix products and the
FLOP rate those products reach (counting the products the step actually does:
``2 n m^2 (3 (L - 1) - 1)`` per model).  This is the evidence behind the closing note in
bench/README.md: once the products run near the core's peak, no batching of models can make
a step much cheaper per model on the same cores.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from rnnlib.training import _Workspace  # noqa: E402

MATMUL_OPS = ("aten::bmm", "aten::baddbmm", "aten::baddbmm_")


def profile_step(k: int, m: int, steps: int = 200, n: int = 32, L: int = 10, dx: int = 8) -> dict:
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(k, m, m, generator=gen) * (2 / m) ** 0.5
    A = torch.randn(k, m, dx, generator=gen) * (2 / m) ** 0.5
    B = torch.randn(k, 1, m, generator=gen)
    ws = _Workspace(k, n, L, m, dx, [L - 1], 1, torch.float32)
    ws.x.normal_(generator=gen)
    ws.y.normal_(generator=gen)
    sumsq = torch.zeros(k, 1, 1)

    def step():
        ws.sgd_step(W, A, B, 0.3, 1e-6, "W", sumsq)

    for _ in range(20):
        step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(steps):
            step()
    rows = sorted(prof.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in rows)
    mm = sum(e.self_cpu_time_total for e in rows if e.key in MATMUL_OPS)
    flops = 2 * n * m * m * (3 * (L - 1) - 1) * k * steps
    return {"k": k, "rows": rows, "total_us": total, "matmul_us": mm, "matmul_share": mm / total,
            "step_us_per_model": total / steps / k, "matmul_gflops": flops / (mm * 1e-6) / 1e9}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--width", type=int, default=128)
    parser.add_argument("--models", default="1,16")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), m = {args.width}")
    for k in (int(v) for v in args.models.split(",")):
        res = profile_step(k, args.width)
        print(f"\nk = {k}: {res['step_us_per_model']:.0f} us of operator time per model-step; "
              f"matrix products {100 * res['matmul_share']:.0f}% of it at {res['matmul_gflops']:.0f} GFLOP/s")
        print(f"  {'operator':28s} {'calls/step':>10s} {'us/step/model':>14s} {'share':>6s}")
        for e in res["rows"][:8]:
            print(f"  {e.key:28s} {e.count / 200:10.1f} {e.self_cpu_time_total / 200 / k:14.1f} "
                  f"{100 * e.self_cpu_time_total / res['total_us']:5.0f}%")


if __name__ == "__main__":
    main()
