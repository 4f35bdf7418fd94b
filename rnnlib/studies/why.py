"""Chapter 6 (why it works): the indicator-to-function lemma, the existence of ``W*``, no interference.

Paper: Allen-Zhu & Li (2019), section 5, the three ideas of the proof (recalled): the
indicator-to-function lemma (Allen-Zhu, Li & Liang 2019, Lemma 6.2; restated by Panigrahi & Goyal
2021, Lemma 4.1) and its robust form with a noisy threshold (Allen-Zhu & Li, Lemma 5.2(b), whose
statement is recalled, not quoted); the existence of a good displacement ``W*`` for the
pseudo-network (Section 5, following Panigrahi & Goyal's sketch); and coherence of the backward maps
keeping the input-output pairs apart. Every computation is a cached kind run by
:func:`rnnlib.engine.run_many` (a rebuilt book reads them); each study returns a frozen result with
``check()`` (the chapter's qualitative facts, ``AssertionError`` with a message) and ``numbers()``
(the glued values, keys as the chapter's prose uses them):

* :func:`lemma_study` -> :class:`LemmaStudy` (kinds ``lemma_rate``, ``lemma_noise``);
* :func:`existence_study` -> :class:`ExistenceStudy` (kinds ``existence``, ``single_position_sgd``);
* :func:`interference_study` -> :class:`InterferenceStudy` (kind ``interference``; chapter 8's
  ledger row reads the same runs).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..config import ExperimentConfig
from ..engine import run_many
from ..existence_kinds import ExistenceConfig, SinglePositionSGDConfig
from ..interference import InterferenceConfig
from ..lemma import LemmaNoiseConfig, LemmaRateConfig
from ..smooth import log10_complexity_eps
from ..stats import fit_power_law
from .checks import require

__all__ = [
    "ExistenceStudy",
    "InterferenceStudy",
    "LemmaStudy",
    "existence_study",
    "interference_configs",
    "interference_runs",
    "interference_study",
    "lemma_study",
]

# The error at which chapter 6 asks how wide the explicit W* must be (a reading aid, not a verdict threshold).
WSTAR_TARGET_ERROR = 0.1
_KEY = {"z": "z", "z^2": "sq", "sin(3z)": "sin", "exp(z)-1": "exp"}   # glue-key names of the functions


def _slope(x, y) -> float:
    return float(fit_power_law(np.asarray(x, float), np.asarray(y, float)).exponent)


@dataclass(frozen=True, eq=False)
class LemmaStudy:
    """The lemma in one dimension: ``rates`` (one :class:`~rnnlib.lemma.LemmaRateResult` per ``phi``)
    and ``noise`` (one :class:`~rnnlib.lemma.LemmaNoiseResult` per noisy ``phi``)."""

    rates: tuple
    noise: tuple
    log10_ceps: dict            # phi -> log10 C_eps(phi, 1) with C* = 1, eps = 0.01 (chapter 2)

    @property
    def phis(self) -> list:
        return [r.config.phi for r in self.rates]

    @property
    def ms(self) -> tuple:
        return self.rates[0].config.ms

    def median(self, phi: str) -> np.ndarray:
        return np.median(self.rates[self.phis.index(phi)].errors, axis=1)

    def slope(self, phi: str) -> float:
        """Log-log slope of the median sup error against ``M``, leaving out the smallest ``M``
        (pre-asymptotic): ``-1/2`` for a Monte-Carlo average."""
        return _slope(self.ms[1:], self.median(phi)[1:])

    def noise_median(self, phi: str, fit: str) -> np.ndarray:
        """Median sup error per ``tau``; ``fit`` is ``"plain"`` or ``"aware"``."""
        res = next(r for r in self.noise if r.config.phi == phi)
        return np.median(getattr(res, fit), axis=1)

    def check(self) -> None:
        """Rate 1/sqrt(M), no bias, E[H^2] ordered by complexity; noise hurts the plain fit."""
        for r in self.rates:
            p = r.config.phi
            require(r.bias < 0.01, f"{p}: the infinite-width average should reproduce phi, bias {r.bias:.3g}")
            med = self.median(p)
            require(med[-1] < 0.5 * med[0], f"{p}: the sup error should fall with M, medians {med}")
            require(-0.75 < self.slope(p) < -0.3, f"{p}: slope {self.slope(p):.2f} should be near -1/2")
        second = {r.config.phi: r.second_moment for r in self.rates}
        if {"sin(3z)", "z^2", "exp(z)-1"} <= set(second):
            require(second["sin(3z)"] > 10 * max(second["z^2"], second["exp(z)-1"]),
                    f"sin(3z) should need a much larger H than z^2 and exp(z)-1: E[H^2] {second}")
        for r in self.noise:
            p, plain = r.config.phi, self.noise_median(r.config.phi, "plain")
            require(plain[-1] > 2 * plain[0], f"{p}: a unit noise should ruin the plain fit, errors {plain}")
            require(r.aware_second[-1] > 2 * r.aware_second[0],
                    f"{p}: the noise-aware fit should pay with a larger H, E[H^2] {r.aware_second}")
        if "z^2" in [r.config.phi for r in self.noise]:
            aware, plain = self.noise_median("z^2", "aware")[-1], self.noise_median("z^2", "plain")[-1]
            require(aware < 0.5 * plain, f"z^2: the noise-aware fit should recover most of the loss "
                    f"({aware:.3f} against {plain:.3f})")

    def numbers(self) -> dict:
        out = {"ch6-slope-mean": float(np.mean([self.slope(p) for p in self.phis])),
               "ch6-M-min": self.ms[1], "ch6-M-max": self.ms[-1], "ch6-draws": self.rates[0].config.n_draws}
        for r in self.rates:
            k = _KEY[r.config.phi]
            out.update({f"ch6-slope-{k}": self.slope(r.config.phi), f"ch6-EH2-{k}": r.second_moment,
                        f"ch6-bias-{k}": r.bias, f"ch6-ceps-{k}": self.log10_ceps[r.config.phi],
                        f"ch6-err-max-{k}": self.median(r.config.phi)[-1]})
        if self.noise:
            out["ch6-M-noise"] = self.noise[0].config.M
            for r in self.noise:
                k, plain, aware = _KEY[r.config.phi], *(self.noise_median(r.config.phi, f) for f in ("plain", "aware"))
                out.update({f"ch6-noise-{k}-0": plain[0], f"ch6-noise-{k}-1": plain[-1],
                            f"ch6-noise-{k}-aware-1": aware[-1],
                            f"ch6-noise-EH2-growth-{k}": r.aware_second[-1] / r.aware_second[0]})
        return out


def lemma_study(phis: Sequence[str], ms: Sequence[int], n_draws: int, *, taus: Sequence[float] = (),
                m_noise: int = 0, noise_phis: Sequence[str] = ("z^2", "sin(3z)"), cache_dir=None,
                executor=None) -> LemmaStudy:
    """Fit ``H`` for each ``phi``, its sup error at each ``M`` (``n_draws`` draws, seeds from 0), the
    estimates at ``ms[1]`` and ``ms[-1]`` for a figure, and (with ``taus``) the noisy-threshold fits at
    ``m_noise`` neurons; all through the engine's cache (``cache_dir`` and ``executor`` as
    :func:`run_many`; a result does not depend on where it ran)."""
    curve_ms = (ms[1], ms[-1]) if len(ms) > 1 else tuple(ms)
    rates = [LemmaRateConfig(p, tuple(int(m) for m in ms), int(n_draws), curve_ms=tuple(int(m) for m in curve_ms))
             for p in phis]
    noise = [LemmaNoiseConfig(p, tuple(float(t) for t in taus), int(m_noise), int(n_draws)) for p in noise_phis] \
        if len(taus) else []
    res = run_many(rates + noise, cache_dir=cache_dir, executor=executor, progress=False)
    return LemmaStudy(tuple(res[:len(rates)]), tuple(res[len(rates):]),
                      {p: float(log10_complexity_eps(p, 1.0, 0.01, c_star=1.0)) for p in phis})


@dataclass(frozen=True, eq=False)
class ExistenceStudy:
    """``W*`` over ``widths`` x ``seeds`` (``results[a][b]``, :class:`~rnnlib.existence_kinds.ExistenceResult`)
    and SGD on W on single-position targets (``sgd``: ``(phi, position) -> test error``)."""

    widths: tuple
    seeds: tuple
    phis: tuple
    results: tuple
    sgd: dict
    sgd_config: ExperimentConfig

    def grid(self, name: str, phi: str) -> np.ndarray:
        """``values[name]`` of ``phi`` as a ``(len(widths), len(seeds))`` array."""
        k = self.phis.index(phi)
        return np.array([[r.values[name][k] for r in row] for row in self.results])

    def median(self, name: str, phi: str) -> np.ndarray:
        return np.median(self.grid(name, phi), axis=1)

    def slope(self, phi: str) -> float:
        return _slope(self.widths, self.median("pseudo_error", phi))

    @property
    def last(self):
        """The result at the largest width and the first seed (the one with the true-RNN check)."""
        return self.results[-1][0]

    def check(self) -> None:
        """The error falls with m as the Monte-Carlo prediction says; SGD finds the earlier token easier."""
        for p in self.phis:
            med = self.median("pseudo_error", p)
            require(med[-1] < 0.5 * med[0], f"{p}: the W* error should fall with the width, medians {med}")
            require(self.slope(p) < -0.4, f"{p}: log-log slope {self.slope(p):.2f} should be below -0.4")
        if {"z", "sin(3z)"} <= set(self.phis):
            pred = {p: self.median("predicted", p)[-1] for p in ("z", "sin(3z)")}
            require(pred["sin(3z)"] > pred["z"], f"sin(3z) should need more neurons than z: {pred}")
        ratio = self.median("pseudo_error", self.phis[0])[-1] / self.median("predicted", self.phis[0])[-1]
        require(0.2 < ratio < 5, f"the Monte-Carlo prediction should explain the error within a few: {ratio:.2f}")
        positions = sorted({i for _, i in self.sgd}, reverse=True)
        for p in {p for p, _ in self.sgd}:
            a, b = self.sgd[(p, positions[0])], self.sgd[(p, positions[-1])]
            require(a > b + 0.1, f"{p}: the token at the output ({a:.3f}) should be much harder for SGD than "
                    f"an earlier one ({b:.3f})")

    def numbers(self) -> dict:
        cfg, last = self.sgd_config, self.last
        out = {"ch6-LW": last.config.length, "ch6-mW-min": self.widths[0], "ch6-mW-max": self.widths[-1],
               "ch6-w-seeds": len(self.seeds), "ch6-tau": np.median([r.tau for row in self.results for r in row]),
               "ch6-sigma-b": np.median([r.sigma_b for row in self.results for r in row]),
               "ch6-frob-min": self.results[0][0].values["frobenius"][0],
               # the last initialization at the largest width, as the chapter always quoted it
               "ch6-frob-max": self.results[-1][-1].values["frobenius"][0],
               "ch6-rnn-err": last.rnn_error, "ch6-pseudo-err-last": last.values["pseudo_error"][0],
               "ch6-diag-err-last": last.values["diagonal_error"][0], "ch6-cross-last": last.values["cross_rms"][0],
               "ch6-sgd-m": cfg.width, "ch6-sgd-N": cfg.n_train,
               "ch6-sgd-steps": cfg.epochs * math.ceil(cfg.n_train / cfg.batch_size),
               "ch6-sgd-i1": min(i for _, i in self.sgd)}
        m_max = self.widths[-1]
        for p in self.phis:
            k = _KEY[p]
            pred_last = np.median(self.grid("predicted", p)[-1])
            out.update({f"ch6-w-err-min-{k}": self.median("pseudo_error", p)[0],
                        f"ch6-w-err-max-{k}": self.median("pseudo_error", p)[-1], f"ch6-w-slope-{k}": self.slope(p),
                        f"ch6-w-ratio-{k}": pred_last * m_max / 3})
            if p == "sin(3z)":   # the width at which the prediction for sin(3z) reaches WSTAR_TARGET_ERROR
                out["ch6-w-m-needed-sin"] = pred_last * m_max / WSTAR_TARGET_ERROR
                out["ch6-w-target-err"] = WSTAR_TARGET_ERROR
        out.update({f"ch6-sgd-{_KEY[p]}-{i}": v for (p, i), v in self.sgd.items()})
        return out


def existence_study(widths: Sequence[int], seeds: Sequence[int], phis: Sequence[str], *, n_design: int,
                    n_probe: int, sgd_config: ExperimentConfig, sgd_positions: Sequence[int] = (10, 5),
                    sgd_phis: Sequence[str] = ("z", "sin(3z)"), length: int = 10, cache_dir=None,
                    executor=None) -> ExistenceStudy:
    """``W*`` for ``phi(<w*, x*_L>)`` at each width and seed (the true RNN checked for the first
    ``phi`` at the largest width), and SGD on W (``sgd_config``) on the targets at ``sgd_positions``
    (``cache_dir``, ``executor`` as :func:`run_many`)."""
    phis = tuple(phis)
    grid = [ExistenceConfig(int(m), int(s), phis, int(n_design), int(n_probe), length=length,
                            scatter_phi=phis[0] if (m == widths[-1] and b == 0) else "")
            for m in widths for b, s in enumerate(seeds)]
    sgd_keys = [(p, int(i)) for p in sgd_phis for i in sgd_positions]
    sgd = [SinglePositionSGDConfig(sgd_config, p, i) for p, i in sgd_keys]
    res = run_many(grid + sgd, cache_dir=cache_dir, executor=executor, progress=False, desc="existence of W*")
    n = len(seeds)
    rows = tuple(tuple(res[a * n:(a + 1) * n]) for a in range(len(widths)))
    return ExistenceStudy(tuple(widths), tuple(seeds), phis, rows,
                          {k: r.test_mse for k, r in zip(sgd_keys, res[len(grid):])}, sgd_config)


@dataclass(frozen=True, eq=False)
class InterferenceStudy:
    """One pair's target changed and retrained, over ``widths`` x ``seeds``: ``runs[a][b]`` are
    :class:`~rnnlib.interference.InterferenceRun` (moves per position and the backward coherence)."""

    widths: tuple
    seeds: tuple
    pair: tuple
    runs: tuple

    @property
    def ratios(self) -> np.ndarray:
        return np.array([[r.result.ratio for r in row] for row in self.runs])

    @property
    def coherence(self) -> np.ndarray:
        return np.array([[r.coherence for r in row] for row in self.runs])

    def slopes(self) -> tuple:
        """Log-log slopes against the width of the mean interference ratio and the mean coherence."""
        return _slope(self.widths, self.ratios.mean(axis=1)), _slope(self.widths, self.coherence.mean(axis=1))

    def check(self) -> None:
        """The changed output follows its target; the others move far less, less as m grows, as coherence falls."""
        last = self.runs[-1][0].result
        change = last.target_change[last.positions == self.pair[1]][0]
        require(last.moved_at_target > 0.5 * change, f"output j0 should follow its target: moved "
                f"{last.moved_at_target:.3f}, target changed {change:.3f}")
        r, c = self.ratios, self.coherence.mean(axis=1)
        require(np.all(r < 0.5) and r.mean(axis=1)[-1] < r.mean(axis=1)[0],
                f"interference should be small and fall with the width: ratios {r.round(3).tolist()}")
        require(c[-1] < c[0] and self.slopes()[1] < -0.3, f"coherence should fall with the width: {c}")

    def numbers(self) -> dict:
        last, j0 = self.runs[-1][0], self.pair[1]
        base = last.config.run_config
        ratio, coh = self.ratios.mean(axis=1), self.coherence.mean(axis=1)
        rs, cs = self.slopes()
        return {"ch6-int-L": base.length, "ch6-i0": self.pair[0], "ch6-j0": j0, "ch6-int-N": base.n_train,
                "ch6-int-m-min": self.widths[0], "ch6-int-m-max": self.widths[-1], "ch6-int-ratio-min": ratio[0],
                "ch6-int-ratio-max": ratio[-1], "ch6-int-ratio-slope": rs, "ch6-coh-min": coh[0],
                "ch6-coh-max": coh[-1], "ch6-coh-slope": cs, "ch6-moved-target": last.result.moved_at_target,
                "ch6-target-change": last.target_change[last.positions == j0][0],
                "ch6-moved-next": last.moved[last.positions == j0 + 1][0],
                "ch6-moved-before": last.moved[last.positions < j0].mean(), "ch6-int-seeds": len(self.seeds)}


def interference_runs(design, *, cache_dir=None, executor=None) -> list:
    """The cached :class:`~rnnlib.interference.InterferenceRun` of every config of ``design`` (a
    :class:`rnnlib.tasks.InterferenceDesign`), in ``design.configs()`` order (``cache_dir``,
    ``executor`` as :func:`run_many`)."""
    return run_many(interference_configs(design), cache_dir=cache_dir, executor=executor, progress=False,
                    desc="interference")


def interference_configs(design) -> list[InterferenceConfig]:
    """The engine configs of chapter 6's interference runs on ``design`` (``rnnlib.tasks.interference_design()``)."""
    return [InterferenceConfig(cfg, tuple(design.pair)) for cfg in design.configs()]


def interference_study(design, *, cache_dir=None, executor=None) -> InterferenceStudy:
    """Chapter 6's interference experiment on ``design`` (``rnnlib.tasks.interference_design()``)."""
    runs = interference_runs(design, cache_dir=cache_dir, executor=executor)
    n = len(design.seeds)
    return InterferenceStudy(tuple(design.widths), tuple(design.seeds), tuple(design.pair),
                             tuple(tuple(runs[a * n:(a + 1) * n]) for a in range(len(design.widths))))
