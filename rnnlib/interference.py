"""No interference between positions (chapter 6; Allen-Zhu & Li (2019), section 5, recalled).

One recurrent matrix W serves every (input position i -> output position j) pair of the additive
concept. The proof keeps the pairs apart through backward coherence: the maps ``Back_{i->j}`` of
different pairs are nearly orthogonal (``|cos| ~ 1/sqrt(m)``), so the part of ``W'`` that serves one
pair barely moves the outputs of the others.

The experiment: labels at every position; change the target of one pair ``(i0 -> j0)`` only (a new
direction ``w*`` and the opposite sign of ``b*``), retrain from the same initialization with the same
batch order, and measure how much the predictions at every position move. Both runs train together
as a two-model ensemble, so they share everything except the labels of that one pair.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch

from ._checks import check_int
from .concept import AdditiveConcept
from .experiment import ExperimentConfig, sgd_options, standardize_labels, derive_seed, initial_model, make_dataset
from .payload import finite_array, finite_number, float_tuple, int_tuple
from .training import predict, train_sgd

__all__ = ["InterferenceResult", "change_pair", "interference", "InterferenceConfig", "InterferenceRun"]


def change_pair(concept: AdditiveConcept, pair: tuple[int, int], seed: int = 0) -> AdditiveConcept:
    """A copy of ``concept`` whose term ``(i0 -> j0)`` has a new random direction and the opposite sign.

    Args:
        concept: the original concept.
        pair: ``(i0, j0)``, 1-based positions with a live term (``2 <= i0 <= j0``, or ``< j0``).
        seed: seed of the new direction.
    """
    if not isinstance(concept, AdditiveConcept):
        raise TypeError(f"concept must be an AdditiveConcept, got {type(concept).__name__}")
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        raise ValueError(f"pair must be (i0, j0), got {pair!r}")
    i0 = check_int("pair[0]", pair[0], minimum=1)
    j0 = check_int("pair[1]", pair[1], minimum=1)
    if i0 > concept.length or j0 > concept.length or not concept.live[i0 - 1, j0 - 1]:
        raise ValueError(f"pair must be a live (i0 -> j0) term of the concept (2 <= i0 <= j0 <= "
                         f"{concept.length}), got {pair!r}")
    new = copy.deepcopy(concept)
    w = np.random.default_rng(check_int("seed", seed, minimum=0)).standard_normal(new.w[i0 - 1, j0 - 1].shape)
    new.w[i0 - 1, j0 - 1] = w / np.linalg.norm(w, axis=-1, keepdims=True)
    new.b[i0 - 1, j0 - 1] = -new.b[i0 - 1, j0 - 1]
    return new


@dataclass
class InterferenceResult:
    """How much changing one pair's target moved the predictions at each position.

    Attributes:
        config: the :class:`~rnnlib.experiment.ExperimentConfig` (``labels="all"``).
        pair: ``(i0, j0)``.
        positions: the labelled positions (1-based), ``(nl,)``.
        target_change: rms change of the target at each labelled position on the test set, in units
            of the original target's standard deviation there (nonzero only at ``j0``), ``(nl,)``.
        moved: rms change of the trained predictions at each labelled position, same units, ``(nl,)``.
        test_mse: standardized test errors ``(original, changed)`` (means over positions).
        seconds: wall time.
    """

    config: ExperimentConfig
    pair: tuple
    positions: np.ndarray
    target_change: np.ndarray
    moved: np.ndarray
    test_mse: tuple
    seconds: float

    @property
    def moved_elsewhere(self) -> float:
        """Mean of :attr:`moved` over the positions ``j != j0``."""
        return float(self.moved[self.positions != self.pair[1]].mean())

    @property
    def moved_at_target(self) -> float:
        """:attr:`moved` at ``j0``: the change SGD was asked to make."""
        return float(self.moved[self.positions == self.pair[1]][0])

    @property
    def ratio(self) -> float:
        """``moved_elsewhere / moved_at_target``: interference per unit of intended change."""
        return self.moved_elsewhere / self.moved_at_target

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "pair": list(self.pair), "positions": self.positions.tolist(),
                "target_change": self.target_change.tolist(), "moved": self.moved.tolist(),
                "test_mse": list(self.test_mse), "seconds": self.seconds}


def interference(cfg: ExperimentConfig, pair: tuple[int, int] | None = None, *,
                 progress: bool = False) -> InterferenceResult:
    """Train on the original targets and on targets with one pair changed; compare the predictions.

    Args:
        cfg: the config; must have ``labels="all"`` and ``output_dim=1``.
        pair: ``(i0, j0)`` to change (default: ``i0 = 3``, ``j0 = L - 2``, a pair in the middle).
        progress: progress bar over epochs.
    """
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    if cfg.labels != "all" or cfg.output_dim != 1:
        raise ValueError(f"interference needs labels='all' and output_dim=1, got labels={cfg.labels!r}, "
                         f"output_dim={cfg.output_dim}")
    if cfg.length < 5:
        raise ValueError(f"interference needs length >= 5 (several positions), got {cfg.length}")
    if pair is None:
        pair = (3, cfg.length - 2)
    start = time.perf_counter()
    data = make_dataset(cfg)
    changed = change_pair(data.concept, pair, seed=derive_seed(cfg.seed, "changed-pair"))
    labelled = data.labelled
    lab = np.flatnonzero(labelled)
    y0_tr, mean, std = standardize_labels(data.y_train, labelled)
    y0_te, _, _ = standardize_labels(data.y_test, labelled, mean, std)
    # the changed targets are expressed in the original units, so moves are comparable
    y1_tr, _, _ = standardize_labels(changed(data.x_star_train), labelled, mean, std)
    y1_te, _, _ = standardize_labels(changed(data.x_star_test), labelled, mean, std)
    models = [initial_model(cfg)
              for _ in range(2)]
    train_sgd(models, data.x_train, [y0_tr, y1_tr], labelled, seed=derive_seed(cfg.seed, "sgd"),
              progress=progress, **sgd_options(cfg))
    W = torch.stack([mdl.W for mdl in models])
    A = torch.stack([mdl.A for mdl in models])
    B = torch.stack([mdl.B for mdl in models])
    X = torch.as_tensor(data.x_test).unsqueeze(0).expand(2, *data.x_test.shape)
    pred = predict(W, A, B, X, lab, cfg.output_scale).double().numpy()[..., 0]  # (2, n, nl)
    Y = np.stack([y0_te[:, lab, 0], y1_te[:, lab, 0]])
    moved = np.sqrt(((pred[1] - pred[0]) ** 2).mean(axis=0))
    target_change = np.sqrt(((Y[1] - Y[0]) ** 2).mean(axis=0))
    mse = ((pred - Y) ** 2).mean(axis=1) / np.maximum(Y.var(axis=1), 1e-12)
    return InterferenceResult(config=cfg, pair=(int(pair[0]), int(pair[1])), positions=lab + 1,
                              target_change=target_change, moved=moved,
                              test_mse=(float(mse[0].mean()), float(mse[1].mean())),
                              seconds=time.perf_counter() - start)


# -- cached kind (chapter 6 and the ledger of chapter 8 read it through rnnlib.engine.run_many) ----

@dataclass(frozen=True)
class InterferenceConfig:
    """Kind ``interference``: :func:`interference` on ``run_config`` for ``pair``, with the mean
    ``|cos|`` between ``Back_{i0 -> j0}`` and every other ``Back_{i -> j}`` (``2 <= i <= j``, ``j``
    labelled) of the initial network on ``n_probe`` test sequences (backward coherence, chapter 3)."""

    kind: ClassVar[str] = "interference"
    run_config: ExperimentConfig
    pair: tuple
    n_probe: int = 64

    def to_dict(self) -> dict:
        return {"run": self.run_config.to_dict(), "pair": list(self.pair), "n_probe": self.n_probe}

    @classmethod
    def from_dict(cls, d: dict) -> InterferenceConfig:
        return cls(ExperimentConfig.from_dict(d["run"]), int_tuple("pair", d["pair"]), int(d["n_probe"]))

    def estimated_cost(self) -> float:
        """Relative cost for a pool's schedule: two SGD runs (original and changed targets)."""
        return 2 * self.run_config.estimated_cost()

    def run(self) -> InterferenceRun:
        from .backward import backward_maps

        cfg = self.run_config
        res = interference(cfg, self.pair)
        probe = make_dataset(cfg.replace(n_train=2, n_test=check_int("n_probe", self.n_probe, minimum=1))).x_test
        maps = backward_maps(initial_model(cfg), probe, outputs=[int(j) for j in res.positions])
        pairs = [res.pair] + [(i, int(j)) for j in res.positions for i in range(2, int(j) + 1) if (i, j) != res.pair]
        return InterferenceRun(self, res.positions, res.target_change, res.moved, res.test_mse, res.seconds,
                               float(maps.cos_matrix(pairs)[0, 1:].mean()))


