"""The claims ledger: every claim and limitation of the paper as data (paper.md sections 4.3 and 5).

A row of the ledger is a :class:`Claim`: the claim, the experiment that tests it, a link to the
chapter, a function ``measure(**sizes) -> dict`` that recomputes a cheap version of the
experiment with the library, and a verdict rule ``verdict(measured) -> (verdict, reason)``.
The rules compare the measured numbers with the thresholds below, stated once, in code; no
verdict or figure is typed by hand.  :func:`evaluate` runs every row and :func:`ledger_markdown`
renders the table (plain Markdown, no pandas).

The verdicts are :data:`SUPPORTED`, :data:`PARTLY` and :data:`NOT_OBSERVABLE`.  For a
*limitation* "supported" means the limitation is real at this scale: the experiments sit where
the theorem's caveat applies.

The module also holds the theory calculator (:func:`theory_calculator`): the parameters
Theorem 1 prescribes for a chosen ``phi, eps, L, d, m`` beside the practical ones that train.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np

from ._checks import check_float, check_int
from .experiment import ExperimentConfig, initial_model, make_dataset, run_experiment
from .smooth import C_STAR, log10_complexity_eps, log10_complexity_sample, smooth_function
from . import theory

__all__ = ["SUPPORTED", "PARTLY", "NOT_OBSERVABLE", "VERDICTS", "THRESHOLDS", "Claim", "Row",
           "CLAIMS", "evaluate", "ledger_markdown", "length_sweep_configs", "width_sweep_configs",
           "measure_length_dependence", "measure_width_dependence", "measure_pseudo_network",
           "measure_forward_stability", "measure_coherence", "measure_interference",
           "measure_two_layer_class", "measure_additivity", "measure_normalization",
           "measure_theory_scales", "measure_lazy", "measure_random_features", "theory_calculator",
           "theory_table_markdown", "show_calculator", "LEDGER_BASE", "ledger_html", "theory_table_html"]

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

# The chapters' experiment (chapter 5's base: practical step size with c = 2, tail averaging).
LEDGER_BASE = ExperimentConfig(token_dim=8, eps_x=0.3, output_scale=0.3, lr_scale=2.0, batch_size=32,
                               phi="sin(3z)", labels="last", average=0.5)


@dataclass(frozen=True)
class Claim:
    """One row of the ledger before it is measured.

    Attributes:
        key: short identifier (also the glue prefix in chapter 8).
        claim: the claim or limitation, in words.
        kind: ``"claim"`` or ``"limitation"``.
        experiment: what is measured.
        chapter: Markdown link to the chapter that runs the full experiment.
        measure: ``measure(**sizes) -> dict`` of measured numbers (the keys the rule reads).
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


# -- sweeps shared with chapter 5 ----------------------------------------------------------------

def length_sweep_configs(lengths: Sequence[int], n_values: Sequence[int], seeds: Sequence[int], *,
                         width: int, steps_at_10: int, n_test: int, base: ExperimentConfig = LEDGER_BASE
                         ) -> list[ExperimentConfig]:
    """Chapter 5's ``N*(L)`` grid: every ``L x N x seed`` with ``steps_for_length(L)`` SGD steps."""
    from .generalization import steps_for_length, with_step_budget

    width = check_int("width", width, minimum=1)
    steps_at_10 = check_int("steps_at_10", steps_at_10, minimum=1)
    n_test = check_int("n_test", n_test, minimum=2)
    cfgs = [with_step_budget(base.replace(length=check_int("length", L, minimum=2), width=width,
                                          n_train=check_int("n_train", N, minimum=1), seed=s,
                                          n_test=n_test),
                             steps_for_length(L, steps_at_10))
            for L in lengths for N in n_values for s in seeds]
    if not cfgs:
        raise ValueError("lengths, n_values and seeds must each list at least one value")
    return cfgs


def width_sweep_configs(widths: Sequence[int], *, length: int, n_train: int, seeds: Sequence[int],
                        steps_at_10: int, n_test: int, base: ExperimentConfig = LEDGER_BASE
                        ) -> list[ExperimentConfig]:
    """Test error versus ``m`` at fixed ``N`` (chapter 5's E6 slice)."""
    from .generalization import steps_for_length, with_step_budget

    cfgs = [with_step_budget(base.replace(length=check_int("length", length, minimum=2),
                                          width=check_int("width", m, minimum=1),
                                          n_train=check_int("n_train", n_train, minimum=1), seed=s,
                                          n_test=check_int("n_test", n_test, minimum=2)),
                             steps_for_length(length, steps_at_10))
            for m in widths for s in seeds]
    if not cfgs:
        raise ValueError("widths and seeds must each list at least one value")
    return cfgs


