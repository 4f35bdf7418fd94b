"""Benchmarks of rnnlib's training core (`make bench`): prints a table, writes bench/results.json.

Every benchmark runs the reference and the library on the same work in this one process: warm-up,
then repeated rounds that alternate which contender goes first; the reported ratio is the median
over rounds of ``t_reference / t_library`` (higher is better), and the interquartile range of the
per-round ratios is reported as the noise.  Timings on a shared machine are inflated; the ratios
are what the benchmarks are for.

Benchmarks (batch 32, L = 10, d_x = 8 i.e. token_dim 7 plus the constant coordinate, last
position labelled, output scale 0.3, the practical step size):

- ``step_vs_torch_m{128,512}``: one SGD step on W (gather the batch, forward, backward, update),
  timed over an epoch of 32 steps.  Reference: ``torch.nn.RNN(nonlinearity="relu", bias=False,
  batch_first=True)`` with ``weight_ih`` frozen (``requires_grad=False``), the same readout ``B``
  and loss, autograd, and ``W -= lr * W.grad``.  Both start from the same weights; before
  timing, the bench runs one epoch of each in float64 and checks that they end at the same W.
- ``ensemble16_vs_sequential_m128`` (measured, no longer a target): :func:`rnnlib.train_sgd` on 16 models
  that differ only in seed (their own data and batch order) trained together, against the same 16 trained one after
  another by ``train_sgd`` (N = 1000, 2 epochs, held-out set of 500 evaluated at the end).
- ``fraction_of_sgemm_peak_m512``: the library's FLOP rate at m = 512, counting 6 n L m^2 per step,
  over the rate of a 2048 x 2048 float32 matrix product timed in the same rounds.
- ``ntk_gram_seconds``: :func:`rnnlib.ntk.ntk_gram` at N = 1000, L = 10, m = 512 in a fresh
  subprocess, with its peak resident memory (null while rnnlib.ntk does not exist).
- ``book_cold_seconds``, ``book_warm_seconds``, ``book_reexec_seconds`` (and its runs),
  ``book_flop_efficiency``, ``test_fresh_clone_seconds``: the figures of the opt-in runs
  (``bench/book_times.py``, which builds the full book several times, and ``bench/test_times.py``), put
  back from their own JSON files by the functions those scripts write them with, so that rewriting
  results.json keeps them and their details (:func:`merge_opt_in_figures`).

Threads: every benchmark runs with 1 torch thread and with one per core (``--threads``); the
top-level keys of results.json come from the first entry, 1 by default.  One thread measures the
code; the multi-thread column adds what a second core brings when it is free.  On a machine shared
with other busy processes, multi-threaded timings are dominated by OpenMP threads waiting at
barriers for a sibling the scheduler has parked, so they say more about the load than the code
(the load average at start and end is recorded; ``OMP_WAIT_POLICY=PASSIVE`` softens this).

Usage: ``python bench/run_all.py [--quick] [--threads 1,2]``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # the checkout's rnnlib, whatever is installed
sys.path.insert(0, str(HERE))

import rnnlib  # noqa: E402
from rnnlib.training import _Trainer, practical_step_size  # noqa: E402
from _timing import interleaved, machine_info, ratio_summary, with_threads  # noqa: E402

N_BATCH, LENGTH, TOKEN_DIM, LAMBDA = 32, 10, 7, 0.3
D_X = TOKEN_DIM + 1


def _task(n: int, seed: int):
    """Inputs ``(n, L, d_x)`` and standardized labels ``(n, L, 1)`` of a default-style concept."""
    x_star = rnnlib.sample_tokens(n, LENGTH, TOKEN_DIM, seed=seed)
    concept = rnnlib.AdditiveConcept(LENGTH, TOKEN_DIM, 1, 1, phi="sin(3z)", seed=seed)
    y = concept(x_star)
    y[:, -1] = (y[:, -1] - y[:, -1].mean(axis=0)) / y[:, -1].std(axis=0)
    return rnnlib.embed(x_star, 0.3), y.astype(np.float32), concept.labelled


# ---------------------------------------------------------------------------------------------
# One SGD step: library versus torch.nn.RNN + autograd

def _contenders(m: int, X, Y, lab, perm, model, lr, dtype):
    """The library's epoch and the torch reference's epoch on the same data, batches and weights."""
    X, Y = X.to(dtype), Y.to(dtype)
    n = X.shape[0]
    W, A, B = (t[None].to(dtype).clone() for t in (model.W, model.A, model.B))
    trainer = _Trainer(W, A, B, X[None], Y[None], lab, LAMBDA, "W")

    def lib_epoch():
        trainer.epoch(perm[None], N_BATCH, lr)

    rnn = torch.nn.RNN(D_X, m, nonlinearity="relu", bias=False, batch_first=True, dtype=dtype)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(model.W)
        rnn.weight_ih_l0.copy_(model.A)
    rnn.weight_ih_l0.requires_grad_(False)
    Bt = model.B.T.to(dtype).contiguous()
    Wref = rnn.weight_hh_l0
    y_last = Y[:, -1]
    batches = [perm[s:s + N_BATCH] for s in range(0, n, N_BATCH)]

    def ref_epoch():
        for idx in batches:
            out, _ = rnn(X[idx])
            pred = LAMBDA * (out[:, -1] @ Bt)
            loss = 0.5 * (pred - y_last[idx]).pow(2).sum() / idx.numel()
            loss.backward()
            with torch.no_grad():
                Wref.add_(Wref.grad, alpha=-lr)
            Wref.grad = None

    return lib_epoch, ref_epoch, W[0], Wref, len(batches)


def step_setup(m: int, n: int = 1024, seed: int = 0):
    x, y, labelled = _task(n, seed)
    lab = np.flatnonzero(labelled)
    model = rnnlib.ElmanRNN(D_X, m, seed=seed)
    lr = practical_step_size(LAMBDA, LENGTH, m)
    perm = torch.as_tensor(np.random.default_rng(seed).permutation(n))
    X, Y = torch.as_tensor(x), torch.as_tensor(y)
    # Same work: in float64 (where rounding cannot flip a ReLU pattern) one epoch of each from the
    # same weights ends at the same W.
    lib64, ref64, W64, Wref64, _ = _contenders(m, X, Y, lab, perm, model, lr, torch.float64)
    lib64()
    ref64()
    gap = float((W64 - Wref64.detach()).abs().max() / (Wref64.detach() - model.W.double()).abs().max())
    if not gap < 1e-8:
        raise AssertionError(f"library and torch reference disagree after one epoch (gap {gap:.2e} of the step)")
    lib_epoch, ref_epoch, _, _, steps = _contenders(m, X, Y, lab, perm, model, lr, torch.float32)
    return lib_epoch, ref_epoch, steps, gap


def _sgemm(size: int):
    a, b, c = torch.randn(size, size), torch.randn(size, size), torch.empty(size, size)
    return lambda: torch.mm(a, b, out=c)


def bench_step(m: int, rounds: int, peak: bool = False) -> dict:
    lib_epoch, ref_epoch, steps, gap = step_setup(m)
    fns = {"torch": ref_epoch, "rnnlib": lib_epoch}
    if peak:  # the large product the issue names, and smaller ones for context
        fns["sgemm"] = _sgemm(2048)
        for size in (512, 1024):
            fns[f"sgemm{size}"] = lambda f=_sgemm(size): [f() for _ in range(4)]
    t = interleaved(fns, rounds)
    out = {"ratio": ratio_summary(t["torch"], t["rnnlib"]),
           "torch_step_ms": 1e3 * float(np.median(t["torch"])) / steps,
           "rnnlib_step_ms": 1e3 * float(np.median(t["rnnlib"])) / steps,
           "w_gap_after_one_epoch": gap}
    flops = 6 * N_BATCH * LENGTH * m ** 2
    exact = 2 * N_BATCH * m ** 2 * (3 * (LENGTH - 1) - 1)  # what the W-only BPTT actually multiplies
    lib_rate = flops * steps / t["rnnlib"]
    out["rnnlib_gflops"] = float(np.median(lib_rate)) / 1e9
    out["rnnlib_gflops_exact_count"] = float(np.median(exact * steps / t["rnnlib"])) / 1e9
    if peak:
        rate = 2 * 2048 ** 3 / t["sgemm"]
        out["sgemm_size"] = 2048
        out["sgemm_gflops"] = float(np.median(rate)) / 1e9
        out["fraction_of_peak"] = ratio_summary(lib_rate, rate)
        for size in (512, 1024):
            out[f"sgemm{size}_gflops"] = float(np.median(4 * 2 * size ** 3 / t[f"sgemm{size}"])) / 1e9
        best = max(out["sgemm_gflops"], out["sgemm512_gflops"], out["sgemm1024_gflops"])
        out["fraction_of_best_square_sgemm"] = out["rnnlib_gflops"] / best
    return out


# ---------------------------------------------------------------------------------------------
# 16 models trained together versus one after another

def bench_ensemble(m: int, k: int, rounds: int, n: int = 1000, epochs: int = 2) -> dict:
    data = [_task(n, 100 + s) for s in range(k)]
    x_eval, y_eval, _ = _task(500, 999)
    labelled = data[0][2]
    inits = [rnnlib.ElmanRNN(D_X, m, seed=s) for s in range(k)]
    kw = dict(output_scale=LAMBDA, epochs=epochs, batch_size=N_BATCH, x_eval=x_eval, y_eval=y_eval,
              eval_every=epochs)

    def together():
        models = [mdl.copy() for mdl in inits]
        return models, rnnlib.train_sgd(models, [d[0] for d in data], [d[1] for d in data], labelled,
                                        seed=list(range(k)), **kw)

    def one_by_one():
        models = [mdl.copy() for mdl in inits]
        hists = [rnnlib.train_sgd(mdl, d[0], d[1], labelled, seed=s, **kw)
                 for s, (mdl, d) in enumerate(zip(models, data))]
        return models, hists

    (ma, _), (mb, _) = together(), one_by_one()
    # Gap relative to how far W moved.  A pre-activation within rounding of 0 can take the other
    # side of the ReLU in one of the two runs and change that step's gradient, so a model or two
    # may drift apart by a few percent; the typical model agrees to rounding.
    gaps = np.array([float((a.W - b.W).abs().max() / (b.W - i.W).abs().max()) for a, b, i in zip(ma, mb, inits)])
    if not np.median(gaps) < 1e-4:
        raise AssertionError(f"ensemble and one-by-one training disagree (median gap {np.median(gaps):.2e})")
    t = interleaved({"sequential": one_by_one, "ensemble": together}, rounds, warmup=1)
    return {"ratio": ratio_summary(t["sequential"], t["ensemble"]),
            "sequential_seconds": float(np.median(t["sequential"])),
            "ensemble_seconds": float(np.median(t["ensemble"])),
            "models": k, "n_train": n, "epochs": epochs,
            "models_equal_to_rounding": int((gaps < 1e-4).sum()), "max_w_gap_of_displacement": float(gaps.max())}


# ---------------------------------------------------------------------------------------------
# NTK Gram matrix (another module; measured in a fresh process for a clean peak memory)

_NTK_SCRIPT = r"""
import json, resource, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import rnnlib
from rnnlib.ntk import ntk_gram
n, L, m, reps = (int(v) for v in sys.argv[2:6])
def rss_mb():
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
model = rnnlib.ElmanRNN(9, m, seed=0)
x = rnnlib.embed(rnnlib.sample_tokens(n, L, 8, seed=1), 0.3)
ntk_gram(model, x[:64], output_scale=0.3)  # warm-up
before = rss_mb()
times = []
for _ in range(reps):
    t = time.perf_counter()
    K = ntk_gram(model, x, output_scale=0.3)
    times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"seconds": sorted(times)[len(times) // 2], "all_seconds": times, "rss_before_mb": before,
                  "peak_rss_mb": peak, "finite": bool(np.isfinite(K).all())}))
