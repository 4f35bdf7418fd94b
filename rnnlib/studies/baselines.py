"""Chapter 7 (baselines and limits): SGD on ``W`` against the other methods on chapter 5's headline
task, targets outside the class, the input scale ``eps_x`` and the output scale ``lambda``.

Paper: the limits of Allen-Zhu & Li (2019), Theorem 1 and section 3 (recalled), that the theorem leaves
open: it is a learnability guarantee for SGD on ``W`` with the input normalization ``eps_x`` and the
output scale ``lambda`` of Theorem 1 (recalled), not a separation from kernels or random features
(Rahimi & Recht 2007; Jacot et al. 2018), and its class is additive (Panigrahi & Goyal 2021 show
``D_L1`` outside it).

Every study starts from chapter 5's :class:`~rnnlib.studies.generalization.HeadlineStudy` (issue 13:
every comparison between methods uses the same task, the same data and the same validation protocol),
so the comparison reads chapter 5's cached runs and the other sections run on the same task:

* :func:`headline_comparison` -> :class:`MethodComparison` (no new run: the five methods of chapter 5,
  their ``N*`` verdicts, the old ``sin 3z`` task as the contrast, where the NTK stops and its cost);
* :func:`outside_study` -> :class:`Outside` (the kind ``outside`` at the shortest length, one step
  constant for every target);
* :func:`eps_study` -> :class:`EpsSweep`; :func:`lambda_study` -> :class:`LambdaSweep` (SGD runs);
* :func:`ntk_cost` -> :class:`NtkCostStudy` (a timing in a fresh process, the cached kind ``ntk_cost``).

Each returns a frozen result with ``check()`` and ``numbers()`` (glue keys as the chapter uses them).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import baselines
from ..baselines import BaselineConfig
from ..engine import run_many
from ..headline import METHOD_LABELS, HeadlinePoint, point_work, seconds_per_work
from ..headline_stats import THRESHOLDS, comparison_verdict
from ..ntk_kinds import NtkCost, NtkCostConfig
from ..outside import OutsideConfig
from ..stats import fit_power_law, format_n_star, samples_needed
from ..sweep import sweep
from .checks import require

__all__ = ["COMPARED", "MethodComparison", "headline_comparison", "Outside", "outside_study", "EpsSweep",
           "eps_study", "LambdaSweep", "lambda_study", "NtkCost", "NtkCostConfig", "NtkCostStudy", "ntk_cost",
           "sgd_configs"]

#: The methods compared with SGD on W (chapter 5's, in the book's order).
COMPARED = ("sgd_wa", "linear_ridge", "random_features", "ntk_ridge")


def _study_type(headline):
    if not (hasattr(headline, "summary") and hasattr(headline, "design") and hasattr(headline, "contrasts")):
        raise TypeError(f"headline must be a HeadlineStudy (rnnlib.studies.generalization), got "
                        f"{type(headline).__name__}")
    return headline


def sgd_configs(headline, length: int, n_values, seeds) -> list:
    """The experiment configs of chapter 5's SGD-on-W points at ``length`` (task, width, step budget,
    concept options), one per ``(N, seed)``, ``N`` outermost."""
    d = _study_type(headline).design
    pts = {(p.config.n_train, p.config.seed): p for p in d.replace(n_min={}, n_max={}).points(("sgd_w",))
           if p.config.length == length}
    return [pts[(N, s)].experiment for N in n_values for s in seeds]


@dataclass(frozen=True, eq=False)
class MethodComparison:
    """Chapter 5's headline read as a comparison of methods (chapter 7). ``headline`` is the
    :class:`~rnnlib.studies.generalization.HeadlineStudy`; ``lengths`` the (at most two) lengths shown:
    the shortest ones, where the methods reach chapter 5's target errors."""

    headline: object
    lengths: tuple

    @property
    def targets(self) -> tuple:
        return tuple(next(iter(self.headline.summary.values())))

    def verdict(self, method: str, target: float, length: int) -> str:
        """:func:`rnnlib.headline_stats.comparison_verdict` of ``method`` against SGD on W."""
        s = self.headline.summary
        return comparison_verdict(s["sgd_w"][target], s[method][target], length)

    def errors(self, method: str, length: int):
        """``(N, mean, low, high)`` of ``method`` at ``length``: test error over seeds (range), where it ran."""
        c = self.headline.curves(method)
        v = c.values[list(c.groups).index(length)]
        ok = np.isfinite(v).all(axis=1)
        return c.x[ok], v[ok].mean(axis=1), v[ok].min(axis=1), v[ok].max(axis=1)

    def outcomes(self, verdict: str) -> str:
        """Where another method gets ``verdict`` against SGD on W, as words (``"none"`` if nowhere)."""
        parts = []
        for m in COMPARED:
            for L in self.lengths:
                ts = [f"{t:g}" for t in self.targets if self.verdict(m, t, L) == verdict]
                if ts:
                    parts.append(f"{METHOD_LABELS[m]} at L = {L} (target{'s' if len(ts) > 1 else ''} "
                                 f"{', '.join(ts)})")
        return "; ".join(parts) if parts else "none"

    def table(self) -> str:
        """Markdown: per method and target, ``N*`` [90% interval] at each length and the verdict."""
        head = ["method", "target"]
        for L in self.lengths:
            head += [f"N* at L = {L} [90%]", f"vs SGD on W at L = {L}"]
        rows = []
        for m in ("sgd_w",) + COMPARED:
            for t in self.targets:
                row = [METHOD_LABELS[m], f"{t:g}"]
                for L in self.lengths:
                    row += [self.headline.cell(m, t, L), "reference" if m == "sgd_w" else self.verdict(m, t, L)]
                rows.append(row)
        return baselines.format_table(head, rows, fmt="markdown")

    def ntk_next(self, length: int):
        """``(N, predicted CPU s, Gram MB)`` of the first grid point the NTK leaves out at ``length``
        (NaNs when it runs everywhere): the CPU time is the measured seconds per unit of
        :func:`rnnlib.headline.point_work` of the NTK runs, times that point's work."""
        d = self.headline.design
        left = [N for N in d.n_grid if N > self.headline.ntk_stop(length)]
        if not left:
            return math.nan, math.nan, math.nan
        rate = seconds_per_work(self.headline.results).get("ntk_ridge", math.nan)
        cfg = d.base.replace(length=length, n_train=left[0], width=d.widths[length])
        return float(left[0]), rate * point_work(HeadlinePoint(cfg, "ntk_ridge")), 8e-6 * left[0] ** 2

    def ntk_cpu(self, length: int) -> float:
        """Mean CPU seconds of the NTK runs at ``length`` and its largest ``N`` (NaN if none ran)."""
        stop = self.headline.ntk_stop(length)
        cpu = [r.info.get("cpu_seconds", math.nan) for r in self.headline.results if r.point.method == "ntk_ridge"
               and r.point.config.length == length and r.point.config.n_train == stop]
        return float(np.mean(cpu)) if cpu else math.nan

    def step_constants(self) -> dict:
        """``{(method, L): c}``: the step constant each SGD method trains with in chapter 5's runs."""
        return {(p.method, p.config.length): p.config.lr_scale for p in self.headline.design.points(("sgd_w", "sgd_wa"))
                if p.config.length in self.lengths}

    def ntk_point(self) -> dict:
        """The arguments of :func:`ntk_cost` at the largest NTK point of the second length shown."""
        d, L = self.headline.design, self.lengths[-1]
        return {"n": int(self.headline.ntk_stop(L)), "length": L, "width": d.widths[L], "n_test": d.base.n_test}

    def check(self) -> None:
        """Linear ridge solves the old sin(3z) task and fails on the headline (the linear confound);
        SGD on W learns at the shortest length; the NTK runs only inside its budget."""
        h, L1, L2 = self.headline, self.lengths[0], self.lengths[-1]
        sin_ridge, sin_sgd = h.error("linear_ridge", L2, name="sin3z"), h.error("sgd_w", L2, name="sin3z")
        require(sin_ridge < min(0.5, sin_sgd), f"linear ridge should solve the old sin(3z) task and beat SGD on W "
                f"there: {sin_ridge:.3f} against {sin_sgd:.3f}")
        lin = np.nanmin(h.curves("linear_ridge").mean())
        require(lin > 0.9, f"linear ridge should stay near error 1 on the headline task: {lin:.3f}")
        # as chapter 5's check: at the shortest length SGD on W beats the linear model by 0.1 (a learner
        # that sees only the linear part stays at error 1 here); SGD's step constant is chosen per N, so
        # its curve over N need not fall at every step
        _, sgd, _, _ = self.errors("sgd_w", L1)
        _, ridge, _, _ = self.errors("linear_ridge", L1)
        require(sgd[-1] < ridge[-1] - 0.1, f"SGD on W should learn at L = {L1}: {sgd} against linear ridge {ridge}")
        ran = [r.point.config for r in h.results if r.point.method == "ntk_ridge"]
        require(all(c.n_train * c.length <= h.design.ntk_max for c in ran), "an NTK point above its budget ran")
        known = {"fewer samples", "more samples", "about the same", "not reached in the grid", "undetermined"}
        bad = {(m, t, L): v for m in COMPARED for t in self.targets for L in (L1, L2)
               if (v := self.verdict(m, t, L)) not in known}
        require(math.isfinite(sin_sgd) and not bad, f"every comparison needs a verdict of the rule: {bad}")

    def numbers(self) -> dict:
        h, d = self.headline, self.headline.design
        L1, L2 = self.lengths[0], self.lengths[-1]
        out = {"ch7-L1": L1, "ch7-L2": L2, "ch7-Nmax": d.n_grid[-1], "ch7-N0": d.n_grid[0], "ch7-m": d.widths[L1],
               "ch7-seeds": len(d.seeds), "ch7-steps": d.steps_at_10, "ch7-eps-x": d.base.eps_x,
               "ch7-ntest": d.base.n_test, "ch7-ntk-max": d.ntk_max, "ch7-phi": d.base.phi,
               "ch7-ratio": THRESHOLDS["sample_ratio"], "ch7-lengths": ", ".join(map(str, h.lengths)),
               "ch7-fewer": self.outcomes("fewer samples"), "ch7-about": self.outcomes("about the same"),
               "ch7-sin-L": L2, "ch7-sin-ridge": h.error("linear_ridge", L2, name="sin3z"),
               "ch7-sin-sgd": h.error("sgd_w", L2, name="sin3z"), "ch7-sin-N": int(h.curves("sgd_w", "sin3z").x[-1]),
               "ch7-sin-eps": h.contrasts["sin3z"][0].point.config.eps_x}
        out["ch7-more"] = self.outcomes("more samples")
        out["ch7-notreached"] = self.outcomes("not reached in the grid")
        out["ch7-undetermined"] = self.outcomes("undetermined")
        out["ch7-summary"] = ("SGD on W is not the most sample-efficient method here" if out["ch7-fewer"] != "none"
                              else "no other method needs fewer samples than SGD on W")
        for name, key in (("sin(3z)", "sin3z"), ("square", "square")):
            out[f"ch7-share-{key}"] = h.shares[name]["sphere"]
            out[f"ch7-share-orth-{key}"] = h.shares[name]["orthogonal_to_constant"]
        for m in ("sgd_w",) + COMPARED:
            for j, L in enumerate((L1, L2), 1):
                N, mean, _, _ = self.errors(m, L)
                out[f"ch7-err-{m}-L{j}"] = float(mean[-1]) if len(mean) else math.nan
                out[f"ch7-errN-{m}-L{j}"] = int(N[-1]) if len(N) else 0
                for i, t in enumerate(self.targets, 1):
                    out[f"ch7-nstar-{m}-{i}-L{j}"] = h.cell(m, t, L)
                    if m != "sgd_w":
                        out[f"ch7-vs-{m}-{i}-L{j}"] = self.verdict(m, t, L)
        out.update({f"ch7-target{i}": t for i, t in enumerate(self.targets, 1)})
        out.update({f"ch7-c-{m}-L{1 + self.lengths.index(L)}": c for (m, L), c in self.step_constants().items()})
        n_next, cpu_next, mb_next = self.ntk_next(L2)
        out.update({"ch7-ntk-stop": h.ntk_stop(L2), "ch7-ntk-stop-cpu": self.ntk_cpu(L2), "ch7-ntk-next": n_next,
                    "ch7-ntk-next-cpu": cpu_next, "ch7-ntk-next-mb": mb_next})
        return out


