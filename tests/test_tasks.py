"""rnnlib.tasks: one book task, and every chapter's design derived from it."""
from __future__ import annotations

import dataclasses

import pytest

from rnnlib import ExperimentConfig, tasks

# The configs the chapters declared by hand before rnnlib.tasks (chapter 5's base, the ledger's
# LEDGER_BASE, chapter 4's BASE, chapters 6 and 8's INT_BASE), spelled out field by field so that
# the designs are checked against what the chapters ran, whatever ExperimentConfig's defaults are.
_FORMER_DEFAULTS = dict(length=10, width=256, n_train=1000, n_test=2000, token_dim=8, phi="sin(3z)", hidden=1,
                        output_dim=1, eps_x=0.3, output_scale=0.3, lr=None, lr_scale=1.0, epochs=30, batch_size=32,
                        average=0.0, trained="W", labels="last", include_current=True, noise_std=0.0)


def _former(**fields) -> ExperimentConfig:
    return ExperimentConfig(**{**_FORMER_DEFAULTS, **fields})


def _differing(a: ExperimentConfig, b: ExperimentConfig) -> set:
    return {f.name for f in dataclasses.fields(a) if getattr(a, f.name) != getattr(b, f.name)}


def test_default_config_is_the_book_task():
    assert ExperimentConfig() == tasks.BOOK_TASK


def test_book_task_is_chapter5s_base():
    chapter5 = _former(lr_scale=2.0, average=0.5)          # chapter 5's former base and LEDGER_BASE
    assert tasks.BOOK_TASK == chapter5
    assert tasks.book_task(False) is tasks.BOOK_TASK
    assert _differing(tasks.book_task(True), tasks.BOOK_TASK) == {"width", "n_test"}


@pytest.mark.parametrize("fast", [False, True])
def test_designs_are_the_book_task_with_stated_changes(fast):
    assert _differing(tasks.sgd_design(fast).base, tasks.BOOK_TASK) <= {"n_train", "n_test", "epochs",
                                                                        "eval_every", "average"}
    assert _differing(tasks.interference_design(fast).base, tasks.BOOK_TASK) <= {
        "length", "labels", "n_train", "n_test", "lr_scale", "average"}
    assert tasks.single_position_sgd(fast).lr_scale == tasks.BOOK_TASK.lr_scale


@pytest.mark.parametrize("fast", [False, True])
def test_designs_reproduce_the_chapters_former_configs(fast):
    def pick(full, small):
        return small if fast else full

    chapter4 = _former(n_train=pick(400, 300), n_test=pick(500, 200), epochs=pick(12, 10),
                       eval_every=pick(3, 5), lr_scale=2.0)
    assert tasks.sgd_design(fast).base == chapter4
    interference = _former(length=8, labels="all", n_train=pick(1000, 300), n_test=pick(1000, 300), epochs=30,
                           lr_scale=0.3)
    assert tasks.interference_design(fast).base == interference


def test_sgd_and_interference_designs_list_their_runs():
    d = tasks.sgd_design(False)
    assert [c.width for c in d.configs()] == list(d.widths) and d.theory_width in d.widths
    assert tasks.sgd_design(True).theory_width in tasks.sgd_design(True).widths
    i = tasks.interference_design(False)
    assert len(i.configs()) == len(i.widths) * len(i.seeds) and all(c.labels == "all" for c in i.configs())


def test_profile_is_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("RNNLIB_FAST", "1")
    assert tasks.book_task() == tasks.book_task(True) and tasks.sgd_design().base == tasks.sgd_design(True).base
    monkeypatch.setenv("RNNLIB_FAST", "0")
    assert tasks.book_task() == tasks.BOOK_TASK and tasks.sgd_design().base == tasks.sgd_design(False).base


def test_step_budget_and_bad_input():
    assert tasks.steps_for_length(5, 1000) == 1000 and tasks.steps_for_length(40, 1000) == 4000
    cfg = tasks.with_step_budget(tasks.BOOK_TASK.replace(n_train=100), 1000)
    assert cfg.epochs * -(-100 // 32) >= 1000
    with pytest.raises(TypeError, match="fast"):
        tasks.sgd_design("yes")
    with pytest.raises(TypeError, match="cfg must be an ExperimentConfig"):
        tasks.with_step_budget({}, 10)
    with pytest.raises(ValueError, match="steps_at_10"):
        tasks.steps_for_length(10, 0)