# -- the measurements ----------------------------------------------------------------------------

def measure_length_dependence(configs: Sequence[ExperimentConfig], target: float, *, cache_dir=None,
                              executor=None, threads: int | None = 1, measure=None) -> dict:
    """``N*(L)`` from a sweep over ``L x N x seed`` (cached) and its power-law and exponential fits.

    ``configs`` come from :func:`length_sweep_configs` or
    :meth:`rnnlib.generalization.LengthDesign.configs`; with ``measure`` (for instance
    :func:`rnnlib.generalization.trained_weight_norms`, as chapter 5 runs it) the sweep reads the
    entries chapter 5 cached.  ``threads=1`` by default: small networks run many times faster on
    one torch thread than on a shared, oversubscribed pool.  Returns ``lengths``, ``n_star`` (NaN where the target is not reached), ``exponent``,
    ``exponent_se``, ``rate`` (log10 N* per unit L), ``rms_power``, ``rms_exp`` (NaN when fewer
    than two lengths reach the target) and ``runs`` (the results).
    """
    from .generalization import fit_exponential, fit_power_law, learning_curves, n_star
    from .sweep import sweep

    target = check_float("target", target, positive=True)
    runs = sweep(list(configs), cache_dir=cache_dir, executor=executor, progress=False, threads=threads,
                 measure=measure)
    curves = learning_curves(runs, by="length", x="n_train", metric="test_mse")
    ns = n_star(curves, target)
    out = {"lengths": curves.groups.astype(float), "n_values": curves.x.astype(float),
           "mean_error": curves.mean(), "n_star": ns, "target": target, "runs": runs,
           "exponent": math.nan, "exponent_se": math.nan, "rate": math.nan, "rms_power": math.nan,
           "rms_exp": math.nan}
    if np.isfinite(ns).sum() >= 2:
        p = fit_power_law(curves.groups.astype(float), ns)
        e = fit_exponential(curves.groups.astype(float), ns)
        out.update(exponent=p.exponent, exponent_se=p.exponent_se, rate=e.rate, rms_power=p.residual_rms,
                   rms_exp=e.residual_rms, fit=p, exp_fit=e)
    return out


def measure_width_dependence(configs: Sequence[ExperimentConfig], *, cache_dir=None, executor=None,
                             threads: int | None = 1) -> dict:
    """Mean test error per width of a :func:`width_sweep_configs` sweep; ``ratio`` = widest / narrowest."""
    from .sweep import sweep

    runs = sweep(list(configs), cache_dir=cache_dir, executor=executor, progress=False, threads=threads)
    widths = sorted({r.config.width for r in runs})
    err = np.array([np.mean([r.test_mse for r in runs if r.config.width == m]) for m in widths])
    init = float(np.mean([r.test_mse_at_init for r in runs]))
    return {"widths": np.array(widths, dtype=float), "test_mse": err, "ratio": float(err[-1] / err[0]),
            "test_mse_at_init": init, "n_train": runs[0].config.n_train}


def measure_pseudo_network(cfg: ExperimentConfig, *, n_probe: int = 128) -> dict:
    """Train ``cfg`` with a :class:`~rnnlib.pseudo_network.PseudoNetworkTracker`; final relative error.

    Also returns the lazy-regime numbers of the same run (``relative_move`` =
    ``||W_T - W_0||_F / ||W_0||_F``, ``pattern_flips``) and its errors.
    """
    from .pseudo_network import PseudoNetworkTracker

    tracker = PseudoNetworkTracker.for_config(cfg, n_probe=check_int("n_probe", n_probe, minimum=1))
    res = run_experiment(cfg, callback=tracker)
    return {"relative_error": float(tracker.relative_error[-1]), "relative_move":
            res.w_displacement / res.w_init_norm, "w_displacement": res.w_displacement,
            "w_init_norm": res.w_init_norm, "pattern_flips": res.pattern_flips, "test_mse": res.test_mse,
            "test_mse_at_init": res.test_mse_at_init, "width": cfg.width, "length": cfg.length,
            "lr": res.lr, "output_scale": cfg.output_scale}


