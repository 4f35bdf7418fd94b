"""Chapter 3 (the RNN at random initialization): forward stability, patterns, backward maps.

Paper: the properties of the random network that the proof of Allen-Zhu & Li (2019), section 5 (recalled), relies on, as
restated by Panigrahi & Goyal (2021): forward stability of the hidden states (after Allen-Zhu, Li &
Song 2019), stable ReLU patterns ``D_l`` under the paper's input normalization, and backward
stability and coherence of the maps ``Back_{i->j} = B D_j W ... D_{i+1} W``.

* :func:`forward_study` -> :class:`ForwardStudy` (``||h_l||`` against ``||W||_2^l``, several widths);
* :func:`forward_drift` -> :class:`ForwardDrift` (the share of initializations with ``||h_L|| > 10``,
  per width, at ``L = 200``, for chapter 8's ledger);
* :func:`flip_study` -> :class:`FlipStudy` (flipped patterns against ``eps_x``, with the Gaussian
  prediction);
* :func:`backward_norm_study` -> :class:`BackwardNormStudy` (``||Back_{i->j}|| / ||B||``);
* :func:`coherence_study` -> :class:`CoherenceStudy` (``|cos|`` between maps against the width).

Each probe is a cached kind of the engine (:mod:`rnnlib.init_kinds`), so a re-executed chapter reads
it; the result classes add the chapter's checks and numbers to the kinds' records.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._checks import check_float, check_int
from ..engine import run_many
from ..forward import ForwardStability
from ..init_kinds import (BackwardNormConfig, BackwardNormData, CoherenceConfig, CoherenceData, FlipConfig, FlipData,
                          ForwardConfig, InputsSpec, backward_norm_data, coherence_data)
from ..lazy import fit_power_law
from ..tokens import embed, sample_tokens
from .checks import require

__all__ = ["ForwardStudy", "forward_study", "ForwardDrift", "forward_drift", "FlipStudy", "flip_study",
           "BackwardNormStudy", "backward_norm_study", "CoherenceStudy", "coherence_study", "backward_inputs",
           "backward_design", "InputsSpec"]

# check(): the Gaussian (arc-cosine) prediction of the flipped fraction is within this relative error of the
# measurement at every eps_x. Exact in expectation at step 2; later steps reuse W, hence a loose tolerance.
FLIP_PREDICTION_TOL = 0.15


@dataclass(frozen=True)
class ForwardStudy:
    """:class:`rnnlib.ForwardStability` results, one per width, over the same sequences."""

    results: tuple

    @property
    def widths(self) -> list:
        return [r.width for r in self.results]

    @property
    def length(self) -> int:
        return int(self.results[0].norms.shape[-1])

    @property
    def spectral(self) -> np.ndarray:
        return np.concatenate([r.spectral for r in self.results])

    @property
    def log10_spec(self) -> float:
        """``log10`` of the median ``||W||_2``: the per-step rate of the norm product."""
        return float(np.log10(np.median(self.spectral)))

    def median_seed(self, r: ForwardStability) -> np.ndarray:
        return np.median(r.typical, axis=0)

    def early(self, r: ForwardStability) -> np.ndarray:
        """Typical norms of every seed at the steps ``l <= sqrt(m)``."""
        return r.typical[:, : int(np.sqrt(r.width))]

    def check(self) -> None:
        """||W||_2 ~ 2 sqrt 2; no collapse; O(1) norms for l <= sqrt(m); drift slow, slower when wider."""
        spec = self.spectral
        require(np.all(np.abs(spec - 2 * np.sqrt(2)) < 0.35), f"||W||_2 should be about 2 sqrt 2, got {spec}")
        low = min(r.norms.min() for r in self.results)
        require(low > 0.15, f"no hidden norm should vanish, smallest {low:.3g}")
        for r in self.results:
            e = self.early(r)
            require(0.3 < e.min() and e.max() < 10, f"m = {r.width}: for l <= sqrt(m) every seed should stay "
                    f"within [0.3, 10], got [{e.min():.3g}, {e.max():.3g}]")
            rate = r.growth_rate()
            require(rate.max() < 0.3 * self.log10_spec, f"m = {r.width}: drift {rate.max():.3f} decades/step "
                    f"should stay below 0.3 x {self.log10_spec:.3f}")
            require(np.median(rate) < 0.03, f"m = {r.width}: median drift {np.median(rate):.4f} >= 0.03")
        for r in self.results[1:]:
            med = self.median_seed(r)
            require(0.5 < med.min() and med.max() < 5, f"m = {r.width}: the median seed should stay O(1), got "
                    f"[{med.min():.3g}, {med.max():.3g}]")
        lo, hi = self.results[0], self.results[-1]
        require(hi.growth_rate().max() < lo.growth_rate().max(), "the widest networks should drift slowest")

    def numbers(self) -> dict:
        out = {"ch3-fwd-L": self.length, "ch3-fwd-seeds": len(self.results[0].seeds),
               "ch3-spec": np.median(self.spectral), "ch3-log10-product": self.length * self.log10_spec,
               "ch3-log10-spec": self.log10_spec,
               "ch3-early-lo": min(self.early(r).min() for r in self.results),
               "ch3-early-hi": max(self.early(r).max() for r in self.results),
               "ch3-min-norm": min(r.norms.min() for r in self.results)}
        for r in self.results:
            m, med, rate = r.width, self.median_seed(r), r.growth_rate()
            out.update({f"ch3-median-lo-{m}": med.min(), f"ch3-median-hi-{m}": med.max(),
                        f"ch3-rate-max-{m}": rate.max(), f"ch3-rate-median-{m}": np.median(rate),
                        f"ch3-drifting-{m}": 100 * np.mean(r.typical[:, -1] > 10)})
        return out


def _forward_configs(widths, length, seeds, n, token_dim, eps_x) -> list:
    seeds = tuple(check_int("seed", s, minimum=0) for s in seeds)
    if not seeds:
        raise ValueError("seeds must list at least one seed, got an empty sequence")
    return [ForwardConfig(width=check_int("width", m, minimum=1), length=check_int("length", length, minimum=2),
                          seeds=seeds, n=check_int("n", n, minimum=1),
                          token_dim=check_int("token_dim", token_dim, minimum=1),
                          eps_x=check_float("eps_x", eps_x, positive=True)) for m in widths]


def forward_study(widths: Sequence[int], length: int, seeds: Sequence[int], *, n: int, token_dim: int = 8,
                  eps_x: float = 0.3, cache_dir=None) -> ForwardStudy:
    """:func:`rnnlib.forward_stability` at every width (float64 recurrences, the same sequences).

    One cached kind per width (``forward_stability``, :class:`rnnlib.init_kinds.ForwardConfig`), read
    from the engine's cache (``cache_dir`` as :func:`rnnlib.engine.run_many`).
    """
    records = run_many(_forward_configs(widths, length, seeds, n, token_dim, eps_x), cache_dir=cache_dir,
                       progress=False)
    return ForwardStudy(tuple(r.stability() for r in records))


@dataclass(frozen=True)
class ForwardDrift:
    """Forward stability at one length: the share of initializations whose hidden norm ends large.

    Attributes:
        widths: ``(K,)``; ``length``: ``L``; ``n_seeds``: initializations per width; ``threshold``: 10.
        fraction_above: per width, the fraction of initializations whose typical ``||h_L||`` (median over
            the sequences) exceeds ``threshold``, ``(K,)``.
        max_norm: per width, the largest typical ``||h_L||`` over the initializations, ``(K,)``.
    """

    widths: tuple
    length: int
    n_seeds: int
    threshold: float
    fraction_above: tuple
    max_norm: tuple

    def numbers(self) -> dict:
        return {f"drift-above-{m}": f for m, f in zip(self.widths, self.fraction_above)}


def forward_drift(widths: Sequence[int] = (64, 256, 1024), length: int = 200, seeds: Sequence[int] = range(12), *,
                  n: int = 16, token_dim: int = 8, eps_x: float = 0.3, threshold: float = 10.0,
                  cache_dir=None) -> ForwardDrift:
    """The fraction of initializations with typical ``||h_L|| > threshold`` per width (paper section 5.1).

    The defaults are chapter 3's full-profile forward design (``L = 200``, 12 seeds, 16 sequences, the
    same cached runs as its figure); its ``ch3-drifting-<m>`` numbers are these fractions in percent.
    """
    threshold = check_float("threshold", threshold, positive=True)
    study = forward_study(widths, length, seeds, n=n, token_dim=token_dim, eps_x=eps_x, cache_dir=cache_dir)
    last = [r.typical[:, -1] for r in study.results]
    return ForwardDrift(widths=tuple(study.widths), length=study.length, n_seeds=len(study.results[0].seeds),
                        threshold=threshold, fraction_above=tuple(float(np.mean(v > threshold)) for v in last),
                        max_norm=tuple(float(v.max()) for v in last))


class FlipStudy(FlipData):
    """Flipped ReLU patterns against the input scale ``eps_x`` at one width.

    Attributes:
        width, eps: the width and the scales ``(E,)``; ``eps_x``: the book's default scale.
        other, free: per-step flip fractions ``(E, L)`` against another sequence and against the
            input-free trajectory; ``predicted``: the Gaussian (Sheppard) prediction for ``other``.
    """

    def _mean(self, a: np.ndarray) -> np.ndarray:
        return a[:, 1:].mean(axis=1)                    # steps 2..L (step 1 is the start token)

    @property
    def k_default(self) -> int:
        return int(np.argmin(np.abs(self.eps - self.eps_x)))

    @property
    def slope(self) -> float:
        """Log-log slope of the mean flips against ``eps_x <= 0.1``."""
        small = self.eps <= 0.1
        return fit_power_law(self.eps[small], self._mean(self.other)[small])[0]

    @property
    def prediction_error(self) -> np.ndarray:
        return np.abs(self._mean(self.predicted) / self._mean(self.other) - 1)

    def check(self) -> None:
        """More eps_x, more flips; few at small eps_x; linear law; the Gaussian prediction within
        FLIP_PREDICTION_TOL."""
        other, free = self._mean(self.other), self._mean(self.free)
        require(np.all(np.diff(other) > 0) and np.all(np.diff(free) > 0), "flips should grow with eps_x")
        require(other[0] < 0.02 and other[self.k_default] < 0.25, f"flips should be few: {other[0]:.3f} at "
                f"eps_x = {self.eps[0]}, {other[self.k_default]:.3f} at {self.eps[self.k_default]}")
        require(np.all(self.prediction_error < FLIP_PREDICTION_TOL),
                f"the Gaussian prediction is off by {self.prediction_error}")
        require(0.7 < self.slope < 1.2, f"flips should be linear in eps_x: slope {self.slope:.2f}")

    def numbers(self) -> dict:
        k = self.k_default
        return {"ch3-flip-m": self.width, "ch3-flip-eps": self.eps[k],
                "ch3-flip-other": 100 * self._mean(self.other)[k], "ch3-flip-free": 100 * self._mean(self.free)[k],
                "ch3-flip-small": 100 * self._mean(self.other)[0], "ch3-flip-eps-small": self.eps[0],
                "ch3-flip-slope": self.slope, "ch3-flip-pred-err": 100 * self.prediction_error.max(),
                "ch3-flip-step2": 100 * self.other[k, 1], "ch3-flip-stepL": 100 * self.other[k, -1],
                "ch3-flip-L": self.other.shape[1], "ch3-flip-pred-tol": 100 * FLIP_PREDICTION_TOL}


def flip_study(width: int, length: int, n: int, eps_values: Sequence[float], *, token_dim: int = 8,
               eps_x: float = 0.3, cache_dir=None) -> FlipStudy:
    """Patterns of one network (seed 0) on sequences (seed 1) against others (seed 2) or none (cached
    kind ``pattern_flips``, :class:`rnnlib.init_kinds.FlipConfig`)."""
    config = FlipConfig(width=check_int("width", width, minimum=1), length=check_int("length", length, minimum=2),
                        n=check_int("n", n, minimum=1), eps_values=tuple(float(e) for e in eps_values),
                        token_dim=check_int("token_dim", token_dim, minimum=1),
                        eps_x=check_float("eps_x", eps_x, positive=True))
    return FlipStudy(**run_many([config], cache_dir=cache_dir, progress=False)[0].data())


def backward_inputs(n: int, length: int = 10, *, token_dim: int = 8, eps_x: float = 0.3, seed: int = 3):
    """The inputs ``(n, length, token_dim + 1)`` on which the chapter computes backward maps."""
    return embed(sample_tokens(n, length, token_dim, seed=seed), eps_x)


def backward_design(n: int, length: int = 10, *, token_dim: int = 8, eps_x: float = 0.3, seed: int = 3) -> InputsSpec:
    """The same inputs as :func:`backward_inputs`, as a spec: studies given it run as cached kinds."""
    return InputsSpec(n=check_int("n", n, minimum=1), length=check_int("length", length, minimum=2),
                      token_dim=check_int("token_dim", token_dim, minimum=1),
                      eps_x=check_float("eps_x", eps_x, positive=True), seed=check_int("seed", seed, minimum=0))


class BackwardNormStudy(BackwardNormData):
    """``norms``: width -> (``||Back_{i->j}||_F / ||B||_F`` ``(n, L, J)``, the outputs ``j``)."""

    @property
    def widths(self) -> list:
        return sorted(self.norms)

    def band(self, m: int) -> np.ndarray:
        """10%, 50% and 90% quantiles over every pair and sequence."""
        return np.nanquantile(self.norms[m][0], [0.1, 0.5, 0.9])

    def longest(self, m: int) -> float:
        """Median ratio of the longest map ``Back_{1->L}``."""
        return float(np.median(self.norms[m][0][:, 0, -1]))

    def check(self) -> None:
        """The typical map keeps the norm of B, and the spread narrows as m grows."""
        for m in self.widths:
            require(0.7 < self.band(m)[1] < 1.4, f"m = {m}: median ||Back|| / ||B|| = {self.band(m)[1]:.3f}")
        lo, hi = self.band(self.widths[0]), self.band(self.widths[-1])
        require(hi[2] - hi[0] < lo[2] - lo[0], "the spread of ||Back|| / ||B|| should narrow as m grows")

    def numbers(self) -> dict:
        out = {"ch3-back-lo-m": self.widths[0], "ch3-back-hi-m": self.widths[-1]}
        for tag, m in (("lo", self.widths[0]), ("hi", self.widths[-1])):
            out.update({f"ch3-back-q10-{tag}": self.band(m)[0], f"ch3-back-q90-{tag}": self.band(m)[2],
                        f"ch3-back-longest-{tag}": self.longest(m)})
        return out


def backward_norm_study(widths: Sequence[int], x, *, cache_dir=None) -> BackwardNormStudy:
    """Relative norms of every ``Back_{i->j}`` on inputs ``x`` for one network (seed 0) per width.

    ``x``: an :class:`InputsSpec` (:func:`backward_design`; cached kind ``backward_norms``) or the
    inputs themselves (computed here, not cached).
    """
    widths = tuple(check_int("width", m, minimum=1) for m in widths)
    if isinstance(x, InputsSpec):
        data = run_many([BackwardNormConfig(widths, x)], cache_dir=cache_dir, progress=False)[0]
    else:
        data = backward_norm_data(widths, x)
    return BackwardNormStudy(**data.data())


class CoherenceStudy(CoherenceData):
    """``|cos|`` between backward maps: one heatmap, and the mean by kind of pair against the width.

    Attributes:
        heat_width, pairs, cos_heat: the maps ``(i, j)`` ordered by length and their ``(P, P)`` mean ``|cos|``.
        overlap: fraction of the neurons active at step ``l + 1`` that were active at step ``l``.
        widths: ``(K,)``; ``coherence``: kind -> ``(K, seeds)`` mean ``|cos|`` (kinds: same output ``j``,
            different lengths, same length shifted in time, all).
    """

    def mean(self, kind: str) -> np.ndarray:
        return self.coherence[kind].mean(axis=1)

    def fit(self, kind: str) -> tuple:
        """``(slope, c, slope_stderr)`` of the mean ``|cos|`` against ``m``."""
        return fit_power_law(self.widths, self.mean(kind))

    def check(self) -> None:
        """Maps into one output: |cos| ~ 1/sqrt(m); same length shifted in time: correlated at every m."""
        same, sqrt_m = self.mean("same_output"), np.sqrt(np.asarray(self.widths, dtype=float))
        require(same[-1] < same[0], "|cos| of maps into the same output should shrink with m")
        require(np.all((same * sqrt_m > 1 / 3) & (same * sqrt_m < 3)),
                f"|cos| x sqrt(m) should stay within a factor 3 of 1, got {same * sqrt_m}")
        for kind in ("same_output", "different_length"):
            require(-0.65 < self.fit(kind)[0] < -0.35, f"{kind}: exponent {self.fit(kind)[0]:.2f}, expected ~ -1/2")
        shifted = self.mean("same_length")
        require(np.all(shifted > 0.2) and self.fit("same_length")[0] > -0.15,
                f"maps of the same length should stay correlated: {shifted}")
        require(0.55 < self.overlap < 0.8, f"active neurons overlap between steps: {self.overlap:.3f}")

    def numbers(self) -> dict:
        same, sqrt_m = self.mean("same_output"), np.sqrt(np.asarray(self.widths, dtype=float))
        slope, const, err = self.fit("same_output")
        return {"ch3-heat-m": self.heat_width, "ch3-heat-maps": len(self.pairs), "ch3-overlap": 100 * self.overlap,
                "ch3-coh-slope": slope, "ch3-coh-slope-err": err, "ch3-coh-const": const,
                "ch3-coh-diff-slope": self.fit("different_length")[0],
                "ch3-coh-same-len-slope": self.fit("same_length")[0],
                "ch3-coh-min-m": self.widths[0], "ch3-coh-max-m": self.widths[-1],
                "ch3-coh-lo": same[0], "ch3-coh-hi": same[-1], "ch3-coh-lo-scaled": same[0] * sqrt_m[0],
                "ch3-coh-hi-scaled": same[-1] * sqrt_m[-1],
                "ch3-coh-same-len-lo": self.mean("same_length").min(),
                "ch3-coh-same-len-hi": self.mean("same_length").max()}


def coherence_study(widths: Sequence[int], seeds: Sequence[int], x, *, heat_width: int,
                    cache_dir=None) -> CoherenceStudy:
    """Mean ``|cos|`` between the backward maps of networks (one per width and seed) on inputs ``x``.

    ``x``: an :class:`InputsSpec` (:func:`backward_design`; cached kind ``coherence``) or the inputs
    themselves (computed here, not cached).
    """
    widths, seeds = tuple(check_int("width", m, minimum=1) for m in widths), tuple(int(s) for s in seeds)
    heat_width = check_int("heat_width", heat_width, minimum=1)
    if isinstance(x, InputsSpec):
        data = run_many([CoherenceConfig(widths, seeds, x, heat_width)], cache_dir=cache_dir, progress=False)[0]
    else:
        data = coherence_data(widths, seeds, x, heat_width)
    return CoherenceStudy(**data.data())
