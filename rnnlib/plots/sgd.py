"""Figures of chapter 4, SGD on W.

Paper: Allen-Zhu & Li (2019), Theorem 1 (its SGD algorithm and constants), the lazy regime of its proof
and the pseudo-network (first-order expansion in W'; section 5), recalled, as restated by Panigrahi &
Goyal 2021.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
from matplotlib.ticker import NullLocator

from .style import color_for_length, color_for_width, new_figure

__all__ = ["plot_theory_versus_practice", "plot_training_curves", "plot_lazy_regime",
           "plot_pseudo_network", "plot_training_run"]


def _curves(ax, history: dict, color, label: str, *, train: bool = True):
    ax.plot(history["eval_epoch"], history["test_mse"], "o-", color=color, ms=3, lw=1.6, label=label)
    if train:
        ax.plot(history["epoch"][1:], history["train_mse"][1:], "--", color=color, lw=1.0, alpha=0.8)


def plot_theory_versus_practice(theory, practical):
    """Test (and training) error of the theorem's ``lambda``, ``eta`` against the practical scaling.

    Args:
        theory, practical: :class:`rnnlib.ExperimentResult` of the same task, one run with the
            theorem's output scale and step size, one with ``eta = c / (lambda^2 L m)``.
    """
    fig, ax = new_figure(width=5.6, height=3.8)
    for res, col, name in ((theory, "tab:red", "theorem's scaling"), (practical, "tab:blue", "practical scaling")):
        cfg = res.config
        label = (f"{name}: $\\lambda$ = {cfg.output_scale:.2g}, $\\eta$ = {res.lr:.2g}, "
                 f"$\\|W_T - W_0\\|_F$ = {res.w_displacement:.2g}")
        _curves(ax, res.history, col, label)
    ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
    ax.set_xlabel("epoch")
    ax.set_ylabel("standardized MSE (1 = predict the mean)")
    ax.set_title(f"SGD on W, L = {practical.config.length}, m = {practical.config.width}, "
                 f"N = {practical.config.n_train}")
    ax.legend(fontsize=7, loc="lower left", title="test (solid), training (dashed)", title_fontsize=7)
    return fig


def plot_training_curves(results: Sequence):
    """Test (solid) and training (dashed) standardized MSE versus epoch, one colour per width."""
    fig, ax = new_figure(width=5.6, height=3.8)
    for res in sorted(results, key=lambda r: r.config.width):
        _curves(ax, res.history, color_for_width(res.config.width), f"m = {res.config.width}")
    ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
    cfg = results[0].config
    ax.set_xlabel("epoch")
    ax.set_ylabel("standardized MSE (1 = predict the mean)")
    ax.set_title(f"SGD on W: L = {cfg.length}, N = {cfg.n_train}, {cfg.phi}")
    ax.legend(fontsize=7, ncol=2, title="test (solid), training (dashed)", title_fontsize=7)
    return fig


def _loglog_fit(ax, x, y, style, color, label, slope):
    ax.plot(x, y, style, color=color, ms=5, label=f"{label} (slope {slope:.2f})")


def plot_lazy_regime(summary: Mapping[str, np.ndarray], fits: Mapping[str, tuple]):
    """How far SGD moves W versus the width (log-log, with fitted power laws).

    Args:
        summary: :func:`rnnlib.lazy_summary` of a width sweep.
        fits: name -> ``(slope, c, stderr)`` from :func:`rnnlib.fit_power_law` for the keys
            ``displacement_fro``, ``displacement_spectral``, ``relative`` and ``pattern_flips``.
    """
    m = summary["width"]
    fig, axes = new_figure(ncols=3, width=3.9, height=3.5)
    ax = axes[0]
    for key, st, col, name in (("displacement_fro", "o", "tab:blue", r"$\|W_T - W_0\|_F$"),
                               ("displacement_spectral", "s", "tab:orange", r"$\|W_T - W_0\|_2$")):
        slope, c, _ = fits[key]
        ax.plot(m, summary[key], st, color=col, ms=5, label=f"{name} (slope {slope:.2f})")
        ax.plot(m, c * m ** slope, "-", color=col, lw=1, alpha=0.7)
    ax.set_ylabel("norm of the displacement")
    ax.set_title("how far W moves")
    ax = axes[1]
    slope, c, _ = fits["relative"]
    ax.plot(m, summary["relative"], "o", color="tab:green", ms=5,
            label=rf"$\|W_T - W_0\|_F / \|W_0\|_F$ (slope {slope:.2f})")
    ax.plot(m, c * m ** slope, "-", color="tab:green", lw=1, alpha=0.7)
    ax.plot(m, summary["relative"][0] * m[0] / m, "k:", lw=1.2, label=r"$\propto 1/m$")
    ax.set_ylabel("relative displacement")
    ax.set_title("relative to the initialization")
    ax = axes[2]
    slope, c, _ = fits["pattern_flips"]
    ax.plot(m, summary["pattern_flips"], "o", color="tab:purple", ms=5,
            label=f"flipped patterns (slope {slope:.2f})")
    ax.plot(m, c * m ** slope, "-", color="tab:purple", lw=1, alpha=0.7)
    ax.plot(m, summary["pattern_flips"][0] * np.sqrt(m[0] / m), "k:", lw=1.2, label=r"$\propto 1/\sqrt{m}$")
    ax.set_ylabel(r"fraction of $D_l$ flipped by training")
    ax.set_title("activation patterns")
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(m, [str(int(v)) for v in m])
        ax.xaxis.set_minor_locator(NullLocator())  # keep only the width ticks
        ax.set_xlabel("width m")
        ax.legend(fontsize=7)
    return fig


def plot_pseudo_network(trackers: Mapping[int, object], output_scale: float, *,
                        scatter_widths: Sequence[int] | None = None, fit: tuple | None = None):
    """The pseudo-network at initialization against the trained RNN.

    Args:
        trackers: width ``m`` -> :class:`rnnlib.PseudoNetworkTracker` of a training run.
        output_scale: ``lambda`` (outputs are shown at the network's scale ``lambda B h``).
        scatter_widths: the widths whose final predictions are scattered (default: the
            smallest and the largest).
        fit: optional ``(slope, c, stderr)`` of the final relative error versus ``m``.

    Panels: the trained RNN's output against the linearization ``F(W_0) + F_pseudo(W_T - W_0)``
    on the probe sequences; the relative error of the pseudo-network's change along the
    trajectory; the final relative error versus the width (log-log).
    """
    widths = sorted(trackers)
    scatter_widths = [widths[0], widths[-1]] if scatter_widths is None else list(scatter_widths)
    fig, axes = new_figure(ncols=3, width=3.9, height=3.6)
    ax = axes[0]
    lim = 0.0
    for m in scatter_widths:
        tr = trackers[m]
        true = output_scale * np.asarray(tr.true_output).ravel()
        lin = output_scale * np.asarray(tr.linearized_output).ravel()
        lim = max(lim, np.abs(true).max(), np.abs(lin).max())
        ax.scatter(true, lin, s=8, alpha=0.6, color=color_for_width(m), label=f"m = {m}")
    ax.plot([-lim, lim], [-lim, lim], "k--", lw=1, label="y = x")
    ax.set_xlabel(r"trained RNN, $\lambda F(x; W_T)$")
    ax.set_ylabel(r"linearized, $\lambda [F(x; W_0) + F_{pseudo}(x; W_T - W_0)]$")
    ax.set_title("predictions after training")
    ax.legend(fontsize=7)
    ax = axes[1]
    for m in widths:
        tr = trackers[m]
        ax.plot(tr.epoch[1:], tr.relative_error[1:], "o-", ms=3, color=color_for_width(m), label=f"m = {m}")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("relative error of the pseudo-network")
    ax.set_title("along the SGD trajectory")
    ax.legend(fontsize=7, ncol=2)
    ax = axes[2]
    final = np.array([trackers[m].relative_error[-1] for m in widths])
    mm = np.asarray(widths, dtype=float)
    label = "after training" if fit is None else f"after training (slope {fit[0]:.2f})"
    ax.plot(mm, final, "o", color="tab:blue", ms=5, label=label)
    if fit is not None:
        ax.plot(mm, fit[1] * mm ** fit[0], "-", color="tab:blue", lw=1, alpha=0.7)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xticks(mm, [str(m) for m in widths])
    ax.xaxis.set_minor_locator(NullLocator())  # keep only the width ticks
    ax.set_xlabel("width m")
    ax.set_ylabel(r"$\|F_{pseudo} - \Delta F\| / \|\Delta F\|$")
    ax.set_title("linearization error versus width")
    ax.legend(fontsize=7)
    return fig


def plot_training_run(m: int, L: int, *, base, cache: dict | None = None, progress: bool = False):
    """Train (or look up) SGD on W at width ``m`` and length ``L`` and plot its curves (the chapter's widget).

    The config is :func:`rnnlib.lazy.scaled_config` ``(base, m, L)``: the base task with the
    epochs scaled with ``L``, since the practical step size is proportional to ``1/L``.

    Args:
        m, L: width and length.
        base: the :class:`rnnlib.ExperimentConfig` of the other settings.
        cache: optional dict keyed by the config; a hit skips training, a miss is stored.
        progress: show a progress bar over epochs while training.
    """
    from ..experiment import run_experiment
    from ..lazy import scaled_config

    cfg = scaled_config(base, m, L)
    res = None if cache is None else cache.get(cfg)
    if res is None:
        res = run_experiment(cfg, progress=progress)
        if cache is not None:
            cache[cfg] = res
    fig, ax = new_figure(width=5.4, height=3.6)
    _curves(ax, res.history, color_for_length(L), "test")
    ax.plot([], [], "--", color=color_for_length(L), label="training")
    ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
    text = (f"test MSE {res.test_mse:.3f} (init {res.test_mse_at_init:.3f})\n"
            f"$\\|W_T - W_0\\|_F / \\|W_0\\|_F$ = {res.w_displacement / res.w_init_norm:.2e}\n"
            f"$\\|W_T - W_0\\|_2$ = {res.w_displacement_spectral:.3f}\n"
            f"flipped patterns {100 * res.pattern_flips:.1f}%")
    ax.text(0.98, 0.97, text, transform=ax.transAxes, ha="right", va="top", fontsize=8,
            bbox=dict(boxstyle="round", fc="white", ec="0.7"))
    ax.set_ylim(0, max(1.1, max(res.history["test_mse"]) * 1.05))
    ax.set_xlabel("epoch")
    ax.set_ylabel("standardized MSE")
    ax.set_title(f"SGD on W: m = {m}, L = {L}, N = {cfg.n_train}, {cfg.epochs} epochs")
    ax.legend(fontsize=8, loc="lower left")
    return fig
