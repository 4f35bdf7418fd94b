"""Figures of chapter 6, why it works: the indicator-to-function lemma, W*, no interference.

Paper: Allen-Zhu & Li (2019), Lemma 5.2 and section 5 (recalled)."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .style import color_for_width, new_figure

__all__ = [
    "plot_existence_study",
    "plot_indicator_fits",
    "plot_interference",
    "plot_interference_study",
    "plot_lemma_error",
    "plot_lemma_noise",
    "plot_lemma_noise_study",
    "plot_lemma_study",
    "plot_w_star",
]

_PHI_COLORS = ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"]


def _phi_color(k: int):
    return _PHI_COLORS[k % len(_PHI_COLORS)]


def plot_indicator_fits(u: np.ndarray, curves: Mapping[str, Mapping[str, np.ndarray]]):
    """One panel per function: ``phi(u)`` and its averages over ``M`` random neurons.

    Args:
        u: ``(n_u,)`` grid.
        curves: ``{phi_name: {"phi": values, "M=...": estimate, ...}}``; the ``"phi"`` entry is drawn as
            the reference, every other entry as an estimate.
    """
    names = list(curves)
    fig, axes = new_figure(len(names), 1, width=3.4, height=3.0, sharey=False)
    axes = np.atleast_1d(axes)
    for ax, name in zip(axes, names):
        entries = curves[name]
        others = [k for k in entries if k != "phi"]
        for k, key in enumerate(others):
            ax.plot(u, entries[key], lw=1.0, alpha=0.85, color=color_for_width([64, 256, 1024, 4096][k % 4]),
                    label=key)
        ax.plot(u, entries["phi"], color="black", lw=1.8, ls="--", label="phi(u)")
        ax.set_title(name)
        ax.set_xlabel("projection u = <w, x>")
    axes[0].set_ylabel("value")
    axes[0].legend(fontsize=7, loc="best")
    return fig


def plot_lemma_error(Ms: Sequence[int], errors: Mapping[str, np.ndarray], second_moments: Mapping[str, float],
                     slopes: Mapping[str, float]):
    """Sup error versus the number of neurons ``M`` (log-log), median and range over draws.

    Args:
        Ms: neuron counts.
        errors: ``{phi_name: (len(Ms), n_draws)}`` sup errors.
        second_moments: ``{phi_name: E[H^2]}`` (shown in the legend).
        slopes: ``{phi_name: fitted log-log slope}`` (shown in the legend).
    """
    fig, (ax, ax2) = new_figure(2, 1, width=4.6, height=3.6)
    Ms = np.asarray(Ms, dtype=float)
    for k, (name, err) in enumerate(errors.items()):
        err = np.asarray(err)
        med = np.median(err, axis=1)
        ax.fill_between(Ms, err.min(axis=1), err.max(axis=1), color=_phi_color(k), alpha=0.15)
        ax.plot(Ms, med, "o-", color=_phi_color(k),
                label=f"{name}: slope {slopes[name]:.2f}, E[H²] = {second_moments[name]:.3g}")
        ax2.plot(Ms, med / np.sqrt(second_moments[name]), "o-", color=_phi_color(k), label=name)
    ref = Ms ** -0.5
    ax2.plot(Ms, 3 * ref, "k--", lw=1, label="3 / sqrt(M)")
    for a in (ax, ax2):
        a.set_xscale("log")
        a.set_yscale("log")
        a.set_xlabel("neurons M")
    ax.set_ylabel("sup over u of |phi(u) - average|")
    ax2.set_ylabel("sup error / sqrt(E[H²])")
    ax.set_title("error of the M-neuron average")
    ax2.set_title("rescaled by the size of H")
    ax.legend(fontsize=7)
    ax2.legend(fontsize=7)
    return fig


def plot_lemma_noise(noises: Sequence[float], errors: Mapping[str, np.ndarray], M: int):
    """Sup error at fixed ``M`` versus the threshold-noise size ``tau``.

    Args:
        noises: the ``tau`` values (the first may be 0).
        errors: ``{label: (len(noises), n_draws)}``, e.g. one entry per function and fit.
        M: the number of neurons (for the title).
    """
    fig, ax = new_figure(1, 1, width=5.2, height=3.6)
    x = np.asarray(noises, dtype=float)
    for k, (label, err) in enumerate(errors.items()):
        err = np.asarray(err)
        ls = "--" if "aware" in label else "-"
        ax.plot(x, np.median(err, axis=1), "o" + ls, color=_phi_color(k // 2), label=label)
    ax.set_xscale("symlog", linthresh=max(1e-3, x[x > 0].min() if np.any(x > 0) else 1e-3))
    ax.set_yscale("log")
    ax.set_xlabel("threshold noise tau (std of n, in units of the input signal)")
    ax.set_ylabel("sup error")
    ax.set_title(f"robustness to a noisy threshold (M = {M:,})")
    ax.legend(fontsize=7)
    return fig


def plot_w_star(widths: Sequence[int], errors: Mapping[str, np.ndarray], predicted: Mapping[str, np.ndarray],
                scatter: tuple[np.ndarray, np.ndarray, str]):
    """Error of the pseudo-network with the constructed W* versus width, and one scatter.

    Args:
        widths: the widths ``m``.
        errors: ``{phi_name: (len(widths), n_seeds)}`` standardized errors of the pseudo-network.
        predicted: ``{phi_name: (len(widths),)}`` the Monte-Carlo prediction ``3 E[H^2] / (m Var phi)``.
        scatter: ``(target, pseudo, label)`` for the right panel.
    """
    fig, (ax, ax2) = new_figure(2, 1, width=4.6, height=3.6)
    m = np.asarray(widths, dtype=float)
    for k, (name, err) in enumerate(errors.items()):
        err = np.asarray(err)
        ax.plot(m, np.median(err, axis=1), "o-", color=_phi_color(k), label=f"{name} (measured)")
        ax.plot(m, predicted[name], ":", color=_phi_color(k), label=f"{name}: 3 E[H²] / (m Var)")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width m")
    ax.set_ylabel("standardized error of F(x; W*)")
    ax.set_title("pseudo-network with the constructed W*")
    ax.legend(fontsize=7)
    target, pseudo, label = scatter
    ax2.scatter(target, pseudo, s=6, alpha=0.5, color=_phi_color(0))
    lo, hi = float(np.min(target)), float(np.max(target))
    ax2.plot([lo, hi], [lo, hi], "k--", lw=1)
    ax2.set_xlabel("target F*(x)")
    ax2.set_ylabel("pseudo-network output F(x; W*)")
    ax2.set_title(label)
    return fig


def plot_interference(widths: Sequence[int], ratios: np.ndarray, coherence: np.ndarray,
                      moved: Mapping[int, tuple[np.ndarray, np.ndarray]], j0: int):
    """Interference versus width next to backward coherence, and the moves per position.

    Args:
        widths: the widths ``m``.
        ratios: ``(len(widths), n_seeds)`` moved elsewhere / moved at ``j0``.
        coherence: ``(len(widths), n_seeds)`` mean ``|cos|`` between ``Back_{i0->j0}`` and the other maps.
        moved: ``{m: (positions, moved)}`` per width for the right panel.
        j0: the changed output position.
    """
    fig, (ax, ax2) = new_figure(2, 1, width=4.6, height=3.6)
    m = np.asarray(widths, dtype=float)
    r = np.asarray(ratios)
    c = np.asarray(coherence)
    ax.plot(m, r.mean(axis=1), "o-", color="C0", label="interference: moved elsewhere / moved at j0")
    ax.plot(m, c.mean(axis=1), "s-", color="C1", label="coherence: mean |cos(Back_{i0->j0}, Back_{i->j})|")
    ax.plot(m, c.mean(axis=1)[0] * np.sqrt(m[0] / m), "k:", lw=1, label="∝ 1/sqrt(m)")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("width m")
    ax.set_ylabel("ratio (dimensionless)")
    ax.set_title("changing one pair (i0 -> j0)")
    ax.legend(fontsize=7)
    for width, (pos, mv) in moved.items():
        ax2.plot(pos, mv, "o-", color=color_for_width(width), label=f"m = {width}")
    ax2.axvline(j0, color="grey", lw=0.8, ls="--")
    ax2.set_yscale("log")
    ax2.set_xlabel("output position j")
    ax2.set_ylabel("rms change of prediction (target std)")
    ax2.set_title(f"how far each output moved (j0 = {j0})")
    ax2.legend(fontsize=7)
    return fig


# -- the chapter's figures from its studies (rnnlib.studies.why) ---------------------------------

def plot_lemma_study(study) -> tuple:
    """(:func:`plot_indicator_fits`, :func:`plot_lemma_error`) of a :class:`rnnlib.studies.why.LemmaStudy`."""
    u = np.linspace(-1, 1, study.rates[0].curves.shape[1])
    curves = {r.config.phi: {"phi": _phi_values(r.config.phi, u),
                             **{f"M = {M:,}": c for M, c in zip(r.config.curve_ms, r.curves)}} for r in study.rates}
    errors = {r.config.phi: r.errors for r in study.rates}
    second = {r.config.phi: r.second_moment for r in study.rates}
    slopes = {p: study.slope(p) for p in study.phis}
    return plot_indicator_fits(u, curves), plot_lemma_error(study.ms, errors, second, slopes)


def _phi_values(name: str, u: np.ndarray) -> np.ndarray:
    from ..smooth import smooth_function

    return smooth_function(name)(u)


def plot_lemma_noise_study(study):
    """:func:`plot_lemma_noise` of a :class:`rnnlib.studies.why.LemmaStudy`'s noisy fits."""
    errors = {}
    for r in study.noise:
        errors[f"{r.config.phi}, plain fit"] = r.plain
        errors[f"{r.config.phi}, noise-aware fit"] = r.aware
    return plot_lemma_noise(study.noise[0].config.taus, errors, study.noise[0].config.M)


def plot_existence_study(study):
    """:func:`plot_w_star` of a :class:`rnnlib.studies.why.ExistenceStudy` (scatter at the largest width)."""
    last = study.last
    scatter = (last.scatter[0], last.scatter[1], f"phi = {last.config.scatter_phi}, m = {last.config.width}")
    return plot_w_star(study.widths, {p: study.grid("pseudo_error", p) for p in study.phis},
                       {p: study.median("predicted", p) for p in study.phis}, scatter)


def plot_interference_study(study):
    """:func:`plot_interference` of a :class:`rnnlib.studies.why.InterferenceStudy` (moves of seed 0)."""
    moved = {m: (row[0].positions, row[0].moved) for m, row in zip(study.widths, study.runs)}
    return plot_interference(study.widths, study.ratios, study.coherence, moved, study.pair[1])