def measure_forward_stability(width: int, length: int, seeds: Sequence[int] = range(4), *, n: int = 16) -> dict:
    """Hidden-state growth ``max_l ||h_l|| / ||h_1||`` (median over seeds) versus ``L log10 ||W||_2``."""
    from .forward import forward_stability

    fs = forward_stability(width, length, seeds, n=n)
    typ = fs.typical  # (k, L)
    growth = np.log10(typ.max(axis=1) / typ[:, 0])
    return {"width": width, "length": length, "median_max_norm": float(np.median(typ.max(axis=1))),
            "log10_growth": float(np.median(growth)),
            "log10_norm_product": float(length * np.median(np.log10(fs.spectral)))}


def measure_coherence(width: int, length: int, *, n: int = 8, seed: int = 0) -> dict:
    """Mean off-diagonal ``|cos|`` of the backward maps of a random RNN, against ``1/sqrt(m)``."""
    from .backward import backward_maps
    from .rnn import ElmanRNN
    from .tokens import embed, sample_tokens

    width = check_int("width", width, minimum=2)
    model = ElmanRNN(9, width, seed=seed)
    x = embed(sample_tokens(n, length, 8, seed=seed), 0.3)
    coh = backward_maps(model, x).coherence()
    return {"width": width, "length": length, "coherence": coh["all"],
            "inv_sqrt_m": 1.0 / math.sqrt(width), "ratio": coh["all"] * math.sqrt(width)}


def measure_interference(cfg: ExperimentConfig, widths: Sequence[int], pair: tuple[int, int] = (3, 6)) -> dict:
    """Interference between positions (chapter 6, :func:`rnnlib.interference.interference`) at several widths.

    ``cfg`` must have ``labels="all"``; for each width the target of ``pair`` alone is changed and
    the network retrained from the same initialization.  Returns ``widths`` and ``ratio`` (per
    width: rms move of the other positions' predictions per unit of move at ``j0``), and
    ``moved_at_target`` (per width).
    """
    from .interference import interference

    widths = [check_int("widths[i]", w, minimum=2) for w in widths]
    if len(widths) < 2:
        raise ValueError(f"widths must hold at least two widths (a trend in m is measured), got {widths}")
    res = [interference(cfg.replace(width=w), pair) for w in widths]
    return {"widths": np.array(widths, dtype=float), "ratio": np.array([r.ratio for r in res]),
            "moved_at_target": np.array([r.moved_at_target for r in res]), "pair": tuple(pair),
            "length": cfg.length}


def measure_two_layer_class(length: int = 6, token_dim: int = 8, hidden: int = 3, *, n: int = 64,
                            seed: int = 0) -> dict:
    """The concept class's definition check (paper.md section 3.1).

    Builds an :class:`~rnnlib.concept.AdditiveConcept` with ``labels="all"`` and evaluates, by an
    independent loop, ``F*_j = sum_{i<=j} sum_r b*_{ijr} phi(<w*_{ijr}, x*_i>)``: a sum over earlier
    tokens of two-layer networks with ``p = hidden`` smooth units.  Returns the largest absolute
    difference (``max_diff``) and the largest change of ``F*_j`` when a *later* token is redrawn
    (``future_change``); both vanish when the class is what the paper defines.
    """
    from .concept import AdditiveConcept
    from .tokens import sample_tokens

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
    from .concept import AdditiveConcept
    from .tokens import sample_tokens

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
                          eps_small: float = 0.3, eps_large: float = 1.0) -> dict:
    """Token normalization and what it buys: pattern flips between two sequences at two ``eps_x``.

    The theorem assumes ``||x*|| = 1`` with last coordinate ``1/2`` and inputs scaled by a small
    ``eps_x``; this returns the largest deviation of the sampled tokens from that
    normalization and the fraction of ReLU patterns two random sequences do not share at
    ``eps_small`` and ``eps_large``.
    """
    from .patterns import flips_versus_eps_x
    from .rnn import ElmanRNN
    from .tokens import sample_tokens

    xs = sample_tokens(n, length, 8, seed=seed)
    other = sample_tokens(n, length, 8, seed=seed + 1)
    dev = max(float(np.abs(np.linalg.norm(xs, axis=-1) - 1).max()), float(np.abs(xs[..., -1] - 0.5).max()))
    flips = flips_versus_eps_x(ElmanRNN(9, width, seed=seed), xs, other, [eps_small, eps_large]).mean(axis=1)
    return {"norm_deviation": dev, "flips_small": float(flips[0]), "flips_large": float(flips[1]),
            "eps_small": eps_small, "eps_large": eps_large}


