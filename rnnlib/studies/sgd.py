"""Chapter 4 (SGD on W): the theorem's constants against practical ones, the lazy regime, the pseudo-network.

Paper: the algorithm of Allen-Zhu & Li (2019), section 3 (recalled), plain SGD on the recurrent matrix ``W`` only with
Theorem 1's output scale ``lambda``, step size ``eta`` and iterations ``T`` (as restated by Panigrahi
& Goyal 2021), the lazy regime the proof works in, and its pseudo-network, the first-order expansion
of the RNN in ``W' = W - W_0`` built from the maps ``Back_{i->j}``.

* :func:`theory_versus_practice` -> :class:`TheoryVersusPractice`: one task trained with the theorem's
  ``lambda, eta`` and with the practical ``eta = c / (lambda^2 L m)``, same data and steps;
* :func:`width_sweep` -> :class:`WidthSweep`: the same task at several widths, each run followed by a
  :class:`rnnlib.PseudoNetworkTracker`; its :meth:`WidthSweep.pseudo_network` gives
  :class:`PseudoNetworkFidelity`.

Every run is a cached kind of the engine (``sgd``, and ``tracked_sgd`` of :mod:`rnnlib.sgd_kinds`), so a
re-executed chapter trains nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._checks import check_float, check_int
from ..engine import run_many
from ..experiment import ExperimentConfig, ExperimentResult
from ..lazy import fit_power_law, lazy_summary, scaled_config
from ..sgd_kinds import TrackedRunConfig
from ..theory import log10_theory_iterations, rho, theory_output_scale, theory_step_size
from .checks import require

__all__ = ["TheoryVersusPractice", "theory_versus_practice", "WidthSweep", "width_sweep",
           "PseudoNetworkFidelity", "LAZY_KEYS", "training_runs"]


@dataclass(frozen=True)
class TheoryVersusPractice:
    """The theorem's constants at one width, and two runs of the same task.

    Attributes:
        eps: the target accuracy that sets them; ``rho``, ``lam``, ``eta``: ``100 L d log m``, ``lambda``,
            ``eta``; ``log10_T``, ``log10_T_c1``: ``log10`` of the iterations with ``C* = 10^4`` and ``1``.
        theory, practical: the runs with the theorem's and with the practical scaling.
    """

    eps: float
    rho: float
    lam: float
    eta: float
    log10_T: float
    log10_T_c1: float
    theory: ExperimentResult
    practical: ExperimentResult

    @property
    def c(self) -> float:
        """``eta lambda^2 L m``: one step's speed in function space against a step with ``c = 1``.

        SGD moves the outputs by about ``eta lambda^2`` times the W-only tangent kernel, whose scale is
        about ``L m / 2``; the practical step size is ``c / (lambda^2 L m)``.
        """
        cfg = self.practical.config
        return self.eta * self.lam ** 2 * cfg.length * cfg.width

    def check(self) -> None:
        """Nothing moves under the theorem's constants; the practical scaling learns in as many steps."""
        th, pr = self.theory, self.practical
        require(abs(th.test_mse - th.test_mse_at_init) < 1e-3 and th.w_displacement < 1e-6,
                f"the theorem's constants should leave the network unchanged: test {th.test_mse_at_init:.4f} -> "
                f"{th.test_mse:.4f}, ||W_T - W_0|| = {th.w_displacement:.2g}")
        require(pr.test_mse < 0.95 * pr.test_mse_at_init, f"the practical scaling should learn: test "
                f"{pr.test_mse_at_init:.3f} -> {pr.test_mse:.3f}")
        require(pr.n_steps == th.n_steps, f"both runs should take the same steps, {pr.n_steps} vs {th.n_steps}")

    def numbers(self) -> dict:
        th, pr = self.theory, self.practical
        return {"ch4-eps": self.eps, "ch4-L": pr.config.length, "ch4-theory-m": pr.config.width, "ch4-rho": self.rho,
                "ch4-lambda-th": self.lam, "ch4-eta-th": self.eta, "ch4-log10-T": self.log10_T,
                "ch4-log10-T-c1": self.log10_T_c1, "ch4-c-th": self.c, "ch4-log10-slowdown": -np.log10(self.c),
                "ch4-steps": th.n_steps, "ch4-th-init": th.test_mse_at_init, "ch4-th-final": th.test_mse,
                "ch4-th-disp": th.w_displacement, "ch4-lambda": pr.config.output_scale, "ch4-c": pr.config.lr_scale,
                "ch4-eta": pr.lr, "ch4-pr-init": pr.test_mse_at_init, "ch4-pr-final": pr.test_mse,
                "ch4-pr-disp": pr.w_displacement, "ch4-batch": pr.config.batch_size}


