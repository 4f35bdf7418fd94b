"""The claims ledger's verdicts, thresholds and rules (chapter 8; Allen-Zhu & Li (2019), Theorem 1 and
the proof ideas of section 5, recalled).

Every rule compares a measured value *and its interval* with a threshold of :data:`THRESHOLDS`
(:func:`against`): the whole interval on the good side gives the good verdict, the whole interval on
the other side the bad one, and an interval that contains the threshold gives :data:`BORDERLINE`.  The
thresholds and their reasons (:data:`THRESHOLD_REASONS`) are fixed here before any number is seen;
changing one changes verdicts, never numbers.  :mod:`rnnlib.ledger` attaches the rules to the claims.
"""
from __future__ import annotations

import math

__all__ = ["SUPPORTED", "PARTLY", "BORDERLINE", "CONTRADICTED", "FAILS_AT_SCALE", "UNDECIDED", "NOT_TESTABLE",
           "NOT_OBSERVABLE", "BY_CONSTRUCTION", "CONSTRUCTION_FAILS", "SEPARATION", "NO_SEPARATION",
           "BASELINE_BETTER", "VERDICTS", "TONES", "THRESHOLDS", "THRESHOLD_REASONS", "HEADLINE_REASONS",
           "against", "tiered", "worst", "RULES"]

SUPPORTED = "supported"
PARTLY = "partly supported"
BORDERLINE = "borderline"
CONTRADICTED = "contradicted"
FAILS_AT_SCALE = "fails at this scale"
UNDECIDED = "undecided"
NOT_TESTABLE = "not testable at this scale"
NOT_OBSERVABLE = "not observable at this scale"
BY_CONSTRUCTION = "true by construction"
CONSTRUCTION_FAILS = "construction fails"
SEPARATION = "SGD on W needs fewer samples"
NO_SEPARATION = "no separation at this scale"
BASELINE_BETTER = "the baseline needs fewer samples"
VERDICTS = (SUPPORTED, PARTLY, BORDERLINE, CONTRADICTED, FAILS_AT_SCALE, UNDECIDED, NOT_TESTABLE, NOT_OBSERVABLE,
            BY_CONSTRUCTION, CONSTRUCTION_FAILS, SEPARATION, NO_SEPARATION, BASELINE_BETTER)
#: The badge colour class of each verdict (rnnlib.ledger_view).
TONES = {SUPPORTED: "good", SEPARATION: "good", PARTLY: "mixed", BORDERLINE: "mixed", UNDECIDED: "neutral",
         NOT_TESTABLE: "neutral", NOT_OBSERVABLE: "neutral", NO_SEPARATION: "neutral", CONTRADICTED: "bad",
         FAILS_AT_SCALE: "bad", BASELINE_BETTER: "bad", CONSTRUCTION_FAILS: "bad", BY_CONSTRUCTION: "construction"}

# Every threshold a verdict uses, with its reason (THRESHOLD_REASONS, shown in chapter 8 before the
# table).  None is a measured value: each is set by what the claim means, with a margin from the
# values a claim that holds or fails would give.
THRESHOLDS = {
    # width: at fixed N, widest / narrowest test error at most 1.10 (no more than the seed-to-seed
    # spread of one run), and up to 1.5 "partly": a log m sample bound allows only a slow rise
    "width_degradation_max": 1.10,
    "width_degradation_partly": 1.50,
    # pseudo-network relative error: 0.10 is "close" (the proof's coupling makes it o(1));
    # up to 0.5 the linearization still explains most of the change
    "pseudo_error_supported": 0.10,
    "pseudo_error_partly": 0.50,
    # lazy regime as the proof uses it: fraction of ReLU patterns flipped by training
    # (the coupling argument needs it to vanish with m): <= 2% small, <= 10% partly
    "lazy_flips_supported": 0.02,
    "lazy_flips_partly": 0.10,
    # forward stability: log10 of max_l ||h_l|| / ||h_1|| at most 1 (one decade: O(1) norms) ...
    "hidden_growth_log10_max": 1.0,
    # ... while ||W||_2^L exceeds 10^3, so the Lipschitz product would predict a blow-up
    "norm_product_log10_min": 3.0,
    # forward stability over long sequences: a with-high-probability statement allows at most 5%
    # of initializations with a final hidden norm above "drift_norm" (chapter 3's mark, 10x the start)
    "drift_fraction_max": 0.05,
    "drift_norm": 10.0,
    # backward coherence: mean |cos| below 3/sqrt(m) (the 1/sqrt(m) of independent directions, with
    # room for a constant); up to 10/sqrt(m) partly
    "coherence_supported": 3.0,
    "coherence_partly": 10.0,
    # interference: other positions move by at most 0.3 per unit of the intended change at the widest m
    "interference_ratio_max": 0.3,
    # input normalization: flips at eps_x = 1 over those at the chapters' eps_x at least 1.2 (a rise of
    # a fifth; the Gaussian prediction of chapter 3 grows with eps_x)
    "flip_ratio_min": 1.2,
    # construction rows: identities hold to float64 round-off
    "exact_tol": 1e-9,
    # the theorem's lambda and eta at least 100x below the practical ones
    "theory_gap_log10_min": 2.0,
}

