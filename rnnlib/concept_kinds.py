"""Cached kinds of chapter 2 (the concept class): the target's variance and the label-noise floor.

Chapter 2, the additive concept class and the agnostic risk ``OPT`` of Allen-Zhu & Li (2019), section 3
(recalled, as restated by Panigrahi & Goyal 2021). The two sampled probes of the chapter are frozen
configs whose ``run()`` returns a :class:`rnnlib.probe_payload.ProbeRecord`, cached by
:mod:`rnnlib.engine`:

* :class:`VarianceConfig` (``target_variance``) -> :class:`VarianceData`: ``Var F*_L`` without and with
  the normalization, per length and concept;
* :class:`LabelNoiseConfig` (``label_noise``) -> :class:`LabelNoiseData`: the error of the true concept
  on noisy labels, and ``noise_floor`` of an experiment that does not train.

:mod:`rnnlib.studies.concept_class` subclasses the data classes with the chapter's checks and numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .concept import AdditiveConcept
from .experiment import ExperimentConfig, make_dataset, run_experiment
from .probe_payload import ProbeRecord, config_dict
from .tokens import sample_tokens

__all__ = ["VarianceConfig", "VarianceData", "LabelNoiseConfig", "LabelNoiseData"]


@dataclass(frozen=True)
class VarianceData(ProbeRecord):
    """``n_terms``: ``L - 1`` per length; ``var_raw``, ``var_norm``: ``(n_concepts, n_lengths)``, each on
    ``n_variance`` sequences (``labels="last"``)."""

    n_terms: np.ndarray
    var_raw: np.ndarray
    var_norm: np.ndarray
    n_variance: int


@dataclass(frozen=True)
class VarianceConfig:
    """Kind ``target_variance``: ``Var F*_L`` of ``n_concepts`` concepts (seeds 0..) per length, on
    ``n_variance`` sequences each (seed ``100 + concept seed``)."""

    kind: ClassVar[str] = "target_variance"
    lengths: tuple
    n_variance: int
    n_concepts: int
    token_dim: int = 8
    phi: str = "sin(3z)"

    def to_dict(self) -> dict:
        return config_dict(self)

    def run(self) -> VarianceData:
        t = self.token_dim
        var = {normalize: np.array([[AdditiveConcept(L, t, phi=self.phi, normalize=normalize, seed=s)(
                                         sample_tokens(self.n_variance, L, t, seed=100 + s))[:, -1, 0].var()
                                     for L in self.lengths] for s in range(self.n_concepts)])
               for normalize in (False, True)}
        return VarianceData(n_terms=np.asarray(self.lengths) - 1, var_raw=var[False], var_norm=var[True],
                            n_variance=self.n_variance)


VarianceConfig.result_type = VarianceData


@dataclass(frozen=True)
class LabelNoiseData(ProbeRecord):
    """``levels``: relative noise levels ``s = sigma / sd(F*)``; ``opt_rel``, ``opt_std``: the error of the
    true concept over ``Var F*`` and over ``Var y``; ``floor``: ``noise_floor`` of an untrained
    experiment with ``noise_std = floor_noise``; ``floor_predicted``: ``sigma^2 / (Var F* + sigma^2)``."""

    levels: tuple
    opt_rel: tuple
    opt_std: tuple
    n_noise: int
    floor: float
    floor_predicted: float
    floor_noise: float
    shown: float = 0.5


@dataclass(frozen=True)
class LabelNoiseConfig:
    """Kind ``label_noise``: the true concept (seed 4) on ``n_noise`` sequences (seed 3) with noisy labels
    (seed 5) at each level, and an experiment with ``epochs = 0`` for the library's ``noise_floor``."""

    kind: ClassVar[str] = "label_noise"
    n_noise: int
    levels: tuple
    length: int = 10
    token_dim: int = 8
    phi: str = "sin(3z)"
    floor_noise: float = 0.3
    shown: float = 0.5

    def to_dict(self) -> dict:
        return config_dict(self)

    def run(self) -> LabelNoiseData:
        L, t, phi = self.length, self.token_dim, self.phi
        x = sample_tokens(self.n_noise, L, t, seed=3)
        sd = AdditiveConcept(L, t, phi=phi, seed=4)(x)[:, -1, 0].std()
        opt_rel, opt_std = [], []
        for s in self.levels:
            noisy = AdditiveConcept(L, t, phi=phi, noise_std=s * sd, seed=4)
            y = noisy.labels_for(x, seed=5)[:, -1, 0]
            mse = np.mean((y - noisy(x)[:, -1, 0]) ** 2)              # error of the true concept
            opt_rel.append(float(mse / sd ** 2))
            opt_std.append(float(mse / y.var()))
        # the library's OPT: noise_floor of an experiment that does not train (epochs = 0)
        cfg = ExperimentConfig(length=L, width=32, n_train=100, n_test=self.n_noise, noise_std=self.floor_noise,
                               epochs=0)
        data = make_dataset(cfg)
        var_test = data.concept(data.x_star_test)[:, -1, 0].var()
        return LabelNoiseData(levels=tuple(self.levels), opt_rel=tuple(opt_rel), opt_std=tuple(opt_std),
                              n_noise=self.n_noise, floor=float(run_experiment(cfg).noise_floor),
                              floor_predicted=float(self.floor_noise ** 2 / (var_test + self.floor_noise ** 2)),
                              floor_noise=float(self.floor_noise), shown=float(self.shown))


LabelNoiseConfig.result_type = LabelNoiseData
