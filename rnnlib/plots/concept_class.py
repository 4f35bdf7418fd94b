"""Figures of Chapter 2, the concept class: tokens, smooth functions and their complexity, targets.

Paper: the setup of Allen-Zhu & Li (2019), Section 3 (as restated by Panigrahi & Goyal 2021).
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from .._checks import as_array, check_float, check_int
from ..concept import AdditiveConcept
from ..smooth import C_STAR, smooth_function
from ..tokens import sample_tokens
from .style import color_for_length, new_figure

__all__ = ["plot_tokens", "plot_taylor_truncations", "plot_complexity", "plot_targets",
           "plot_target_variance", "plot_label_noise", "plot_concept_explorer"]


def plot_tokens(x_star, x):
    """One sequence before and after the input normalization (the paper's setup, Section 3).

    Args:
        x_star: raw tokens of one sequence, shape ``(L - 1, token_dim)`` (from ``sample_tokens``).
        x: the network inputs of the same sequence, shape ``(L, token_dim + 1)`` (from ``embed``).

    Returns:
        a Figure: (a) the raw tokens ``x*_l`` as columns; (b) the inputs ``x_l`` with the start
        token first; (c) the norms of both.
    """
    x_star = as_array("x_star", x_star, ndim=2)
    x = as_array("x", x, ndim=2)
    if x.shape != (x_star.shape[0] + 1, x_star.shape[1] + 1):
        raise ValueError(f"x must have shape (L, token_dim + 1) = {(x_star.shape[0] + 1, x_star.shape[1] + 1)} "
                         f"for x_star of shape {x_star.shape}, got {x.shape}")
    L = x.shape[0]
    fig, axes = new_figure(3, width=4.0, height=3.6)
    vmax = np.abs(x_star).max()
    for ax, data, first, title in ((axes[0], x_star.T, 2, r"(a) raw tokens $x^*_\ell$"),
                                   (axes[1], x.T, 1, r"(b) network inputs $x_\ell$")):
        im = ax.imshow(data, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
        ax.set_xticks(range(data.shape[1]), [str(first + k) for k in range(data.shape[1])])
        ax.set_yticks(range(data.shape[0]), [str(k + 1) for k in range(data.shape[0])])
        ax.set_xlabel(r"position $\ell$")
        ax.set_ylabel("coordinate")
        ax.set_title(title)
        ax.grid(False)
    fig.colorbar(im, ax=axes[:2], shrink=0.85, label="value")
    ell = np.arange(1, L + 1)
    axes[2].plot(ell[1:], np.linalg.norm(x_star, axis=1), "o-", label=r"$\|x^*_\ell\|$")
    axes[2].plot(ell, np.linalg.norm(x, axis=1), "s--", label=r"$\|x_\ell\|$")
    axes[2].plot(ell[1:], x_star[:, -1], "^:", label=r"last coordinate of $x^*_\ell$")
    axes[2].set_ylim(0, 1.15)
    axes[2].set_xlabel(r"position $\ell$")
    axes[2].set_ylabel("norm / value")
    axes[2].set_title("(c) norms")
    axes[2].legend(fontsize=8, loc="lower right")
    return fig


def _sup_error(phi, order: int, z: np.ndarray) -> float:
    return float(np.max(np.abs(phi(z) - phi.taylor(z, order))))


def plot_taylor_truncations(phis: Sequence, orders: Sequence[int], *, z_max: float = 1.0,
                            n_points: int = 401):
    """Smooth functions beside their Taylor truncations ``sum_{i <= n} c_i z^i`` (the complexity of
    the paper's Section 3).

    Args:
        phis: smooth functions (names or :class:`~rnnlib.smooth.SmoothFunction`).
        orders: truncation orders ``n`` to draw.
        z_max: the panels show ``|z| <= z_max`` (the concept's arguments lie in ``[-1, 1]``).
        n_points: grid points.

    Returns:
        a Figure with one panel per function (the radius of convergence, when finite and inside
        the range, is marked), and a last panel with ``sup_{|z| <= z_max} |phi - T_n phi|``
        against ``n``.
    """
    phis = [smooth_function(p) for p in phis]
    orders = [check_int("orders", o, minimum=0) for o in orders]
    z_max = check_float("z_max", z_max, positive=True)
    n_points = check_int("n_points", n_points, minimum=3)
    if not phis or not orders:
        raise ValueError("phis and orders must be non-empty")
    z = np.linspace(-z_max, z_max, n_points)
    ncols = min(3, len(phis) + 1)
    nrows = math.ceil((len(phis) + 1) / ncols)
    fig, axes = new_figure(ncols, nrows, width=3.8, height=3.0, squeeze=False)
    axes = axes.ravel()
    import matplotlib.pyplot as plt

    cmap = plt.get_cmap("viridis")
    for ax, phi in zip(axes, phis):
        exact = phi(z)
        span = exact.max() - exact.min()
        for k, n in enumerate(orders):
            ax.plot(z, phi.taylor(z, n), color=cmap(0.1 + 0.8 * k / max(1, len(orders) - 1)), lw=1.2,
                    label=f"order {n}")
        ax.plot(z, exact, color="black", lw=2.2, ls=(0, (4, 2)), label=phi.name)
        ax.set_ylim(exact.min() - 0.3 * span - 0.05, exact.max() + 0.3 * span + 0.05)
        if phi.radius < z_max:
            for s in (-1, 1):
                ax.axvline(s * phi.radius, color="crimson", lw=1, ls=":")
            ax.text(phi.radius, ax.get_ylim()[0], " radius\n $\\pi/(2k)$", color="crimson", fontsize=7,
                    va="bottom")
        ax.set_xlabel("$z$")
        ax.set_ylabel(r"$\phi(z)$ and truncations")
        ax.set_title(phi.name)
    axes[0].legend(fontsize=7, loc="best")
    err_ax = axes[len(phis)]
    all_orders = np.arange(0, max(orders) + 1)
    for phi in phis:
        errors = [_sup_error(phi, n, z) for n in all_orders]
        err_ax.semilogy(all_orders, np.maximum(errors, 1e-17), "o-", ms=3, label=phi.name)
    err_ax.set_xlabel("truncation order $n$")
    err_ax.set_ylabel(f"max error on $|z| \\leq {z_max:g}$")
    err_ax.set_title("truncation error")
    err_ax.legend(fontsize=7, loc="best")
    for ax in axes[len(phis) + 1:]:
        ax.set_visible(False)
    return fig


def _complexity_curves(panels, phis) -> list[list[np.ndarray]]:
    """Every panel's curve of every function, read through the engine's cache (one read for all)."""
    from ..complexity_kinds import ComplexityCurve
    from ..engine import run_many

    cfgs = [ComplexityCurve.of(phi, measure, radii, eps=kwargs.get("eps", 0.1), c_star=kwargs["c_star"])
            for _, radii, measure, kwargs, *_ in panels for phi in phis]
    values = iter(r.values for r in run_many(cfgs, progress=False, desc="complexity"))
    return [[next(values) for _ in phis] for _ in panels]


def plot_complexity(phis: Sequence, *, radii_sample: Sequence[float], radii_eps: Sequence[float],
                    radii_eps_cstar: Sequence[float], eps: float = 0.1, c_star: float = C_STAR,
                    lengths: Sequence[int] = (10, 100), ymax: float = 30.0):
    """``C_s`` and ``C_eps`` against the radius ``R`` on log scales (the paper's Section 3).

    Args:
        phis: smooth functions (names or :class:`~rnnlib.smooth.SmoothFunction`).
        radii_sample: radii of panel (a), ``log10 C_s(phi, R)`` with ``C* = c_star``.
        radii_eps: radii of panel (b), ``log10 C_eps(phi, R)`` with ``C* = 1`` (shape only).
        radii_eps_cstar: radii of panel (c), ``log10 C_eps(phi, R)`` with ``C* = c_star``. Keep
            these small: the cost grows like ``c_star * R`` for entire functions.
        eps: the accuracy in ``C_eps``.
        c_star: the constant ``C*`` (the paper's value, after Panigrahi & Goyal, is ``1e4``).
        lengths: mark ``R = sqrt(L)`` for these ``L`` (the radius of Theorem 1 as recalled).
        ymax: upper limit of panels (a) and (b), so that the power laws of the polynomials stay
            readable; faster-growing curves leave the frame.

    Returns:
        a Figure with three panels and a shared legend. Each panel draws ``log10`` of a
        complexity against ``R`` (log axis). Panel (c) also uses a log axis for ``log10 C_eps``.
        A function whose series diverges (tanh beyond its radius) is drawn only where it is
        finite; a cross marks its last finite point and the legend gives the radius of divergence.
    """
    phis = [smooth_function(p) for p in phis]
    eps = check_float("eps", eps, positive=True, below=1.0)
    c_star = check_float("c_star", c_star, positive=True)
    ymax = check_float("ymax", ymax)
    import matplotlib.pyplot as plt

    fig, axes = new_figure(3, width=4.2, height=3.6)
    colors = plt.get_cmap("tab10")
    styles = ["-", "--", "-.", ":"]
    panels = (
        (axes[0], np.asarray(radii_sample, float), "sample", {"c_star": c_star},
         f"(a) $C_s(\\phi, R)$, $C^* = {c_star:g}$", r"$\log_{10} C_s$"),
        (axes[1], np.asarray(radii_eps, float), "eps", {"eps": eps, "c_star": 1.0},
         "(b) $C_\\varepsilon(\\phi, R)$, $C^* = 1$ (shape only)", r"$\log_{10} C_\varepsilon$"),
        (axes[2], np.asarray(radii_eps_cstar, float), "eps", {"eps": eps, "c_star": c_star},
         f"(c) $C_\\varepsilon(\\phi, R)$, $C^* = {c_star:g}$", r"$\log_{10} C_\varepsilon$ (log axis)"),
    )
    for _, radii, *_ in panels:
        if radii.ndim != 1 or radii.size < 2 or not np.all(radii > 0):
            raise ValueError(f"radii must be 1-d with at least 2 positive values, got {radii!r}")
    handles = {}
    for (ax, radii, _, _, title, ylabel), curves in zip(panels, _complexity_curves(panels, phis)):
        for k, (phi, values) in enumerate(zip(phis, curves)):
            finite = np.isfinite(values)
            # dotted curves go on top: sin(kz) and cos(kz) - 1 nearly coincide at large R
            ls = styles[k % len(styles)]
            style = dict(color=colors(k), ls=ls, lw=1.6, zorder=3 if ls == ":" else 2)
            line = ax.plot(radii[finite], values[finite], **style)[0] if finite.any() else None
            if finite.any() and not finite.all():
                last = np.flatnonzero(finite)[-1]
                ax.plot(radii[last], values[last], "x", ms=9, mew=2, color=colors(k))
            if phi.name not in handles:
                handles[phi.name] = line if line is not None else ax.plot([], [], **style)[0]
        ax.set_xscale("log")
        if ax is axes[2]:
            ax.set_yscale("log")
        else:
            ax.set_ylim(top=ymax)
        for L in lengths:
            ax.axvline(math.sqrt(L), color="0.5", lw=0.8, ls=":")
            ax.text(math.sqrt(L), 0.02, f" $\\sqrt{{{L}}}$", transform=ax.get_xaxis_transform(), fontsize=7,
                    color="0.4")
        ax.set_xlabel("radius $R$")
        ax.set_ylabel(ylabel)
        ax.set_title(title, fontsize=10)
    labels = []
    for phi in phis:
        label = phi.name
        if phi.degree is None and math.isfinite(phi.radius):
            label += (f" (C_s = ∞ for R ≥ {phi.radius:.2g}; C_ε = ∞ for R ≥ {phi.radius:.2g}/C*)")
        labels.append(label)
    fig.legend([handles[p.name] for p in phis], labels, loc="outside lower center", ncol=4, fontsize=8,
               frameon=False)
    return fig


def plot_targets(y, labelled, *, n_show: int = 6):
    """Targets ``F*_j`` at every position for several sequences (the paper's Section 3).

    Args:
        y: targets, shape ``(n, L, 1)`` or ``(n, L)`` (``AdditiveConcept(..., labels="all")(x*)``).
        labelled: boolean mask over positions, shape ``(L,)``.
        n_show: sequences drawn in panel (a).

    Returns:
        a Figure: (a) ``F*_j`` against ``j`` for ``n_show`` sequences; (b) the spread across all
        ``n`` sequences at each labelled position (5-95 % band, standard deviation).
    """
    y = as_array("y", y)
    y = y[..., 0] if y.ndim == 3 else y
    if y.ndim != 2:
        raise ValueError(f"y must have shape (n, L) or (n, L, 1), got {y.shape}")
    labelled = np.asarray(labelled, dtype=bool)
    if labelled.shape != (y.shape[1],):
        raise ValueError(f"labelled must have shape ({y.shape[1]},), got {labelled.shape}")
    n_show = check_int("n_show", n_show, minimum=1)
    pos = np.flatnonzero(labelled) + 1
    fig, (ax0, ax1) = new_figure(2, width=4.8, height=3.5)
    for s in range(min(n_show, y.shape[0])):
        ax0.plot(pos, y[s, labelled], "o-", ms=3.5, lw=1.2, label=f"sequence {s + 1}")
    ax0.axhline(0, color="0.3", lw=0.8)
    ax0.set_xlabel("output position $j$")
    ax0.set_ylabel(r"target $F^*_j(x^*)$")
    ax0.set_title("(a) targets of a few sequences")
    ax0.legend(fontsize=7, ncol=2)
    lab = y[:, labelled]
    lo, hi = np.percentile(lab, [5, 95], axis=0)
    ax1.fill_between(pos, lo, hi, alpha=0.25, label="5–95 % of sequences")
    ax1.plot(pos, lab.mean(axis=0), "k-", lw=1.5, label="mean")
    ax1.plot(pos, lab.std(axis=0), "o--", ms=3.5, label="standard deviation")
    ax1.set_xlabel("output position $j$")
    ax1.set_ylabel(r"$F^*_j$ across sequences")
    ax1.set_title(f"(b) spread over {y.shape[0]} sequences")
    ax1.legend(fontsize=7)
    return fig


def plot_target_variance(n_terms, var_raw, var_normalized):
    """How ``Var F*_L`` grows with the number of input tokens, raw versus normalized.

    Args:
        n_terms: number of input positions feeding the last output (``L - 1``), shape ``(k,)``.
        var_raw: ``Var F*_L`` with ``normalize=False``, shape ``(k,)`` or ``(n_concepts, k)``.
        var_normalized: the same with ``normalize=True``.

    Returns:
        a log-log Figure with the median over concepts, the min-max band and a fitted power law.
    """
    n_terms = as_array("n_terms", n_terms, ndim=1)
    fig, ax = new_figure(1, width=5.2, height=3.8)
    for name, values, marker in (("normalize=False", var_raw, "o"), ("normalize=True", var_normalized, "s")):
        v = np.atleast_2d(as_array(name, values))
        if v.shape[1] != n_terms.size:
            raise ValueError(f"{name} values must have {n_terms.size} columns, got shape {v.shape}")
        med = np.median(v, axis=0)
        slope, icpt = np.polyfit(np.log10(n_terms), np.log10(med), 1)
        line = ax.plot(n_terms, med, marker + "-", ms=4, label=f"{name}: slope {slope:.2f}")[0]
        if v.shape[0] > 1:
            ax.fill_between(n_terms, v.min(axis=0), v.max(axis=0), color=line.get_color(), alpha=0.2, lw=0)
        ax.plot(n_terms, 10 ** (icpt + slope * np.log10(n_terms)), ":", color=line.get_color(), lw=1)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"input tokens feeding the output, $L - 1$")
    ax.set_ylabel(r"$\mathrm{Var}\, F^*_L$")
    ax.set_title("target variance against length")
    ax.legend(fontsize=8)
    return fig


def plot_label_noise(relative_noise, opt_relative, opt_standardized):
    """OPT under Gaussian label noise (the paper's agnostic setting).

    Args:
        relative_noise: noise standard deviations in units of the noise-free target's standard
            deviation, shape ``(k,)``.
        opt_relative: measured mean squared error of the true concept on noisy labels, divided by
            ``Var F*``, shape ``(k,)``.
        opt_standardized: the same error divided by ``Var y`` (the book's standardized MSE).

    Returns:
        a Figure with both measurements and the predictions ``s^2`` and ``s^2 / (1 + s^2)``.
    """
    s = as_array("relative_noise", relative_noise, ndim=1)
    rel = as_array("opt_relative", opt_relative, ndim=1)
    std = as_array("opt_standardized", opt_standardized, ndim=1)
    if not (s.shape == rel.shape == std.shape):
        raise ValueError(f"the three arrays must have equal shapes, got {s.shape}, {rel.shape}, {std.shape}")
    grid = np.linspace(0, s.max() * 1.05, 200)
    fig, ax = new_figure(1, width=5.2, height=3.8)
    ax.plot(grid, grid ** 2, "C0-", lw=1, label=r"$s^2$")
    ax.plot(s, rel, "C0o", label=r"measured MSE$(F^*, y)$ / Var $F^*$")
    ax.plot(grid, grid ** 2 / (1 + grid ** 2), "C1-", lw=1, label=r"$s^2/(1+s^2)$")
    ax.plot(s, std, "C1s", label=r"measured MSE$(F^*, y)$ / Var $y$ (standardized)")
    ax.set_xlabel(r"label noise $s = \sigma / \mathrm{sd}(F^*)$")
    ax.set_ylabel("error of the true concept (OPT)")
    ax.set_title("OPT under label noise")
    ax.legend(fontsize=8)
    return fig


def plot_concept_explorer(length: int, phi, *, token_dim: int = 8, n_sequences: int = 5, n_stats: int = 400,
                          seed: int = 0):
    """A random concept of the additive class for a chosen ``L`` and ``phi`` (the Chapter 2 widget).

    Draws ``AdditiveConcept(length, token_dim, phi=phi, labels="all", seed=seed)`` and
    ``n_stats`` sequences from ``sample_tokens(..., seed=seed + 1)``, all deterministic.

    Returns:
        a Figure: (a) ``phi`` on ``[-1, 1]``; (b) ``F*_j`` against ``j`` for ``n_sequences``
        sequences, over the 5-95 % band of all ``n_stats``.
    """
    length = check_int("length", length, minimum=2)
    phi = smooth_function(phi)
    n_sequences = check_int("n_sequences", n_sequences, minimum=1)
    n_stats = check_int("n_stats", n_stats, minimum=n_sequences)
    concept = AdditiveConcept(length, token_dim, phi=phi, labels="all", seed=seed)
    x_star = sample_tokens(n_stats, length, token_dim, seed=seed + 1)
    y = concept(x_star)[..., 0]
    pos = np.flatnonzero(concept.labelled) + 1
    lab = y[:, concept.labelled]
    fig, (ax0, ax1) = new_figure(2, width=4.4, height=3.3)
    z = np.linspace(-1, 1, 201)
    ax0.plot(z, phi(z), color="black", lw=2)
    ax0.set_xlabel("$z$")
    ax0.set_ylabel(r"$\phi(z)$")
    ax0.set_title(f"(a) $\\phi$ = {phi.name}")
    lo, hi = np.percentile(lab, [5, 95], axis=0)
    color = color_for_length(length)
    ax1.fill_between(pos, lo, hi, color=color, alpha=0.2, lw=0, label=f"5–95 % of {n_stats} sequences")
    for s in range(n_sequences):
        ax1.plot(pos, lab[s], "o-", ms=3, lw=1, label="a few sequences" if s == 0 else None)
    ax1.axhline(0, color="0.3", lw=0.8)
    ax1.set_xlabel("output position $j$")
    ax1.set_ylabel(r"target $F^*_j(x^*)$")
    ax1.set_title(f"(b) targets at every position, $L$ = {length}")
    ax1.legend(fontsize=7, loc="best")
    return fig