def headline_comparison(headline) -> MethodComparison:
    """Chapter 7's comparison of methods, read from chapter 5's headline (no run of its own)."""
    return MethodComparison(_study_type(headline), tuple(int(L) for L in headline.lengths[:2]))


@dataclass(frozen=True, eq=False)
class Outside:
    """SGD on W against targets inside and outside the class at one length: ``errors[target]``
    ``(len(n_grid),)`` (seed 0), and ``needed[target]``: ``N*`` to reach ``target_error``."""

    n_grid: tuple
    errors: dict
    target_error: float
    length: int
    width: int
    step_constant: float = 2.0

    @property
    def needed(self) -> dict:
        return {t: samples_needed(self.n_grid, v, self.target_error) for t, v in self.errors.items()}

    def table_html(self) -> str:
        rows = [[t] + [f"{v:.3f}" for v in self.errors[t]] + [format_n_star(n, self.n_grid)]
                for t, n in self.needed.items()]
        return baselines.format_table(["target"] + [f"N = {n:,}" for n in self.n_grid]
                                      + [f"N needed for error {self.target_error:g}"], rows)

    def learned(self) -> str:
        """The targets outside the class that reach ``target_error`` inside the grid, as words."""
        out = [t for t, v in self.errors.items() if t != "additive" and np.nanmin(v) <= self.target_error]
        return ", ".join(out) if out else "none"

    def check(self) -> None:
        """The additive target (chapter 5's headline) reaches the target error; every error is finite."""
        e = self.errors
        require(e["additive"][-1] < self.target_error, f"the additive target should be learned: {e['additive']}")
        require(all(np.isfinite(v).all() for v in e.values()), f"every error should be finite: {e}")

    def numbers(self) -> dict:
        out = {"ch7-target-err": self.target_error, "ch7-out-L": self.length, "ch7-out-learned": self.learned(),
               "ch7-out-N": self.n_grid[-1], "ch7-out-c": self.step_constant}
        for t, n in self.needed.items():
            key = t.replace("-", "")
            out[f"ch7-out-{key}"] = self.errors[t][-1]
            out[f"ch7-need-{key}"] = format_n_star(n, self.n_grid, words=True)
        return out


