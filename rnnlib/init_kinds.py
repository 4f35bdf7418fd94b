"""Cached kinds of chapters 1 and 3: the random network at initialization.

Chapter 1 (the question): prior bounds on random networks (Zhang et al. 2018; Bartlett et al. 2017;
Tu et al. 2020; Allen-Zhu & Li (2019), section 1). Chapter 3 (the RNN at random initialization):
forward stability, activation patterns against ``eps_x``, backward maps and their coherence
(Allen-Zhu & Li (2019), section 5, recalled; after Allen-Zhu, Li & Song 2019). Each probe is a
frozen config with a ``kind``
whose ``run()`` returns a :class:`rnnlib.probe_payload.ProbeRecord`, so :mod:`rnnlib.engine` caches
it (key: kind, config, digest of this module's import closure) and a re-executed chapter reads it:

* :class:`PriorBoundsConfig` (``ch1_prior_bounds``) -> :class:`PriorBoundsData`;
* :class:`ForwardConfig` (``forward_stability``) -> :class:`ForwardRecord` (one width);
* :class:`FlipConfig` (``pattern_flips``) -> :class:`FlipData`;
* :class:`BackwardNormConfig` (``backward_norms``) -> :class:`BackwardNormData`;
* :class:`CoherenceConfig` (``coherence``) -> :class:`CoherenceData`.

The studies (:mod:`rnnlib.studies.question`, :mod:`rnnlib.studies.initialization`) subclass the
data classes with their checks and quoted numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .backward import backward_maps, distinct_pairs
from .bounds import evaluate_bounds
from .forward import ForwardStability, forward_stability
from .patterns import flips_versus_eps_x, predicted_flips
from .probe_payload import ProbeRecord, config_dict
from .rnn import ElmanRNN
from .tokens import embed, sample_tokens

__all__ = ["BOUND_KEYS", "PriorBoundsConfig", "PriorBoundsData", "prior_bounds_data", "ForwardConfig",
           "ForwardRecord", "FlipConfig", "FlipData", "flip_data", "InputsSpec", "BackwardNormConfig",
           "BackwardNormData", "backward_norm_data", "CoherenceConfig", "CoherenceData", "coherence_data"]

BOUND_KEYS = ("zhang", "bartlett", "tu_lambda", "tu_factor")


class _Probe:
    """The engine's config protocol shared by the probes: ``to_dict`` of the fields."""

    def to_dict(self) -> dict:
        return config_dict(self)


# -- chapter 1: prior bounds -----------------------------------------------------------------------

@dataclass(frozen=True)
class PriorBoundsData(ProbeRecord):
    """``lengths`` ``(K,)``; ``curves``: width -> key -> median ``log10`` factor ``(K,)``; ``hidden``:
    width -> typical ``||h_l||`` ``(n_nets, L_max)``; ``spectral_W``, ``one_W``: width -> median norm."""

    lengths: np.ndarray
    curves: dict
    hidden: dict
    spectral_W: dict
    one_W: dict
    n_sequences: int


def prior_bounds_data(widths, n_nets: int, n_sequences: int, max_length: int, token_dim: int, eps_x: float,
                      data_seed: int) -> PriorBoundsData:
    """The three bounds for ``L = 2..max_length`` on ``n_nets`` networks per width (seeds 0..)."""
    lengths = np.arange(2, max_length + 1)
    x = embed(sample_tokens(n_sequences, max_length, token_dim, seed=data_seed), eps_x)
    curves, hidden, spectral_W, one_W = {}, {}, {}, {}
    for m in widths:
        nets = [ElmanRNN(token_dim + 1, m, seed=s) for s in range(n_nets)]
        evaluated = [evaluate_bounds(net, lengths) for net in nets]
        curves[m] = {k: np.median([e[k] for e in evaluated], axis=0) for k in ("length",) + BOUND_KEYS}
        spectral_W[m] = float(np.median([e["norms"]["spectral_W"] for e in evaluated]))
        one_W[m] = float(np.median([e["norms"]["one_W"] for e in evaluated]))
        hidden[m] = np.stack([net.hidden_states(x).norm(dim=-1).mean(dim=0).numpy() for net in nets])
    return PriorBoundsData(lengths=lengths, curves=curves, hidden=hidden, spectral_W=spectral_W, one_W=one_W,
                           n_sequences=n_sequences)