THRESHOLD_REASONS = {
    "width_degradation_max": "a sample bound logarithmic in m allows no more than seed-to-seed spread (10%) "
                             "between the narrowest and the widest width at fixed N",
    "width_degradation_partly": "up to 1.5x a slow rise is still compatible with a log m bound at these widths",
    "pseudo_error_supported": "the proof couples the trained RNN to its pseudo-network with an error o(1) in m; "
                              "10% counts as close",
    "pseudo_error_partly": "below 50% the linearization still explains most of the change of the output",
    "lazy_flips_supported": "the coupling argument needs the fraction of flipped ReLU patterns to vanish with m; "
                            "2% counts as small",
    "lazy_flips_partly": "up to 10% of flipped patterns the proof's picture is only approximate",
    "hidden_growth_log10_max": "forward stability means O(1) hidden norms: less than one decade of growth",
    "norm_product_log10_min": "the row is informative only where ||W||_2^L predicts a blow-up (10^3)",
    "drift_fraction_max": "the forward lemma holds with high probability: at most 5% of initializations may drift",
    "drift_norm": "chapter 3's mark of a drifting initialization: hidden norm above 10 at the last step",
    "coherence_supported": "independent directions have |cos| of order 1/sqrt(m); a constant 3 leaves room",
    "coherence_partly": "up to 10/sqrt(m) the maps are still far from aligned",
    "interference_ratio_max": "other positions moving by less than 0.3 per unit of the intended change is weak "
                              "interference",
    "flip_ratio_min": "a rise of a fifth in flipped patterns from eps_x = 0.3 to 1 shows the input scale matters",
    "exact_tol": "identities of the library's generator hold to float64 round-off",
    "theory_gap_log10_min": "two decades between the theorem's scales and the practical ones is 'tiny'",
}


#: Chapter 5's thresholds (:data:`rnnlib.headline_stats.THRESHOLDS`) that the length and comparison rows
#: inherit, with their reasons.
HEADLINE_REASONS = {
    "fit_ratio": "a growth law (power or exponential) is preferred only when the other law's rms residual in "
                 "log10 N* is at least this many times larger",
    "min_lengths": "a growth law needs N* inside the sample grid at this many lengths (two points fit any law)",
    "sample_ratio": "a method needs fewer samples only when its N* is smaller by this factor and the bootstrap "
                    "intervals do not overlap; otherwise 'about the same'",
}


def against(low: float, high: float, threshold: float) -> str:
    """``"below"``, ``"above"`` or ``"within"``: where the interval ``[low, high]`` lies relative to
    ``threshold`` (``"within"`` when it contains the threshold: the verdict is borderline)."""
    for name, v in (("low", low), ("high", high), ("threshold", threshold)):
        if not isinstance(v, (int, float)) or math.isnan(v):
            raise ValueError(f"{name} must be a number, got {v!r}")
    if low > high:
        raise ValueError(f"low must not exceed high, got [{low}, {high}]")
    return "below" if high < threshold else "above" if low > threshold else "within"


#: The verdict of a row whose claim is "at most the threshold" that fails where it is exceeded, by
#: where :func:`against` puts the measurement's interval (the forward-stability rows).
_AT_MOST = {"below": SUPPORTED, "within": BORDERLINE, "above": FAILS_AT_SCALE}

_RANK = {SUPPORTED: 0, BORDERLINE: 1, PARTLY: 2, NOT_OBSERVABLE: 3, FAILS_AT_SCALE: 4}


