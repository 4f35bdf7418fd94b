"""Figures of chapter 5's headline study (Allen-Zhu & Li (2019), Theorem 1; issue 13).

Each function takes a :class:`rnnlib.studies.generalization.HeadlineStudy` (or its parts) and returns
a matplotlib ``Figure``: the linear shares, the learning curves of the five methods, ``N*(L)`` at the
three targets, the contrasts (current-token term, the old ``sin 3z`` task, label noise, every position
labelled, the rate), the front page's ``N*`` against the samples the prior bounds require, the width
study and the error on each earlier token's term.
"""
from __future__ import annotations

import math

import numpy as np

from ..headline import METHOD_LABELS
from ..headline_stats import THRESHOLDS
from .style import color_for_length, new_figure

__all__ = ["plot_shares", "plot_curves", "plot_n_star", "plot_contrasts", "plot_front", "plot_width", "plot_tokens"]

def _length_axis(ax, lengths):
    """A log axis of lengths labelled at the lengths themselves."""
    from matplotlib.ticker import NullFormatter

    ax.set_xscale("log")
    ax.set_xticks([float(L) for L in lengths], [str(int(L)) for L in lengths])
    ax.xaxis.set_minor_formatter(NullFormatter())


_METHOD_COLORS = {"sgd_w": "C0", "sgd_wa": "C1", "linear_ridge": "C2", "random_features": "C4", "ntk_ridge": "C3"}


def plot_shares(shares: dict):
    """Bar chart: linear share of one term for each smooth function, sphere vs orthogonal directions."""
    fig, ax = new_figure(width=7.0, height=3.2)
    names = list(shares)
    x = np.arange(len(names))
    ax.bar(x - 0.2, [shares[n]["sphere"] for n in names], 0.4, label=r"$w^*$ uniform on the sphere")
    ax.bar(x + 0.2, [shares[n]["orthogonal_to_constant"] for n in names], 0.4,
           label=r"$w^*\perp$ the constant coordinate")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel("linear share of variance")
    ax.set_ylim(0, 1.3)
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    return fig


def _label(study, method: str) -> str:
    """The method's name, and where it stops when the budget stops it (the figures say so)."""
    stop = study.design.stops.get(method)
    return METHOD_LABELS[method] + ("" if stop is None else f" (L <= {stop}: budget)")


def plot_curves(study):
    """One panel per method: mean test error (band: +-1 sd over seeds) against ``N`` for every ``L``."""
    methods = list(study.summary)
    fig, axes = new_figure(ncols=len(methods), width=3.0, height=3.2, sharey=True)
    for ax, m in zip(np.atleast_1d(axes), methods):
        c = study.curves(m)
        mean, sd = c.mean(), c.spread()
        for i, L in enumerate(c.groups):
            ok = np.isfinite(mean[i])
            ax.plot(c.x[ok], mean[i][ok], "o-", ms=3, color=color_for_length(int(L)), label=f"L = {L}")
            ax.fill_between(c.x[ok], (mean[i] - sd[i])[ok], (mean[i] + sd[i])[ok], alpha=0.15,
                            color=color_for_length(int(L)))
        for t in study.summary[m]:
            ax.axhline(t, color="0.6", lw=0.7, ls="--")
        if m == "ntk_ridge":
            ax.set_title(f"{METHOD_LABELS[m]}\n(runs only where N L <= {study.design.ntk_max:,})", fontsize=9)
        else:
            ax.set_title(_label(study, m).replace(" (", "\n("), fontsize=9)
        ax.set_xscale("log")
        ax.set_xlabel("samples N")
    np.atleast_1d(axes)[0].set_ylabel("standardized test error")
    np.atleast_1d(axes)[0].set_ylim(0, 1.4)
    np.atleast_1d(axes)[0].legend(fontsize=7)
    return fig