def measure_theory_scales(length: int, width: int, *, eps: float = 0.1, cfg: ExperimentConfig = LEDGER_BASE) -> dict:
    """The theorem's ``lambda`` and ``eta`` against the practical ones of ``cfg`` at the same ``L, m``."""
    cfg = cfg.replace(length=length, width=width)
    lam_t = theory.theory_output_scale(eps, length, width)
    eta_t = theory.theory_step_size(eps, length, width)
    return {"lambda_theory": lam_t, "eta_theory": eta_t, "lambda_practical": cfg.output_scale,
            "eta_practical": cfg.step_size, "log10_lambda_gap": math.log10(cfg.output_scale / lam_t),
            "log10_eta_gap": math.log10(cfg.step_size / eta_t), "eps": eps}


def measure_lazy(pseudo: dict) -> dict:
    """The lazy-regime numbers of the :func:`measure_pseudo_network` run."""
    return {k: pseudo[k] for k in ("relative_move", "w_displacement", "w_init_norm", "pattern_flips")}


def measure_random_features(runs: Sequence, length: int) -> dict:
    """SGD on W against random features (B-only ridge on the initial hidden states, chapter 7).

    ``runs`` are SGD-on-W results (for instance the length sweep's); the random-features baseline
    (:func:`rnnlib.baselines.random_features`) is fitted on the data of every run at ``length``.
    Returns per run ``n_train``, ``sgd`` and ``rf`` test errors and ``rel`` =
    mean((rf - sgd) / sgd), positive when SGD on W is better.
    """
    from .baselines import random_features

    length = check_int("length", length, minimum=1)
    chosen = [r for r in runs if r.config.length == length]
    if not chosen:
        raise ValueError(f"runs hold no run at length {length}; lengths are {sorted({r.config.length for r in runs})}")
    sgd = np.array([r.test_mse for r in chosen])
    rf = np.array([random_features(r.config).test_mse for r in chosen])
    return {"length": length, "n_train": np.array([r.config.n_train for r in chosen], dtype=float),
            "sgd": sgd, "rf": rf, "rel": float(np.mean((rf - sgd) / sgd))}


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


def _f_length(m):
    if not np.isfinite(m["exponent"]):
        return "N*(L) = " + ", ".join(f"{v:.0f}" if np.isfinite(v) else "n/a" for v in m["n_star"])
    return f"N* = {_listed(m['n_star'], '.0f')} at L = {_listed(m['lengths'], '.0f')}; b = {m['exponent']:.2f}"


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


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def ledger_markdown(rows: Sequence[Row]) -> str:
    """The ledger as a Markdown table: claim, experiment, chapter, measured figure, verdict and reason."""
    lines = ["| | Claim | Experiment | Chapter | Measured | Verdict |", "|---|---|---|---|---|---|"]
    for k, r in enumerate(rows, 1):
        if not isinstance(r, Row):
            raise TypeError(f"rows must hold Row objects, got {type(r).__name__}")
        tag = "" if r.claim.kind == "claim" else " *(limitation)*"
        lines.append(f"| {k} | {_cell(r.claim.claim)}{tag} | {_cell(r.claim.experiment)} | {r.claim.chapter} | "
                     f"{_cell(r.figure)} | **{r.verdict}**: {_cell(r.reason)} |")
    return "\n".join(lines)


# -- the theory calculator -----------------------------------------------------------------------

def theory_calculator(phi: str = "sin(3z)", eps: float = 0.1, length: int = 10, output_dim: int = 1,
                      width: int = 256, *, hidden: int = 1, c_star: float = C_STAR,
                      practical: ExperimentConfig = LEDGER_BASE) -> dict:
    """Theorem 1's parameters (paper.md sections 2.5-4.1) beside the practical ones.

    Returns ``rho = 100 L d ln m``, ``lambda = eps/(10 L rho)``, ``eta = 1/(eps rho^2 m)``,
    ``log10_T`` (``T = p^2 C^2 rho / eps^2``, hidden constants 1 and ``poly(rho) = rho``),
    ``log10_C_eps`` = ``log10 C_eps(phi, sqrt(L))``, ``log10_C_s`` = ``log10 C_s(phi, sqrt(L))``,
    the practical ``lambda`` and ``eta`` of ``practical`` at the same ``L`` and ``m``, and
    ``c_star``.  The width and sample requirements are ``m >= poly(C, 1/eps)`` and
    ``N >= poly(C, 1/eps) log m`` with unknown degrees; the calculator reports ``log10(C/eps)``,
    the base of both polynomials.
    """
    smooth_function(phi)
    eps = check_float("eps", eps, positive=True, below=1.0)
    R = math.sqrt(check_int("length", length, minimum=1))
    log_ce = log10_complexity_eps(phi, R, eps, c_star)
    cfg = practical.replace(length=max(length, 2), width=width, output_dim=output_dim)
    return {"phi": phi, "eps": eps, "length": length, "output_dim": output_dim, "width": width,
            "c_star": c_star, "rho": theory.rho(length, output_dim, width),
            "lambda": theory.theory_output_scale(eps, length, width, output_dim),
            "eta": theory.theory_step_size(eps, length, width, output_dim),
            "log10_T": theory.log10_theory_iterations(eps, length, width, hidden=hidden, output_dim=output_dim,
                                                      phi=phi, c_star=c_star),
            "log10_C_eps": log_ce, "log10_C_s": log10_complexity_sample(phi, R, c_star),
            "log10_C_over_eps": log_ce - math.log10(eps),
            "lambda_practical": cfg.output_scale, "eta_practical": cfg.step_size}