def outside_study(headline, step_constant: float | None = None, *, executor=None, cache_dir=None) -> Outside:
    """SGD on W against the additive target and the targets outside the class at chapter 5's shortest
    length (seed 0, every ``N`` run there), on the same tokens and network, with the same steps and one
    step constant ``c = step_constant`` for every target (``None``: the book's, ``design.base.lr_scale``:
    a step constant chosen by validation is chosen for the headline target only); parities of ``k``
    signs for ``k < L``. One cached ``outside`` ensemble per ``N``; the target error is chapter 5's
    middle target."""
    h = _study_type(headline)
    L, seed = h.lengths[0], h.design.seeds[0]
    c = h.design.base.lr_scale if step_constant is None else float(step_constant)
    n_grid = h.ran("sgd_w", L)
    targets = ("additive", "non-additive", "exactly-one") + tuple(f"parity-{k}" for k in (2, 3, 5) if k < L)
    cfgs = [cfg.replace(lr_scale=c) for cfg in sgd_configs(h, L, n_grid, [seed])]
    runs = run_many([OutsideConfig(cfg, targets) for cfg in cfgs], cache_dir=cache_dir, executor=executor,
                    progress=False, desc="outside the class")
    errors = {t: np.array([r.results[k].test_mse for r in runs]) for k, t in enumerate(targets)}
    return Outside(tuple(n_grid), errors, float(list(h.summary["sgd_w"])[1]), int(L), int(h.design.widths[L]), c)


