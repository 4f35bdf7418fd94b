"""The claims ledger: every claim and limitation of the paper as data, with its verdict rule
(chapter 8; Allen-Zhu & Li (2019), sections 3 and 5 and Theorem 1, recalled).

A row of the ledger is a :class:`Claim`: the claim, the experiment that tests it, a link to the
chapter, the function of :mod:`rnnlib.ledger_measures` that turns the chapter's results into the
row's numbers, and a verdict rule ``verdict(measured) -> (verdict, reason)``.  The rules compare the
measured numbers with :data:`THRESHOLDS`, stated once, in code; no verdict or figure is typed by
hand.  :func:`evaluate` applies every rule; :mod:`rnnlib.ledger_view` renders the table and holds
the theory calculator.

The verdicts are :data:`SUPPORTED`, :data:`PARTLY` and :data:`NOT_OBSERVABLE`.  For a
*limitation* "supported" means the limitation is real at this scale: the experiments sit where
the theorem's caveat applies.

The measurement functions are importable from here under their former names
(``ledger.measure_length_dependence`` and so on); :data:`LEDGER_BASE` is the book task,
:data:`rnnlib.tasks.BOOK_TASK`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .ledger_measures import (length_sweep_configs, measure_additivity, measure_coherence,  # noqa: F401
                              measure_forward_stability, measure_interference, measure_lazy,
                              measure_length_dependence, measure_normalization, measure_pseudo_network,
                              measure_random_features, measure_theory_scales, measure_two_layer_class,
                              measure_width_dependence, width_sweep_configs)
from .stats import format_n_star
from .tasks import BOOK_TASK

__all__ = ["SUPPORTED", "PARTLY", "NOT_OBSERVABLE", "VERDICTS", "THRESHOLDS", "Claim", "Row",
           "CLAIMS", "evaluate", "LEDGER_BASE", "length_sweep_configs", "width_sweep_configs",
           "measure_length_dependence", "measure_width_dependence", "measure_pseudo_network",
           "measure_forward_stability", "measure_coherence", "measure_interference",
           "measure_two_layer_class", "measure_additivity", "measure_normalization",
           "measure_theory_scales", "measure_lazy", "measure_random_features"]

SUPPORTED = "supported"
PARTLY = "partly supported"
NOT_OBSERVABLE = "not observable at this scale"
VERDICTS = (SUPPORTED, PARTLY, NOT_OBSERVABLE)

# Every threshold a verdict uses.  Changing one changes the verdicts, never the numbers.
THRESHOLDS = {
    # N* ~ L^b: a fitted exponent at most this is "polynomial of low degree" (supported)
    "poly_exponent_max": 3.0,
    # ... and the power law must fit clearly better than an exponential: its rms residual in
    # log10 N* at most this fraction of the exponential's (else the data do not single it out)
    "power_vs_exp_rms_max": 0.8,
    # test error at the widest m may exceed that at the narrowest by at most this factor
    "width_degradation_max": 1.10,
    "width_degradation_partly": 1.50,
    # relative error of the pseudo-network at the end of training
    "pseudo_error_supported": 0.10,
    "pseudo_error_partly": 0.50,
    # hidden states: log10 of (max_l ||h_l|| / ||h_1||) stays below this ...
    "hidden_growth_log10_max": 1.0,
    # ... while the Lipschitz product ||W||_2^L exceeds 10^this
    "norm_product_log10_min": 3.0,
    # backward coherence: mean |cos| below this many times 1/sqrt(m)
    "coherence_supported": 3.0,
    "coherence_partly": 10.0,
    # definitional checks (float64 round-off)
    "exact_tol": 1e-9,
    # input normalization: pattern flips at eps_x = 1 over those at the chapters' eps_x
    "flip_ratio_min": 1.5,
    # tiny lambda and eta: practical / theory at least 10^this
    "theory_gap_log10_min": 2.0,
    # lazy regime: ||W_T - W_0||_F / ||W_0||_F below this
    "lazy_relative_max": 0.10,
    # interference: rms move of other positions per unit of move at j0, at the widest m
    "interference_ratio_max": 0.3,
    # random features "as good as" SGD on W: mean relative difference of test errors within this
    "random_features_rel_tol": 0.1,
}

# The book task; the ledger's rows read runs of rnnlib.tasks' designs.
LEDGER_BASE = BOOK_TASK


@dataclass(frozen=True)
class Claim:
    """One row of the ledger before it is measured.

    Attributes:
        key: short identifier (also the glue prefix in chapter 8).
        claim: the claim or limitation, in words.
        kind: ``"claim"`` or ``"limitation"``.
        experiment: what is measured.
        chapter: Markdown link to the chapter that runs the full experiment.
        measure: the :mod:`rnnlib.ledger_measures` function whose dict the rule reads.
        verdict: ``verdict(measured) -> (verdict, reason)``.
        figure: ``figure(measured) -> str``, the measured figure in words.
    """

    key: str
    claim: str
    kind: str
    experiment: str
    chapter: str
    measure: Callable[..., dict]
    verdict: Callable[[dict], tuple]
    figure: Callable[[dict], str]


@dataclass
class Row:
    """A measured row: the claim, its numbers, the figure, the verdict and its reason."""

    claim: Claim
    measured: dict = field(default_factory=dict)
    figure: str = ""
    verdict: str = ""
    reason: str = ""


# -- the verdict rules ---------------------------------------------------------------------------

T = THRESHOLDS


def _v_length(m):
    ok = int(np.isfinite(m["n_star"]).sum())
    if ok < 2:
        return NOT_OBSERVABLE, (f"only {ok} length(s) reach the target error {m['target']:g} within the "
                                "N grid; no exponent can be fitted")
    if m["exponent"] <= T["poly_exponent_max"]:
        if ok >= 3 and m["rms_power"] <= T["power_vs_exp_rms_max"] * m["rms_exp"]:
            return SUPPORTED, (f"fitted exponent b = {m['exponent']:.2f} <= {T['poly_exponent_max']:g} over {ok} "
                               f"lengths, and the power law fits clearly better than an exponential (rms "
                               f"{m['rms_power']:.3f} vs {m['rms_exp']:.3f} in log10 N*)")
        why = (f"only {ok} lengths reach the target, and two points fit both laws exactly" if ok < 3 else
               f"an exponential fits about as well (rms {m['rms_exp']:.3f} vs {m['rms_power']:.3f} for the "
               f"power law; a clear preference needs a ratio <= {T['power_vs_exp_rms_max']:g})")
        return PARTLY, f"fitted exponent b = {m['exponent']:.2f} <= {T['poly_exponent_max']:g}, but {why}"
    return PARTLY, f"N* grows with L but the exponent {m['exponent']:.2f} exceeds {T['poly_exponent_max']:g}"


def _tiered(value, supported_max, partly_max, supported, partly, otherwise):
    """The verdict of a number that should be small: supported up to ``supported_max``, partly
    supported up to ``partly_max``, not observable beyond; each with its reason."""
    if value <= supported_max:
        return SUPPORTED, supported
    if value <= partly_max:
        return PARTLY, partly
    return NOT_OBSERVABLE, otherwise


def _v_width(m):
    r, lo, hi = m["ratio"], T["width_degradation_max"], T["width_degradation_partly"]
    return _tiered(r, lo, hi,
                   f"at fixed N the widest network's error is {r:.2f}x the narrowest's (<= {lo:g}): "
                   "width costs no samples here",
                   f"the error grows by {r:.2f}x over the widths, more than {lo:g}x",
                   f"the error grows by {r:.2f}x with m at fixed N")


def _v_pseudo(m):
    e, lo, hi = m["relative_error"], T["pseudo_error_supported"], T["pseudo_error_partly"]
    return _tiered(e, lo, hi, f"relative error {e:.3f} <= {lo:g} after training",
                   f"relative error {e:.3f} is between {lo:g} and {hi:g}",
                   f"relative error {e:.3f} > {hi:g}: the linearization at W_0 is not accurate at this "
                   "width and training length")


def _v_forward(m):
    stable = m["log10_growth"] <= T["hidden_growth_log10_max"]
    explode = m["log10_norm_product"] >= T["norm_product_log10_min"]
    if stable and explode:
        return SUPPORTED, (f"||h_l|| grows by 10^{m['log10_growth']:.2f} over L = {m['length']} steps while "
                           f"||W||_2^L = 10^{m['log10_norm_product']:.1f}")
    if stable:
        return NOT_OBSERVABLE, f"the norm product is only 10^{m['log10_norm_product']:.1f} at this L"
    return PARTLY, f"the hidden states grow by 10^{m['log10_growth']:.2f} (> 10^{T['hidden_growth_log10_max']:g})"


def _v_coherence(m):
    r, lo, hi = m["ratio"], T["coherence_supported"], T["coherence_partly"]
    return _tiered(r, lo, hi, f"mean |cos| = {r:.2f}/sqrt(m), below {lo:g}/sqrt(m)",
                   f"mean |cos| = {r:.2f}/sqrt(m): small, but above {lo:g}/sqrt(m)",
                   f"mean |cos| = {r:.2f}/sqrt(m)")


def _v_interference(m):
    r = m["ratio"]
    shrinks = r[-1] < r[0]
    if r[-1] <= T["interference_ratio_max"] and shrinks:
        return SUPPORTED, (f"changing one pair moves the other positions by {r[-1]:.2f} per unit of the intended "
                           f"change at m = {m['widths'][-1]:.0f} (<= {T['interference_ratio_max']:g}), "
                           f"down from {r[0]:.2f} at m = {m['widths'][0]:.0f}")
    if r[-1] <= T["interference_ratio_max"]:
        return PARTLY, f"the other positions move by {r[-1]:.2f} per unit, but not less as m grows"
    return NOT_OBSERVABLE, f"the other positions move by {r[-1]:.2f} per unit of the intended change"


def _v_random_features(m):
    rel = m["rel"]
    if rel <= T["random_features_rel_tol"]:
        who = "do as well as" if rel >= -T["random_features_rel_tol"] else "do better than"
        return SUPPORTED, (f"random features {who} SGD on W at L = {m['length']} (mean relative difference "
                           f"{rel:+.0%}): nothing here separates the two, and the theorem does not either")
    return PARTLY, (f"SGD on W beats random features by {rel:.0%} (mean relative error) at L = {m['length']}: "
                    "an empirical separation at this scale, which the theorem does not prove")


def _v_two_layer(m):
    if m["max_diff"] <= T["exact_tol"] and m["future_change"] <= T["exact_tol"]:
        return SUPPORTED, ("the concept equals, to round-off, a sum over earlier tokens of two-layer "
                           f"networks with p = {m['hidden']} smooth units; later tokens do not move F*_j")
    return NOT_OBSERVABLE, "the concept differs from its definition"


def _v_additive(m):
    if m["mixed"] <= T["exact_tol"] < m["single"]:
        return SUPPORTED, ("the mixed difference of two positions is zero to round-off while one token "
                           f"moves F* by {m['single']:.2f}: no interaction between tokens is learnable in this class")
    return NOT_OBSERVABLE, "the target shows an interaction between positions"


def _v_normalization(m):
    ratio = m["flips_large"] / max(m["flips_small"], 1e-12)
    if m["norm_deviation"] <= T["exact_tol"] and ratio >= T["flip_ratio_min"]:
        return SUPPORTED, (f"tokens are normalized (deviation {m['norm_deviation']:.0e}); without a small "
                           f"eps_x the patterns of two sequences differ {ratio:.1f}x more")
    return PARTLY, f"pattern flips grow only {ratio:.1f}x from eps_x = {m['eps_small']} to {m['eps_large']}"


def _v_theory(m):
    gl, ge = m["log10_lambda_gap"], m["log10_eta_gap"]
    if min(gl, ge) >= T["theory_gap_log10_min"]:
        return SUPPORTED, (f"the practical lambda is 10^{gl:.1f} and eta 10^{ge:.1f} times the theorem's "
                           f"(eps = {m['eps']:g})")
    return PARTLY, f"the gaps are only 10^{gl:.1f} (lambda) and 10^{ge:.1f} (eta)"


def _v_lazy(m):
    r = m["relative_move"]
    if r <= T["lazy_relative_max"]:
        return SUPPORTED, (f"training moves W by {100 * r:.1f}% of ||W_0||_F (<= {100 * T['lazy_relative_max']:g}%): "
                           "the runs are lazy, so they test only the regime the theorem covers")
    return PARTLY, f"W moves by {100 * r:.1f}% of ||W_0||_F: beyond the lazy regime"


# -- the claims ----------------------------------------------------------------------------------

def _listed(values, spec: str) -> str:
    """``values`` formatted with ``spec`` and joined by commas (the figures of the ledger)."""
    return ", ".join(format(v, spec) for v in values)


def _n_star_text(m, i) -> str:
    """``N*`` of the ``i``-th length in words: outside its grid, ``<= N_min`` or ``> N_max`` (rnnlib.stats)."""
    v = m["n_star"][i]
    if np.isfinite(v):
        return f"{v:.0f}"
    if "n_values" in m and "mean_error" in m:
        grid = np.asarray(m["n_values"])[np.isfinite(m["mean_error"][i])]
        if grid.size:
            return format_n_star(v, grid, ".0f")
    return "n/a"


def _f_length(m):
    ns = ", ".join(_n_star_text(m, i) for i in range(len(m["n_star"])))
    if not np.isfinite(m["exponent"]):
        return f"N*(L) = {ns}"
    return f"N* = {ns} at L = {_listed(m['lengths'], '.0f')}; b = {m['exponent']:.2f}"


CLAIMS: tuple[Claim, ...] = (
    Claim("length", "Samples needed grow polynomially (almost polynomially for smooth phi) in L",
          "claim", "N* to reach the target test error versus L, power-law fit",
          "[chapter 5](05_generalization.html)", measure_length_dependence, _v_length, _f_length),
    Claim("width", "Samples needed grow only logarithmically in the width m", "claim",
          "test error versus m at fixed N", "[chapter 5](05_generalization.html)",
          measure_width_dependence, _v_width,
          lambda m: (f"test MSE {_listed(m['test_mse'], '.3f')} at m = {_listed(m['widths'], '.0f')} "
                     f"(N = {m['n_train']})")),
    Claim("pseudo", "The trained RNN stays close to its pseudo-network", "claim",
          "relative error of the pseudo-network at W_0 against the trained RNN",
          "[chapter 4](04_sgd_on_w.html)", measure_pseudo_network, _v_pseudo,
          lambda m: f"relative error {m['relative_error']:.3f} (m = {m['width']}, L = {m['length']})"),
    Claim("forward", "Hidden states stay stable while norm products explode", "claim",
          "median max_l ||h_l|| / ||h_1|| versus log10 ||W||_2^L at initialization",
          "[chapter 3](03_initialization.html)", measure_forward_stability, _v_forward,
          lambda m: (f"log10 growth {m['log10_growth']:.2f}, median max ||h|| {m['median_max_norm']:.2f}; "
                     f"log10 ||W||^L = {m['log10_norm_product']:.1f}")),
    Claim("coherence", "Backward maps are nearly orthogonal", "claim",
          "mean off-diagonal |cos| of Back_{i->j} versus 1/sqrt(m)", "[chapter 3](03_initialization.html)",
          measure_coherence, _v_coherence,
          lambda m: f"|cos| = {m['coherence']:.4f}, 1/sqrt(m) = {m['inv_sqrt_m']:.4f}"),
    Claim("interference", "Learning one position does not interfere with another", "claim",
          "change of other positions' outputs while one (i -> j) term is learned",
          "[chapter 6](06_why_it_works.html)", measure_interference, _v_interference,
          lambda m: (f"other positions move {_listed(m['ratio'], '.3f')} per unit at m = "
                     f"{_listed(m['widths'], '.0f')} (L = {m['length']})")),
    Claim("two_layer", "The class includes two-layer smooth networks of earlier tokens", "claim",
          "the concept against an independent evaluation of its definition",
          "[chapter 2](02_concept_class.html)", measure_two_layer_class, _v_two_layer,
          lambda m: f"max |diff| {m['max_diff']:.1e}; later-token change {m['future_change']:.1e}"),
    Claim("additive", "Additive class only", "limitation",
          "mixed difference of F* in two positions", "[chapter 2](02_concept_class.html)",
          measure_additivity, _v_additive,
          lambda m: f"mixed difference {m['mixed']:.1e} vs single-token change {m['single']:.2f}"),
    Claim("normalization", "Inputs must be normalized and scaled by a small eps_x", "limitation",
          "token norms; pattern flips between two sequences at eps_x = 0.3 and 1",
          "[chapter 3](03_initialization.html)", measure_normalization, _v_normalization,
          lambda m: (f"flips {m['flips_small']:.3f} at eps_x = {m['eps_small']:g}, "
                     f"{m['flips_large']:.3f} at {m['eps_large']:g}")),
    Claim("theory_scales", "The theorem's lambda and eta are tiny", "limitation",
          "rnnlib.theory against the practical lambda and eta that train",
          "[chapter 4](04_sgd_on_w.html)", measure_theory_scales, _v_theory,
          lambda m: (f"lambda {m['lambda_theory']:.1e} vs {m['lambda_practical']:g}; "
                     f"eta {m['eta_theory']:.1e} vs {m['eta_practical']:.1e}")),
    Claim("lazy", "Lazy regime only", "limitation", "||W_T - W_0||_F / ||W_0||_F after training",
          "[chapter 4](04_sgd_on_w.html)", measure_lazy, _v_lazy,
          lambda m: f"||dW||_F / ||W_0||_F = {m['relative_move']:.4f}"),
    Claim("random_features", "No separation from random features is shown", "limitation",
          "SGD on W against random features (B-only ridge) on the same data",
          "[chapter 7](07_baselines_and_limits.html)", measure_random_features, _v_random_features,
          lambda m: (f"test MSE SGD {_listed(m['sgd'], '.3f')} vs random features {_listed(m['rf'], '.3f')} "
                     f"at N = {_listed(m['n_train'], '.0f')} (L = {m['length']})")),
)


def evaluate(measured: dict) -> list[Row]:
    """Rows of :data:`CLAIMS` with their figures and verdicts, from ``measured[key]`` dicts.

    ``measured`` maps each claim key to the dict its ``measure`` returned (the chapter calls the
    measures with its profile's sizes); a missing key raises ``ValueError``.
    """
    if not isinstance(measured, dict):
        raise TypeError(f"measured must be a dict claim key -> measured dict, got {type(measured).__name__}")
    missing = [c.key for c in CLAIMS if c.key not in measured]
    if missing:
        raise ValueError(f"measured lacks the claim(s) {missing}; keys are {[c.key for c in CLAIMS]}")
    rows = []
    for c in CLAIMS:
        m = measured[c.key]
        verdict, reason = c.verdict(m)
        rows.append(Row(c, m, c.figure(m), verdict, reason))
    return rows
