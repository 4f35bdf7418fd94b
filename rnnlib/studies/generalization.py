"""Chapter 5 (generalization): the headline ``N*(L)`` of five methods on a target with no linear part.

Allen-Zhu & Li (2019), Theorem 1: SGD on ``W`` reaches population loss ``OPT + eps`` from a number of
samples polynomial in ``L`` (almost polynomial, ``L^O(log 1/eps)``, for smooth ``phi``); the earlier
norm-based bounds grow like ``||W||^L`` (Allen-Zhu & Li (2019), section 1; issue 13).

:func:`headline_study` runs (or reads from the engine's cache) every point of
:func:`rnnlib.tasks.headline_design` and of :func:`rnnlib.headline.headline_contrasts`, and returns a
:class:`HeadlineStudy`: the results, ``N*`` per method and target with bootstrap intervals and
growth-law verdicts (:mod:`rnnlib.headline_stats`), the linear share of every smooth function
(:mod:`rnnlib.linear_share`), and the samples each prior bound requires for the same error.
It also holds the choice of SGD's step constant by validation (:mod:`rnnlib.headline_probes`), the
width study (:mod:`rnnlib.headline_width`) and the per-token errors of the trained runs.
``numbers()`` gives what the chapter glues, ``check()`` its qualitative checks.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from ..bounds import evaluate_bounds
from ..engine import is_cached, run_many
from ..headline import MAX_HALVINGS, METHOD_LABELS, HeadlineDesign, headline_contrasts
from ..headline_stats import (THRESHOLDS, comparison_verdict, excess_rate, headline_summary, jackknife_se,
                              method_curves, token_profile)
from ..headline_width import WIDTH_THRESHOLDS, WidthSummary, width_summary
from ..share_kinds import LinearShares
from ..rnn import ElmanRNN
from ..smooth import SMOOTH_FUNCTIONS

__all__ = ["TARGETS", "PRIOR_BOUNDS", "HeadlineStudy", "headline_study", "headline_cached", "bound_samples", "key_of",
           "widths_text"]

#: The three standardized test errors that define ``N*`` (fixed before the measurements).
TARGETS = (0.9, 0.85, 0.8)
#: Prior bounds of chapter 1 set beside ``N*`` (keys of :func:`rnnlib.bounds.evaluate_bounds`).
PRIOR_BOUNDS = {"zhang": "Zhang et al. 2018", "bartlett": "Bartlett et al. 2017", "tu_factor": "Tu et al. 2020"}


def key_of(name) -> str:
    """A glue-key fragment of a function name or a number: ``"sin(3z)" -> "sin3z"``, ``0.85 -> "085"``."""
    if isinstance(name, float):
        return f"{name:g}".replace(".", "")
    return "".join(c for c in str(name).replace("^", "").replace("-", "m") if c.isalnum())


def widths_text(widths: dict) -> str:
    """The width at each length in words: ``{5: 128, 10: 128, 80: 64} -> "128 at L = 5 to 10, 64 at L = 80"``
    (lengths in increasing order; consecutive lengths of one width share a phrase)."""
    runs: list = []
    for L in sorted(widths):
        if runs and runs[-1][0] == widths[L]:
            runs[-1][1].append(L)
        else:
            runs.append((widths[L], [L]))
    return ", ".join(f"{m} at L = {Ls[0]}" + (f" to {Ls[-1]}" if len(Ls) > 1 else "") for m, Ls in runs)


def bound_samples(log10_factor, error: float) -> np.ndarray:
    """``log10`` of the samples a bound ``gap <= F / sqrt(N)`` requires for a gap ``error``: ``N >= (F/error)^2``.

    Constants, logarithms and data terms are dropped (they only raise the requirement), so this is a
    lower estimate of what each bound asks for.
    """
    return 2.0 * (np.asarray(log10_factor, dtype=np.float64) - math.log10(error))


@dataclass(frozen=True)
class HeadlineStudy:
    """The measured headline (chapter 5). ``results`` and ``contrasts`` hold :class:`~rnnlib.headline.PointResult` s."""

    design: HeadlineDesign
    results: tuple
    contrasts: dict
    summary: dict
    shares: dict
    prior: dict
    seconds: float
    n_cached: int
    n_runs: int
    #: :class:`~rnnlib.headline_probes.TuningResult` s (the step constant chosen per SGD method and length).
    tuning: tuple = ()
    #: :class:`~rnnlib.headline_width.WidthSummary` of the width study (``None`` without one).
    width: WidthSummary | None = None
    #: the width study's :class:`~rnnlib.headline.PointResult` s.
    width_results: tuple = ()

    def width_summary(self) -> dict:
        """The width study as plain data (the ledger reads it): ``length``, ``widths`` ``[k]``, ``n_values``
        ``[n]``, ``errors`` and ``sems`` ``[k][n]`` (mean test error over seeds and its standard error),
        ``n_seeds`` ``[k][n]``, ``n_star`` ``{target: [k]}`` (NaN: not inside the grid), ``n_star_interval``
        ``{target: [(lo, hi)] * k}``, ``status`` ``{target: [k]}``, ``slope`` ``{target: (b, lo, hi)}`` of
        ``N* ~ m^b``, ``verdict`` ``{target: str}`` and ``threshold``; ``{}`` without a width study."""
        return {} if self.width is None else self.width.to_dict()

    def chosen_c(self, method: str = "sgd_w") -> dict:
        """``{(L, N): c}`` the step constant ``method`` trains with at each length and ``N`` of the grid."""
        return {(L, N): self.design.lr_scale(method, L, N) for L in self.lengths for N in self.design.n_grid}

    def tokens(self, L: int, N: int | None = None, method: str = "sgd_w"):
        """:func:`rnnlib.headline_stats.token_profile` at ``L`` and ``N`` (default: the largest run there)."""
        N = self.ran(method, L)[-1] if N is None else N
        return token_profile(self.results, method, L, N)

    @property
    def lengths(self) -> tuple:
        return self.design.lengths

    def curves(self, method: str = "sgd_w", name: str | None = None, metric: str = "test_mse"):
        """:func:`rnnlib.headline_stats.method_curves` of the headline or of a contrast ``name``."""
        return method_curves(self.results if name is None else self.contrasts[name], method, metric)

    def error(self, method: str, L: int, N: int | None = None, name: str | None = None) -> float:
        """Mean test error over seeds at ``L`` and ``N`` (default: the largest ``N`` run there)."""
        c = self.curves(method, name)
        row = c.mean()[list(c.groups).index(L)]
        j = int(np.flatnonzero(np.isfinite(row))[-1]) if N is None else list(c.x).index(N)
        return float(row[j])

    def ran(self, method: str, L: int) -> list:
        """The sample sizes ``N`` the design runs for ``method`` at length ``L``."""
        skipped = set(self.design.skipped())
        return [N for N in self.design.n_grid if (method, L, N) not in skipped]

    def ntk_stop(self, L: int) -> float:
        """The largest ``N`` the NTK runs at length ``L`` (``N L <= ntk_max``; 0 when none)."""
        ok = self.ran("ntk_ridge", L)
        return float(max(ok)) if ok else 0.0

    def rate(self, name: str | None = None):
        """The slope of the excess error against ``N`` at the shortest length (headline, or ``"noise"``)."""
        c = self.curves("sgd_w", name, "excess")
        return excess_rate(c.x, c.mean()[0])

    def cell(self, method: str, target: float, L: int) -> str:
        """The table cell of ``N*``: value [interval], or why there is none."""
        s = self.summary[method][target]
        if not self.ran(method, L):
            return "not run (budget)" if L > self.design.stops.get(method, math.inf) else \
                f"not run (N L > {self.design.ntk_max:,})"
        i = list(s.lengths).index(L)
        c = self.curves(method)
        n_max = c.x[np.isfinite(c.mean()[list(c.groups).index(L)])].max()
        if s.status[i] == "inside":
            return f"{s.n_star[i]:,.0f} [{s.low[i]:,.0f}, {s.high[i]:,.0f}]"
        stop = " (NTK budget)" if method == "ntk_ridge" and n_max < self.design.n_grid[-1] else ""
        return f"> {n_max:,.0f}{stop}" if s.status[i] == "above grid" else f"<= {c.x[0]:,.0f}"

    def table(self) -> str:
        """The ``N*`` table (markdown): per method and target, ``N*`` per ``L``, exponent, fits, verdict."""
        head = ["method", "target", *[f"L = {L}" for L in self.lengths], "exponent [90%]", "rms power / exp",
                "growth verdict"]
        rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for m, by_t in self.summary.items():
            for t, s in by_t.items():
                k = int(np.isfinite(s.n_star).sum())
                few = k < THRESHOLDS["min_lengths"]  # two points: any law fits them exactly
                exp = (f"{s.exponent:.2f} [{s.exponent_low:.2f}, {s.exponent_high:.2f}]"
                       + (f" ({k} lengths)" if few else "") if math.isfinite(s.exponent) else "n/a")
                fits = f"{s.power_rms:.3f} / {s.exp_rms:.3f}" if math.isfinite(s.power_rms) and not few else "n/a"
                cells = [self.cell(m, t, L) for L in self.lengths]
                rows.append("| " + " | ".join([METHOD_LABELS[m], f"{t:g}", *cells, exp, fits, s.verdict]) + " |")
        return "\n".join(rows)

    def reached(self, method: str, target: float) -> list:
        """The lengths at which ``method``'s mean curve reaches ``target`` inside the grid."""
        s = self.summary[method][target]
        return [int(L) for L, st in zip(s.lengths, s.status) if st == "inside"]

    def numbers(self) -> dict:
        d, L1, L2 = self.design, self.lengths[0], self.lengths[1]
        out = {"n_runs": self.n_runs, "n_cached": self.n_cached, "study_seconds": self.seconds,
               "lengths": ", ".join(map(str, self.lengths)), "n_grid": ", ".join(f"{N:,}" for N in d.n_grid),
               "n_seeds": len(d.seeds), "width": d.widths[L1], "widths": widths_text(d.widths),
               "steps_at_10": d.steps_at_10, "eps_x": d.base.eps_x,
               "n_test": d.base.n_test, "ntk_max": d.ntk_max, "L1": L1, "L2": L2, "L3": self.lengths[2],
               "L_last": self.lengths[-1],
               "N_max": d.n_grid[-1],
               **{f"threshold_{k}": v for k, v in THRESHOLDS.items()}}
        for i, t in enumerate(TARGETS):
            out[f"target{i + 1}"] = t
            for m in self.summary:
                reached = self.reached(m, t)
                out[f"reached_{m}_{i + 1}"] = ", ".join(map(str, reached)) if reached else "none"
                s = self.summary[m][t]
                out[f"verdict_{m}_{i + 1}"] = s.verdict
                for j, L in enumerate((L1, L2)):
                    out[f"nstar_{m}_{i + 1}_L{j + 1}"] = self.cell(m, t, L)
                    if m != "sgd_w" and L in list(s.lengths):
                        out[f"vs_{m}_{i + 1}_L{j + 1}"] = comparison_verdict(self.summary["sgd_w"][t], s, L)
        for m in self.summary:
            for j, L in enumerate(self.lengths):
                if self.ran(m, L):
                    out[f"err_{m}_L{j + 1}"] = self.error(m, L)
            if self.ran(m, self.lengths[-1]):
                out[f"err_{m}_last"] = self.error(m, self.lengths[-1])
        out["ntk_stop_L2"] = self.ntk_stop(L2)
        for m, L in d.stops.items():  # where a method stops for the budget, and its error there
            out[f"stop_{m}"], out[f"stop_{m}_err"] = L, self.error(m, L)
        st = dict(zip(self.summary["sgd_w"][TARGETS[0]].lengths, self.summary["sgd_w"][TARGETS[0]].status))
        for key, status in (("not_reached_sgd_w_1", "above grid"), ("below_sgd_w_1", "below grid")):
            out[key] = ", ".join(str(L) for L in self.lengths if st[L] == status) or "none"
        out["N_min"] = d.n_grid[0]
        s = self.summary["sgd_w"][TARGETS[1]]
        n_star = s.n_star[0] if s.status[0] == "inside" else math.nan
        need = min(float(v[0]) for v in self.prior.values())
        out["front_decades_L1"] = need - math.log10(n_star) if math.isfinite(n_star) else math.nan
        out["front_need_L1"] = need
        rate = self.rate()
        z = (rate.slope + 0.5) / max(rate.slope_se, 1e-12) if math.isfinite(rate.slope_se) else 0.0
        out["rate_vs_half"] = "more slowly than" if z > 2 else "faster than" if z < -2 else "about as fast as"
        for name, s in self.shares.items():
            out[f"share_{key_of(name)}"] = s["sphere"]
            out[f"share_orth_{key_of(name)}"] = s["orthogonal_to_constant"]
        out.update(self._contrast_numbers())
        out.update(self._extra_numbers())
        return out

    def _extra_numbers(self) -> dict:
        """The step constants, the width study and the per-token errors (issue 13)."""
        d, out = self.design, {}
        tuned = d.tune_lengths or self.lengths
        for m in ("sgd_w", "sgd_wa"):
            c = self.chosen_c(m)
            out[f"c_{m}"] = "; ".join(f"{', '.join(f'{c[(L, N)]:g}' for N in d.n_grid)} at L = {L}" for L in tuned)
            for j, L in enumerate(self.lengths[:2]):
                out[f"c_{m}_L{j + 1}"] = c[(L, d.n_grid[-1])]
        for trained, m in (("W", "sgd_w"), ("WA", "sgd_wa")):  # key j: the j-th tuned length, at the largest N
            for j, L in enumerate(tuned[:2]):
                r = [r for r in self.tuning if r.tuning.config.trained == trained and r.tuning.config.length == L
                     and r.tuning.config.n_train == d.n_grid[-1]]
                if r:
                    out[f"tune_{m}_{j + 1}"] = ", ".join(f"{e:.2f}" if math.isfinite(e) else "diverged"
                                                         for e in r[0].errors)
                    out[f"tune_{m}_{j + 1}_L"] = L
        halved = [r for r in self.results + self.width_results if r.info.get("halved", 0) > 0]
        out.update(tune_grid=", ".join(f"{c:g}" for c in d.tune_grid) or "none", tune_seed=d.tune_seed,
                   tune_lengths=", ".join(map(str, tuned)) if d.tune_grid else "none", n_halved=len(halved),
                   max_halvings=MAX_HALVINGS,
                   n_sgd_runs=sum(r.point.method.startswith("sgd") for r in self.results + self.width_results))
        if self.width is not None:
            w = self.width
            out.update(width_L=w.length, width_grid=", ".join(map(str, w.widths)),
                       width_min_seeds=int(w.n_seeds.min()), width_slope_threshold=WIDTH_THRESHOLDS["slope"],
                       width_min_widths=WIDTH_THRESHOLDS["min_widths"])
            for i, t in enumerate(w.targets):
                b, lo, hi = w.slope[t]
                fit = (f"b = {b:.2f}, interval [{lo:.2f}, {hi:.2f}]" if all(map(math.isfinite, (b, lo, hi)))
                       else "no fit: fewer than two widths locate it")
                out.update({f"width_verdict_{i + 1}": w.verdict[t], f"width_slope_{i + 1}": b,
                            f"width_fit_{i + 1}": fit,
                            f"width_slope_lo_{i + 1}": lo, f"width_slope_hi_{i + 1}": hi,
                            f"width_nstar_{i + 1}": ", ".join(
                                f"{v:,.0f}" if math.isfinite(v) else st for v, st in zip(w.n_star[t], w.status[t]))})
            out.update(width_m_first=int(w.widths[0]), width_m_last=int(w.widths[-1]),
                       width_err_first=float(w.errors[0, -1]), width_err_last=float(w.errors[-1, -1]))
        L = self.lengths[2]
        prof = self.tokens(L)
        k = max(1, min(3, len(prof.positions) // 3))
        out.update(token_L=L, token_N=prof.n_train, token_k=k,
                   token_first=f"{prof.positions[0]}-{prof.positions[k - 1]}",
                   token_last=f"{prof.positions[-k]}-{prof.positions[-1]}",
                   **_gap(prof.pooled(list(range(k))), prof.pooled(list(range(-k, 0)))),
                   min_seeds=min(int(np.isfinite(self.curves(m).values).sum(axis=2)[
                       np.isfinite(self.curves(m).mean())].min()) for m in self.summary))
        return out

    def _contrast_numbers(self) -> dict:
        L1, L2 = self.lengths[:2]
        rate, noisy = self.rate(), self.rate("noise")
        noise = self.curves("sgd_w", "noise")
        floor = float(np.nanmean(self.curves("sgd_w", "noise", "noise_floor").values))
        return {"current_with": self.error("sgd_w", L1, name="current"), "current_without": self.error("sgd_w", L1),
                "current_with_L2": self.error("sgd_w", L2, name="current"),
                "current_without_L2": self.error("sgd_w", L2),
                "sin_ridge": self.error("linear_ridge", L2, name="sin3z"),
                "sin_sgd": self.error("sgd_w", L2, name="sin3z"),
                "sin_N": int(self.curves("sgd_w", "sin3z").x[-1]), "sin_eps_x": self.contrasts_base("sin3z").eps_x,
                "opt": floor, "noise_N_first": int(noise.x[0]), "noise_N_last": int(noise.x[-1]),
                "noise_err_first": float(noise.mean()[0][0]), "noise_err_last": float(noise.mean()[0][-1]),
                "noise_slope": noisy.slope, "noise_slope_se": noisy.slope_se,
                "rate_slope": rate.slope, "rate_slope_se": rate.slope_se,
                "all_err": self.error("sgd_w", L1, name="all"), "last_err": self.error("sgd_w", L1)}

    def contrasts_base(self, name: str):
        return self.contrasts[name][0].point.config

    def check(self) -> None:
        """The chapter's qualitative checks (``AssertionError`` with the numbers when one fails)."""
        for r in self.results + sum(self.contrasts.values(), ()):
            assert math.isfinite(r.test_mse) and r.test_mse >= 0, r
        for name, s in self.shares.items():  # even functions of an orthogonal projection: no linear part
            if name in ("square", "cos", "cos(3z)-1"):
                assert s["orthogonal_to_constant"] < 1e-6 < s["sphere"], (name, s)
        lin = self.curves("linear_ridge").mean()
        assert np.nanmin(lin) > 0.9, f"linear ridge fits the headline target: {np.nanmin(lin)}"
        sgd = self.curves("sgd_w").mean()[0]  # it learns what no linear model of the tokens can
        assert sgd[-1] < np.nanmin(lin[0]) - 0.1, f"SGD on W does not beat linear ridge at the shortest length: {sgd}"
        n = self.numbers()
        assert n["sin_ridge"] < 0.5, f"linear ridge should solve the old sin(3z) task, got {n['sin_ridge']}"
        assert n["noise_err_last"] < n["noise_err_first"] and n["noise_err_last"] > n["opt"], n
        assert (n["current_with"] > n["current_without"] or n["current_with_L2"] > n["current_without_L2"]), \
            "the current-token term should raise the error at one of the two shortest lengths at least"


def _gap(early, late) -> dict:
    """The pooled error of the earliest and the latest tokens (:meth:`TokenProfile.pooled`), their
    difference with its jackknife standard error over seeds, and its reading: "higher" or "lower" when
    the difference is more than 2 standard errors from 0 (the rule, fixed before the numbers)."""
    mean, se = early[1] - late[1], jackknife_se(early[0] - late[0])
    word = "higher" if mean > 2 * se else "lower" if mean < -2 * se else "about the same"
    says = {"higher": "the terms of the earliest tokens are learned worse than those of the latest",
            "lower": "the terms of the earliest tokens are learned better than those of the latest",
            "about the same": "the run resolves no difference between the earliest and the latest tokens"}[word]
    return {"token_early": early[1], "token_late": late[1], "token_gap": mean, "token_gap_se": se,
            "token_reading": word, "token_says": says}


def _prior(widths: dict, token_dim: int, seeds, error: float) -> dict:
    """``{bound's label: log10 samples required}`` per length (``widths``: ``{L: m}``, in increasing ``L``), each
    on networks at initialization of that length's width, median over the seeds."""
    factor = {}
    for m in sorted(set(widths.values())):
        lengths = [L for L in widths if widths[L] == m]
        ev = [evaluate_bounds(ElmanRNN(token_dim + 1, m, seed=s), lengths) for s in seeds]
        factor.update({(k, L): v for k in PRIOR_BOUNDS for L, v in zip(lengths, np.median([e[k] for e in ev], axis=0))})
    return {label: bound_samples(np.array([factor[k, L] for L in widths]), error) for k, label in PRIOR_BOUNDS.items()}


def _study_points(design: HeadlineDesign) -> tuple[list, dict, list]:
    """(the headline's points, each contrast's points by name, the width points) of a tuned design."""
    return design.points(), {k: v.points() for k, v in headline_contrasts(design).items()}, design.width_points()


def headline_cached(design: HeadlineDesign | None = None, *, cache_dir=None) -> bool:
    """Whether :func:`headline_study` of ``design`` would train nothing: every point it sends to its executor
    (the step tuning, the headline, the contrasts, the width study) is in the engine's cache.

    ``design`` defaults to :func:`rnnlib.tasks.headline_design` (chapter 5's; profile-aware). Reads the cached
    step tunings, since the points depend on them, and computes nothing. Chapter 5's notebook metadata names
    this function: the book's executor (_ext/execute_book.py) then runs the page beside the others instead of
    alone. A wrong answer would only cost time: the study computes the same numbers wherever it runs.
    """
    if design is None:
        from ..tasks import headline_design
        design = headline_design()
    if not isinstance(design, HeadlineDesign):
        raise TypeError(f"design must be a HeadlineDesign or None, got {type(design).__name__}")
    tune = design.tuning_points()
    if not all(is_cached(tune, cache_dir)):
        return False
    if tune:
        design = design.with_tuning(tuple(run_many(tune, cache_dir=cache_dir, progress=False)))
    main, extra, wide = _study_points(design)
    return all(is_cached(main + [p for pts in extra.values() for p in pts] + wide, cache_dir))


def headline_study(design: HeadlineDesign, *, executor=None, cache_dir=None, n_boot: int = 1000,
                   progress: bool = False) -> HeadlineStudy:
    """Run (or read) the headline and its contrasts through :func:`rnnlib.engine.run_many` and summarize.

    Args:
        design: :func:`rnnlib.tasks.headline_design`.
        executor: any ``concurrent.futures.Executor`` (a process pool); ``None``: serial.
        cache_dir: the engine's cache (``None``: the default, ``RNNLIB_CACHE``).
        n_boot: bootstrap replicates of ``N*``.
    """
    if not isinstance(design, HeadlineDesign):
        raise TypeError(f"design must be a HeadlineDesign, got {type(design).__name__}")
    start = time.perf_counter()
    tune = design.tuning_points()  # first: the points train with the step constant it chooses
    n_cached = int(sum(is_cached(tune, cache_dir)))
    tuning = tuple(run_many(tune, cache_dir=cache_dir, executor=executor, progress=progress, desc="chapter 5 (c)"))
    design = design.with_tuning(tuning) if tuning else design
    main, extra, wide = _study_points(design)
    points = main + [p for pts in extra.values() for p in pts]
    unique = list(dict.fromkeys(points + wide))  # a width point equal to a headline point runs once
    n_cached += int(sum(is_cached(unique, cache_dir)))
    res = run_many(points + wide, cache_dir=cache_dir, executor=executor, progress=progress, desc="chapter 5")
    seconds = time.perf_counter() - start
    out, k = {}, len(main)
    for name, pts in extra.items():
        out[name] = tuple(res[k:k + len(pts)])
        k += len(pts)
    results = tuple(res[:len(main)])
    width_res = tuple(res[len(points):])
    directions = ("sphere", "orthogonal_to_constant")  # each share read from the engine's cache once computed
    tables = run_many([LinearShares(tuple(SMOOTH_FUNCTIONS), design.base.token_dim, d) for d in directions],
                      cache_dir=cache_dir, progress=False, desc="shares")
    shares = {name: {d: t.shares[i] for d, t in zip(directions, tables)} for i, name in enumerate(SMOOTH_FUNCTIONS)}
    prior = _prior({L: design.widths[L] for L in design.lengths}, design.base.token_dim, design.seeds, TARGETS[1])
    width = width_summary(width_res, TARGETS, length=design.width_lengths[0], n_boot=n_boot) if wide else None
    return HeadlineStudy(design, results, out, headline_summary(results, TARGETS, n_boot=n_boot), shares, prior,
                         seconds, n_cached, len(unique) + len(tune), tuning, width, width_res)