@dataclass(frozen=True)
class PriorBoundsConfig(_Probe):
    """Kind ``ch1_prior_bounds``: :func:`prior_bounds_data` with these arguments."""

    kind: ClassVar[str] = "ch1_prior_bounds"
    widths: tuple
    n_nets: int = 5
    n_sequences: int = 64
    max_length: int = 100
    token_dim: int = 8
    eps_x: float = 0.3
    data_seed: int = 1

    def run(self) -> PriorBoundsData:
        return prior_bounds_data(self.widths, self.n_nets, self.n_sequences, self.max_length, self.token_dim,
                                 self.eps_x, self.data_seed)


PriorBoundsConfig.result_type = PriorBoundsData


# -- chapter 3: forward stability -----------------------------------------------------------------

@dataclass(frozen=True)
class ForwardRecord(ProbeRecord):
    """:class:`rnnlib.ForwardStability` of one width, as the engine stores it."""

    width: int
    seeds: tuple
    norms: np.ndarray
    spectral: np.ndarray
    row_sum: np.ndarray

    def stability(self) -> ForwardStability:
        return ForwardStability(**self.data())


@dataclass(frozen=True)
class ForwardConfig(_Probe):
    """Kind ``forward_stability``: :func:`rnnlib.forward_stability` at one width."""

    kind: ClassVar[str] = "forward_stability"
    width: int
    length: int
    seeds: tuple
    n: int = 16
    token_dim: int = 8
    eps_x: float = 0.3
    data_seed: int = 0

    def run(self) -> ForwardRecord:
        r = forward_stability(self.width, self.length, self.seeds, n=self.n, token_dim=self.token_dim,
                              eps_x=self.eps_x, data_seed=self.data_seed)
        return ForwardRecord(width=r.width, seeds=tuple(r.seeds), norms=r.norms, spectral=r.spectral,
                             row_sum=r.row_sum)


ForwardConfig.result_type = ForwardRecord


# -- chapter 3: activation patterns ---------------------------------------------------------------

@dataclass(frozen=True)
class FlipData(ProbeRecord):
    """Flip fractions ``(E, L)`` against another sequence (``other``), the input-free trajectory
    (``free``) and the Gaussian prediction (``predicted``) at the scales ``eps`` ``(E,)``."""

    width: int
    eps: np.ndarray
    eps_x: float
    other: np.ndarray
    free: np.ndarray
    predicted: np.ndarray


def flip_data(width: int, length: int, n: int, eps_values, token_dim: int, eps_x: float) -> FlipData:
    """Patterns of one network (seed 0) on sequences (seed 1) against others (seed 2) or none."""
    model = ElmanRNN(token_dim + 1, width, seed=0)
    xs_a = sample_tokens(n, length, token_dim, seed=1)
    xs_b = sample_tokens(n, length, token_dim, seed=2)
    eps = np.asarray(eps_values, dtype=float)
    predicted = np.stack([predicted_flips(model, embed(xs_a, e), embed(xs_b, e)) for e in eps])
    return FlipData(width=width, eps=eps, eps_x=float(eps_x), other=flips_versus_eps_x(model, xs_a, xs_b, eps),
                    free=flips_versus_eps_x(model, xs_a, None, eps), predicted=predicted)


@dataclass(frozen=True)
class FlipConfig(_Probe):
    """Kind ``pattern_flips``: :func:`flip_data` with these arguments."""

    kind: ClassVar[str] = "pattern_flips"
    width: int
    length: int
    n: int
    eps_values: tuple
    token_dim: int = 8
    eps_x: float = 0.3

    def run(self) -> FlipData:
        return flip_data(self.width, self.length, self.n, self.eps_values, self.token_dim, self.eps_x)


