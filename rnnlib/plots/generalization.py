"""Figures of chapter 5, generalization (paper.md section 9, E5, E6, E9, E13).

Pure functions: each takes data (results of :func:`rnnlib.sweep`, :class:`rnnlib.generalization.Curves`)
or parameters and returns a matplotlib ``Figure``.  Colours follow
:func:`rnnlib.plots.style.color_for_length` and :func:`~rnnlib.plots.style.color_for_width`.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from ..generalization import Curves, PowerLawFit, ExponentialFit, sample_complexity
from .style import color_for_length, color_for_width, new_figure

__all__ = ["plot_learning_curves", "plot_sample_complexity", "plot_width", "plot_complexity",
           "plot_gap", "plot_length_panel", "plot_width_panel", "plot_run"]

_BOUND_STYLE = {"zhang": ("Zhang et al. factor", "s"), "bartlett": ("Bartlett et al. spectral product", "^"),
                "tu_factor": ("Tu et al. factor", "D")}


def _no_minor_labels(ax, *axes: str):
    """Log axes label only the ticks we set (no '6 x 10^0' minor labels)."""
    from matplotlib.ticker import NullFormatter
    for name in axes:
        getattr(ax, f"{name}axis").set_minor_formatter(NullFormatter())


def _color(by: str, value):
    return color_for_width(int(value)) if by == "width" else color_for_length(int(value))


def _symbol(by: str) -> str:
    return {"length": "L", "width": "m", "n_train": "N"}.get(by, by)


def _draw_curves(ax, curves: Curves, *, target=None, highlight=None, label_fmt="{sym} = {g:g}"):
    mean, sd = curves.mean(), curves.spread()
    sym = _symbol(curves.by)
    for i, g in enumerate(curves.groups):
        faded = highlight is not None and g != highlight
        color = (0.75, 0.75, 0.75) if faded else _color(curves.by, g)
        ok = np.isfinite(mean[i])
        ax.plot(curves.x[ok], mean[i][ok], "o-", color=color, lw=1.2 if faded else 2, ms=4,
                label=label_fmt.format(sym=sym, g=g), zorder=1 if faded else 3)
        if not faded:
            ax.fill_between(curves.x[ok], (mean[i] - sd[i])[ok], (mean[i] + sd[i])[ok], color=color,
                            alpha=0.18, lw=0)
            for s in range(curves.values.shape[2]):
                ax.plot(curves.x, curves.values[i, :, s], ".", color=color, alpha=0.45, ms=4)
            if target is not None:
                ns = sample_complexity(curves.x, mean[i], target)
                if math.isfinite(ns):
                    ax.plot([ns], [target], marker="v", ms=9, color=color, mec="k", zorder=5)
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label=f"target error {target:g}")
    ax.set_xscale("log")
    ax.set_xlabel(f"training samples {_symbol(curves.x_field)}")
    ax.set_ylabel("standardized test error (1 = predict the mean)")


def plot_learning_curves(curves: Curves, *, target: float | None = None, title: str | None = None):
    """Test error versus ``N`` for each group (mean over seeds, band: +-1 sd, dots: seeds).

    Triangles mark ``N*`` where the mean curve crosses ``target``.
    """
    fig, ax = new_figure(1, 1, width=6.4, height=4.2)
    _draw_curves(ax, curves, target=target)
    ax.legend(fontsize=8, ncol=2)
    ax.set_title(title or f"test error versus samples, {curves.values.shape[2]} seeds")
    return fig


def plot_sample_complexity(lengths, n_star, fit: PowerLawFit, *, bounds: Mapping[str, Sequence] | None = None,
                           boot: Sequence[float] | None = None, exp_fit: ExponentialFit | None = None,
                           target: float | None = None, bounds_at_init: Mapping[str, Sequence] | None = None):
    """Left: ``N*`` versus ``L`` on log-log axes with the fitted power law.  Right: on a log10 scale
    versus ``L``, ``N*`` beside the prior bounds evaluated on the trained networks.

    Args:
        lengths, n_star: ``L`` values and ``N*`` (NaN entries are skipped).
        fit: the power law fitted to them; ``exp_fit``: an exponential fit drawn for comparison.
        bounds: ``{key: log10 values per L}`` for keys of :data:`rnnlib.bounds.BOUNDS`.
        boot: bootstrap exponents, summarized in the legend.
        target: the error defining ``N*`` (for the title).
        bounds_at_init: like ``bounds`` at initialization, drawn hollow.
    """
    L = np.asarray(lengths, dtype=np.float64)
    ns = np.asarray(n_star, dtype=np.float64)
    ok = np.isfinite(ns)
    fig, (ax, bx) = new_figure(2, 1, width=5.2, height=4.2)
    for Li, ni in zip(L[ok], ns[ok]):
        ax.plot([Li], [ni], "o", ms=9, color=color_for_length(int(Li)), mec="k", zorder=4)
    grid = np.geomspace(L.min() * 0.9, L.max() * 1.1, 100)
    label = f"fit $N^* \\propto L^{{{fit.exponent:.2f} \\pm {fit.exponent_se:.2f}}}$ (s.e.)"
    ax.plot(grid, fit(grid), "k-", lw=1.5, label=label)
    if boot is not None:
        b = np.asarray(boot, dtype=np.float64)
        b = b[np.isfinite(b)]
        if b.size:
            lo, hi = np.percentile(b, [16, 84])
            ax.plot([], [], " ", label=f"bootstrap over seeds: [{lo:.2f}, {hi:.2f}] (68%)")
    if exp_fit is not None:
        ax.plot(grid, exp_fit(grid), color="0.5", ls=":", lw=1.5,
                label=f"exponential fit $10^{{{exp_fit.rate:.3f} L}}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(L)
    ax.set_xticklabels([f"{v:g}" for v in L])
    _no_minor_labels(ax, "x")
    ax.set_xlabel("sequence length L")
    ax.set_ylabel("samples needed $N^*$")
    ax.set_title("$N^*(L)$" + (f" at test error {target:g}" if target is not None else ""))
    ax.legend(fontsize=8)

    draw_beside_bounds(bx, L, ns, bounds=bounds, bounds_at_init=bounds_at_init)
    bx.set_title("measured $N^*$ beside prior bounds")
    return fig


def plot_width(curves: Curves, n_star_by_width=None, *, target: float | None = None):
    """Left: test error versus width ``m`` for each ``N`` (curves grouped by ``n_train``).
    Right: ``N*`` versus ``m`` (when given)."""
    if curves.by != "n_train" or curves.x_field != "width":
        raise ValueError("plot_width needs curves with by='n_train' and x='width', "
                         f"got by={curves.by!r}, x={curves.x_field!r}")
    ncols = 2 if n_star_by_width is not None else 1
    fig, axes = new_figure(ncols, 1, width=5.0, height=4.0)
    ax = axes[0] if ncols == 2 else axes
    mean, sd = curves.mean(), curves.spread()
    shades = np.linspace(0.25, 0.85, len(curves.groups))
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("cividis")
    for i, n in enumerate(curves.groups):
        ok = np.isfinite(mean[i])
        c = cmap(shades[i])
        ax.errorbar(curves.x[ok], mean[i][ok], yerr=sd[i][ok], fmt="o-", color=c, capsize=3,
                    label=f"N = {n:g}")
    if target is not None:
        ax.axhline(target, color="k", ls="--", lw=1, label=f"target error {target:g}")
    ax.set_xscale("log", base=2)
    ax.set_xticks(curves.x)
    ax.set_xticklabels([f"{int(v)}" for v in curves.x])
    ax.set_xlabel("width m (hidden neurons)")
    ax.set_ylabel("standardized test error")
    ax.set_title("test error versus width")
    ax.legend(fontsize=8)
    if ncols == 2:
        bx = axes[1]
        widths = np.asarray(n_star_by_width[0], dtype=np.float64)
        ns = np.asarray(n_star_by_width[1], dtype=np.float64)
        ok = np.isfinite(ns)
        for m_, n_ in zip(widths[ok], ns[ok]):
            bx.plot([m_], [n_], "o", ms=9, color=color_for_width(int(m_)), mec="k")
        bx.plot(widths[ok], ns[ok], "k-", lw=1)
        for m_ in widths[~ok]:
            bx.axvline(m_, color=color_for_width(int(m_)), ls=":", lw=1)
        bx.set_xscale("log", base=2)
        bx.set_xticks(widths)
        bx.set_xticklabels([f"{int(v)}" for v in widths])
        _no_minor_labels(bx, "x")
        # a linear axis from 0: a flat N*(m) should look flat, not magnified
        bx.set_ylim(0, 1.25 * float(np.nanmax(ns)) if ok.any() else 1.0)
        bx.set_xlabel("width m (hidden neurons)")
        bx.set_ylabel("samples needed $N^*$")
        bx.set_title("$N^*$ versus width" + (f" (target {target:g})" if target is not None else ""))
    return fig


def plot_complexity(names: Sequence[str], errors, spreads, log10_cs, log10_ceps, *, n_train: int,
                    length: int, radius_eps: float):
    """Test error at fixed ``N`` versus ``log10 C_s(phi, 1)`` and ``log10 C_eps(phi, R)``.

    Infinite complexities (a Taylor series that diverges at the radius, e.g. ``tanh(4z)`` beyond
    ``pi/8``) are drawn at the right edge with an arrow and the label "inf".
    """
    errors = np.asarray(errors, dtype=np.float64)
    spreads = np.asarray(spreads, dtype=np.float64)
    fig, axes = new_figure(2, 1, width=5.0, height=4.0, sharey=True)
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("tab10")
    eps_label = f"$\\log_{{10}} C_\\epsilon(\\phi, \\sqrt{{L}})$, R = {radius_eps:.2f}"
    for ax, logc, xlabel in ((axes[0], log10_cs, "$\\log_{10} C_s(\\phi, 1)$"),
                             (axes[1], log10_ceps, eps_label)):
        logc = np.asarray(logc, dtype=np.float64)
        finite = np.isfinite(logc)
        right = (logc[finite].max() + 0.15 * max(1.0, np.ptp(logc[finite]))) if finite.any() else 1.0
        for i, name in enumerate(names):
            x = logc[i] if finite[i] else right
            ax.errorbar([x], [errors[i]], yerr=[spreads[i]], fmt="o" if finite[i] else ">", ms=8,
                        color=cmap(i % 10), capsize=3, label=name)
            ax.annotate(name + ("" if finite[i] else " (inf)"), (x, errors[i]), textcoords="offset points",
                        xytext=(6, 4), fontsize=8)
        ax.set_xlabel(xlabel)
        ax.axhline(1.0, color="0.6", lw=1, ls=":")
    axes[0].set_ylabel(f"standardized test error (N = {n_train}, L = {length})")
    axes[0].set_title("sample complexity $C_s$")
    axes[1].set_title("network-size complexity $C_\\epsilon$")
    return fig


def plot_gap(curves: Curves):
    """Train-test gap versus ``L``, one line per ``N`` (curves with by='n_train', x='length',
    metric='gap')."""
    if curves.x_field != "length":
        raise ValueError(f"plot_gap needs curves with x='length', got x={curves.x_field!r}")
    fig, ax = new_figure(1, 1, width=5.6, height=4.0)
    mean, sd = curves.mean(), curves.spread()
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("cividis")
    shades = np.linspace(0.2, 0.85, len(curves.groups))
    for i, n in enumerate(curves.groups):
        ok = np.isfinite(mean[i])
        ax.errorbar(curves.x[ok], mean[i][ok], yerr=sd[i][ok], fmt="o-", capsize=3, color=cmap(shades[i]),
                    label=f"N = {n:g}")
    ax.axhline(0, color="0.5", lw=1)
    ax.set_xscale("log")
    ax.set_xticks(curves.x)
    ax.set_xticklabels([f"{int(v)}" for v in curves.x])
    _no_minor_labels(ax, "x")
    ax.set_xlabel("sequence length L")
    ax.set_ylabel("test error − train error (standardized)")
    ax.set_title("generalization gap versus length")
    ax.legend(fontsize=8)
    return fig


def _training_curves(ax, results, value, field, sym):
    """Mean held-out error versus SGD step of the runs with ``field == value``, one line per N."""
    runs = [r for r in results if r is not None and getattr(r.config, field) == value]
    ns = sorted({r.config.n_train for r in runs})
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("cividis")
    for k, n in enumerate(ns):
        group = [r for r in runs if r.config.n_train == n]
        per_epoch = math.ceil(n / group[0].config.batch_size)
        steps = np.asarray(group[0].history["eval_epoch"], dtype=np.float64) * per_epoch
        errs = np.array([r.history["test_mse"] for r in group if len(r.history["test_mse"]) == steps.size])
        shade = 0.2 + 0.65 * k / max(1, len(ns) - 1)
        ax.plot(steps, errs.mean(axis=0), "-", color=cmap(shade), label=f"N = {n}")
    ax.set_xlabel("SGD steps")
    ax.set_ylabel("standardized test error")
    ax.set_title(f"training at {sym} = {value} (mean over seeds)")
    ax.legend(fontsize=8)


def _highlight_panel(value, by: str, sym: str, curves: Curves, results, target: float | None):
    """Learning curves with the group ``by = value`` highlighted (left) and the held-out error along
    training for that group, one line per ``N`` (right)."""
    fig, (ax, bx) = new_figure(2, 1, width=5.0, height=3.8)
    _draw_curves(ax, curves, target=target, highlight=value)
    ax.set_ylim(0, max(1.3, float(np.nanmax(curves.values)) * 1.05))
    ax.legend(fontsize=7, ncol=2)
    ax.set_title(f"test error versus N, {sym} = {value} highlighted")
    _training_curves(bx, results, value, by, sym)
    bx.set_ylim(ax.get_ylim())
    return fig


def plot_length_panel(length: int, *, curves: Curves, results, target: float | None = None):
    """One frame of the slider over ``L``: the learning curves with ``L`` highlighted (left) and
    the held-out error along training at that ``L`` for each ``N`` (right)."""
    return _highlight_panel(length, "length", "L", curves, results, target)


def plot_width_panel(width: int, *, curves: Curves, results, target: float | None = None):
    """One frame of the slider over ``m``: test error versus ``N`` with width ``m`` highlighted
    (curves grouped by width) and the held-out error along training at that width."""
    return _highlight_panel(width, "width", "m", curves, results, target)


def plot_run(length: int, width: int, n_train: int, *, base, steps_at_10: int, cache_dir=None, measure=None):
    """Train (or read from the cache) one run and plot its training and held-out error curves.

    The live widget of chapter 5: ``base`` is the chapter's config, the SGD budget is
    :func:`rnnlib.generalization.steps_for_length` steps; runs go through :func:`rnnlib.sweep` (with
    the chapter's ``measure``, which is part of the cache key), so points of the chapter's grids come
    back at once and new ones are cached.
    """
    from ..generalization import steps_for_length, with_step_budget
    from ..sweep import sweep

    cfg = with_step_budget(base.replace(length=length, width=width, n_train=n_train),
                           steps_for_length(length, steps_at_10))
    res = sweep([cfg], cache_dir=cache_dir, progress=True, measure=measure,
                desc=f"L={length}, m={width}, N={n_train}")[0]
    h = res.history
    per_epoch = math.ceil(n_train / cfg.batch_size)
    fig, ax = new_figure(1, 1, width=6.0, height=3.8)
    ax.plot(np.asarray(h["epoch"]) * per_epoch, h["train_mse"], "-", color="0.5", label="training (running)")
    ax.plot(np.asarray(h["eval_epoch"]) * per_epoch, h["test_mse"], "o-", color=color_for_length(length),
            label="held-out")
    if cfg.average > 0:
        ax.axvspan(res.n_steps * (1 - cfg.average), res.n_steps, color="0.9", zorder=0,
                   label="iterates averaged")
    ax.set_xlabel("SGD steps")
    ax.set_ylabel("standardized error")
    ax.set_ylim(0, max(1.3, max(h["test_mse"]) * 1.05))
    ax.set_title(f"L = {length}, m = {width}, N = {n_train}: test error {res.test_mse:.3f}")
    ax.legend(fontsize=8)
    return fig


def draw_beside_bounds(ax, lengths, n_star, *, bounds: Mapping[str, Sequence] | None = None,
                       bounds_at_init: Mapping[str, Sequence] | None = None, fit: PowerLawFit | None = None):
    """On ``ax``, ``log10 N*`` versus ``L`` beside the prior bounds (log10 values per ``L``).

    ``fit``, if given, is drawn as a line through the measured points (a power law in ``L``).
    """
    L = np.asarray(lengths, dtype=np.float64)
    ns = np.asarray(n_star, dtype=np.float64)
    ok = np.isfinite(ns)
    ax.plot(L[ok], np.log10(ns[ok]), "ko", ms=7, zorder=4, label="$\\log_{10} N^*$, SGD on W (measured)")
    if fit is not None:
        grid = np.linspace(L.min(), L.max(), 100)
        ax.plot(grid, np.log10(fit(grid)), "k-", lw=2,
                label=f"power-law fit $N^* \\propto L^{{{fit.exponent:.2f} \\pm {fit.exponent_se:.2f}}}$")
    else:
        ax.plot(L[ok], np.log10(ns[ok]), "k-", lw=2)
    for key, values in (bounds or {}).items():
        name, marker = _BOUND_STYLE.get(key, (key, "o"))
        ax.plot(L, np.asarray(values, dtype=np.float64), marker=marker, ls="-", label=f"{name}, trained W")
    for key, values in (bounds_at_init or {}).items():
        name, marker = _BOUND_STYLE.get(key, (key, "o"))
        ax.plot(L, np.asarray(values, dtype=np.float64), marker=marker, ls="--", mfc="none", color="0.4",
                label=f"{name}, W at init")
    ax.set_xlabel("sequence length L")
    ax.set_ylabel("$\\log_{10}$ of the quantity")
    ax.legend(fontsize=8)


def plot_result(lengths, n_star, fit: PowerLawFit, *, bounds: Mapping[str, Sequence], target: float, width: int):
    """The book's result in one figure: samples SGD on W needs versus ``L``, beside the prior bounds.

    Args:
        lengths, n_star: ``L`` values and the measured ``N*`` (NaN entries are skipped).
        fit: the power law fitted to them.
        bounds: ``{key: log10 bound per L}`` evaluated on the trained networks.
        target: the test error that defines ``N*``; ``width``: the networks' ``m`` (for the title).
    """
    fig, ax = new_figure(1, 1, width=7.0, height=4.4)
    draw_beside_bounds(ax, lengths, n_star, bounds=bounds, fit=fit)
    ax.set_title(f"samples SGD on W needs to reach test error {target:g} (m = {width}), "
                 "beside prior generalization bounds", fontsize=10)
    return fig


def plot_ledger_result(study):
    """Chapter 8's result in one figure: :func:`plot_result` of a :class:`rnnlib.studies.ledger.LedgerStudy`
    (its length row: ``N*`` per ``L``, the power law, the prior bounds on the same networks)."""
    d = study.figure_data()
    return plot_result(d["lengths"], d["n_star"], d["fit"], bounds=d["bounds"], target=d["target"], width=d["width"])