@dataclass(frozen=True, eq=False)
class InterferenceRun:
    """The cached :class:`InterferenceResult` (``result``) and the backward ``coherence``."""

    config: InterferenceConfig
    positions: np.ndarray
    target_change: np.ndarray
    moved: np.ndarray
    test_mse: tuple
    seconds: float
    coherence: float

    @property
    def result(self) -> InterferenceResult:
        """The run as the :class:`InterferenceResult` that :func:`interference` returns."""
        return InterferenceResult(self.config.run_config, tuple(self.config.pair), self.positions,
                                  self.target_change, self.moved, self.test_mse, self.seconds)

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "positions": self.positions.tolist(),
                "target_change": self.target_change.tolist(), "moved": self.moved.tolist(),
                "test_mse": list(self.test_mse), "seconds": self.seconds, "coherence": self.coherence}

    @classmethod
    def from_dict(cls, d: dict) -> InterferenceRun:
        return cls(InterferenceConfig.from_dict(d["config"]), np.array(int_tuple("positions", d["positions"])),
                   finite_array("target_change", d["target_change"], 1), finite_array("moved", d["moved"], 1),
                   float_tuple("test_mse", d["test_mse"]), finite_number("seconds", d["seconds"]),
                   finite_number("coherence", d["coherence"]))


InterferenceConfig.result_type = InterferenceRun
