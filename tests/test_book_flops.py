"""bench/book_flops.py: the analytic FLOP count of an SGD step equals the products torch runs."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from book_flops import execution_seconds, final_check_flops, run_flops, sgd_step_flops  # noqa: E402

import rnnlib  # noqa: E402
from rnnlib.training import train_sgd  # noqa: E402


def _counted_flops(labelled, epochs: int, n: int = 96, L: int = 6, m: int = 64) -> int:
    """Matrix-product FLOPs torch executes in ``train_sgd`` (in-place ``baddbmm_`` included)."""
    from torch.utils.flop_counter import FlopCounterMode

    def baddbmm_flop(self_shape, a_shape, b_shape, out_shape=None, **kwargs):
        (b, p, q), (_, _, r) = a_shape, b_shape
        return 2 * b * p * q * r

    torch.manual_seed(0)
    model = rnnlib.ElmanRNN(9, m, seed=0)
    x = rnnlib.embed(rnnlib.sample_tokens(n, L, 8, seed=1), 0.3)
    y = 0.1 * torch.randn(n, L, 1)
    # FlopCounterMode knows baddbmm but not its in-place form, which the recurrence and the W update use
    counter = FlopCounterMode(display=False, custom_mapping={torch.ops.aten.baddbmm_: baddbmm_flop})
    with counter:
        train_sgd(model, x, y, labelled, lr=1e-3, epochs=epochs, batch_size=32, output_scale=0.3)
    return counter.get_total_flops()


@pytest.mark.parametrize("labels", ["last", "all"])
def test_step_flops_equal_the_products_torch_runs(labels):
    L = 6
    labelled = [False] * (L - 1) + [True] if labels == "last" else [True] * L
    P = 1 if labels == "last" else L
    per_run = _counted_flops(labelled, 2) - _counted_flops(labelled, 0)   # minus the error at init
    # two epochs of steps, and the forward pass that checks the final model
    assert per_run == 2 * sgd_step_flops(96, L, 64, 9, 1, P) + final_check_flops(96, L, 64, 9, 1, P)


def test_run_flops_scale_with_epochs_and_reject_bad_sizes():
    cfg = {"length": 10, "n_train": 1000, "width": 128, "token_dim": 8, "epochs": 3, "labels": "last"}
    assert run_flops(cfg) == 3 * sgd_step_flops(1000, 10, 128, 9) + final_check_flops(1000, 10, 128, 9)
    # 2 N m [(3L - 4) m + L d_x + 2 d P] + 2 N d P, with d = P = 1
    assert sgd_step_flops(1000, 10, 128, 9) == 2 * 1000 * 128 * (26 * 128 + 90 + 2) + 2 * 1000
    with pytest.raises(ValueError, match="m must be"):
        sgd_step_flops(10, 5, -1, 9)


def test_execution_seconds_reads_the_build_log():
    log = ("[IPKernelApp] WARNING | Kernel is running over TCP without encryption.\n"
           "/x/chapters/02_concept_class.ipynb: Executed notebook in 25.07 seconds [mystnb]\n"
           "[IPKernelApp] WARNING | Kernel is running over TCP without encryption.\n"
           "/x/appendix/making_the_book.md: Executed notebook in 15.10 seconds [mystnb]\n")
    assert execution_seconds(log) == {"chapters/02_concept_class.ipynb": 25.07, "appendix/making_the_book.md": 15.10}


def test_cache_flops_counts_the_sgd_runs_of_every_kind(tmp_path):
    import json

    from book_flops import cache_flops

    cfg = {"length": 10, "n_train": 1000, "width": 128, "token_dim": 8, "epochs": 3, "labels": "last",
           "batch_size": 32}
    entries = {"a": {"kind": "sgd", "result": {"config": cfg, "seconds": 2.0, "n_steps": 96}},
               "b": {"kind": "headline", "result": {"point": {"config": cfg, "method": "sgd_wa"}, "seconds": 1.0,
                                                     "info": {"n_steps": 96}}},
               "c": {"kind": "headline", "result": {"point": {"config": cfg, "method": "linear_ridge"}}},
               "d": {"kind": "lemma_rate", "result": {"errors": [[0.1]]}}}
    for name, e in entries.items():
        (tmp_path / f"{name}.json").write_text(json.dumps(e))
    out = cache_flops(tmp_path)
    assert out["runs"] == 2 and out["run_seconds"] == 3.0 and out["runs_with_unexpected_step_count"] == 0
    assert out["flops"] == run_flops(cfg) + run_flops(dict(cfg, trained="WA")) > 2 * run_flops(cfg)
    assert out["entries_by_kind"] == {"sgd": 1, "headline": 2, "lemma_rate": 1}


def test_sphinx_share_uses_the_executor_wall_time_when_pages_run_side_by_side():
    """Pages run two at a time: their seconds add up to more than the wall, so Sphinx's share of the
    build is the build minus the executor's wall time, not minus the sum of the pages."""
    import book_flops
    log = ("chapters/01_a.ipynb: Executed notebook in 30.0 seconds [execute_book]\n"
           "chapters/02_b.ipynb: Executed notebook in 30.0 seconds [execute_book]\n"
           "execute_book: 2 pages executed in 31.5 s (60.0 s of page time, 2 at a time, alone: []); 0 already cached\n")
    walls = [float(m.group(1)) for m in book_flops.EXECUTOR_LINE.finditer(log)]
    assert walls == [31.5]
    assert sum(execution_seconds(log).values()) == 60.0
    commands = book_flops.fast_build_commands(Path("/tmp/out"))
    assert Path(commands[0][1]).name == Path(commands[2][1]).name == "execute_book.py"
    assert Path(commands[1][1]).name == "jb_build.py" and commands[1][2] == "build"  # as make book-fast
    assert commands[-1][-1] == "--write-executed"
