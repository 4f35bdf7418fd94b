"""The claims ledger's measurements (chapter 8; Allen-Zhu & Li (2019), sections 3 and 5
and Theorem 1, recalled).

Each ``measure_*`` returns the dict of numbers one row's verdict rule reads
(:mod:`rnnlib.ledger_rules`), with the interval the rule compares against its threshold.  The rows
that summarize an experiment a chapter runs take that chapter's *results* and do not re-run anything;
chapter 8 (:func:`rnnlib.studies.ledger.ledger_study`) obtains them through the engine's cache:

===================  ==========================================  =========================================
row                  measure                                     results of (chapter)
===================  ==========================================  =========================================
length, comparisons  :func:`measure_headline`,                   ``HeadlineStudy.summary`` (5)
                     :func:`measure_comparison` (ledger_reads)
width                :func:`measure_width_dependence`            :func:`rnnlib.tasks.headline_design` (5)
pseudo, lazy         :func:`measure_pseudo_network` per seed,    :func:`rnnlib.tasks.sgd_design` (4)
                     :func:`across_seeds`, :func:`measure_lazy`
interference         :func:`measure_interference`                :func:`rnnlib.tasks.interference_design` (6)
===================  ==========================================  =========================================

The other rows are cheap probes of a network at initialization or of the concept class, computed
here: forward stability at a short and at chapter 3's long length and backward coherence (chapter 3,
Section 5), the class's definition and additivity (chapter 2, Section 3.1), input normalization and the
theory's scales (Section 4).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from . import theory
from ._checks import check_int
from .backward import backward_maps
from .concept import AdditiveConcept
from .experiment import ExperimentConfig, ExperimentResult
from .forward import forward_stability
from .interference import InterferenceResult
from .ledger_reads import (across_seeds, errors_per_width, measure_comparison, measure_headline,  # noqa: F401
                           wilson_interval)
from .patterns import flips_versus_eps_x
from .pseudo_network import PseudoNetworkTracker
from .rnn import ElmanRNN
from .tasks import BOOK_TASK
from .tokens import embed, sample_tokens

__all__ = ["measure_width_dependence",
           "measure_pseudo_network", "measure_forward_stability", "measure_coherence", "measure_interference",
           "measure_two_layer_class", "measure_additivity", "measure_normalization", "measure_theory_scales",
           "measure_lazy", "measure_headline", "measure_comparison", "across_seeds",
           "wilson_interval"]


def _results(name: str, runs) -> list:
    runs = [r for r in runs if r is not None]
    if not runs:
        raise ValueError(f"{name} must hold at least one result")
    for r in runs:
        if not isinstance(r, ExperimentResult):
            hint = " (sweep the design's configs first: rnnlib.sweep(design.configs()))" \
                if isinstance(r, ExperimentConfig) else ""
            raise TypeError(f"{name} must hold ExperimentResult objects, got {type(r).__name__}{hint}")
    return runs


# -- rows read from the chapters' results ---------------------------------------------------------

def measure_width_dependence(runs: Sequence[ExperimentResult], n_train: int | None = None) -> dict:
    """Mean test error per width at one ``N`` of chapter 5's width runs; ``ratio`` = widest / narrowest.

    Args:
        runs: results of SGD runs at several widths (chapter 5's width study).
        n_train: the ``N`` compared; default the largest ``N`` trained at every width (as chapter 5).

    Returns:
        ``widths``, ``test_mse`` (mean over seeds, per width; also as ``error``), ``error_low`` and
        ``error_high`` (the range over seeds, per width), ``ratio``, ``test_mse_at_init``, ``n_train``:
        the keys the ledger's width rule reads are ``widths``, ``error``, ``error_low``, ``error_high``
        and ``n_train``.
    """
    runs = _results("runs", runs)
    out = errors_per_width([(r.config.width, r.config.n_train, r.test_mse) for r in runs], n_train)
    at = [r for r in runs if r.config.n_train == out["n_train"]]
    return {**out, "test_mse_at_init": float(np.mean([r.test_mse_at_init for r in at])),
            "length": int(at[0].config.length)}


def measure_pseudo_network(result: ExperimentResult, tracker: PseudoNetworkTracker) -> dict:
    """The pseudo-network's relative error at the end of one run (chapter 4's, at one width).

    Args:
        result: :func:`rnnlib.run_experiment` ``(cfg, callback=tracker)``.
        tracker: the :class:`~rnnlib.pseudo_network.PseudoNetworkTracker` that followed it.

    Returns:
        ``relative_error`` (last record), the lazy-regime numbers of the run (``relative_move`` =
        ``||W_T - W_0||_F / ||W_0||_F``, ``w_displacement``, ``w_init_norm``, ``pattern_flips``), its errors,
        ``width``, ``length``, ``lr`` and ``output_scale``.
    """
    if not isinstance(result, ExperimentResult):
        raise TypeError(f"result must be an ExperimentResult, got {type(result).__name__}")
    if not isinstance(tracker, PseudoNetworkTracker) or not tracker.relative_error:
        raise TypeError(f"tracker must be the PseudoNetworkTracker of the run, got {tracker!r:.80}")
    cfg = result.config
    return {"relative_error": float(tracker.relative_error[-1]),
            "relative_move": result.w_displacement / result.w_init_norm, "w_displacement": result.w_displacement,
            "w_init_norm": result.w_init_norm, "pattern_flips": result.pattern_flips, "test_mse": result.test_mse,
            "test_mse_at_init": result.test_mse_at_init, "width": cfg.width, "length": cfg.length,
            "lr": result.lr, "output_scale": cfg.output_scale}


def measure_interference(results: Sequence[InterferenceResult]) -> dict:
    """Interference between positions (chapter 6's E14) from its results, mean over seeds per width.

    Returns ``widths``, ``ratio`` (per width: rms move of the other positions' predictions per unit
    of move at ``j0``), ``ratio_low`` and ``ratio_high`` (its range over seeds),
    ``moved_at_target`` (per width), ``pair`` and ``length``.
    """
    results = list(results)
    if not results or not all(isinstance(r, InterferenceResult) for r in results):
        raise TypeError("results must be a non-empty list of InterferenceResult")
    widths = sorted({r.config.width for r in results})
    if len(widths) < 2:
        raise ValueError(f"results must hold at least two widths (a trend in m is measured), got {widths}")
    by = {m: [r for r in results if r.config.width == m] for m in widths}
    return {"widths": np.array(widths, dtype=float), "ratio": np.array([np.mean([r.ratio for r in by[m]])
                                                                        for m in widths]),
            "ratio_low": np.array([min(r.ratio for r in by[m]) for m in widths]),
            "ratio_high": np.array([max(r.ratio for r in by[m]) for m in widths]),
            "moved_at_target": np.array([np.mean([r.moved_at_target for r in by[m]]) for m in widths]),
            "pair": tuple(results[0].pair), "length": results[0].config.length}


def measure_lazy(pseudo: dict) -> dict:
    """The lazy-regime numbers of the :func:`measure_pseudo_network` run(s): the relative move of ``W``,
    the flipped patterns and the pseudo-network's error (what the proof uses), with the ``_low`` and
    ``_high`` ranges of :func:`across_seeds` where ``pseudo`` has them."""
    keys = ("relative_move", "w_displacement", "w_init_norm", "pattern_flips", "relative_error")
    out = {k: pseudo[k] for k in keys if k in pseudo}
    out.update({k: pseudo[k] for k in pseudo if k.endswith(("_low", "_high")) or k == "n_seeds"})
    return out




# -- probes computed here ------------------------------------------------------------------------

def measure_forward_stability(width: int, length: int, seeds: Sequence[int] | int = range(4), *, n: int = 16,
                              drift_norm: float = 10.0) -> dict:
    """Hidden-state growth at initialization (chapter 3's :func:`rnnlib.forward.forward_stability`).

    Returns ``log10_growth``, the median over seeds of ``log10 max_l ||h_l|| / ||h_1||`` of the typical
    sequence, with ``growth_low`` and ``growth_high`` its range over seeds; ``log10_norm_product`` =
    ``L log10 ||W||_2`` (median); ``drift``, the fraction of initializations whose typical hidden norm
    at the last step exceeds ``drift_norm`` (chapter 3's count), with its 90% Wilson interval
    ``drift_low``, ``drift_high``; ``n_seeds``, ``width``, ``length``, ``median_max_norm``.  ``seeds`` is
    a list of seeds or a count ``k`` (seeds ``0..k-1``, as chapter 3's ``range(k)``).
    """
    if isinstance(seeds, (int, np.integer)):  # a count (the cached probe's kwargs hold plain numbers)
        seeds = range(check_int("seeds", seeds, minimum=1))
    fs = forward_stability(width, length, seeds, n=n)
    typ = fs.typical  # (k, L)
    growth = np.log10(typ.max(axis=1) / typ[:, 0])
    k = int(np.sum(typ[:, -1] > drift_norm))
    lo, hi = wilson_interval(k, len(typ))
    return {"width": width, "length": length, "median_max_norm": float(np.median(typ.max(axis=1))),
            "log10_growth": float(np.median(growth)), "growth_low": float(growth.min()),
            "growth_high": float(growth.max()), "drift": k / len(typ), "drift_low": lo, "drift_high": hi,
            "n_seeds": len(typ), "log10_norm_product": float(length * np.median(np.log10(fs.spectral)))}


def measure_coherence(width: int, length: int, *, n: int = 8, seed: int = 0,
                      seeds: Sequence[int] | int | None = None) -> dict:
    """Mean off-diagonal ``|cos|`` of the backward maps of a random RNN, against ``1/sqrt(m)``.

    With ``seeds`` (a list, or a count ``k`` for ``0..k-1``), one network per seed: ``coherence`` and
    ``ratio`` (``|cos| sqrt(m)``) are the means
    over them and ``ratio_low``, ``ratio_high`` the range; else one network (``seed``).
    """
    width = check_int("width", width, minimum=2)
    if isinstance(seeds, (int, np.integer)):
        seeds = range(check_int("seeds", seeds, minimum=1))
    seeds = [seed] if seeds is None else [check_int("seed", s, minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("seeds must list at least one seed, got an empty sequence")
    coh = np.array([backward_maps(ElmanRNN(9, width, seed=s), embed(sample_tokens(n, length, 8, seed=s), 0.3))
                    .coherence()["all"] for s in seeds])
    ratio = coh * math.sqrt(width)
    return {"width": width, "length": length, "coherence": float(coh.mean()),
            "inv_sqrt_m": 1.0 / math.sqrt(width), "ratio": float(ratio.mean()), "ratio_low": float(ratio.min()),
            "ratio_high": float(ratio.max()), "n_seeds": len(seeds)}


def measure_two_layer_class(length: int = 6, token_dim: int = 8, hidden: int = 3, *, n: int = 64,
                            seed: int = 0) -> dict:
    """The concept class's definition check (Allen-Zhu & Li (2019), section 3, recalled).

    Builds an :class:`~rnnlib.concept.AdditiveConcept` with ``labels="all"`` and evaluates, by an
    independent loop, ``F*_j = sum_{i<=j} sum_r b*_{ijr} phi(<w*_{ijr}, x*_i>)``: a sum over earlier
    tokens of two-layer networks with ``p = hidden`` smooth units.  Returns the largest absolute
    difference (``max_diff``) and the largest change of ``F*_j`` when a *later* token is redrawn
    (``future_change``); both vanish when the class is what the paper defines.
    """
    c = AdditiveConcept(length, token_dim, hidden, phi="sin(3z)", labels="all", seed=seed)
    xs = sample_tokens(n, length, token_dim, seed=seed)
    phi = c.phis[0]
    ref = np.zeros((n, length))
    for j in range(2, length + 1):
        for i in range(2, j + 1):
            for r in range(hidden):
                ref[:, j - 1] += c.b[i - 1, j - 1, r, 0] * phi(xs[:, i - 2] @ c.w[i - 1, j - 1, r, 0])
    got = c(xs)[..., 0]
    # redraw the tokens after position j0 and check F*_j for j <= j0 does not move
    j0 = length // 2
    other = sample_tokens(n, length, token_dim, seed=seed + 1)
    mixed = xs.copy()
    mixed[:, j0 - 1:] = other[:, j0 - 1:]
    change = np.abs(c(mixed)[:, :j0, 0] - got[:, :j0]).max()
    return {"max_diff": float(np.abs(got - ref).max()), "future_change": float(change),
            "hidden": hidden, "length": length}


def measure_additivity(length: int = 6, token_dim: int = 8, *, n: int = 64, seed: int = 0) -> dict:
    """The mixed difference of ``F*_L`` in two positions ``a < b`` (zero for an additive target).

    ``F(x_a', x_b') - F(x_a', x_b) - F(x_a, x_b') + F(x_a, x_b)``: the class cannot express any
    interaction between two tokens.  Returns its largest absolute value and, for scale, the
    largest single-token change ``|F(x_a') - F(x_a)|``.
    """
    c = AdditiveConcept(length, token_dim, 2, phi="sin(3z)", labels="last", seed=seed)
    x = sample_tokens(n, length, token_dim, seed=seed)
    y = sample_tokens(n, length, token_dim, seed=seed + 1)
    a, b = 0, length - 2

    def swap(*pos):
        z = x.copy()
        for p in pos:
            z[:, p] = y[:, p]
        return c(z)[:, -1, 0]

    mixed = swap(a, b) - swap(a) - swap(b) + c(x)[:, -1, 0]
    return {"mixed": float(np.abs(mixed).max()), "single": float(np.abs(swap(a) - c(x)[:, -1, 0]).max())}


def measure_normalization(width: int = 128, length: int = 10, *, n: int = 64, seed: int = 0,
                          eps_small: float = 0.3, eps_large: float = 1.0, n_boot: int = 1000) -> dict:
    """Token normalization and what it buys: pattern flips between two sequences at two ``eps_x``.

    The theorem assumes ``||x*|| = 1`` with last coordinate ``1/2`` and inputs scaled by a small
    ``eps_x`` (Allen-Zhu & Li (2019), section 3, recalled); this returns the largest deviation of
    the sampled tokens from that
    normalization and the fraction of ReLU patterns two random sequences do not share at
    ``eps_small`` and ``eps_large``, and their ratio ``ratio`` with a 90% bootstrap interval over the
    ``n`` pairs of sequences (``ratio_low``, ``ratio_high``).
    """
    xs = sample_tokens(n, length, 8, seed=seed)
    other = sample_tokens(n, length, 8, seed=seed + 1)
    dev = max(float(np.abs(np.linalg.norm(xs, axis=-1) - 1).max()), float(np.abs(xs[..., -1] - 0.5).max()))
    model = ElmanRNN(9, width, seed=seed)
    # per pair of sequences (n, 2): the ratio's bootstrap resamples the pairs
    per = np.array([flips_versus_eps_x(model, xs[i:i + 1], other[i:i + 1], [eps_small, eps_large]).mean(axis=1)
                    for i in range(n)])
    flips = per.mean(axis=0)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot, n))
    boot = per[idx, 1].mean(axis=1) / np.maximum(per[idx, 0].mean(axis=1), 1e-12)
    return {"norm_deviation": dev, "flips_small": float(flips[0]), "flips_large": float(flips[1]),
            "eps_small": eps_small, "eps_large": eps_large, "ratio": float(flips[1] / max(flips[0], 1e-12)),
            "ratio_low": float(np.quantile(boot, 0.05)), "ratio_high": float(np.quantile(boot, 0.95))}


def measure_theory_scales(length: int, width: int, *, eps: float = 0.1, cfg: ExperimentConfig = BOOK_TASK) -> dict:
    """The theorem's ``lambda`` and ``eta`` against the practical ones of ``cfg`` at the same ``L, m``."""
    cfg = cfg.replace(length=length, width=width)
    lam_t = theory.theory_output_scale(eps, length, width)
    eta_t = theory.theory_step_size(eps, length, width)
    return {"lambda_theory": lam_t, "eta_theory": eta_t, "lambda_practical": cfg.output_scale,
            "eta_practical": cfg.step_size, "log10_lambda_gap": math.log10(cfg.output_scale / lam_t),
            "log10_eta_gap": math.log10(cfg.step_size / eta_t), "eps": eps}
