"""Chapter 8 (the claims ledger): every claim and limitation, its measurement and its verdict.

Paper: the claims of Allen-Zhu & Li (2019), Theorem 1 and the proof ideas of its Section 5 (as
recalled and cross-checked against Panigrahi & Goyal 2021), and the limitations of the result. The
ledger reads results, it does not re-measure: the length row and the comparison rows read chapter 5's
headline (:func:`rnnlib.studies.generalization.headline_study`, whose points the engine has cached when
chapter 5 ran), the width row chapter 5's width study, the interference row chapter 6's
(:func:`rnnlib.studies.why.interference_runs`); the probes at initialization (forward stability at the
short and at chapter 3's long length, coherence, normalization), the identities of the generator and
chapter 4's network with its pseudo-network (several seeds) are cached as the kind ``ledger_probe``
(:class:`rnnlib.ledger_probes.LedgerProbeConfig`). The verdicts are the rules of :mod:`rnnlib.ledger_rules`.

* :func:`ledger_study` -> :class:`LedgerStudy` (``check()``, ``numbers()``, ``figure_data()``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .. import ledger, theory
from ..engine import is_cached, run_many
from ..headline_stats import THRESHOLDS as HEADLINE_THRESHOLDS
from ..ledger_reads import LEVEL, across_seeds, measure_comparison, measure_headline, measure_headline_width
from ..ledger_probes import PROBES, LedgerProbe, LedgerProbeConfig
from ..tasks import steps_for_length
from .checks import require
from .generalization import headline_cached, headline_study, widths_text
from .why import interference_configs, interference_runs

__all__ = ["PROBES", "LedgerProbe", "LedgerProbeConfig", "LedgerStudy", "ledger_study", "ledger_inputs_cached",
           "COMPARED", "THEORY_EPS"]

#: The accuracy at which the threats to validity evaluate the theorem's requirements (the calculator's default).
THEORY_EPS = 0.1
#: The baselines the comparison rows set against SGD on W (chapter 5's methods).
COMPARED = ("linear_ridge", "ntk_ridge", "random_features")


@dataclass(frozen=True, eq=False)
class LedgerStudy:
    """The measured rows (``measured``, as :func:`rnnlib.ledger.evaluate` reads them), the evaluated
    ``rows``, chapter 5's headline study (``headline``) and the sizes."""

    measured: dict
    rows: list
    headline: object
    sizes: dict            # m_init, l_forward, l_long, long_widths, long_seeds, m_train, pseudo_seeds, ...

    @property
    def verdicts(self) -> dict:
        return {r.claim.key: r.verdict for r in self.rows}

    def check(self) -> None:
        """The facts the chapter's prose states, in both profiles."""
        v, m = self.verdicts, self.measured
        require(set(v.values()) <= set(ledger.VERDICTS), f"unknown verdicts {set(v.values())}")
        for r in self.rows:   # identities of the generator hold, and only they read "by construction"
            require((r.claim.kind == "construction") == (r.verdict == ledger.BY_CONSTRUCTION),
                    f"row {r.claim.key}: kind {r.claim.kind} with verdict {r.verdict!r}")
        f = m["forward"]
        require(f["log10_norm_product"] > 3 > f["log10_growth"], f"hidden norms should stay flat while ||W||^L "
                f"explodes: growth 10^{f['log10_growth']:.2f}, product 10^{f['log10_norm_product']:.1f}")
        coh = m["coherence"]
        require(coh["ratio"] < 10, f"coherence x sqrt(m) = {coh['ratio']:.2f} should be O(1)")
        # the lazy row reads the same pseudo-network error as the pseudo row: it can be no better
        rank = [ledger.SUPPORTED, ledger.BORDERLINE, ledger.PARTLY, ledger.NOT_OBSERVABLE]
        require(rank.index(v["lazy"]) >= rank.index(v["pseudo"]), f"lazy {v['lazy']!r} vs pseudo {v['pseudo']!r}")
        require(m["lazy"]["relative_error"] == m["pseudo"]["relative_error"], "lazy and pseudo read different runs")
        lin = m["linear_ridge"]
        require(all(s != "fewer samples" for s in lin["verdicts"]),
                f"linear ridge cannot beat SGD on a target with no linear part: {lin['verdicts']}")
        # what the chapter's conclusion states: some initializations drift over long sequences, and
        # the runs are not in the lazy regime the proof uses
        require(max(m["forward_long"]["drift"]) > 0, f"no initialization drifts: {m['forward_long']}")
        require(v["lazy"] != ledger.SUPPORTED, f"the lazy row is supported: {m['lazy']}")
        n = self.numbers()
        require(n["n_measured"] == n["n_rows"] - n["n_construction"], f"construction rows counted as evidence: {n}")

    def numbers(self) -> dict:
        m, d = self.measured, self.headline.design
        lengths = list(d.lengths)
        tally = ledger.tally(self.rows)
        width = d.widths[lengths[-1]]
        out = {f"threshold_{k}": v for k, v in ledger.THRESHOLDS.items()}
        out.update({f"threshold_headline_{k}": v for k, v in HEADLINE_THRESHOLDS.items()})
        out.update({f"verdict_{r.claim.key}": r.verdict for r in self.rows})
        out.update({
            "n_rows": len(self.rows), "n_measured": sum(tally.values()),
            "n_construction": sum(r.claim.kind == "construction" for r in self.rows),
            "count_supported": tally.get(ledger.SUPPORTED, 0),
            "count_other": sum(c for k, c in tally.items() if k != ledger.SUPPORTED),
            "n_borderline": tally.get(ledger.BORDERLINE, 0),
            "h_lengths": ", ".join(map(str, lengths)), "h_L_last": lengths[-1], "h_width": width,
            "h_widths": widths_text({L: d.widths[L] for L in lengths}),
            "h_seeds": len(d.seeds), "h_N_max": d.n_grid[-1],
            "h_steps_last": steps_for_length(lengths[-1], d.steps_at_10), "h_lr_scale": d.base.lr_scale,
            "h_target": m["length"]["target"], "h_inside": m["length"]["n_inside"], "h_n_lengths": len(lengths),
            "h_min_lengths": m["length"]["min_lengths"], "h_growth": m["length"]["growth"],
            "h_reached": ", ".join(str(L) for L, st in zip(m["length"]["lengths"], m["length"]["status"])
                                   if st == "inside") or "none",
            "h_log10_rho": math.log10(theory.rho(lengths[-1], 1, width)),
            "h_eps": THEORY_EPS, "interval_level": 100 * LEVEL,
            "h_log10_T": theory.log10_theory_iterations(THEORY_EPS, lengths[-1], width, phi=d.base.phi),
            "pseudo_error": m["pseudo"]["relative_error"], "pseudo_flips": 100 * m["lazy"]["pattern_flips"],
            "relative_move": 100 * m["lazy"]["relative_move"],
            "log10_growth": m["forward"]["log10_growth"], "log10_norm_product": m["forward"]["log10_norm_product"],
            "long_m_first": m["forward_long"]["widths"][0], "long_m_last": m["forward_long"]["widths"][-1],
            "long_drift": 100 * m["forward_long"]["drift"][-1], "long_drift_first": 100 * m["forward_long"]["drift"][0],
            "coherence_ratio": m["coherence"]["ratio"], "flip_ratio": m["normalization"]["ratio"],
            "eps_small": m["normalization"]["eps_small"], "eps_large": m["normalization"]["eps_large"],
            "log10_eta_gap": m["theory_scales"]["log10_eta_gap"],
            "log10_lambda_gap": m["theory_scales"]["log10_lambda_gap"],
            "int_ratio_last": float(m["interference"]["ratio"][-1]), "width_ratio": float(m["width"]["ratio"]),
            "width_length": int(m["width"]["length"]), "width_n": int(m["width"]["n_train"]),
        })
        out.update({k: ", ".join(map(str, v)) if isinstance(v, tuple) else v for k, v in self.sizes.items()})
        return out

    def figure_data(self) -> dict:
        """What the result in one figure shows (:func:`rnnlib.plots.generalization.plot_ledger_result`):
        ``N*`` of SGD on W per length with its interval, beside the samples the prior bounds require."""
        h = self.measured["length"]
        return dict(lengths=h["lengths"], n_star=h["n_star"], low=h["low"], high=h["high"], status=h["status"],
                    prior=self.headline.prior, target=h["target"], n_max=self.headline.design.n_grid[-1],
                    width=self.headline.design.widths[self.headline.design.lengths[0]])