@dataclass(frozen=True, eq=False)
class EpsSweep:
    """Per input scale (rows) and seed (columns): SGD on W's test error ``sgd``, random features ``rf``,
    flipped patterns ``flips``, ``||W_T - W_0||_F`` ``disp``, at ``n_train``, ``length``, ``step_constant``."""

    eps: tuple
    n_train: int
    length: int
    sgd: np.ndarray
    rf: np.ndarray
    flips: np.ndarray
    disp: np.ndarray
    step_constant: float = 2.0

    def check(self) -> None:
        """Faint tokens starve SGD on W: the smallest eps_x learns worse than the largest (chapter 5's)."""
        sgd, flips, disp = self.sgd.mean(axis=1), self.flips.mean(axis=1), self.disp.mean(axis=1)
        require(sgd[0] > sgd[-1] + 0.1, f"eps_x = {self.eps[0]} should learn far worse than {self.eps[-1]}: {sgd}")
        require(flips[-1] > flips[0] and disp[-1] > disp[0],
                f"a larger eps_x should move W further and flip more patterns: {flips}, {disp}")

    def numbers(self) -> dict:
        rf = self.rf.mean(axis=1)
        out = {"ch7-eps-N": self.n_train, "ch7-eps-L": self.length, "ch7-eps-first": self.eps[0],
               "ch7-eps-last": self.eps[-1], "ch7-eps-rf-best": float(np.min(rf)),
               "ch7-eps-rf-at": self.eps[int(np.argmin(rf))], "ch7-eps-n": len(self.eps),
               "ch7-eps-c": self.step_constant}
        out.update({f"ch7-eps-v{a}": e for a, e in enumerate(self.eps)})
        for name, arr in (("sgd", self.sgd), ("rf", self.rf), ("flips", self.flips), ("disp", self.disp)):
            out.update({f"ch7-eps-{name}-{a}": v for a, v in enumerate(arr.mean(axis=1))})
        return out


