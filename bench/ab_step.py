"""A/B benchmark of the training core of two source trees in one process (interleaved rounds).

    python bench/ab_step.py --base /path/to/old/tree [--new /path/to/this/tree] [--rounds 15]

Loads ``rnnlib`` of each tree as its own package (``rnnlib_base`` and ``rnnlib_new``) so that the
two run back to back in every round, alternating which goes first (bench/_timing.interleaved): load
drifting on a shared machine then hits both alike.  Prints, per workload, the median over rounds of
``t_base / t_new`` (above 1: the new tree is faster) with the interquartile range as the noise:

- ``epoch_m128``, ``epoch_m512``: one epoch of SGD on W (32 steps, batch 32, L = 10, d_x = 8,
  last position labelled), the step benchmark of bench/run_all.py, through each tree's ``_Trainer``;
- ``train_sgd_m128``: ``train_sgd`` end to end (N = 1000, 2 epochs, held-out set of 500 evaluated
  every epoch, iterate averaging over the last half), which adds the loop and its callbacks;
- ``hidden_states_m256``: ``ElmanRNN.hidden_states`` on 1000 sequences of length 10.

Runs with 1 torch thread (set ``OMP_NUM_THREADS=1`` too).  Both trees must train the same numbers:
the script checks that one epoch of each ends at the same W before timing.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _timing import interleaved, ratio_summary  # noqa: E402


def load_tree(root: str, name: str):
    """Import ``root/rnnlib`` as the package ``name`` (relative imports resolve inside it)."""
    pkg = Path(root) / "rnnlib"
    spec = importlib.util.spec_from_file_location(name, pkg / "__init__.py",
                                                  submodule_search_locations=[str(pkg)])
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def task(lib, n: int, length: int = 10, token_dim: int = 7, seed: int = 0):
    x_star = lib.sample_tokens(n, length, token_dim, seed=seed)
    concept = lib.AdditiveConcept(length, token_dim, 1, 1, phi="sin(3z)", seed=seed)
    y = concept(x_star)
    y[:, -1] = (y[:, -1] - y[:, -1].mean(axis=0)) / y[:, -1].std(axis=0)
    return lib.embed(x_star, 0.3), y.astype(np.float32), concept.labelled


def workloads(lib) -> dict:
    training = sys.modules[lib.__name__ + ".training"]
    x, y, labelled = task(lib, 1024)
    lab = np.flatnonzero(labelled)
    X, Y = torch.as_tensor(x)[None], torch.as_tensor(y)[None]
    perm = torch.as_tensor(np.random.default_rng(0).permutation(1024))[None]
    fns, finals = {}, {}
    for m in (128, 512):
        model = lib.ElmanRNN(8, m, seed=0)
        W, A, B = (t[None].clone() for t in (model.W, model.A, model.B))
        trainer = training._Trainer(W, A, B, X, Y, lab, 0.3, "W")
        lr = training.practical_step_size(0.3, 10, m)
        trainer.epoch(perm, 32, lr)
        finals[m] = W[0].clone()
        fns[f"epoch_m{m}"] = lambda t=trainer, lr=lr: t.epoch(perm, 32, lr)
    xe, ye, _ = task(lib, 500, seed=1)
    init = lib.ElmanRNN(8, 128, seed=0)
    fns["train_sgd_m128"] = lambda: lib.train_sgd(init.copy(), x[:1000], y[:1000], labelled, output_scale=0.3,
                                                  epochs=2, x_eval=xe, y_eval=ye, average_from=32)
    net = lib.ElmanRNN(8, 256, seed=0)
    fns["hidden_states_m256"] = lambda: net.hidden_states(x[:1000])
    return fns, finals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", required=True, help="root of the tree to compare against")
    parser.add_argument("--new", default=str(Path(__file__).resolve().parents[1]))
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--out", default=None, help="write the summary as JSON here")
    args = parser.parse_args()
    torch.set_num_threads(1)
    base, new = load_tree(args.base, "rnnlib_base"), load_tree(args.new, "rnnlib_new")
    fb, wb = workloads(base)
    fn, wn = workloads(new)
    for m in wb:
        gap = float((wb[m] - wn[m]).abs().max())
        if gap > 1e-6:
            raise AssertionError(f"the trees train different W after one epoch at m = {m} (gap {gap:.2e})")
    summary = {"base": args.base, "new": args.new, "threads": torch.get_num_threads(),
               "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "load_average_at_start": os.getloadavg()}
    print(f"{'workload':22s} {'base ms':>9s} {'new ms':>9s} {'base/new':>9s} {'noise':>7s}")
    for key in fb:
        t = interleaved({"base": fb[key], "new": fn[key]}, args.rounds)
        r = ratio_summary(t["base"], t["new"])
        summary[key] = {"base_ms": 1e3 * float(np.median(t["base"])), "new_ms": 1e3 * float(np.median(t["new"])),
                        "ratio": r}
        print(f"{key:22s} {summary[key]['base_ms']:9.2f} {summary[key]['new_ms']:9.2f} {r['median']:9.3f} "
              f"{r['noise_iqr_over_median']:7.1%}", flush=True)
    summary["load_average_at_end"] = os.getloadavg()
    if args.out:
        Path(args.out).write_text(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