FlipConfig.result_type = FlipData


# -- chapter 3: backward maps ---------------------------------------------------------------------

@dataclass(frozen=True)
class InputsSpec:
    """``n`` random sequences of ``length`` tokens (seed ``seed``), embedded at ``eps_x``."""

    n: int
    length: int = 10
    token_dim: int = 8
    eps_x: float = 0.3
    seed: int = 3

    def inputs(self):
        """The inputs ``(n, length, token_dim + 1)`` (a float32 tensor)."""
        return embed(sample_tokens(self.n, self.length, self.token_dim, seed=self.seed), self.eps_x)


@dataclass(frozen=True)
class BackwardNormData(ProbeRecord):
    """``norms``: width -> (``||Back_{i->j}||_F / ||B||_F`` ``(n, L, J)``, NaN where ``i > j``; outputs)."""

    allow_nan: ClassVar[tuple] = ("norms",)
    norms: dict


def backward_norm_data(widths, x) -> BackwardNormData:
    """Relative norms of every ``Back_{i->j}`` on inputs ``x`` for one network (seed 0) per width."""
    norms = {}
    for m in widths:
        bm = backward_maps(ElmanRNN(x.shape[-1], m, seed=0), x)
        norms[m] = (bm.relative_norms(), tuple(bm.outputs))
    return BackwardNormData(norms)


@dataclass(frozen=True)
class BackwardNormConfig(_Probe):
    """Kind ``backward_norms``: :func:`backward_norm_data` at ``widths`` on ``inputs``."""

    kind: ClassVar[str] = "backward_norms"
    widths: tuple
    inputs: InputsSpec

    def run(self) -> BackwardNormData:
        return backward_norm_data(self.widths, self.inputs.inputs())


BackwardNormConfig.result_type = BackwardNormData

GROUPS = ("same_output", "different_length", "same_length", "all")


@dataclass(frozen=True)
class CoherenceData(ProbeRecord):
    """The heatmap's maps ``pairs`` and their mean ``|cos|`` ``(P, P)`` at ``heat_width``; ``overlap`` of
    active neurons between steps; ``coherence``: kind of pair -> ``(K, seeds)`` mean ``|cos|``."""

    heat_width: int
    pairs: tuple
    cos_heat: np.ndarray
    overlap: float
    widths: tuple
    coherence: dict


def coherence_data(widths, seeds, x, heat_width: int) -> CoherenceData:
    """Mean ``|cos|`` between the backward maps of networks (one per width and seed) on inputs ``x``."""
    heat = ElmanRNN(x.shape[-1], heat_width, seed=0)
    bm = backward_maps(heat, x)
    pairs = distinct_pairs(bm.outputs, order="length")
    patterns = heat.activation_patterns(x)
    overlap = float((patterns[:, 1:] & patterns[:, :-1]).float().sum() / patterns[:, 1:].float().sum())
    coherence = {kind: np.zeros((len(widths), len(seeds))) for kind in GROUPS}
    for a, m in enumerate(widths):
        for b, seed in enumerate(seeds):
            c = backward_maps(ElmanRNN(x.shape[-1], m, seed=seed), x).coherence()
            for kind in GROUPS:
                coherence[kind][a, b] = c[kind]
    return CoherenceData(heat_width=heat_width, pairs=tuple(tuple(p) for p in pairs), cos_heat=bm.cos_matrix(pairs),
                         overlap=overlap, widths=tuple(widths), coherence=coherence)


@dataclass(frozen=True)
class CoherenceConfig(_Probe):
    """Kind ``coherence``: :func:`coherence_data` on ``inputs``."""

    kind: ClassVar[str] = "coherence"
    widths: tuple
    seeds: tuple
    inputs: InputsSpec
    heat_width: int

    def run(self) -> CoherenceData:
        return coherence_data(self.widths, self.seeds, self.inputs.inputs(), self.heat_width)


CoherenceConfig.result_type = CoherenceData