def ledger_study(*, headline, sgd, interference, m_init: int, l_forward: int, l_long: int = 200,
                 long_widths=(256, 1024), long_seeds: int = 12, long_n: int = 16, pseudo_seeds: int = 3,
                 coherence_seeds: int = 3, n_boot: int = 1000, executor=None, cache_dir=None) -> LedgerStudy:
    """Read every row's results and evaluate the ledger.

    Args:
        headline: chapter 5's design (``rnnlib.tasks.headline_design()``); read through
            :func:`rnnlib.studies.generalization.headline_study`, the call chapter 5 makes.
        sgd, interference: the designs of chapter 4 and of chapter 6 (``rnnlib.tasks``); their runs are
            read from the cache.  The width row reads chapter 5's width study (``study.width_results``).
        m_init, l_forward: width of the networks probed at initialization, and the short forward length.
        l_long, long_widths, long_seeds, long_n: chapter 3's long forward measurement (length, widths,
            number of initializations, sequences).
        pseudo_seeds, coherence_seeds: seeds of chapter 4's network and of the coherence probe.
        n_boot: bootstrap replicates of chapter 5's ``N*`` (chapter 5's default).
        executor: for runs the chapters have not cached.
    """
    study = headline_study(headline, executor=executor, cache_dir=cache_dir, n_boot=n_boot)
    train_cfg = sgd.base.replace(width=sgd.theory_width)
    pseudo = [LedgerProbeConfig("pseudo_network", (("n_probe", sgd.n_probe),), train_cfg.replace(seed=s))
              for s in range(pseudo_seeds)]
    long = [LedgerProbeConfig("measure_forward_stability", (("width", w), ("length", l_long), ("seeds", long_seeds),
                                                             ("n", long_n))) for w in long_widths]
    probes = {"forward": LedgerProbeConfig("measure_forward_stability", (("width", m_init), ("length", l_forward))),
              "coherence": LedgerProbeConfig("measure_coherence", (("width", m_init), ("length", 10),
                                                                   ("seeds", coherence_seeds))),
              "two_layer": LedgerProbeConfig("measure_two_layer_class"),
              "additive": LedgerProbeConfig("measure_additivity"),
              "normalization": LedgerProbeConfig("measure_normalization", (("width", m_init),)),
              "theory_scales": LedgerProbeConfig("measure_theory_scales",
                                                 (("length", train_cfg.length), ("width", train_cfg.width)))}
    done = run_many(list(probes.values()) + pseudo + long, cache_dir=cache_dir, executor=executor, progress=False,
                    desc="ledger")
    measured = {k: dict(r.values) for k, r in zip(probes, done)}
    measured["pseudo"] = across_seeds([r.values for r in done[len(probes):len(probes) + len(pseudo)]])
    lv = [r.values for r in done[len(probes) + len(pseudo):]]
    measured["forward_long"] = {"widths": [v["width"] for v in lv], "length": l_long, "n_seeds": lv[0]["n_seeds"],
                                **{k: [v[k] for v in lv] for k in ("drift", "drift_low", "drift_high")}}
    measured["lazy"] = ledger.measure_lazy(measured["pseudo"])
    measured["length"] = measure_headline(study.summary)
    for method in COMPARED:
        measured[method] = measure_comparison(study.summary, method)
    measured["width"] = measure_headline_width(list(study.results) + list(study.width_results))
    measured["interference"] = ledger.measure_interference(
        [r.result for r in interference_runs(interference, cache_dir=cache_dir)])
    iw = list(interference.widths)
    sizes = {"m_init": m_init, "l_forward": l_forward, "l_long": l_long, "long_widths": tuple(long_widths),
             "long_seeds": long_seeds, "m_train": train_cfg.width, "l_train": train_cfg.length,
             "pseudo_seeds": pseudo_seeds, "m_width_first": int(measured["width"]["widths"][0]),
             "m_width_last": int(measured["width"]["widths"][-1]), "int_m_first": iw[0], "int_m_last": iw[-1]}
    return LedgerStudy(measured, ledger.evaluate(measured), study, sizes)


def ledger_inputs_cached(headline=None, interference=None, *, cache_dir=None) -> bool:
    """Whether every run :func:`ledger_study` reads from other chapters is in the engine's cache: chapter 5's
    headline (:func:`rnnlib.studies.generalization.headline_cached`) and chapter 6's interference runs.

    The designs default to :mod:`rnnlib.tasks`' (the ones chapter 8 passes). The ledger's own probes (kind
    ``ledger_probe``) do not count: only chapter 8 computes them. Chapter 8's notebook metadata names this
    function: when it holds, the book's executor (_ext/execute_book.py) need not wait for every other page
    before starting chapter 8, since its ledger would train nothing they train. A wrong answer would only
    cost time (a run trained twice gives the same numbers).
    """
    if interference is None:
        from ..tasks import interference_design
        interference = interference_design()
    return headline_cached(headline, cache_dir=cache_dir) and all(
        is_cached(interference_configs(interference), cache_dir))