def worst(*verdicts: str) -> str:
    """The least favourable of verdicts on the scale supported < borderline < partly < not observable < fails."""
    return max(verdicts, key=_RANK.__getitem__)


def _iv(v, lo, hi, spec=".3g") -> str:
    return f"{v:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def tiered(value, low, high, supported_max, partly_max, what, *, otherwise=NOT_OBSERVABLE):
    """The verdict of a number that should be small: its interval below ``supported_max``, supported;
    below ``partly_max``, partly; above it, ``otherwise``; containing either, borderline.  With its reason."""
    s = f"{what} {_iv(value, low, high)}"
    first = against(low, high, supported_max)
    if first == "below":
        return SUPPORTED, f"{s} lies below {supported_max:g}"
    if first == "within":
        return BORDERLINE, f"{s} contains the threshold {supported_max:g}"
    second = against(low, high, partly_max)
    if second == "below":
        return PARTLY, f"{s} lies between {supported_max:g} and {partly_max:g}"
    if second == "within":
        return BORDERLINE, f"{s} contains the threshold {partly_max:g}"
    return otherwise, f"{s} lies above {partly_max:g}"


T = THRESHOLDS


def _length(m):
    k, need, L = m["n_inside"], m["min_lengths"], ", ".join(map(str, m["lengths"]))
    if k < need:
        return NOT_TESTABLE, (f"N* lies inside the sample grid at {k} of the lengths L = {L}; a growth law needs "
                              f"{need} (chapter 5's rule)")
    fits = f"rms in log10 N*: power law {m['power_rms']:.3f}, exponential {m['exp_rms']:.3f}"
    if m["growth"] == "power law":
        return SUPPORTED, f"chapter 5's verdict is a power law ({fits})"
    if m["growth"] == "exponential":
        return CONTRADICTED, f"chapter 5's verdict is an exponential in L ({fits})"
    return UNDECIDED, f"neither law fits clearly better ({fits})"


def _width(m):
    e, lo, hi = m["error"], m["error_low"], m["error_high"]
    r, r_lo, r_hi = e[-1] / e[0], lo[-1] / hi[0], hi[-1] / lo[0]
    return tiered(r, min(r, r_lo), max(r, r_hi), T["width_degradation_max"], T["width_degradation_partly"],
                  f"widest / narrowest test error at N = {m['n_train']}", otherwise=FAILS_AT_SCALE)


def _pseudo(m):
    return tiered(m["relative_error"], m["relative_error_low"], m["relative_error_high"],
                  T["pseudo_error_supported"], T["pseudo_error_partly"], "relative error of the pseudo-network")


def _lazy(m):
    flips = tiered(m["pattern_flips"], m["pattern_flips_low"], m["pattern_flips_high"], T["lazy_flips_supported"],
                   T["lazy_flips_partly"], "fraction of flipped patterns")
    pseudo = _pseudo(m)
    verdict = worst(flips[0], pseudo[0])
    return verdict, (f"{flips[1]}; {pseudo[1]} (W moves by {100 * m['relative_move']:.1f}% of ||W_0||_F, which the "
                     "proof does not use)")


def _forward(m):
    if m["log10_norm_product"] < T["norm_product_log10_min"]:
        return NOT_OBSERVABLE, f"||W||_2^L is only 10^{m['log10_norm_product']:.1f} at L = {m['length']}"
    where = against(m["growth_low"], m["growth_high"], T["hidden_growth_log10_max"])
    s = (f"log10 growth of ||h_l|| {_iv(m['log10_growth'], m['growth_low'], m['growth_high'], '.2f')} over "
         f"L = {m['length']} while log10 ||W||_2^L = {m['log10_norm_product']:.1f}")
    return _AT_MOST[where], s


def _forward_long(m):
    i = int(max(range(len(m["widths"])), key=lambda k: m["widths"][k]))
    where = against(m["drift_low"][i], m["drift_high"][i], T["drift_fraction_max"])
    s = (f"at m = {m['widths'][i]:.0f}, L = {m['length']}: "
         f"{_iv(m['drift'][i], m['drift_low'][i], m['drift_high'][i], '.0%')}"
         f" of {m['n_seeds']} initializations end with ||h_L|| > {T['drift_norm']:g}")
    verdict = _AT_MOST[where]
    if verdict == FAILS_AT_SCALE:
        s += "; the theorem asks m >= poly(L), which this width is not for this length"
    return verdict, s


