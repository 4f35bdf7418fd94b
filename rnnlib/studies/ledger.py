"""Chapter 8 (the claims ledger): every claim and limitation, its measurement and its verdict.

Paper: the claims of Allen-Zhu & Li (2019), Theorem 1 and the proof ideas of its Section 5 (as
recalled and cross-checked against Panigrahi & Goyal 2021), and the limitations of the result. The
ledger reads results, it does not re-measure: the length and width rows read the length and width
designs' cached runs (the book's sin(3z) task), the random-features row chapter 7's, the interference
row chapter 6's (kind ``interference``, :func:`rnnlib.studies.why.interference_runs`); the probes at
initialization and the pseudo-network run of chapter 4's network are cached as the kind
``ledger_probe`` (:class:`rnnlib.ledger_probes.LedgerProbeConfig`). The verdicts are the rules of
:mod:`rnnlib.ledger`.

* :func:`ledger_study` -> :class:`LedgerStudy` (``check()``, ``numbers()``, ``figure_data()``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .. import ledger
from ..baselines import measure_baselines
from ..engine import run_many
from ..generalization import mean_prior_bounds, trained_weight_norms
from ..ledger_probes import PROBES, LedgerProbe, LedgerProbeConfig
from ..sweep import sweep
from .checks import require
from .why import interference_runs

__all__ = ["PROBES", "LedgerProbe", "LedgerProbeConfig", "LedgerStudy", "ledger_study"]  # the kind re-exported


@dataclass(frozen=True, eq=False)
class LedgerStudy:
    """The measured rows (``measured``, as :func:`rnnlib.ledger.evaluate` reads them), the evaluated
    ``rows``, the prior bounds on the length design's trained networks per length (``bounds``), and the sizes."""

    measured: dict
    rows: list
    bounds: dict
    lengths: tuple
    target: float
    sizes: dict            # m_init, m_train, m_sweep, rf_length, int_m_first, int_m_last

    @property
    def verdicts(self) -> dict:
        return {r.claim.key: r.verdict for r in self.rows}

    @property
    def growth(self) -> dict:
        """Decades of growth from the first to the last length: measured ``N*`` and two prior bounds."""
        n = self.measured["length"]["n_star"]
        return {"nstar": float(np.log10(np.nanmax(n) / np.nanmin(n))),
                "zhang": float(self.bounds["zhang"][-1] - self.bounds["zhang"][0]),
                "tu": float(self.bounds["tu_factor"][-1] - self.bounds["tu_factor"][0])}

    def check(self) -> None:
        """The facts the chapter's prose states, in both profiles."""
        v, m = self.verdicts, self.measured
        require(set(v.values()) <= set(ledger.VERDICTS), f"unknown verdicts {set(v.values())}")
        for key in ("two_layer", "additive", "theory_scales"):
            require(v[key] == ledger.SUPPORTED, f"the {key} row should be supported, got {v[key]!r}")
        f = m["forward"]
        require(f["log10_norm_product"] > 3 > f["log10_growth"], f"hidden norms should stay flat while ||W||^L "
                f"explodes: growth 10^{f['log10_growth']:.2f}, product 10^{f['log10_norm_product']:.1f}")
        coh = m["coherence"]["coherence"]
        require(coh < 10 / math.sqrt(self.sizes["m_init"]), f"coherence {coh:.3f} should be O(1/sqrt m)")
        require(m["lazy"]["relative_move"] < 0.5, f"W should move little: {m['lazy']['relative_move']:.3f}")
        require(np.isfinite(m["length"]["n_star"]).sum() >= 2, f"N* needs two lengths: {m['length']['n_star']}")
        g = self.growth
        require(g["nstar"] < g["zhang"], f"the bound should grow by more decades than N*: {g}")

    def numbers(self) -> dict:
        m, g = self.measured, self.growth
        out = {"n_star_exponent": m["length"]["exponent"], "n_star_se": m["length"]["exponent_se"],
               "rms_power": m["length"]["rms_power"], "rms_exp": m["length"]["rms_exp"],
               "width_ratio": m["width"]["ratio"], "pseudo_error": m["pseudo"]["relative_error"],
               "log10_growth": m["forward"]["log10_growth"], "log10_norm_product": m["forward"]["log10_norm_product"],
               "coherence_ratio": m["coherence"]["ratio"], "relative_move": 100 * m["lazy"]["relative_move"],
               "log10_eta_gap": m["theory_scales"]["log10_eta_gap"],
               "log10_lambda_gap": m["theory_scales"]["log10_lambda_gap"],
               "int_ratio_first": m["interference"]["ratio"][0], "int_ratio_last": m["interference"]["ratio"][-1],
               "rf_rel": 100 * m["random_features"]["rel"], "lengths_sweep": ", ".join(str(L) for L in self.lengths),
               "n_star_target": self.target, "growth_nstar": g["nstar"], "growth_zhang": g["zhang"],
               "growth_tu": g["tu"], "L_first": self.lengths[0], "L_last": self.lengths[-1],
               "l_forward": m["forward"]["length"], "n_lengths": len(self.lengths)}
        out.update(self.sizes)
        return out

    def figure_data(self) -> dict:
        """What the result in one figure shows (:func:`rnnlib.plots.generalization.plot_ledger_result`)."""
        m = self.measured["length"]
        return dict(lengths=self.lengths, n_star=m["n_star"], fit=m["fit"], bounds=self.bounds,
                    target=self.target, width=self.sizes["m_sweep"])