def theory_versus_practice(base: ExperimentConfig, width: int, eps: float = 0.1, *,
                           cache_dir=None) -> TheoryVersusPractice:
    """Train ``base`` at ``width`` with Theorem 1's ``lambda, eta`` for accuracy ``eps``, and as configured.

    Both runs are the engine's ``sgd`` kind, read from its cache (``cache_dir`` as
    :func:`rnnlib.engine.run_many`).
    """
    if not isinstance(base, ExperimentConfig):
        raise TypeError(f"base must be an ExperimentConfig, got {type(base).__name__}")
    eps = check_float("eps", eps, positive=True, below=1.0)
    L, m = base.length, check_int("width", width, minimum=2)
    lam, eta = theory_output_scale(eps, L, m), theory_step_size(eps, L, m)
    theory, practical = run_many([base.replace(width=m, output_scale=lam, lr=eta), base.replace(width=m)],
                                 cache_dir=cache_dir, progress=False)
    return TheoryVersusPractice(
        eps=eps, rho=rho(L, 1, m), lam=lam, eta=eta, log10_T=log10_theory_iterations(eps, L, m, phi=base.phi),
        log10_T_c1=log10_theory_iterations(eps, L, m, phi=base.phi, c_star=1.0), theory=theory, practical=practical)


LAZY_KEYS = {"displacement_fro": "fro", "displacement_spectral": "spec", "relative": "rel", "pattern_flips": "flips"}


@dataclass(frozen=True)
class PseudoNetworkFidelity:
    """The pseudo-network at ``W_0`` against the trained RNN along each run of a width sweep.

    Attributes:
        trackers: width -> :class:`rnnlib.sgd_kinds.TrackerRecord` (what a
            :class:`rnnlib.PseudoNetworkTracker` recorded along the trajectory).
        n_probe: test sequences the comparison runs on.
    """

    trackers: dict
    n_probe: int

    @property
    def widths(self) -> list:
        return sorted(self.trackers)

    @property
    def final_error(self) -> np.ndarray:
        """Relative error of the predicted change of the outputs after training, per width."""
        return np.array([self.trackers[m].relative_error[-1] for m in self.widths])

    @property
    def fit(self) -> tuple:
        return fit_power_law(self.widths, self.final_error)

    def check(self) -> None:
        """The linearization improves with m and is within 50% at the largest; W moves away steadily."""
        err = self.final_error
        require(err[-1] < err[0] and self.fit[0] < 0 and err[-1] < 0.5,
                f"the pseudo-network's error should fall with the width, below 0.5 at the largest: {err}")
        for m in self.widths:
            require(np.all(np.diff(self.trackers[m].displacement_fro) > 0),
                    f"m = {m}: ||W_t - W_0|| should grow along the trajectory")

    def numbers(self) -> dict:
        err, (slope, _, slope_err) = self.final_error, self.fit
        widest = self.trackers[self.widths[-1]]
        return {"ch4-probe": self.n_probe, "ch4-pn-err-min-m": 100 * err[0], "ch4-pn-err-max-m": 100 * err[-1],
                "ch4-pn-slope": slope, "ch4-pn-slope-err": slope_err,
                "ch4-pn-max-along-max-m": 100 * np.nanmax(widest.relative_error),
                "ch4-pn-first-max-m": 100 * widest.relative_error[1]}


