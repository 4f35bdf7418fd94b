"""Cached kind of chapter 4 (SGD on W): a run followed by the pseudo-network tracker.

Chapter 4, the lazy regime and the pseudo-network of Allen-Zhu & Li (2019), section 5 and Theorem 1
(recalled): SGD on ``W`` trained with a :class:`rnnlib.PseudoNetworkTracker` that compares, along the
trajectory, the trained RNN with its first-order expansion at ``W_0``. :class:`TrackedRunConfig`
(kind ``tracked_sgd``) -> :class:`TrackedRun` makes the run a cached kind of :mod:`rnnlib.engine`;
the tracker's records are kept as a :class:`TrackerRecord` (the tracker's curves and final outputs,
without its model). The chapter's runs without a tracker are the engine's ``sgd`` kind
(:class:`rnnlib.ExperimentConfig`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .config import ExperimentConfig
from .experiment import ExperimentResult, run_experiment
from .probe_payload import ProbeRecord
from .pseudo_network import PseudoNetworkTracker

__all__ = ["TrackerRecord", "TrackedRunConfig", "TrackedRun"]


@dataclass(frozen=True)
class TrackerRecord(ProbeRecord):
    """What a :class:`rnnlib.PseudoNetworkTracker` recorded: one entry per record (epoch 0 first; the
    relative error is NaN there) and the unscaled outputs ``(n, nl, d)`` of the trained RNN and of its
    linearization at the last record."""

    allow_nan: ClassVar[tuple] = ("relative_error",)
    epoch: tuple
    displacement_fro: tuple
    displacement_spectral: tuple
    pattern_flips: tuple
    relative_error: tuple
    true_output: np.ndarray
    linearized_output: np.ndarray

    @classmethod
    def of(cls, tracker: PseudoNetworkTracker) -> TrackerRecord:
        return cls(**{k: tuple(v) for k, v in tracker.to_dict().items()},
                   true_output=np.asarray(tracker.true_output), linearized_output=np.asarray(tracker.linearized_output))


@dataclass(frozen=True)
class TrackedRunConfig:
    """Kind ``tracked_sgd``: train ``run_config`` with :meth:`rnnlib.PseudoNetworkTracker.for_config`
    (``n_probe`` test sequences, a record every ``every`` epochs)."""

    kind: ClassVar[str] = "tracked_sgd"
    run_config: ExperimentConfig
    n_probe: int = 128
    every: int = 1

    def to_dict(self) -> dict:
        return {"run": self.run_config.to_dict(), "n_probe": self.n_probe, "every": self.every}

    def run(self) -> TrackedRun:
        tracker = PseudoNetworkTracker.for_config(self.run_config, n_probe=self.n_probe, every=self.every)
        return TrackedRun(run_experiment(self.run_config, callback=tracker), TrackerRecord.of(tracker))


@dataclass(frozen=True, eq=False)
class TrackedRun:
    """``result``: the run (:class:`rnnlib.ExperimentResult`); ``tracker``: its :class:`TrackerRecord`."""

    result: ExperimentResult
    tracker: TrackerRecord

    def to_dict(self) -> dict:
        return {"result": self.result.to_dict(), "tracker": self.tracker.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> TrackedRun:
        if not isinstance(d, dict) or set(d) != {"result", "tracker"}:
            raise ValueError(f"a tracked run needs 'result' and 'tracker', got {d!r:.80}")
        return cls(ExperimentResult.from_dict(d["result"]), TrackerRecord.from_dict(d["tracker"]))


TrackedRunConfig.result_type = TrackedRun