def ledger_study(*, length, width, baselines, sgd, interference, m_init: int, l_forward: int,
                 executor=None, cache_dir=None) -> LedgerStudy:
    """Read every row's results and evaluate the ledger.

    Args:
        length, width, baselines, sgd, interference: the chapters' designs (``rnnlib.tasks``:
            ``length_design()``, ``width_design()``, ``baselines_design()``, ``sgd_design()``,
            ``interference_design()``); their runs are read from the cache.
        m_init, l_forward: width of the networks probed at initialization, and the forward length.
        executor: for runs the chapters have not cached (:func:`rnnlib.sweep`).
    """
    runs = {name: sweep(d.configs(), executor=executor, measure=hook, progress=False)
            for name, d, hook in (("length", length, trained_weight_norms), ("width", width, trained_weight_norms),
                                  ("rf", baselines, measure_baselines))}
    train_cfg = sgd.base.replace(width=sgd.theory_width)
    probes = {"pseudo": LedgerProbeConfig("pseudo_network", (("n_probe", sgd.n_probe),), train_cfg),
              "forward": LedgerProbeConfig("measure_forward_stability", (("width", m_init), ("length", l_forward))),
              "coherence": LedgerProbeConfig("measure_coherence", (("width", m_init), ("length", 10))),
              "two_layer": LedgerProbeConfig("measure_two_layer_class"),
              "additive": LedgerProbeConfig("measure_additivity"),
              "normalization": LedgerProbeConfig("measure_normalization", (("width", m_init),)),
              "theory_scales": LedgerProbeConfig("measure_theory_scales",
                                                 (("length", train_cfg.length), ("width", train_cfg.width)))}
    probed = dict(zip(probes, run_many(list(probes.values()), cache_dir=cache_dir, progress=False, desc="ledger")))
    measured = {k: dict(r.values) for k, r in probed.items()}
    measured["length"] = ledger.measure_length_dependence(runs["length"], length.target)
    measured["width"] = ledger.measure_width_dependence(runs["width"])
    measured["interference"] = ledger.measure_interference(
        [r.result for r in interference_runs(interference, cache_dir=cache_dir)])
    measured["lazy"] = ledger.measure_lazy(measured["pseudo"])
    measured["random_features"] = ledger.measure_random_features(runs["rf"])
    iw = list(interference.widths)
    sizes = {"m_init": m_init, "m_train": train_cfg.width, "m_sweep": length.base.width,
             "rf_length": baselines.base.length, "int_m_first": iw[0], "int_m_last": iw[-1]}
    bounds = mean_prior_bounds(measured["length"]["runs"], length.lengths)
    return LedgerStudy(measured, ledger.evaluate(measured), bounds,
                       tuple(length.lengths), float(length.target), sizes)