_CALC_COLUMNS = (("phi", "phi", "{}"), ("eps", "eps", "{:g}"), ("L", "length", "{}"), ("d", "output_dim", "{}"),
                 ("m", "width", "{}"), ("rho", "rho", "{:.0f}"), ("lambda", "lambda", "{:.1e}"),
                 ("eta", "eta", "{:.1e}"), ("log10 T", "log10_T", "{:.1f}"),
                 ("log10 C_eps", "log10_C_eps", "{:.1f}"), ("log10 C_s", "log10_C_s", "{:.1f}"),
                 ("lambda (practical)", "lambda_practical", "{:g}"), ("eta (practical)", "eta_practical", "{:.1e}"))


def theory_table_markdown(entries: Sequence[dict]) -> str:
    """A Markdown table of :func:`theory_calculator` outputs, one row each."""
    head = "| " + " | ".join(c[0] for c in _CALC_COLUMNS) + " |"
    lines = [head, "|" + "---|" * len(_CALC_COLUMNS)]
    for e in entries:
        lines.append("| " + " | ".join(fmt.format(e[k]) for _, k, fmt in _CALC_COLUMNS) + " |")
    return "\n".join(lines)


def show_calculator(phi: str = "sin(3z)", eps: float = 0.1, length: int = 10, output_dim: int = 1,
                    width: int = 256):
    """Display :func:`theory_calculator` as a one-row table (the live widget's callback)."""
    from IPython.display import HTML, display

    display(HTML(theory_table_html([theory_calculator(phi, eps, int(length), int(output_dim),
                                                              int(width))])))


# -- HTML rendering (myst-nb renders Markdown outputs as CommonMark, which has no tables) ---------

def _link_html(markdown_link: str) -> str:
    import html
    import re

    m = re.fullmatch(r"\[(.+)\]\((.+)\)", markdown_link)
    if m is None:
        return html.escape(markdown_link)
    return f'<a href="{html.escape(m.group(2))}">{html.escape(m.group(1))}</a>'


def ledger_html(rows: Sequence[Row]) -> str:
    """The ledger as an HTML table (same columns as :func:`ledger_markdown`)."""
    import html

    out = ['<table class="ledger">', "<thead><tr><th></th><th>Claim</th><th>Experiment</th><th>Chapter</th>"
           "<th>Measured</th><th>Verdict</th></tr></thead>", "<tbody>"]
    for k, r in enumerate(rows, 1):
        if not isinstance(r, Row):
            raise TypeError(f"rows must hold Row objects, got {type(r).__name__}")
        tag = "" if r.claim.kind == "claim" else " <i>(limitation)</i>"
        out.append(f"<tr><td>{k}</td><td>{html.escape(r.claim.claim)}{tag}</td>"
                   f"<td>{html.escape(r.claim.experiment)}</td><td>{_link_html(r.claim.chapter)}</td>"
                   f"<td>{html.escape(r.figure)}</td><td><b>{html.escape(r.verdict)}</b>: "
                   f"{html.escape(r.reason)}</td></tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def theory_table_html(entries: Sequence[dict]) -> str:
    """:func:`theory_table_markdown` as an HTML table."""
    import html

    out = ["<table>", "<thead><tr>" + "".join(f"<th>{html.escape(c[0])}</th>" for c in _CALC_COLUMNS)
           + "</tr></thead>", "<tbody>"]
    for e in entries:
        out.append("<tr>" + "".join(f"<td>{html.escape(fmt.format(e[k]))}</td>" for _, k, fmt in _CALC_COLUMNS)
                   + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
