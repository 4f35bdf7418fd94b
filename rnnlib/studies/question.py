"""Chapter 1 (the question): the position example and the prior bounds on a random network.

Paper: the introduction of Allen-Zhu & Li (2019), section 1, motivates position-dependence with a two-sentence
example (paraphrased in the book: the same words in a different order) and contrasts the result with
earlier RNN generalization bounds that grow exponentially in the length ``L`` (Zhang et al. 2018;
Bartlett et al. 2017, unrolled; Tu et al. 2020). The concept class is that of the paper's setup
(Section 3 of the paper, as restated by Panigrahi & Goyal 2021).

* :func:`position_example` -> :class:`PositionExample`: what each token adds to each output of one
  random concept of the class, for a repeated token and for two sentences with the same words.
* :func:`prior_bounds` -> :class:`PriorBounds`: the weight-dependent factor of three bounds for
  ``L = 2..L_max`` on networks at the paper's initialization, beside their hidden-state norms (a
  cached kind of the engine, :class:`rnnlib.init_kinds.PriorBoundsConfig`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._checks import check_float, check_int
from ..concept import AdditiveConcept
from ..engine import run_many
from ..init_kinds import BOUND_KEYS, PriorBoundsConfig, PriorBoundsData
from ..tokens import sample_tokens
from .checks import require

__all__ = ["PositionExample", "position_example", "PriorBounds", "prior_bounds", "BOUND_KEYS"]

# check(): at the largest L every factor exceeds 10^(BOUND_FLOOR * L). ||W||_2 ~ 2 sqrt 2 gives about 0.45
# decades per step; 0.4 leaves a margin for the narrowest width and says "exponential" without more.
BOUND_FLOOR = 0.4


@dataclass(frozen=True)
class PositionExample:
    """Contributions of tokens to the targets of one random concept (Chapter 1).

    Attributes:
        sentences: the word lists, ``k`` sentences of ``L - 1`` words.
        contributions: ``(k, L, L)``, ``[s, i-1, j-1]`` = what the word at position ``i`` of sentence
            ``s`` adds to the target at position ``j``.
        outputs: ``(k,)``, the target ``F*_L`` of each sentence.
        same: ``(L_same, L_same)``, the contributions of one token repeated at every position.
    """

    sentences: tuple
    contributions: np.ndarray
    outputs: np.ndarray
    same: np.ndarray

    @property
    def subject(self) -> float:
        """What the first word adds to the last output as the subject (position 2) of sentence 1."""
        return float(self.contributions[0, 1, -1])

    @property
    def object(self) -> float:
        """What the same word adds as the object (position ``L``) of sentence 2."""
        return float(self.contributions[1, -1, -1])

    @property
    def spread(self) -> float:
        """Range of the repeated token's contributions to the last output."""
        return float(np.ptp(self.same[1:, -1]))

    def check(self) -> None:
        """Same words, different order, different targets; one token's weight depends on its position."""
        gap = abs(self.outputs[0] - self.outputs[1])
        require(gap > 0.1, f"the two sentences should get different targets, |F0 - F1| = {gap:.3g} <= 0.1")
        require(abs(self.subject - self.object) > 0.1,
                f"a word should add different amounts as subject and object: {self.subject:+.3f} "
                f"vs {self.object:+.3f}")
        top = np.abs(self.same[1:, -1]).max()
        require(self.spread > 0.1 * top, f"the repeated token's contributions should vary with its position: "
                f"range {self.spread:.3g} <= 0.1 x {top:.3g}")

    def numbers(self) -> dict:
        return {"pos_F0": self.outputs[0], "pos_F1": self.outputs[1], "pos_subject": self.subject,
                "pos_object": self.object, "pos_spread": self.spread, "pos_L_same": self.same.shape[0]}