def plot_n_star(study):
    """One panel per target: ``N*`` against ``L`` per method (bars: bootstrap interval; open triangles:
    not reached at the largest ``N`` run), with SGD on W's power-law and exponential fits when at least
    ``THRESHOLDS["min_lengths"]`` lengths locate ``N*``."""
    targets = list(next(iter(study.summary.values())))
    fig, axes = new_figure(ncols=len(targets), width=3.6, height=3.4, sharey=True)
    for ax, t in zip(np.atleast_1d(axes), targets):
        for k, (m, by_t) in enumerate(study.summary.items()):
            s, col = by_t[t], _METHOD_COLORS[m]
            Ls = s.lengths.astype(float) * (1 + 0.03 * (k - 2))  # a small shift keeps the bars apart
            ok = np.array([st == "inside" for st in s.status])
            if ok.any():
                ax.errorbar(Ls[ok], s.n_star[ok], yerr=[s.n_star[ok] - s.low[ok], s.high[ok] - s.n_star[ok]],
                            fmt="o-", color=col, ms=4, capsize=2, label=_label(study, m))
            c = study.curves(m)
            above = [(L, c.x[np.isfinite(c.mean()[i])].max()) for i, (L, st) in enumerate(zip(Ls, s.status))
                     if st == "above grid"]
            if above:
                ax.plot(*zip(*above), "^", mfc="none", color=col, ms=6,
                        label=None if ok.any() else f"{_label(study, m)}: not reached")
        s = study.summary["sgd_w"][t]
        # fits only where the verdict rule allows one, and only over the lengths that located N*
        if np.isfinite(s.n_star).sum() >= THRESHOLDS["min_lengths"] and math.isfinite(s.exponent):
            keep = np.isfinite(s.n_star)
            grid = np.linspace(s.lengths[keep].min(), s.lengths[keep].max(), 50)
            b, a = np.polyfit(np.log10(s.lengths[keep]), np.log10(s.n_star[keep]), 1)
            ax.plot(grid, 10 ** (a + b * np.log10(grid)), ":", color="C0", lw=1, label=f"SGD on W: L^{b:.1f}")
            c1, c0 = np.polyfit(s.lengths[keep], np.log10(s.n_star[keep]), 1)
            ax.plot(grid, 10 ** (c0 + c1 * grid), "--", color="C0", lw=0.8, label="SGD on W: exponential")
        _length_axis(ax, study.lengths)
        ax.set_yscale("log")
        ax.set_title(f"target error {t:g}", fontsize=9)
        ax.set_xlabel("length L")
    np.atleast_1d(axes)[0].set_ylabel("samples needed N*")
    np.atleast_1d(axes)[-1].legend(fontsize=7)
    return fig


def _curve(ax, c, row, label, color, ls="o-"):
    mean, sd = c.mean()[row], c.spread()[row]
    ok = np.isfinite(mean)
    ax.errorbar(c.x[ok], mean[ok], yerr=sd[ok], fmt=ls, ms=3, capsize=2, color=color, label=label)


def plot_contrasts(study):
    """Four panels: the current-token floor, the old ``sin 3z`` task, label noise and every position
    labelled, and the rate (excess error against ``N`` beside ``N^-1/2``)."""
    fig, axes = new_figure(ncols=4, width=3.6, height=3.3)
    L1, L2 = study.lengths[:2]
    ax = axes[0]
    for j, L in enumerate((L1, L2)):
        _curve(ax, study.curves("sgd_w"), j, f"L = {L}, no i = j term", f"C{j}")
        _curve(ax, study.curves("sgd_w", "current"), j, f"L = {L}, with i = j term", f"C{j}", "s--")
    ax.set_title("the current-token term", fontsize=9)
    ax = axes[1]
    _curve(ax, study.curves("sgd_w", "sin3z"), 0, "SGD on W", _METHOD_COLORS["sgd_w"])
    _curve(ax, study.curves("linear_ridge", "sin3z"), 0, "linear ridge", _METHOD_COLORS["linear_ridge"])
    ax.set_title(f"the old task: sin 3z, L = {L2}", fontsize=9)
    ax = axes[2]
    noise = study.curves("sgd_w", "noise")
    _curve(ax, noise, 0, "label noise", "C5")
    ax.axhline(float(np.nanmean(study.curves("sgd_w", "noise", "noise_floor").values)), color="C5", ls=":",
               label="OPT (noise floor)")
    _curve(ax, study.curves("sgd_w"), 0, "labels at the last position", "C0")
    _curve(ax, study.curves("sgd_w", "all"), 0, "labels at every position", "C9", "s--")
    ax.set_title(f"agnostic and all positions, L = {L1}", fontsize=9)
    for a in axes[:3]:
        a.set_xscale("log")
        a.set_xlabel("samples N")
        a.legend(fontsize=7)
    axes[0].set_ylabel("standardized test error")
    ax = axes[3]
    for name, col, label in ((None, "C0", "no noise"), ("noise", "C5", "label noise")):
        c = study.curves("sgd_w", name, "excess")
        ok = np.isfinite(c.mean()[0]) & (c.mean()[0] > 0)
        fit = study.rate(name)
        ax.loglog(c.x[ok], c.mean()[0][ok], "o", color=col, ms=4)
        ax.loglog(c.x, fit.prefactor * c.x ** fit.slope, "-", color=col, lw=1,
                  label=f"{label}: slope {fit.slope:.2f} ± {fit.slope_se:.2f}")
    x = study.curves("sgd_w").x
    ax.loglog(x, study.error("sgd_w", L1, int(x[0])) * (x / x[0]) ** -0.5, "k:", lw=1, label="N^(-1/2)")
    ax.set_title(f"the rate, L = {L1}", fontsize=9)
    ax.set_xlabel("samples N")
    ax.set_ylabel("test error - OPT")
    ax.legend(fontsize=7)
    return fig


