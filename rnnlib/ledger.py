"""The claims ledger: every claim and limitation of the paper as data, with its verdict rule
(chapter 8; Allen-Zhu & Li (2019), sections 3 and 5 and Theorem 1, recalled).

A row of the ledger is a :class:`Claim`: the claim, what is measured, a link to the chapter, and a
verdict rule ``verdict(measured) -> (verdict, reason)`` that compares the measured numbers, *with
their interval* (bootstrap or across seeds), with :data:`THRESHOLDS`.  The thresholds, and the reason
for each (:data:`THRESHOLD_REASONS`), are stated here before any number is seen; a value whose
interval contains its threshold reads :data:`BORDERLINE`.  :func:`evaluate` applies every rule;
:mod:`rnnlib.ledger_view` renders the table.

Rows are of four kinds: ``"claim"`` and ``"limitation"`` (measured), ``"comparison"`` (a baseline
against SGD on ``W`` on chapter 5's headline, :func:`rnnlib.headline_stats.comparison_verdict`) and
``"construction"`` (identities of the library's own generator and formulas: they hold by
construction, are checked to round-off and are *not* counted as evidence, :func:`tally`).

The measurement functions are importable from here under their former names; :data:`LEDGER_BASE`
is the book task.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from .ledger_measures import (measure_additivity, measure_coherence, measure_forward_stability,  # noqa: F401
                              measure_interference, measure_lazy, measure_normalization, measure_pseudo_network,
                              measure_theory_scales, measure_two_layer_class, measure_width_dependence)
from .ledger_rules import (BASELINE_BETTER, BORDERLINE, BY_CONSTRUCTION, CONSTRUCTION_FAILS,  # noqa: F401
                           CONTRADICTED, FAILS_AT_SCALE, NO_SEPARATION, NOT_OBSERVABLE, NOT_TESTABLE, PARTLY,
                           SEPARATION, SUPPORTED, THRESHOLD_REASONS, THRESHOLDS, TONES, UNDECIDED, VERDICTS,
                           against, tiered)
from .tasks import BOOK_TASK

__all__ = ["SUPPORTED", "PARTLY", "NOT_OBSERVABLE", "BORDERLINE", "CONTRADICTED", "UNDECIDED", "NOT_TESTABLE",
           "FAILS_AT_SCALE", "BY_CONSTRUCTION", "CONSTRUCTION_FAILS", "SEPARATION", "NO_SEPARATION",
           "BASELINE_BETTER", "VERDICTS", "TONES", "THRESHOLDS", "THRESHOLD_REASONS", "KINDS", "Claim", "Row",
           "CLAIMS", "evaluate", "tally", "against", "tiered", "LEDGER_BASE", "measure_width_dependence",
           "measure_pseudo_network", "measure_forward_stability", "measure_coherence", "measure_interference",
           "measure_two_layer_class", "measure_additivity", "measure_normalization", "measure_theory_scales",
           "measure_lazy"]

LEDGER_BASE = BOOK_TASK
KINDS = ("claim", "limitation", "comparison", "construction")


@dataclass(frozen=True)
class Claim:
    """One row of the ledger before it is measured.

    Attributes:
        key: short identifier (also the glue prefix in chapter 8).
        claim: the claim, limitation, comparison or identity, in words.
        kind: one of :data:`KINDS`.
        experiment: what is measured.
        chapter: Markdown link to the chapter that runs the full experiment.
        rule: the key of :data:`rnnlib.ledger_rules.RULES` that gives ``(verdict, reason)``.
        figure: ``figure(measured) -> str``: the one headline figure, with its interval.
        details: ``details(measured) -> str``: the full numbers.
        thresholds: the keys of :data:`THRESHOLDS` the rule reads.
    """

    key: str
    claim: str
    kind: str
    experiment: str
    chapter: str
    rule: str
    figure: Callable[[dict], str]
    details: Callable[[dict], str] = lambda m: ""
    thresholds: tuple = ()

    def verdict(self, measured: dict) -> tuple:
        from .ledger_rules import RULES
        return RULES[self.rule](measured)


@dataclass
class Row:
    """A measured row: the claim, its numbers, the headline figure, the details, the verdict and its reason."""

    claim: Claim
    measured: dict = field(default_factory=dict)
    figure: str = ""
    verdict: str = ""
    reason: str = ""
    details: str = ""


def _iv(m, key, spec=".3g", i=None) -> str:
    """``value [low, high]`` of ``m[key]`` and ``m[key_low]``, ``m[key_high]`` (entry ``i`` of lists)."""
    v, lo, hi = (m[key], m[f"{key}_low"], m[f"{key}_high"]) if i is None else \
        (m[key][i], m[f"{key}_low"][i], m[f"{key}_high"][i])
    return f"{v:{spec}} [{lo:{spec}}, {hi:{spec}}]"


def _listed(values, spec: str) -> str:
    return ", ".join(format(v, spec) for v in values)


def _f_length(m):
    if m["n_inside"] >= 2 and m["exponent"] == m["exponent"]:
        return f"b = {m['exponent']:.2f} [{m['exponent_low']:.2f}, {m['exponent_high']:.2f}]"
    return f"N* inside the grid at {m['n_inside']} of {len(m['lengths'])} lengths"


def _d_length(m):
    cells = [f"L = {L}: " + (f"{n:,.0f} [{lo:,.0f}, {hi:,.0f}]" if st == "inside" else st)
             for L, n, lo, hi, st in zip(m["lengths"], m["n_star"], m["low"], m["high"], m["status"])]
    return f"N* of SGD on W at target {m['target']:g}: " + "; ".join(cells)


def _n_star(m, who, i) -> str:
    status = m["sgd_status" if who == "sgd" else "status"][i]
    if status != "inside":
        return status.replace("above grid", "not reached").replace("below grid", "below the grid")
    return f"{m[who][i]:,.0f} [{m[who + '_low'][i]:,.0f}, {m[who + '_high'][i]:,.0f}]"


def _f_comparison(m):
    """N* of both methods at the first length where the comparison is determined (else the first)."""
    i = next((k for k, v in enumerate(m["verdicts"]) if v != "undetermined"), 0)
    return f"L = {m['lengths'][i]}: SGD on W {_n_star(m, 'sgd', i)}; baseline {_n_star(m, 'other', i)}"


def _comparison(key, label):
    return Claim(key, f"{label[0].upper()}{label[1:]} against SGD on W", "comparison",
                 f"N* of {label} and of SGD on W on chapter 5's headline target, per L",
                 "[chapter 5](05_generalization.html)", "comparison",
                 _f_comparison,
                 lambda m: f"N* at target {m['target']:g} [90% bootstrap]: " + "; ".join(
                     f"L = {L}: SGD on W {_n_star(m, 'sgd', i)}, {label} {_n_star(m, 'other', i)}"
                     for i, L in enumerate(m["lengths"])))


CLAIMS: tuple[Claim, ...] = (
    Claim("length", "Samples needed grow polynomially (almost polynomially for smooth phi) in L", "claim",
          "N* of SGD on W versus L on chapter 5's headline target, power law against exponential",
          "[chapter 5](05_generalization.html)", "length", _f_length, _d_length),
    Claim("width", "Samples needed grow only logarithmically in the width m", "claim",
          "test error versus m at fixed N, across seeds", "[chapter 5](05_generalization.html)", "width",
          lambda m: (f"error ratio widest / narrowest {m['error'][-1] / m['error'][0]:.2f} "
                     f"[{m['error_low'][-1] / m['error_high'][0]:.2f}, {m['error_high'][-1] / m['error_low'][0]:.2f}]"),
          lambda m: (f"test error {', '.join(_iv(m, 'error', '.3f', i) for i in range(len(m['widths'])))} at m = "
                     f"{_listed(m['widths'], '.0f')} (L = {m['length']}, N = {m['n_train']})"),
          ("width_degradation_max", "width_degradation_partly")),
    Claim("pseudo", "The trained RNN stays close to its pseudo-network", "claim",
          "relative error of the pseudo-network at W_0 against the trained RNN, across seeds",
          "[chapter 4](04_sgd_on_w.html)", "pseudo", lambda m: f"relative error {_iv(m, 'relative_error', '.2f')}",
          lambda m: f"m = {m['width']}, L = {m['length']}, {m['n_seeds']} seeds",
          ("pseudo_error_supported", "pseudo_error_partly")),
    Claim("lazy", "Training stays in the lazy regime the proof uses", "claim",
          "flipped ReLU patterns and pseudo-network error after training (chapter 4's network)",
          "[chapter 4](04_sgd_on_w.html)", "lazy", lambda m: f"flipped patterns {_iv(m, 'pattern_flips', '.1%')}",
          lambda m: (f"pseudo-network error {_iv(m, 'relative_error', '.2f')}; ||W_T - W_0||_F / ||W_0||_F = "
                     f"{m['relative_move']:.3f}"),
          ("lazy_flips_supported", "lazy_flips_partly", "pseudo_error_supported", "pseudo_error_partly")),
    Claim("forward", "Hidden states stay stable while norm products explode (short sequences)", "claim",
          "max_l ||h_l|| / ||h_1|| at initialization versus ||W||_2^L", "[chapter 3](03_initialization.html)",
          "forward", lambda m: f"log10 growth {m['log10_growth']:.2f} [{m['growth_low']:.2f}, {m['growth_high']:.2f}]",
          lambda m: (f"L = {m['length']}, m = {m['width']}; median max ||h|| {m['median_max_norm']:.2f}; "
                     f"log10 ||W||_2^L = {m['log10_norm_product']:.1f}"),
          ("hidden_growth_log10_max", "norm_product_log10_min")),
    Claim("forward_long", "Hidden states stay stable over long sequences", "claim",
          "fraction of initializations whose hidden norm ends above 10, at L = 200",
          "[chapter 3](03_initialization.html)", "forward_long",
          lambda m: f"drifting {_iv(m, 'drift', '.0%', len(m['widths']) - 1)}",
          lambda m: "; ".join(f"m = {w:.0f}: {_iv(m, 'drift', '.0%', i)}" for i, w in enumerate(m["widths"]))
          + f" of {m['n_seeds']} initializations (90% Wilson intervals), L = {m['length']}",
          ("drift_fraction_max", "drift_norm")),
    Claim("coherence", "Backward maps are nearly orthogonal", "claim",
          "mean off-diagonal |cos| of Back_{i->j} times sqrt(m), across seeds", "[chapter 3](03_initialization.html)",
          "coherence", lambda m: f"|cos| sqrt(m) = {_iv(m, 'ratio', '.2f')}",
          lambda m: f"m = {m['width']}, |cos| = {m['coherence']:.4f}, 1/sqrt(m) = {m['inv_sqrt_m']:.4f}",
          ("coherence_supported", "coherence_partly")),
    Claim("interference", "Learning one position does not interfere with another", "claim",
          "change of other positions' outputs while one (i -> j) term is learned, across seeds",
          "[chapter 6](06_why_it_works.html)", "interference",
          lambda m: f"{_iv(m, 'ratio', '.2f', len(m['widths']) - 1)} per unit",
          lambda m: (f"per unit of the intended change: {_listed(m['ratio'], '.3f')} at m = "
                     f"{_listed(m['widths'], '.0f')} (L = {m['length']})"), ("interference_ratio_max",)),
    Claim("normalization", "Inputs must be normalized and scaled by a small eps_x", "limitation",
          "pattern flips between two sequences at two eps_x (bootstrap over sequences)",
          "[chapter 3](03_initialization.html)", "normalization",
          lambda m: f"flip ratio {_iv(m, 'ratio', '.2f')}",
          lambda m: (f"flips {m['flips_small']:.3f} at eps_x = {m['eps_small']:g}, {m['flips_large']:.3f} at "
                     f"{m['eps_large']:g}; token norm deviation {m['norm_deviation']:.0e}"),
          ("flip_ratio_min", "exact_tol")),
    _comparison("linear_ridge", "linear ridge on the tokens"),
    _comparison("ntk_ridge", "the W-only NTK"),
    _comparison("random_features", "random features"),
    Claim("two_layer", "The class includes two-layer smooth networks of earlier tokens", "construction",
          "the generator's concept against an independent evaluation of its definition",
          "[chapter 2](02_concept_class.html)", "two_layer", lambda m: f"max |diff| {m['max_diff']:.0e}",
          lambda m: f"later-token change {m['future_change']:.0e}", ("exact_tol",)),
    Claim("additive", "Additive class only", "construction", "mixed difference of F* in two positions",
          "[chapter 2](02_concept_class.html)", "additive", lambda m: f"mixed difference {m['mixed']:.0e}",
          lambda m: f"single-token change {m['single']:.2f}", ("exact_tol",)),
    Claim("theory_scales", "The theorem's lambda and eta are tiny", "construction",
          "rnnlib.theory's formulas against the practical lambda and eta", "[chapter 4](04_sgd_on_w.html)",
          "theory_scales", lambda m: f"eta 10^{m['log10_eta_gap']:.1f}x below",
          lambda m: (f"lambda {m['lambda_theory']:.1e} vs {m['lambda_practical']:g}; eta {m['eta_theory']:.1e} vs "
                     f"{m['eta_practical']:.1e}"), ("theory_gap_log10_min",)),
)


def evaluate(measured: dict) -> list[Row]:
    """Rows of :data:`CLAIMS` with their figures and verdicts, from ``measured[key]`` dicts.

    ``measured`` maps each claim key to the dict its rule reads (:mod:`rnnlib.studies.ledger` builds
    it); a missing key raises ``ValueError``.
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
        rows.append(Row(c, m, c.figure(m), verdict, reason, c.details(m)))
    return rows


def tally(rows) -> dict:
    """``{verdict: count}`` over the *measured* rows (kinds claim and limitation, and comparisons):
    rows true by construction are not evidence and are left out."""
    out: dict = {}
    for r in rows:
        if not isinstance(r, Row):
            raise TypeError(f"rows must hold Row objects, got {type(r).__name__}")
        if r.claim.kind != "construction":
            out[r.verdict] = out.get(r.verdict, 0) + 1
    return out
