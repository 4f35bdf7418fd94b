"""Chapter 3 (the RNN at random initialization): forward stability, patterns, backward maps.

Paper: the properties of the random network that the proof of Allen-Zhu & Li (2019), section 5 (recalled), relies on, as
restated by Panigrahi & Goyal (2021): forward stability of the hidden states (after Allen-Zhu, Li &
Song 2019), stable ReLU patterns ``D_l`` under the paper's input normalization, and backward
stability and coherence of the maps ``Back_{i->j} = B D_j W ... D_{i+1} W``.

* :func:`forward_study` -> :class:`ForwardStudy` (``||h_l||`` against ``||W||_2^l``, several widths);
* :func:`flip_study` -> :class:`FlipStudy` (flipped patterns against ``eps_x``, with the Gaussian
  prediction);
* :func:`backward_norm_study` -> :class:`BackwardNormStudy` (``||Back_{i->j}|| / ||B||``);
* :func:`coherence_study` -> :class:`CoherenceStudy` (``|cos|`` between maps against the width).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._checks import check_int
from ..backward import backward_maps, distinct_pairs
from ..forward import ForwardStability, forward_stability
from ..lazy import fit_power_law
from ..patterns import flips_versus_eps_x, predicted_flips
from ..rnn import ElmanRNN
from ..tokens import embed, sample_tokens
from .checks import require

__all__ = ["ForwardStudy", "forward_study", "FlipStudy", "flip_study", "BackwardNormStudy",
           "backward_norm_study", "CoherenceStudy", "coherence_study", "backward_inputs"]

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


def forward_study(widths: Sequence[int], length: int, seeds: Sequence[int], *, n: int, token_dim: int = 8,
                  eps_x: float = 0.3) -> ForwardStudy:
    """:func:`rnnlib.forward_stability` at every width (float64 recurrences, the same sequences)."""
    return ForwardStudy(tuple(forward_stability(m, length, seeds, n=n, token_dim=token_dim, eps_x=eps_x)
                              for m in widths))


@dataclass(frozen=True)
class FlipStudy:
    """Flipped ReLU patterns against the input scale ``eps_x`` at one width.

    Attributes:
        width, eps: the width and the scales ``(E,)``; ``eps_x``: the book's default scale.
        other, free: per-step flip fractions ``(E, L)`` against another sequence and against the
            input-free trajectory; ``predicted``: the Gaussian (Sheppard) prediction for ``other``.
    """

    width: int
    eps: np.ndarray
    eps_x: float
    other: np.ndarray
    free: np.ndarray
    predicted: np.ndarray

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
               eps_x: float = 0.3) -> FlipStudy:
    """Patterns of one network (seed 0) on sequences (seed 1) against others (seed 2) or none."""
    model = ElmanRNN(token_dim + 1, check_int("width", width, minimum=1), seed=0)
    xs_a = sample_tokens(n, length, token_dim, seed=1)
    xs_b = sample_tokens(n, length, token_dim, seed=2)
    eps = np.asarray(eps_values, dtype=float)
    predicted = np.stack([predicted_flips(model, embed(xs_a, e), embed(xs_b, e)) for e in eps])
    return FlipStudy(width=width, eps=eps, eps_x=float(eps_x), other=flips_versus_eps_x(model, xs_a, xs_b, eps),
                     free=flips_versus_eps_x(model, xs_a, None, eps), predicted=predicted)


def backward_inputs(n: int, length: int = 10, *, token_dim: int = 8, eps_x: float = 0.3, seed: int = 3):
    """The inputs ``(n, length, token_dim + 1)`` on which the chapter computes backward maps."""
    return embed(sample_tokens(n, length, token_dim, seed=seed), eps_x)


@dataclass(frozen=True)
class BackwardNormStudy:
    """``norms``: width -> (``||Back_{i->j}||_F / ||B||_F`` ``(n, L, J)``, the outputs ``j``)."""

    norms: dict

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


def backward_norm_study(widths: Sequence[int], x) -> BackwardNormStudy:
    """Relative norms of every ``Back_{i->j}`` on inputs ``x`` for one network (seed 0) per width."""
    norms = {}
    for m in widths:
        bm = backward_maps(ElmanRNN(x.shape[-1], m, seed=0), x)
        norms[m] = (bm.relative_norms(), bm.outputs)
    return BackwardNormStudy(norms)


_GROUPS = ("same_output", "different_length", "same_length", "all")


@dataclass(frozen=True)
class CoherenceStudy:
    """``|cos|`` between backward maps: one heatmap, and the mean by kind of pair against the width.

    Attributes:
        heat_width, pairs, cos_heat: the maps ``(i, j)`` ordered by length and their ``(P, P)`` mean ``|cos|``.
        overlap: fraction of the neurons active at step ``l + 1`` that were active at step ``l``.
        widths: ``(K,)``; ``coherence``: kind -> ``(K, seeds)`` mean ``|cos|`` (kinds: same output ``j``,
            different lengths, same length shifted in time, all).
    """

    heat_width: int
    pairs: tuple
    cos_heat: np.ndarray
    overlap: float
    widths: tuple
    coherence: dict

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


def coherence_study(widths: Sequence[int], seeds: Sequence[int], x, *, heat_width: int) -> CoherenceStudy:
    """Mean ``|cos|`` between the backward maps of networks (one per width and seed) on inputs ``x``."""
    heat = ElmanRNN(x.shape[-1], heat_width, seed=0)
    bm = backward_maps(heat, x)
    pairs = distinct_pairs(bm.outputs, order="length")
    patterns = heat.activation_patterns(x)
    overlap = float((patterns[:, 1:] & patterns[:, :-1]).float().sum() / patterns[:, 1:].float().sum())
    coherence = {kind: np.zeros((len(widths), len(seeds))) for kind in _GROUPS}
    for a, m in enumerate(widths):
        for b, seed in enumerate(seeds):
            c = backward_maps(ElmanRNN(x.shape[-1], m, seed=seed), x).coherence()
            for kind in _GROUPS:
                coherence[kind][a, b] = c[kind]
    return CoherenceStudy(heat_width=heat_width, pairs=tuple(pairs), cos_heat=bm.cos_matrix(pairs), overlap=overlap,
                          widths=tuple(widths), coherence=coherence)