def position_example(words: Sequence[str] = ("team A", "beats", "team B"), *, token_dim: int = 8,
                     phi: str = "sin(3z)", token_seed: int = 11, concept_seed: int = 0,
                     L_same: int = 8) -> PositionExample:
    """Each word gets a random unit token; one concept of the class scores two orders of the words.

    The second sentence swaps the first and last words. The same concept seed draws a concept of
    length ``L_same`` that reads the first word at every position.
    """
    words = [str(w) for w in words]
    if len(words) < 2:
        raise ValueError(f"words must hold at least 2 words, got {words!r}")
    L_same = check_int("L_same", L_same, minimum=2)
    L = len(words) + 1
    vocabulary = dict(zip(words, sample_tokens(1, L, token_dim, seed=token_seed)[0]))
    sentences = (tuple(words), tuple([words[-1]] + words[1:-1] + [words[0]]))
    x = np.stack([[vocabulary[w] for w in s] for s in sentences])                    # (2, L-1, token_dim)
    concept = AdditiveConcept(L, token_dim, phi=phi, labels="all", seed=concept_seed)
    x_same = np.repeat(vocabulary[words[0]][None, None], L_same - 1, axis=1)        # (1, L_same-1, token_dim)
    concept_same = AdditiveConcept(L_same, token_dim, phi=phi, labels="all", seed=concept_seed)
    return PositionExample(sentences=sentences, contributions=concept.pair_contributions(x)[..., 0],
                           outputs=concept(x)[:, -1, 0], same=concept_same.pair_contributions(x_same)[0, ..., 0])