def eps_study(headline, eps_grid: Sequence[float], step_constant: float | None = None, *, executor=None,
              cache_dir=None) -> EpsSweep:
    """SGD on W and random features at each ``eps_x`` on chapter 5's task, at its shortest length and
    third ``N``, every seed, one ``c = step_constant`` at every scale (``None``: the book's; chapter 5's is
    chosen at its own ``eps_x`` and can diverge at another). ``eps_grid`` increasing."""
    h = _study_type(headline)
    eps_grid = tuple(float(e) for e in eps_grid)
    if len(eps_grid) < 2 or list(eps_grid) != sorted(set(eps_grid)) or eps_grid[0] <= 0:
        raise ValueError(f"eps_grid must be at least two increasing positive numbers, got {eps_grid}")
    L, N = h.lengths[0], h.design.n_grid[min(2, len(h.design.n_grid) - 1)]
    step = h.design.base.lr_scale if step_constant is None else float(step_constant)
    cfgs = [c.replace(eps_x=e, lr_scale=step) for e in eps_grid for c in sgd_configs(h, L, [N], h.design.seeds)]
    runs = sweep(cfgs, cache_dir=cache_dir, executor=executor, progress=False, desc="eps_x")
    rf = run_many([BaselineConfig("random_features", c) for c in cfgs], cache_dir=cache_dir,
                  executor=executor, progress=False, desc="eps_x random features")
    shape = (len(eps_grid), len(h.design.seeds))
    arr = lambda xs: np.array(xs, dtype=float).reshape(shape)
    return EpsSweep(eps_grid, int(N), int(L), arr([r.test_mse for r in runs]), arr([r.test_mse for r in rf]),
                    arr([r.pattern_flips for r in runs]), arr([r.w_displacement for r in runs]), step)