@dataclass(frozen=True)
class WidthSweep:
    """One task trained at several widths (same data, epochs and step-size constant ``c``).

    Attributes:
        results: width -> :class:`rnnlib.ExperimentResult`.
        trackers: width -> :class:`rnnlib.sgd_kinds.TrackerRecord` of that run's pseudo-network tracker.
        n_probe: test sequences the trackers compare on.
    """

    results: dict
    trackers: dict
    n_probe: int

    @property
    def summary(self) -> dict:
        """:func:`rnnlib.lazy_summary` of the runs (arrays sorted by width)."""
        return lazy_summary(self.results.values())

    @property
    def fits(self) -> dict:
        """Lazy quantity -> ``(slope, c, stderr)`` of its power law in ``m``."""
        s = self.summary
        return {key: fit_power_law(s["width"], s[key]) for key in LAZY_KEYS}

    @property
    def spectral_ratio(self) -> np.ndarray:
        """``||W_T - W_0||_2`` against ``||W_0||_2 ~ 2 sqrt 2``, per width."""
        return self.summary["displacement_spectral"] / (2 * np.sqrt(2))

    def pseudo_network(self) -> PseudoNetworkFidelity:
        return PseudoNetworkFidelity(trackers=self.trackers, n_probe=self.n_probe)

    def check(self) -> None:
        """Every width learns; the displacement, its relative size and the pattern flips shrink with m."""
        s, f = self.summary, self.fits
        require(np.all(s["test_mse"] < 0.95 * s["test_mse_at_init"]), f"every width should learn: {s['test_mse']}")
        require(f["displacement_fro"][0] < -0.2, f"||W_T - W_0||_F should shrink with m: exponent "
                f"{f['displacement_fro'][0]:.2f}")
        require(f["relative"][0] < -0.7, f"the relative move should shrink ~ 1/m: exponent {f['relative'][0]:.2f}")
        require(f["pattern_flips"][0] < -0.1 and s["pattern_flips"][-1] < s["pattern_flips"][0],
                f"fewer patterns should flip at larger m: {s['pattern_flips']}")
        require(np.all(self.spectral_ratio < 0.25), f"||W_T - W_0||_2 should stay below a quarter of ||W_0||_2: "
                f"{self.spectral_ratio}")

    def numbers(self) -> dict:
        s, f, cfg = self.summary, self.fits, next(iter(self.results.values())).config
        out = {"ch4-N": cfg.n_train, "ch4-epochs": cfg.epochs, "ch4-m-min": int(s["width"][0]),
               "ch4-m-max": int(s["width"][-1]), "ch4-spec-ratio-max": 100 * self.spectral_ratio.max(),
               "ch4-spec-over-fro": s["displacement_spectral"][-1] / s["displacement_fro"][-1],
               "ch4-random-ratio": 2 / np.sqrt(s["width"][-1]), "ch4-test-min-m": s["test_mse"][0],
               "ch4-test-max-m": s["test_mse"][-1], "ch4-test-best": s["test_mse"].min()}
        for key, name in LAZY_KEYS.items():
            scale = 100 if name == "flips" else 1          # flips are quoted in percent
            out.update({f"ch4-slope-{name}": f[key][0], f"ch4-slope-{name}-err": f[key][2],
                        f"ch4-{name}-min": scale * s[key][0], f"ch4-{name}-max": scale * s[key][-1]})
        return out


def width_sweep(base: ExperimentConfig, widths: Sequence[int], *, n_probe: int = 128,
                records: int = 4, cache_dir=None) -> WidthSweep:
    """Train ``base`` at every width, recording the pseudo-network about ``records`` times per run.

    Each run is the cached kind ``tracked_sgd`` (:class:`rnnlib.sgd_kinds.TrackedRunConfig`).
    """
    if not isinstance(base, ExperimentConfig):
        raise TypeError(f"base must be an ExperimentConfig, got {type(base).__name__}")
    n_probe, records = check_int("n_probe", n_probe, minimum=1), check_int("records", records, minimum=1)
    configs = [TrackedRunConfig(cfg, n_probe=n_probe, every=max(1, cfg.epochs // records))
               for cfg in (base.replace(width=check_int("width", m, minimum=2)) for m in widths)]
    runs = run_many(configs, cache_dir=cache_dir, progress=False)
    return WidthSweep(results={c.run_config.width: r.result for c, r in zip(configs, runs)},
                      trackers={c.run_config.width: r.tracker for c, r in zip(configs, runs)}, n_probe=n_probe)


def training_runs(base: ExperimentConfig, widths: Sequence[int], lengths: Sequence[int], *, known=(),
                  cache_dir=None) -> dict:
    """The runs of the chapter's slider: :func:`rnnlib.lazy.scaled_config` ``(base, m, L)`` for every
    width and length, by config (the engine's ``sgd`` kind, cached); ``known`` results (the width
    sweep's) are used as they are and not trained again."""
    runs = {r.config: r for r in known}
    todo = [c for c in dict.fromkeys(scaled_config(base, m, L) for m in widths for L in lengths) if c not in runs]
    runs.update(zip(todo, run_many(todo, cache_dir=cache_dir, progress=False)))
    return runs