def plot_front(study, target_index: int = 1, *, top: float = 1e30):
    """The front page: measured ``N*`` (SGD on W, and on W and A) with intervals against ``L``, beside the
    samples each prior bound requires for the same error (:func:`rnnlib.studies.generalization.bound_samples`);
    the axis stops at ``top`` samples (a bound's curve leaves the frame above it)."""
    t = list(next(iter(study.summary.values())))[target_index]
    fig, ax = new_figure(width=6.0, height=4.0)
    Ls = np.array(study.lengths, dtype=float)
    for label, log10_samples in study.prior.items():
        ax.plot(Ls, 10.0 ** log10_samples, "s--", ms=3, lw=1, label=f"required by {label}")
    for m in ("sgd_w", "sgd_wa"):
        s, col = study.summary[m][t], _METHOD_COLORS[m]
        ok = np.array([st == "inside" for st in s.status])
        if ok.any():
            ax.errorbar(s.lengths[ok], s.n_star[ok], yerr=[s.n_star[ok] - s.low[ok], s.high[ok] - s.n_star[ok]],
                        fmt="o-", color=col, capsize=3, label=f"measured N*, {_label(study, m)}")
        c = study.curves(m)
        above = [(L, c.x[np.isfinite(c.mean()[i])].max()) for i, (L, st) in enumerate(zip(s.lengths, s.status))
                 if st == "above grid"]
        if above:
            ax.plot(*zip(*above), "^", mfc="none", color=col, ms=7, label=f"{_label(study, m)}: more than this")
    ax.set_yscale("log")
    ax.set_ylim(10.0, top)
    _length_axis(ax, study.lengths)
    ax.set_xlabel("sequence length L")
    ax.set_ylabel(f"samples for test error {t:g}")
    ax.legend(fontsize=7)
    return fig


def plot_width(study):
    """The width study (:attr:`HeadlineStudy.width`): (a) mean test error (bars: standard error over
    seeds) against ``N`` per width; (b) ``N*`` against the width at the three targets (bars: 90%
    bootstrap interval; open triangles: not reached at the largest ``N``)."""
    from matplotlib import colormaps

    w = study.width
    fig, (a, b) = new_figure(ncols=2, width=4.2, height=3.4)
    cmap = colormaps["viridis"]
    for k, m in enumerate(w.widths):
        a.errorbar(w.n_values, w.errors[k], yerr=w.sems[k], fmt="o-", ms=3, capsize=2,
                   color=cmap(k / max(1, len(w.widths) - 1)), label=f"m = {m}")
    for t in w.targets:
        a.axhline(t, color="0.6", lw=0.7, ls="--")
    a.set_xscale("log")
    a.set(xlabel="samples N", ylabel="standardized test error", ylim=(0, 1.4),
          title=f"(a) SGD on W, L = {w.length}")
    a.legend(fontsize=7)
    for i, t in enumerate(w.targets):
        col, ns = f"C{i}", w.n_star[t]
        ok = np.array([st == "inside" for st in w.status[t]])
        if ok.any():
            b.errorbar(w.widths[ok], ns[ok], yerr=[ns[ok] - w.low[t][ok], w.high[t][ok] - ns[ok]], fmt="o-",
                       color=col, ms=4, capsize=2, label=f"target {t:g}: {w.verdict[t]}")
        up = np.array([st == "above grid" for st in w.status[t]])
        if up.any():
            b.plot(w.widths[up], np.full(up.sum(), w.n_values[-1]), "^", mfc="none", color=col, ms=6)
    _length_axis(b, w.widths)
    b.set_yscale("log")
    b.set(xlabel="width m", ylabel="samples needed N*", title="(b) N* against the width")
    b.legend(fontsize=7)
    return fig


def plot_tokens(study, N=None):
    """The error on each earlier token's term of the label (0: learned, 1: ignored) against the token's
    distance from the label, SGD on ``W`` at the largest ``N`` run at every length, seeds pooled as a
    ratio of sums (bars: jackknife standard error over seeds)."""
    fig, ax = new_figure(width=6.0, height=3.4)
    for L in study.lengths:
        p = study.tokens(L, N)
        dist = L - p.positions  # 1 = the token just before the label
        ax.errorbar(dist, p.mean, yerr=p.sem, fmt="o-", ms=2.5, lw=1, capsize=1.5, color=color_for_length(int(L)),
                    label=f"L = {L} (N = {p.n_train:,})")
    ax.axhline(1.0, color="0.6", lw=0.7, ls="--")
    ax.set_xscale("log")
    ax.set(xlabel="distance of the token from the label (L - i)", ylabel="error on the token's term")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7)
    return fig