@dataclass(frozen=True, eq=False)
class LambdaSweep:
    """Per width (rows) and output scale (columns): test error after training ``test`` and at
    initialization ``init``, ``||W_T - W_0||_F`` ``disp`` and flipped patterns ``flips``."""

    lambdas: tuple
    widths: tuple
    n_train: int
    length: int
    step_constant: float
    test: np.ndarray
    init: np.ndarray
    disp: np.ndarray
    flips: np.ndarray

    @property
    def disp_slopes(self) -> list:
        return [float(fit_power_law(np.array(self.lambdas), row).exponent) for row in self.disp]

    def check(self) -> None:
        """The initial error grows with lambda; W travels further (and flips more) as lambda shrinks."""
        require(np.all(self.init[:, 0] > self.init[:, -1]), f"the initial error should grow with lambda: {self.init}")
        require(all(s < -0.5 for s in self.disp_slopes), f"||W_T - W_0|| should grow as lambda shrinks: "
                f"slopes {self.disp_slopes}")
        require(np.all(self.flips[:, -1] > self.flips[:, 0]),
                f"a smaller lambda should flip more patterns: {self.flips}")

    def numbers(self) -> dict:
        out = {"ch7-lam-N": self.n_train, "ch7-lam-L": self.length, "ch7-lam-c": self.step_constant,
               "ch7-lam-slope": np.mean(self.disp_slopes)}
        out.update({f"ch7-lam-m{a}": m for a, m in enumerate(self.widths)})
        out.update({f"ch7-lam-v{b}": lam for b, lam in enumerate(self.lambdas)})
        for name, arr in (("test", self.test), ("init", self.init), ("flips", self.flips)):
            out.update({f"ch7-lam-{name}-{a}{b}": arr[a, b] for a in range(arr.shape[0]) for b in range(arr.shape[1])})
        return out


def lambda_study(headline, lambdas: Sequence[float], widths: Sequence[int], step_constant: float | None = None, *,
                 executor=None, cache_dir=None) -> LambdaSweep:
    """SGD on W at each width and output scale on chapter 5's task, at its shortest length and second
    ``N``, seed 0, with one step constant ``c = step_constant`` at every ``lambda`` (``None``: the book's,
    ``design.base.lr_scale``; a step constant chosen by validation is chosen at the book's ``lambda`` only)."""
    h = _study_type(headline)
    L, N = h.lengths[0], h.design.n_grid[1]
    base = sgd_configs(h, L, [N], h.design.seeds[:1])[0]
    step_constant = h.design.base.lr_scale if step_constant is None else step_constant
    cfgs = [base.replace(width=m, output_scale=lam, lr_scale=step_constant) for m in widths for lam in lambdas]
    runs = sweep(cfgs, cache_dir=cache_dir, executor=executor, progress=False, desc="lambda")
    arr = lambda f: np.array([f(r) for r in runs]).reshape(len(widths), len(lambdas))
    return LambdaSweep(tuple(lambdas), tuple(widths), int(N), int(L), float(step_constant), arr(lambda r: r.test_mse),
                       arr(lambda r: r.test_mse_at_init), arr(lambda r: r.w_displacement),
                       arr(lambda r: r.pattern_flips))


@dataclass(frozen=True, eq=False)
class NtkCostStudy:
    """The cached :class:`~rnnlib.ntk_kinds.NtkCost` (``cost``) with the chapter's check and numbers."""

    cost: NtkCost

    def check(self) -> None:
        """The chunked Gram matrix is finite and stays far below 2 GB (the budget)."""
        require(self.cost.values["finite"] == 1.0, "the Gram matrix should be finite")
        peak = self.cost.values["peak_rss_mb"]
        require(peak < 2048, f"peak memory {peak:.0f} MB >= 2 GB")

    def numbers(self) -> dict:
        c, v = self.cost.config, self.cost.values
        return {"ch7-ntk-n": c.n, "ch7-ntk-L": c.length, "ch7-ntk-m": c.width, "ch7-ntk-ntest": c.n_test,
                "ch7-ntk-sec": v["seconds_gram"], "ch7-ntk-cpu": v["cpu_seconds_gram"],
                "ch7-ntk-sec-cross": v["seconds_cross"], "ch7-ntk-peak": v["peak_rss_mb"],
                "ch7-ntk-base": v["rss_before_mb"], "ch7-ntk-threads": int(v["threads"])}


def ntk_cost(n: int, length: int, width: int, n_test: int, *, cache_dir=None) -> NtkCostStudy:
    """The cached :class:`~rnnlib.ntk_kinds.NtkCost` of :class:`~rnnlib.ntk_kinds.NtkCostConfig`."""
    return NtkCostStudy(run_many([NtkCostConfig(n, length, width, n_test)], cache_dir=cache_dir, progress=False)[0])
