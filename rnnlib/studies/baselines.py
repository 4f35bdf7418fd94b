"""Chapter 7 (baselines and limits): other methods on the same data, targets outside the class, the
input scale ``eps_x`` and the output scale ``lambda``.

Paper: the limits of Allen-Zhu & Li (2019), Theorem 1 and section 3 (recalled), that the theorem leaves
open: it is a learnability guarantee for SGD on ``W`` with the input normalization ``eps_x`` and the
output scale ``lambda`` of Theorem 1 (recalled), not a separation from kernels or random features
(Rahimi & Recht 2007; Jacot et al. 2018), and its class is additive (Panigrahi & Goyal 2021 show
``D_L1`` outside it). Every run is a cached SGD run of chapter 5's design (:func:`rnnlib.sweep`, the
baselines as derived ``measure`` kinds), so a rebuilt chapter reads them back. Each study returns a
frozen result with ``check()`` and ``numbers()`` (glue keys as the chapter uses them):

* :func:`comparison_study` -> :class:`Comparison` (the six methods, and a second target);
* :func:`outside_study` -> :class:`Outside`;
* :func:`eps_study` -> :class:`EpsSweep`; :func:`lambda_study` -> :class:`LambdaSweep`;
* :func:`ntk_cost` -> :class:`NtkCostStudy` (a timing in a fresh process, the cached kind ``ntk_cost``).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .. import baselines
from ..engine import run_many
from ..generalization import steps_for_length, with_step_budget
from ..ntk_kinds import NtkCost, NtkCostConfig
from ..outside import OUTSIDE_TARGETS, measure_outside, samples_needed
from ..stats import fit_power_law, format_n_star
from ..sweep import sweep
from .checks import require

__all__ = [
    "Comparison",
    "EpsSweep",
    "LambdaSweep",
    "NtkCost",
    "NtkCostConfig",
    "NtkCostStudy",
    "Outside",
    "comparison_study",
    "eps_study",
    "lambda_study",
    "ntk_cost",
    "outside_study",
]


def _errors(runs, names) -> dict:
    """``{name: array}`` of test errors: SGD on W from the run, the others from its measure."""
    return {n: np.array([r.test_mse if n == "sgd_w" else r.extras[n] for r in runs]) for n in names}


@dataclass(frozen=True, eq=False)
class Comparison:
    """``errors[name]``: ``(len(n_grid), len(seeds))`` test errors of each method of
    :data:`rnnlib.baselines.BASELINES`; ``sgd_wab``: plain SGD on W, A, B at ``n_grid[1]``;
    ``even``: ``{name: (len(even_n),)}`` on the target ``cos(3z) - 1`` with three times the steps."""

    design: object
    errors: dict
    sgd_wab: float
    even_n: tuple
    even: dict
    even_steps: int

    @property
    def mean(self) -> dict:
        return {k: v.mean(axis=1) for k, v in self.errors.items()}

    def table_html(self, labels=None) -> str:
        return baselines.summary_table(self.design.n_grid, self.errors, labels)

    def even_table_html(self, labels=None) -> str:
        return baselines.summary_table(self.even_n, {k: v[:, None] for k, v in self.even.items()}, labels)

    def check(self) -> None:
        """Every method learns; SGD on W improves with N; B does not move under plain SGD; on the even
        target linear ridge stalls, Adam goes far below it and SGD on W improves."""
        mean = self.mean
        require(all(v[-1] < 0.9 for v in mean.values()), f"every method should learn: {mean}")
        require(mean["sgd_w"][-1] < mean["sgd_w"][0], f"SGD on W should improve with N: {mean['sgd_w']}")
        wa = self.errors["sgd_wa"][1, 0]
        require(abs(self.sgd_wab - wa) < 0.05, f"SGD on W, A, B ({self.sgd_wab:.3f}) should be SGD on W and A "
                f"({wa:.3f}): B barely moves")
        e = self.even
        require(abs(e["linear_ridge"][-1] - e["linear_ridge"][0]) < 0.1,
                f"linear ridge should stall: {e['linear_ridge']}")
        require(e["full_training"][-1] < 0.7 * e["linear_ridge"][-1], "Adam should go far below linear ridge")
        require(e["sgd_w"][-1] < e["sgd_w"][0], f"SGD on W should improve with N on the even target: {e['sgd_w']}")

    def numbers(self) -> dict:
        d, mean, err = self.design, self.mean, self.errors
        out = {"ch7-m": d.base.width, "ch7-L": d.base.length, "ch7-steps": d.steps_at_10, "ch7-c": d.base.lr_scale,
               "ch7-seeds": len(d.seeds), "ch7-sgd-wab": self.sgd_wab, "ch7-sgd-wa-N1": err["sgd_wa"][1, 0],
               "ch7-ntk-gap": np.mean(np.abs(err["ntk_ridge"] - err["sgd_w"])),
               "ch7-rf-gap": np.mean(err["random_features"] - err["sgd_w"]),
               "ch7-even-N0": self.even_n[0], "ch7-even-N1": self.even_n[-1], "ch7-even-steps": self.even_steps}
        out.update({f"ch7-N{a}": n for a, n in enumerate(d.n_grid)})
        for name in err:
            out.update({f"ch7-{name}-{a}": v for a, v in enumerate(mean[name])})
            out.update({f"ch7-even-{name}-0": self.even[name][0], f"ch7-even-{name}-1": self.even[name][-1]})
            if name != "sgd_w":
                out[f"ch7-verdict-{name}"] = baselines.verdict(err[name], err["sgd_w"])
        return out


def comparison_study(design, *, executor=None) -> Comparison:
    """The six methods on ``design`` (``rnnlib.tasks.baselines_design()``), SGD on W, A, B at the second
    ``N``, and the even target ``cos(3z) - 1`` at the larger ``N`` (seed 0, three times the steps)."""
    grid, names = design.grid(), list(baselines.BASELINES)
    runs = sweep(list(grid.values()), executor=executor, measure=baselines.measure_baselines, desc="baselines")
    by = dict(zip(grid, runs))
    errors = {n: np.array([[_errors([by[(N, s)]], [n])[n][0] for s in design.seeds] for N in design.n_grid])
              for n in names}
    wab = sweep([grid[(design.n_grid[1], design.seeds[0])].replace(trained="WAB")], executor=executor,
                progress=False)[0]
    even_n = tuple(design.n_grid[1:])
    steps = 3 * steps_for_length(design.base.length, design.steps_at_10)
    even_runs = sweep([with_step_budget(grid[(N, design.seeds[0])].replace(phi="cos(3z)-1"), steps) for N in even_n],
                      executor=executor, measure=baselines.measure_baselines, desc="even target")
    return Comparison(design, errors, float(wab.test_mse), even_n, _errors(even_runs, names), even_runs[-1].n_steps)


@dataclass(frozen=True, eq=False)
class Outside:
    """SGD on W against targets inside and outside the class: ``errors[target]`` ``(len(n_grid),)``
    (seed 0), and ``needed[target]``: ``N*`` to reach ``target_error`` (NaN/inf at the edges)."""

    n_grid: tuple
    errors: dict
    target_error: float

    @property
    def needed(self) -> dict:
        return {t: samples_needed(self.n_grid, v, self.target_error) for t, v in self.errors.items()}

    def table_html(self) -> str:
        rows = [[t] + [f"{v:.3f}" for v in self.errors[t]] + [format_n_star(n, self.n_grid)]
                for t, n in self.needed.items()]
        return baselines.format_table(["target"] + [f"N = {n:,}" for n in self.n_grid]
                                      + [f"N needed for error {self.target_error}"], rows)

    def check(self) -> None:
        """The additive target and the smooth function of a sum are learned; the interactions are not."""
        e = self.errors
        require(e["additive"][-1] < self.target_error and e["non-additive"][-1] < 0.6,
                f"the additive and non-additive targets should be learned: {e['additive']}, {e['non-additive']}")
        for t in ("exactly-one", "parity-2", "parity-3", "parity-5"):
            require(e[t].min() > 0.9, f"{t} should stay near the error of predicting the mean: {e[t]}")

    def numbers(self) -> dict:
        out = {"ch7-target-err": self.target_error}
        for t, n in self.needed.items():
            key = t.replace("-", "")
            out[f"ch7-out-{key}"] = self.errors[t][-1]
            out[f"ch7-need-{key}"] = format_n_star(n, self.n_grid, words=True)
        return out


def outside_study(design, target_error: float = 0.5, *, executor=None) -> Outside:
    """SGD on W on :data:`rnnlib.OUTSIDE_TARGETS` at every ``N`` of ``design`` (seed 0)."""
    cfgs = [design.config(N, design.seeds[0]) for N in design.n_grid]
    runs = sweep(cfgs, executor=executor, measure=measure_outside, desc="outside the class")
    return Outside(tuple(design.n_grid), {t: np.array([r.extras[t] for r in runs]) for t in OUTSIDE_TARGETS},
                   float(target_error))


@dataclass(frozen=True, eq=False)
class EpsSweep:
    """Per input scale (rows) and seed (columns): SGD on W's test error ``sgd``, random features ``rf``,
    flipped patterns ``flips`` and ``||W_T - W_0||_F`` ``disp``, at ``n_train``."""

    eps: tuple
    n_train: int
    sgd: np.ndarray
    rf: np.ndarray
    flips: np.ndarray
    disp: np.ndarray

    def check(self, small: float = 0.03, book: float = 0.3) -> None:
        """A tiny eps_x starves SGD on W; with faint tokens random features are better on this task."""
        s, b = self.eps.index(small), self.eps.index(book)
        sgd, rf = self.sgd.mean(axis=1), self.rf.mean(axis=1)
        require(sgd[s] > sgd[b] + 0.1, f"eps_x = {small} should learn far worse than {book}: {sgd}")
        require(rf[s] < rf[-1], f"random features should be better with faint tokens: {rf}")

    def numbers(self) -> dict:
        out = {"ch7-eps-N": self.n_train}
        for name, arr in (("sgd", self.sgd), ("rf", self.rf), ("flips", self.flips), ("disp", self.disp)):
            out.update({f"ch7-eps-{name}-{a}": v for a, v in enumerate(arr.mean(axis=1))})
        return out


def eps_study(design, eps_grid: Sequence[float], *, executor=None) -> EpsSweep:
    """SGD on W and random features at each ``eps_x``, at ``design.n_grid[1]``, every seed."""
    N = design.n_grid[1]
    cfgs = [design.config(N, s).replace(eps_x=e) for e in eps_grid for s in design.seeds]
    runs = sweep(cfgs, executor=executor, measure=baselines.measure_random_features, desc="eps_x")
    shape = (len(eps_grid), len(design.seeds))
    arr = lambda f: np.array([f(r) for r in runs]).reshape(shape)
    return EpsSweep(tuple(eps_grid), N, arr(lambda r: r.test_mse), arr(lambda r: r.extras["random_features"]),
                    arr(lambda r: r.pattern_flips), arr(lambda r: r.w_displacement))


@dataclass(frozen=True, eq=False)
class LambdaSweep:
    """Per width (rows) and output scale (columns): test error after training ``test`` and at
    initialization ``init``, ``||W_T - W_0||_F`` ``disp`` and flipped patterns ``flips``."""

    lambdas: tuple
    widths: tuple
    n_train: int
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
        out = {"ch7-lam-N": self.n_train, "ch7-lam-c": self.step_constant, "ch7-lam-slope": np.mean(self.disp_slopes)}
        out.update({f"ch7-lam-m{a}": m for a, m in enumerate(self.widths)})
        for name, arr in (("test", self.test), ("init", self.init), ("flips", self.flips)):
            out.update({f"ch7-lam-{name}-{a}{b}": arr[a, b] for a in range(arr.shape[0]) for b in range(arr.shape[1])})
        return out


def lambda_study(design, lambdas: Sequence[float], widths: Sequence[int], step_constant: float, *,
                 executor=None) -> LambdaSweep:
    """SGD on W at each width and output scale (step constant ``c = step_constant``), ``design.n_grid[1]``, seed 0."""
    N = design.n_grid[1]
    cfgs = [design.config(N, design.seeds[0]).replace(width=m, output_scale=lam, lr_scale=step_constant)
            for m in widths for lam in lambdas]
    runs = sweep(cfgs, executor=executor, desc="lambda")
    arr = lambda f: np.array([f(r) for r in runs]).reshape(len(widths), len(lambdas))
    return LambdaSweep(tuple(lambdas), tuple(widths), N, float(step_constant), arr(lambda r: r.test_mse),
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