"""


def bench_ntk(reps: int, n: int = 1000, m: int = 512) -> dict | None:
    try:
        import rnnlib.ntk  # noqa: F401
    except ImportError:
        return None
    proc = subprocess.run([sys.executable, "-c", _NTK_SCRIPT, str(HERE.parent), str(n), str(LENGTH), str(m),
                           str(reps)], capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"NTK benchmark failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------

def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run, noisier)")
    parser.add_argument("--threads", default=None,
                        help="comma-separated torch thread counts to measure; the first gives the top-level "
                             "keys (default: 1, then one per core)")
    parser.add_argument("--out", default=str(HERE / "results.json"))
    args = parser.parse_args(argv)
    cores = os.cpu_count() or 1
    threads = [int(t) for t in args.threads.split(",")] if args.threads else sorted({1, cores})
    q = args.quick
    machine = machine_info()
    details: dict = {"threads_measured": threads}
    for nt in threads:
        with with_threads(nt):
            print(f"[{nt} thread(s)] step m=128 ...", flush=True)
            s128 = bench_step(128, rounds=8 if q else 30)
            print(f"[{nt} thread(s)] step m=512 + sgemm peak ...", flush=True)
            s512 = bench_step(512, rounds=3 if q else 12, peak=True)
            print(f"[{nt} thread(s)] ensemble of 16 at m=128 ...", flush=True)
            ens = bench_ensemble(128, 16, rounds=2 if q else 6)
        details[f"threads_{nt}"] = {"step_m128": s128, "step_m512": s512, "ensemble16_m128": ens}
    print("NTK Gram ...", flush=True)
    ntk = bench_ntk(reps=1 if q else 3)
    details["ntk"] = ntk
    machine["load_average_at_end"] = list(os.getloadavg())

    main_t = details[f"threads_{threads[0]}"]
    results = {
        "step_vs_torch_m128": main_t["step_m128"]["ratio"]["median"],
        "step_vs_torch_m512": main_t["step_m512"]["ratio"]["median"],
        "ensemble16_vs_sequential_m128": main_t["ensemble16_m128"]["ratio"]["median"],
        "fraction_of_sgemm_peak_m512": main_t["step_m512"]["fraction_of_peak"]["median"],
        "ntk_gram_seconds": None if ntk is None else ntk["seconds"],
        "ntk_gram_peak_memory_mb": None if ntk is None else ntk["peak_rss_mb"],
        "book_cold_seconds": None, "book_warm_seconds": None, "book_reexec_seconds": None,
        "book_flop_efficiency": None, "test_fresh_clone_seconds": None,
        "threads": threads[0],
        "machine": machine,
        "details": details,
    }
    out = Path(args.out)
    out.write_text(json.dumps(results, indent=2) + "\n")
    results = merge_opt_in_figures(out)
    print_table(results)
    print(f"\nwrote {args.out}")
    return results


def merge_opt_in_figures(path: Path) -> dict:
    """Put the figures of the opt-in runs into ``path`` as those runs write them, from their own JSON: the
    book builds (``bench/book_times.json``, ``make bench-book``: book times, re-executions, FLOP efficiency)
    and ``make test`` from a fresh clone (``bench/test_times.json``, ``make bench-test``, if it passed).
    Returns the merged results."""
    import book_times
    import test_times

    book_file, test_file = HERE / "book_times.json", HERE / "test_times.json"
    if book_file.exists():
        book_times.write_results(json.loads(book_file.read_text()), path)
    tests = json.loads(test_file.read_text()) if test_file.exists() else {}
    if tests.get("exit_status") == 0:
        test_times.write_results(tests, path)
    return json.loads(path.read_text())


# ensemble16_vs_sequential_m128 is measured but no longer a target (issue 16): a step is bound by
# its matrix products (88% of its time), so batching models cannot give 4x on 2 cores.
TARGETS = {"step_vs_torch_m128": 1.5, "step_vs_torch_m512": 1.0,
           "fraction_of_sgemm_peak_m512": 0.5, "book_cold_seconds": 15 * 60, "book_warm_seconds": 60}
RETIRED = {"ensemble16_vs_sequential_m128": 4.0}


def _fmt(v, digits=2):
    return "n/a" if v is None else f"{v:.{digits}f}"


def print_table(res: dict) -> None:
    mach = res["machine"]
    print(f"\nMachine: {mach['cpu_model']}, {mach['cores']} cores, torch {mach['torch_version']}, "
          f"load average at start {mach['load_average_at_start'][0]:.1f}")
    threads = res["details"]["threads_measured"]
    head = f"{'benchmark':34s} {'target':>8s} " + " ".join(f"{f'{t} thr':>16s}" for t in threads)
    print(head)
    print("-" * len(head))
    rows = [("step_vs_torch_m128", "step_m128", "ratio"), ("step_vs_torch_m512", "step_m512", "ratio"),
            ("ensemble16_vs_sequential_m128", "ensemble16_m128", "ratio"),
            ("fraction_of_sgemm_peak_m512", "step_m512", "fraction_of_peak")]
    for key, bench, field in rows:
        cells = []
        for t in threads:
            r = res["details"][f"threads_{t}"][bench][field]
            cells.append(f"{r['median']:6.2f} ±{100 * r['noise_iqr_over_median']:3.0f}%")
        target = f">= {TARGETS[key]}" if key in TARGETS else "retired"
        print(f"{key:34s} {target:>8s} " + " ".join(f"{c:>16s}" for c in cells))
    for t in threads:
        d = res["details"][f"threads_{t}"]
        print(f"  [{t} thr] step ms: m=128 torch {d['step_m128']['torch_step_ms']:.3f} rnnlib "
              f"{d['step_m128']['rnnlib_step_ms']:.3f}; m=512 torch {d['step_m512']['torch_step_ms']:.2f} "
              f"rnnlib {d['step_m512']['rnnlib_step_ms']:.2f}; rnnlib {d['step_m512']['rnnlib_gflops']:.0f} "
              f"GFLOP/s vs sgemm {d['step_m512']['sgemm_gflops']:.0f}; ensemble "
              f"{d['ensemble16_m128']['ensemble_seconds']:.2f} s vs {d['ensemble16_m128']['sequential_seconds']:.2f} s")
    print(f"{'ntk_gram_seconds (N=1000, m=512)':34s} {'':>8s} {_fmt(res['ntk_gram_seconds'], 1):>16s}"
          f"  peak memory {_fmt(res['ntk_gram_peak_memory_mb'], 0)} MB")
    print(f"{'book_cold_seconds':34s} {'<= 900':>8s} {_fmt(res['book_cold_seconds'], 0):>16s}")
    print(f"{'book_warm_seconds':34s} {'<= 60':>8s} {_fmt(res['book_warm_seconds'], 0):>16s}")
    print(f"{'book_reexec_seconds':34s} {'<= 60':>8s} {_fmt(res.get('book_reexec_seconds'), 0):>16s}")
    eff = res.get("book_flop_efficiency")
    print(f"{'book_flop_efficiency':34s} {'':>8s} {'n/a' if eff is None else f'{eff:.2e}':>16s}"
          "  (training FLOPs / (cold build s x SGEMM peak); bench/book_flops.py)")
    print("(± = interquartile range of the per-round ratios, relative to the median)")


if __name__ == "__main__":
    main()