def _coherence(m):
    return tiered(m["ratio"], m["ratio_low"], m["ratio_high"], T["coherence_supported"], T["coherence_partly"],
                  "mean |cos| x sqrt(m)")


def _interference(m):
    r, lo, hi = m["ratio"], m["ratio_low"], m["ratio_high"]
    where = against(lo[-1], hi[-1], T["interference_ratio_max"])
    s = (f"other positions move {_iv(r[-1], lo[-1], hi[-1], '.2f')} per unit at m = {m['widths'][-1]:.0f} "
         f"({r[0]:.2f} at m = {m['widths'][0]:.0f})")
    if where == "within":
        return BORDERLINE, s + f"; the interval contains {T['interference_ratio_max']:g}"
    if where == "above":
        return NOT_OBSERVABLE, s + f", above {T['interference_ratio_max']:g}"
    if hi[-1] < lo[0]:
        return SUPPORTED, s + f": below {T['interference_ratio_max']:g} and smaller at the wider network"
    return PARTLY, s + ": small, but not clearly smaller as m grows"


def _normalization(m):
    if m["norm_deviation"] > T["exact_tol"]:
        return CONSTRUCTION_FAILS, f"tokens deviate from the normalization by {m['norm_deviation']:.1e}"
    where = against(m["ratio_low"], m["ratio_high"], T["flip_ratio_min"])
    s = (f"pattern flips grow {_iv(m['ratio'], m['ratio_low'], m['ratio_high'], '.2f')}x from eps_x = "
         f"{m['eps_small']:g} to {m['eps_large']:g} (threshold {T['flip_ratio_min']:g})")
    return {"above": SUPPORTED, "within": BORDERLINE, "below": PARTLY}[where], s


def _two_layer(m):
    if m["max_diff"] <= T["exact_tol"] and m["future_change"] <= T["exact_tol"]:
        return BY_CONSTRUCTION, ("the generator's concept equals its definition, a sum over earlier tokens of "
                                 f"two-layer networks with p = {m['hidden']} units, to round-off")
    return CONSTRUCTION_FAILS, "the concept differs from its definition"


def _additive(m):
    if m["mixed"] <= T["exact_tol"] < m["single"]:
        return BY_CONSTRUCTION, (f"the mixed difference of two positions is {m['mixed']:.0e} while one token moves F* "
                                 f"by {m['single']:.2f}: the generator builds additive targets")
    return CONSTRUCTION_FAILS, "the target shows an interaction between positions"


def _theory(m):
    gl, ge = m["log10_lambda_gap"], m["log10_eta_gap"]
    if min(gl, ge) >= T["theory_gap_log10_min"]:
        return BY_CONSTRUCTION, (f"the theorem's formulas give lambda 10^{gl:.1f} and eta 10^{ge:.1f} times below the "
                                 f"practical ones (eps = {m['eps']:g})")
    return PARTLY, f"the gaps are only 10^{gl:.1f} (lambda) and 10^{ge:.1f} (eta)"


def _comparison(m):
    per = [f"L = {L}: {v}" for L, v in zip(m["lengths"], m["verdicts"])]
    known = [v for v in m["verdicts"] if v != "undetermined"]
    s = f"{m['label']} against SGD on W at target {m['target']:g}: " + "; ".join(per)
    if not known:
        return UNDECIDED, s + " (neither reaches the target inside the grid)"
    if all(v in ("more samples", "not reached in the grid") for v in known):
        return SEPARATION, s
    if all(v == "about the same" for v in known):
        return NO_SEPARATION, s + " (N* within a factor 1.5 or overlapping intervals)"
    if all(v == "fewer samples" for v in known):
        return BASELINE_BETTER, s
    return UNDECIDED, s + " (mixed)"


#: key -> rule(measured) -> (verdict, reason)
RULES = {"length": _length, "width": _width, "pseudo": _pseudo, "lazy": _lazy, "forward": _forward,
         "forward_long": _forward_long, "coherence": _coherence, "interference": _interference,
         "normalization": _normalization, "two_layer": _two_layer, "additive": _additive,
         "theory_scales": _theory, "comparison": _comparison}
