"""Figures of chapter 7, baselines and limits: the comparison of methods on chapter 5's headline task,
targets outside the class, and the sweeps of the input scale ``eps_x`` and the output scale ``lambda``.

Paper: Allen-Zhu & Li (2019), Theorem 1 and section 3 (recalled): other methods beside SGD on ``W``, and
targets outside the additive class; the paper itself has no experiments."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..headline import METHOD_LABELS
from .style import color_for_width, new_figure

__all__ = [
    "BASELINE_LABELS",
    "plot_baselines",
    "plot_method_comparison",
    "plot_eps_study",
    "plot_eps_sweep",
    "plot_lambda_study",
    "plot_lambda_sweep",
    "plot_outside",
    "plot_outside_study",
]

BASELINE_LABELS = {
    "sgd_w": "SGD on W (the paper)",
    "random_features": "B only (random features, ridge)",
    "ntk_ridge": "W-only NTK at init (kernel ridge)",
    "sgd_wa": "SGD on W and A",
    "full_training": "W, A, B with Adam",
    "linear_ridge": "linear ridge on tokens",
}
_STYLE = {"sgd_w": ("k", "o", "-"), "random_features": ("C0", "s", "--"), "ntk_ridge": ("C1", "^", "--"),
          "sgd_wa": ("C2", "D", "-"), "full_training": ("C3", "v", "-"), "linear_ridge": ("C4", "x", ":")}


def _band(ax, x, err, color, marker, ls, label):
    err = np.asarray(err, dtype=float)
    mean = err.mean(axis=1)
    ax.plot(x, mean, marker=marker, ls=ls, color=color, label=label)
    if err.shape[1] > 1:
        ax.fill_between(x, err.min(axis=1), err.max(axis=1), color=color, alpha=0.12)


def plot_baselines(n_values: Sequence[int], errors: Mapping[str, np.ndarray], *, title: str = ""):
    """Test error versus samples ``N`` for every baseline (mean over seeds, band = range).

    Args:
        n_values: the sample sizes.
        errors: ``{baseline name: (len(n_values), n_seeds)}`` standardized test errors.
    """
    fig, ax = new_figure(1, 1, width=6.2, height=4.2)
    x = np.asarray(n_values, dtype=float)
    for name, err in errors.items():
        color, marker, ls = _STYLE.get(name, ("grey", "o", "-"))
        _band(ax, x, err, color, marker, ls, BASELINE_LABELS.get(name, name))
    ax.set_xscale("log")
    ax.set_xlabel("training samples N")
    ax.set_ylabel("standardized test MSE (1 = predicting the mean)")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_outside(n_values: Sequence[int], errors: Mapping[str, np.ndarray], *, target: float | None = None,
                 title: str = ""):
    """Test error of SGD on W versus ``N`` for targets inside and outside the class.

    Args:
        n_values: the sample sizes.
        errors: ``{target name: (len(n_values), n_seeds)}``.
        target: a horizontal line at the error used to count samples needed.
    """
    fig, ax = new_figure(1, 1, width=6.2, height=4.2)
    x = np.asarray(n_values, dtype=float)
    markers = "osD^vx"
    for k, (name, err) in enumerate(errors.items()):
        _band(ax, x, err, f"C{k}", markers[k % len(markers)], "-" if name == "additive" else "--", name)
    if target is not None:
        ax.axhline(target, color="grey", lw=0.8, ls=":")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.set_xlabel("training samples N")
    ax.set_ylabel("standardized test MSE")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return fig


def plot_eps_sweep(eps_values: Sequence[float], sgd: np.ndarray, rf: np.ndarray, flips: np.ndarray,
                   displacement: np.ndarray):
    """Input scale ``eps_x``: test error (SGD on W, random features) and how far training went.

    Args:
        eps_values: the ``eps_x`` values.
        sgd, rf: ``(len(eps_values), n_seeds)`` test errors.
        flips: ``(len(eps_values), n_seeds)`` fraction of activation patterns flipped by training.
        displacement: ``(len(eps_values), n_seeds)`` ``||W_T - W_0||_F``.
    """
    fig, (ax, ax2) = new_figure(2, 1, width=4.6, height=3.6)
    x = np.asarray(eps_values, dtype=float)
    _band(ax, x, sgd, "k", "o", "-", "SGD on W")
    _band(ax, x, rf, "C0", "s", "--", "B only (random features)")
    ax.set_xscale("log")
    ax.set_xlabel("input scale eps_x")
    ax.set_ylabel("standardized test MSE")
    ax.set_title("test error")
    ax.legend(fontsize=8)
    _band(ax2, x, flips, "C3", "o", "-", "patterns flipped by training (fraction)")
    _band(ax2, x, displacement, "C2", "s", "--", "||W_T - W_0||_F")
    ax2.set_xscale("log")
    ax2.set_yscale("log")
    ax2.set_xlabel("input scale eps_x")
    ax2.set_ylabel("value (fraction or Frobenius norm)")
    ax2.set_title("how far SGD moved")
    ax2.legend(fontsize=8)
    return fig


def plot_lambda_sweep(lambdas: Sequence[float], widths: Sequence[int], test: np.ndarray, init: np.ndarray,
                      displacement: np.ndarray, flips: np.ndarray):
    """Output scale ``lambda`` at two or more widths: errors, displacement of W, flipped patterns.

    Args:
        lambdas: the ``lambda`` values.
        widths: the widths.
        test, init, displacement, flips: ``(len(widths), len(lambdas))`` arrays: test error after
            training, test error at initialization, ``||W_T - W_0||_F`` and flipped-pattern fraction.
    """
    fig, axes = new_figure(3, 1, width=3.6, height=3.4)
    x = np.asarray(lambdas, dtype=float)
    for a, m in enumerate(widths):
        c = color_for_width(m)
        axes[0].plot(x, test[a], "o-", color=c, label=f"m = {m}, trained")
        axes[0].plot(x, init[a], "s:", color=c, label=f"m = {m}, at init")
        axes[1].plot(x, displacement[a], "o-", color=c, label=f"m = {m}")
        axes[2].plot(x, flips[a], "o-", color=c, label=f"m = {m}")
    axes[1].plot(x, displacement[0][-1] * x[-1] / x, "k:", lw=1, label="∝ 1/lambda")
    titles = ["test error", "how far W moved", "activation patterns flipped"]
    ylabels = ["standardized test MSE", "||W_T - W_0||_F", "fraction of patterns"]
    for ax, t, yl in zip(axes, titles, ylabels):
        ax.set_xscale("log")
        ax.set_xlabel("output scale lambda")
        ax.set_ylabel(yl)
        ax.set_title(t)
        ax.legend(fontsize=7)
    axes[1].set_yscale("log")
    return fig


# -- the chapter's figures from its studies (rnnlib.studies.baselines) ---------------------------

_HEADLINE_STYLE = {"sgd_w": ("k", "o", "-"), "sgd_wa": ("C2", "D", "-"), "linear_ridge": ("C4", "x", ":"),
                   "random_features": ("C0", "s", "--"), "ntk_ridge": ("C1", "^", "--")}


def plot_method_comparison(comparison):
    """Test error against ``N`` of every method at each length of a
    :class:`rnnlib.studies.baselines.MethodComparison` (mean over seeds, band = range; dashed: the
    target errors; the NTK's curve ends where its budget stops it), and a last panel with the old
    ``sin 3z`` task, where linear ridge wins."""
    h = comparison.headline
    fig, axes = new_figure(len(comparison.lengths) + 1, 1, width=3.6, height=3.5)
    for ax, L in zip(axes, comparison.lengths):
        for m, (color, marker, ls) in _HEADLINE_STYLE.items():
            N, mean, low, high = comparison.errors(m, L)
            ax.plot(N, mean, marker=marker, ls=ls, color=color, ms=4, label=METHOD_LABELS[m])
            ax.fill_between(N, low, high, color=color, alpha=0.12)
            if m == "ntk_ridge" and len(N) and N[-1] < h.design.n_grid[-1]:
                ax.annotate("NTK stops\n(N L budget)", (N[-1], mean[-1]), fontsize=7, color=color,
                            xytext=(4, 8), textcoords="offset points")
        for t in comparison.targets:
            ax.axhline(t, color="0.6", lw=0.7, ls="--")
        ax.set_xscale("log")
        ax.set_ylim(0, 1.3)
        ax.set_xlabel("training samples N")
        ax.set_title(f"headline task, L = {L}", fontsize=9)
    axes[0].set_ylabel("standardized test error")
    axes[0].legend(fontsize=7, loc="lower left")
    ax = axes[-1]
    for m in ("sgd_w", "linear_ridge"):
        c = h.curves(m, "sin3z")
        color, marker, ls = _HEADLINE_STYLE[m]
        v = c.values[0]
        ax.plot(c.x, v.mean(axis=1), marker=marker, ls=ls, color=color, ms=4, label=METHOD_LABELS[m])
        ax.fill_between(c.x, v.min(axis=1), v.max(axis=1), color=color, alpha=0.12)
    ax.set_xscale("log")
    ax.set_ylim(0, 1.3)
    ax.set_xlabel("training samples N")
    ax.set_title(f"old task sin(3z), L = {int(h.curves('sgd_w', 'sin3z').groups[0])}", fontsize=9)
    ax.legend(fontsize=7)
    return fig


def plot_outside_study(study, *, width: int | None = None, length: int | None = None):
    """:func:`plot_outside` of a :class:`rnnlib.studies.baselines.Outside` (one seed)."""
    width = study.width if width is None else width
    length = study.length if length is None else length
    return plot_outside(study.n_grid, {t: v[:, None] for t, v in study.errors.items()}, target=study.target_error,
                        title=f"SGD on W, L = {length}, m = {width}: inside and outside the class")


def plot_eps_study(study):
    """:func:`plot_eps_sweep` of a :class:`rnnlib.studies.baselines.EpsSweep`."""
    return plot_eps_sweep(study.eps, study.sgd, study.rf, study.flips, study.disp)


def plot_lambda_study(study):
    """:func:`plot_lambda_sweep` of a :class:`rnnlib.studies.baselines.LambdaSweep`."""
    return plot_lambda_sweep(study.lambdas, study.widths, study.test, study.init, study.disp, study.flips)