class PriorBounds(PriorBoundsData):
    """Prior bounds and hidden-state norms of random networks at several widths (Chapter 1).

    Attributes:
        lengths: the lengths ``L`` at which the bounds are evaluated, ``(K,)``.
        curves: width ``m`` -> bound key -> median over the networks of the ``log10`` factor, ``(K,)``
            (keys ``length`` and :data:`BOUND_KEYS`).
        hidden: width -> typical ``||h_l||`` (mean over sequences) of each network, ``(n_nets, L_max)``.
        spectral_W, one_W: width -> median ``||W||_2`` and ``||W^T||_1`` over the networks.
        n_sequences: sequences run through every network.

    The data is the cached kind ``ch1_prior_bounds`` (:class:`rnnlib.init_kinds.PriorBoundsConfig`).
    """

    @property
    def widths(self) -> list:
        return sorted(self.curves)

    @property
    def n_nets(self) -> int:
        return int(next(iter(self.hidden.values())).shape[0])

    def at(self, L: int) -> int:
        """Index of length ``L`` in :attr:`lengths`."""
        hit = np.flatnonzero(self.lengths == L)
        if hit.size == 0:
            raise ValueError(f"L must be one of the evaluated lengths {self.lengths.min()}..{self.lengths.max()}, "
                             f"got {L}")
        return int(hit[0])

    @property
    def typical_max(self) -> dict:
        """Width -> largest typical ``||h_l||`` of the median network."""
        return {m: float(np.median(h.max(axis=1))) for m, h in self.hidden.items()}

    @property
    def worst_max(self) -> dict:
        """Width -> largest typical ``||h_l||`` of the worst network."""
        return {m: float(h.max()) for m, h in self.hidden.items()}

    @property
    def worst_rate(self) -> float:
        """Decades per step gained by the worst network of any width, ``log10(h_L / h_1) / (L - 1)``."""
        log_h = [np.log10(h) for h in self.hidden.values()]
        return max(float(((lh[:, -1] - lh[:, 0]) / (lh.shape[1] - 1)).max()) for lh in log_h)

    @property
    def zhang_step(self) -> dict:
        """Width -> mean growth per step of Zhang et al.'s factor without its ``L^2``: ``log10 ||W||_2``."""
        return {m: float(np.mean(np.diff(c["zhang"] - 2 * np.log10(c["length"])))) for m, c in self.curves.items()}

    def check(self) -> None:
        """Every bound grows with L, past 10^(BOUND_FLOOR L) at the largest L; the hidden state stays O(1)."""
        L_max = int(self.lengths[-1])
        for m in self.widths:
            for k in BOUND_KEYS:
                curve = self.curves[m][k]
                require((np.diff(curve) > 0).all(), f"bound {k} at m = {m} should grow with L")
                require(curve[-1] > BOUND_FLOOR * L_max, f"bound {k} at m = {m} should exceed "
                        f"10^{BOUND_FLOOR * L_max:.0f} at "
                        f"L = {L_max}, log10 = {curve[-1]:.1f}")
            require(abs(self.zhang_step[m] - np.log10(2 * np.sqrt(2))) < 0.05,
                    f"||W||_2 should be about 2 sqrt 2 at m = {m}: log10 step {self.zhang_step[m]:.3f}")
            require(self.typical_max[m] < 10, f"the median network at m = {m} should keep ||h_l|| < 10, "
                    f"got {self.typical_max[m]:.3g}")
        rate, product = self.worst_rate, np.log10(min(self.spectral_W.values()))
        require(rate < 0.5 * product, f"the worst network should drift far slower than ||W||_2^l: "
                f"{rate:.3f} vs {product:.3f} decades per step")
        lo, hi = self.widths[0], self.widths[-1]
        require(self.worst_max[lo] > self.worst_max[hi], f"narrow networks should drift most: worst ||h|| "
                f"{self.worst_max[lo]:.3g} at m = {lo} vs {self.worst_max[hi]:.3g} at m = {hi}")

    def numbers(self, m_mid: int | None = None) -> dict:
        """The chapter's keys; ``m_mid`` (default: the middle width) is the width quoted in the text."""
        widths = self.widths
        m_mid = widths[len(widths) // 2] if m_mid is None else m_mid
        c = self.curves[m_mid]
        out = {"n_nets": self.n_nets, "n_sequences": self.n_sequences, "m_mid": m_mid,
               "tu_factor_100_wide": self.curves[widths[-1]]["tu_factor"][self.at(100)],
               "zhang_step": self.zhang_step[m_mid], "worst_rate": self.worst_rate,
               "log_specW": np.log10(self.spectral_W[m_mid]),
               # the floor check() asserts for log10 of every factor at the largest L (the chapter quotes it)
               "bound_floor_log10": BOUND_FLOOR * int(self.lengths[-1])}
        for L in (10, 100):
            for k in ("zhang", "bartlett", "tu_factor"):
                out[f"{k}_{L}"] = c[k][self.at(L)]
            # the omitted 1/sqrt(n) cancels the factor only for log10 n > 2 log10(factor)
            out[f"n_needed_{L}"] = 2 * c["zhang"][self.at(L)]
        for k, m in enumerate(widths):
            out.update({f"m_{k}": m, f"specW_{k}": self.spectral_W[m], f"oneW_{k}": self.one_W[m],
                        f"meanrow_{k}": 2 * np.sqrt(m / np.pi), f"typical_max_{k}": self.typical_max[m],
                        f"worst_max_{k}": self.worst_max[m]})
        return out


def prior_bounds(widths: Sequence[int], *, n_nets: int = 5, n_sequences: int = 64, max_length: int = 100,
                 token_dim: int = 8, eps_x: float = 0.3, data_seed: int = 1, cache_dir=None) -> PriorBounds:
    """Evaluate the three bounds for ``L = 2..max_length`` on ``n_nets`` networks per width (seeds 0..).

    The same ``n_sequences`` random sequences (seed ``data_seed``) run through every network; the
    typical ``||h_l||`` of a network is the mean over them. Computed once through the engine (kind
    ``ch1_prior_bounds``) and read from its cache (``cache_dir``: as :func:`rnnlib.engine.run_many`).
    """
    config = PriorBoundsConfig(
        widths=tuple(check_int("width", m, minimum=1) for m in widths), n_nets=check_int("n_nets", n_nets, minimum=1),
        n_sequences=check_int("n_sequences", n_sequences, minimum=1),
        max_length=check_int("max_length", max_length, minimum=3),
        token_dim=check_int("token_dim", token_dim, minimum=1),
        eps_x=check_float("eps_x", eps_x, positive=True), data_seed=check_int("data_seed", data_seed, minimum=0))
    data = run_many([config], cache_dir=cache_dir, progress=False)[0]
    return PriorBounds(**data.data())
