"""Chapter 2 (the concept class): tokens, smooth functions, complexity, targets and OPT.

Paper: the setup of Allen-Zhu & Li (2019), Section 3 of the paper as restated by Panigrahi & Goyal
(2021): the input normalization with a start token, the additive concept class, the complexity
``C_eps(phi, R)`` and ``C_s(phi, R)`` of its smooth functions (from Allen-Zhu, Li & Liang 2019), and
the agnostic risk ``OPT``. Each study returns a frozen result with ``check()`` and ``numbers()``:

* :func:`token_normalization` -> :class:`TokenNormalization`;
* :func:`taylor_truncations` -> :class:`TaylorTruncations`;
* :func:`complexity_study` -> :class:`ComplexityStudy`;
* :func:`target_study` -> :class:`TargetStudy` (targets of one concept);
* :func:`variance_study` -> :class:`VarianceStudy` (how the variance of ``F*_L`` grows with ``L``);
* :func:`label_noise_study` -> :class:`LabelNoiseStudy`;
* :func:`linear_share_study` -> :class:`LinearShareStudy` (the share of a term's variance that a linear
  function of the token explains, :mod:`rnnlib.linear_share`; Allen-Zhu & Li (2019), section 3, recalled).

The sampled probes (variance, label noise) are cached kinds of the engine (:mod:`rnnlib.concept_kinds`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from .._checks import check_choice, check_float, check_int
from ..concept import AdditiveConcept
from ..concept_kinds import LabelNoiseConfig, LabelNoiseData, VarianceConfig, VarianceData
from ..engine import run_many
from ..linear_share import DIRECTIONS
from ..share_kinds import LinearShares
from ..smooth import C_STAR, SMOOTH_FUNCTIONS, log10_complexity_eps, log10_complexity_sample, smooth_function
from ..tokens import embed, sample_tokens
from .checks import require

__all__ = ["TokenNormalization", "token_normalization", "TaylorTruncations", "taylor_truncations",
           "ComplexityStudy", "complexity_study", "TargetStudy", "target_study", "VarianceStudy",
           "variance_study", "LabelNoiseStudy", "label_noise_study", "LinearShareStudy", "linear_share_study"]


@dataclass(frozen=True)
class TokenNormalization:
    """Raw tokens ``x_star`` ``(n, L-1, token_dim)`` and network inputs ``x`` ``(n, L, token_dim+1)``."""

    x_star: np.ndarray
    x: np.ndarray
    eps_x: float

    def check(self) -> None:
        """Unit raw tokens with last coordinate 1/2; x_1 = e_{d_x}; x_l = (eps_x x*_l, 0)."""
        xs, x, e = self.x_star, self.x, self.eps_x
        require(np.allclose(np.linalg.norm(xs, axis=-1), 1.0, atol=1e-12), "raw tokens must have unit norm")
        require(np.all(xs[..., -1] == 0.5), "the last coordinate of every raw token must be 1/2")
        require(np.allclose(np.linalg.norm(xs[..., :-1], axis=-1), np.sqrt(3) / 2),
                "the free coordinates of a raw token must have norm sqrt(3)/2")
        start = np.zeros(x.shape[-1])
        start[-1] = 1.0
        require(np.all(x[:, 0] == start), "the first input must be the start token e_{d_x}")
        require(np.all(x[:, 1:, -1] == 0), "data inputs must not use the start channel")
        require(np.allclose(x[:, 1:, :-1], e * xs, atol=1e-7), "data inputs must be eps_x times the raw tokens")
        require(np.allclose(np.linalg.norm(x[:, 1:], axis=-1), e, atol=1e-6), "data inputs must have norm eps_x")

    def numbers(self) -> dict:
        return {"n_check": self.x.shape[0], "eps_x": self.eps_x}


def token_normalization(n: int, length: int = 10, token_dim: int = 8, eps_x: float = 0.3, *,
                        seed: int = 0) -> TokenNormalization:
    """Draw ``n`` sequences of raw tokens and embed them (paper's input normalization)."""
    x_star = sample_tokens(n, length, token_dim, seed=seed)
    return TokenNormalization(x_star=x_star, x=np.asarray(embed(x_star, eps_x)), eps_x=float(eps_x))


@dataclass(frozen=True)
class TaylorTruncations:
    """Largest error of Taylor truncations on ``[-1, 1]``.

    Attributes:
        orders: truncation orders ``n``.
        sup_error: name -> ``max_{|z|<=1} |phi(z) - T_n phi(z)|`` per order.
        tanh4_radius: radius of convergence of ``tanh(4z)``.
        tanh4_inside: the same error of ``tanh(4z)`` within half its radius, per order.
        needed: eps -> the smallest order whose error for ``sin(3z)`` is at most eps.
    """

    orders: tuple
    sup_error: dict
    tanh4_radius: float
    tanh4_inside: tuple
    needed: dict

    def check(self) -> None:
        """Entire functions converge on [-1, 1]; tanh(4z) diverges there and converges inside its radius."""
        for name in ("sin(3z)", "cos(3z)-1", "exp(z)-1", "tanh"):
            err = self.sup_error[name]
            require(err[-1] < 1e-2 and err[-1] < err[0], f"{name}: truncations should converge, errors {err}")
        require(self.tanh4_radius < 1, f"tanh(4z) has radius pi/8 < 1, got {self.tanh4_radius}")
        t4 = self.sup_error["tanh(4z)"]
        require(t4[-1] > t4[2] > 1, f"tanh(4z) truncations should diverge on [-1, 1], errors {t4}")
        require(self.tanh4_inside[-1] < 1e-4 < self.tanh4_inside[0],
                f"tanh(4z) should converge inside half its radius, errors {self.tanh4_inside}")
        require(list(self.needed.values()) == sorted(self.needed.values()),
                f"smaller eps should need higher orders: {self.needed}")

    def numbers(self) -> dict:
        at = {n: k for k, n in enumerate(self.orders)}
        out = {"sin_err_15": self.sup_error["sin(3z)"][at[15]], "tanh4_err_5": self.sup_error["tanh(4z)"][at[5]],
               "tanh4_err_15": self.sup_error["tanh(4z)"][at[15]], "tanh4_inside_15": self.tanh4_inside[at[15]],
               "tanh4_radius": self.tanh4_radius, "tanh_err_15": self.sup_error["tanh"][at[15]]}
        out.update({f"order_for_{eps:g}": n for eps, n in self.needed.items()})
        return out


def taylor_truncations(functions: Sequence[str] = ("sin(3z)", "cos(3z)-1", "exp(z)-1", "tanh(4z)", "tanh"),
                       orders: Sequence[int] = (1, 3, 5, 9, 15), *, n_grid: int = 2001,
                       eps_values: Sequence[float] = (1e-1, 1e-2, 1e-3, 1e-6)) -> TaylorTruncations:
    """Sup errors of ``T_n phi`` on a grid of ``n_grid`` points of ``[-1, 1]``."""
    z = np.linspace(-1, 1, check_int("n_grid", n_grid, minimum=3))
    phis = {name: smooth_function(name) for name in functions}
    sup_error = {name: tuple(float(np.abs(phi(z) - phi.taylor(z, n)).max()) for n in orders)
                 for name, phi in phis.items()}
    tanh4 = smooth_function("tanh(4z)")
    inside = z[np.abs(z) <= tanh4.radius / 2]
    tanh4_inside = tuple(float(np.abs(tanh4(inside) - tanh4.taylor(inside, n)).max()) for n in orders)
    sin3 = smooth_function("sin(3z)")
    # the order needed for a sup error eps on [-1, 1] grows like log(1/eps) for an entire function
    needed = {eps: next(n for n in range(200) if np.abs(sin3(z) - sin3.taylor(z, n)).max() <= eps)
              for eps in eps_values}
    return TaylorTruncations(orders=tuple(orders), sup_error=sup_error, tanh4_radius=float(tanh4.radius),
                             tanh4_inside=tanh4_inside, needed=needed)


def _closed_form_gap(eps: float, c_star: float, radii: Sequence[float]) -> float:
    """Largest gap between the library's log10 C_s, C_eps of z^q and their closed forms (q = 1, 2, 3)."""
    gap = 0.0
    for q, name in ((1, "z"), (2, "z^2"), (3, "z^3")):
        for R in radii:
            closed_s = np.log10(c_star * (q + 1) ** 1.75) + q * np.log10(R)
            closed_eps = q * np.log10(c_star * R) + np.log10(1 + (np.log(1 / eps) / q) ** (q / 2))
            gap = max(gap, abs(log10_complexity_sample(name, R, c_star=c_star) - closed_s),
                      abs(log10_complexity_eps(name, R, eps, c_star=c_star) - closed_eps))
    return float(gap)


@dataclass(frozen=True)
class ComplexityStudy:
    """``log10`` complexities of smooth functions (paper Section 3, after Allen-Zhu, Li & Liang).

    Attributes:
        eps, c_star: accuracy and constant ``C*``.
        closed_form_gap: largest deviation from the closed forms for ``z, z^2, z^3``.
        slope: name -> local slopes of ``log10 C_eps`` (``C* = 1``) over ``R`` in [1, 10] and [10, 100].
        at_one: name -> ``(log10 C_eps(phi, 1) with C*, with C* = 1, log10 C_s(phi, 1) with C*)``.
        tanh4_radius: radius of ``tanh(4z)``; ``tanh4``: the four finiteness facts checked.
    """

    eps: float
    c_star: float
    closed_form_gap: float
    slope: dict
    at_one: dict
    tanh4_radius: float
    tanh4: dict

    def check(self) -> None:
        """Polynomials: closed forms, slope q. sin, cos, exp: faster than any power. tanh: infinite."""
        require(self.closed_form_gap < 1e-9, f"log10 C of z^q should match the closed forms, gap "
                f"{self.closed_form_gap:.2e}")
        for q, name in ((1, "z"), (2, "z^2"), (3, "z^3")):
            require(np.allclose(self.slope[name], q), f"{name}: slope should be {q}, got {self.slope[name]}")
        for name in ("sin(3z)", "cos(3z)-1", "exp(z)-1"):
            s = self.slope[name]
            require(s[1] > 3 * s[0] and s[1] > 10, f"{name}: slope should grow faster than any power, got {s}")
        for fact, ok in self.tanh4.items():
            require(ok, f"tanh: {fact} should hold")

    def numbers(self) -> dict:
        out = {"c_star": self.c_star, "eps_c": self.eps, "logCeps_cube_1": self.at_one["z^3"][0],
               "tanh4_eps_limit": self.tanh4_radius / self.c_star,
               # C_eps(sin 3z, 1) is an integer part of 10^(log10 C) with this many decimal digits
               "digits_sin_1": math.floor(self.at_one["sin(3z)"][0]) + 1}
        for name, key in (("sin(3z)", "sin"), ("exp(z)-1", "exp")):
            out.update({f"slope_{key}_1": self.slope[name][0], f"slope_{key}_2": self.slope[name][1],
                        f"logCeps_{key}_1": self.at_one[name][0], f"logCeps_{key}_1_shape": self.at_one[name][1],
                        f"logCs_{key}_1": self.at_one[name][2]})
        return out


def complexity_study(eps: float = 0.1, c_star: float = C_STAR, *,
                     radii_check: Sequence[float] = (0.5, 1.0, 10.0, 100.0)) -> ComplexityStudy:
    """Closed-form checks, local slopes and values at ``R = 1`` of the complexity measures."""
    names = ("z", "z^2", "z^3", "sin(3z)", "cos(3z)-1", "exp(z)-1")
    slope = {name: [float(log10_complexity_eps(name, b, eps, c_star=1) - log10_complexity_eps(name, a, eps, c_star=1))
                    for a, b in ((1, 10), (10, 100))] for name in names}
    at_one = {name: (float(log10_complexity_eps(name, 1.0, eps, c_star=c_star)),
                     float(log10_complexity_eps(name, 1.0, eps, c_star=1)),
                     float(log10_complexity_sample(name, 1.0, c_star=c_star)))
              for name in ("sin(3z)", "exp(z)-1", "z^3")}
    t4 = smooth_function("tanh(4z)")
    # tanh(kz): finite below the radius pi/(2k), infinite from it on; C_eps puts C* R in the series
    tanh4 = {"C_s finite just below the radius": np.isfinite(log10_complexity_sample(t4, 0.99 * t4.radius, c_star)),
             "C_s infinite at the radius": log10_complexity_sample(t4, t4.radius, c_star) == np.inf,
             "C_eps (C* = 1) finite below the radius": np.isfinite(log10_complexity_eps(t4, 0.99 * t4.radius, eps,
                                                                                         c_star=1)),
             "C_eps infinite at R = 1": log10_complexity_eps(t4, 1.0, eps, c_star=c_star) == np.inf,
             "C_eps(tanh, sqrt 10) infinite with C* = 1": log10_complexity_eps("tanh", np.sqrt(10), eps,
                                                                                c_star=1) == np.inf}
    return ComplexityStudy(eps=float(eps), c_star=float(c_star),
                           closed_form_gap=_closed_form_gap(eps, c_star, radii_check),
                           slope=slope, at_one=at_one, tanh4_radius=float(t4.radius),
                           tanh4={k: bool(v) for k, v in tanh4.items()})


@dataclass(frozen=True)
class TargetStudy:
    """Targets of one concept with ``labels="all"`` (paper's additive class).

    Attributes:
        targets: ``(n, L, 1)``; ``labelled``: the mask ``(L,)``.
        pair_sum_gap: largest ``|F*_j - sum_i pairs_{i->j}|``; ``causal``: no pair with ``i > j`` is live
            and the start token contributes nothing.
    """

    targets: np.ndarray
    labelled: np.ndarray
    pair_sum_gap: float
    causal: bool

    def check(self) -> None:
        """F*_j is the sum of its pair terms over i <= j; every position but the start token is labelled."""
        scale = float(np.abs(self.targets).max())
        require(self.pair_sum_gap <= 1e-9 * max(1.0, scale),
                f"F*_j should equal the sum of its pair terms, gap {self.pair_sum_gap:.2e}")
        require(not self.labelled[0] and self.labelled[1:].all(), "every position but the start token is labelled")
        require(self.causal, "only i <= j may contribute, and the start token contributes nothing")

    def numbers(self) -> dict:
        sd = self.targets[:, 1:, 0].std(axis=0)
        return {"target_sd_min": sd.min(), "target_sd_max": sd.max()}


def target_study(n: int, length: int = 10, *, token_dim: int = 8, phi: str = "sin(3z)", concept_seed: int = 0,
                 data_seed: int = 2) -> TargetStudy:
    """Targets of one random concept on ``n`` random sequences, and the pair decomposition checks."""
    concept = AdditiveConcept(length, token_dim, phi=phi, labels="all", seed=concept_seed)
    x_star = sample_tokens(n, length, token_dim, seed=data_seed)
    targets = concept(x_star)                                     # (n, L, 1)
    pairs = concept.pair_contributions(x_star)                    # (n, L, L, 1): [:, i-1, j-1]
    gap = float(np.abs(targets - pairs.sum(axis=1) * concept.labelled[None, :, None]).max())
    causal = bool(np.all(np.triu(np.ones((length, length), bool))[1:] >= concept.live[1:])
                  and np.all(pairs[:, 0] == 0))
    return TargetStudy(targets=targets, labelled=np.asarray(concept.labelled), pair_sum_gap=gap, causal=causal)


class VarianceStudy(VarianceData):
    """``Var F*_L`` against the number of tokens ``L - 1``, without and with normalization.

    Attributes:
        n_terms: ``L - 1`` per length; ``var_raw``, ``var_norm``: ``(n_concepts, n_lengths)``, each on
            ``n_variance`` sequences (``labels="last"``).
    """

    @property
    def slopes(self) -> tuple:
        """Fitted log-log slopes of the median variance against ``L - 1``: (raw, normalized)."""
        return tuple(float(np.polyfit(np.log10(self.n_terms), np.log10(np.median(v, axis=0)), 1)[0])
                     for v in (self.var_raw, self.var_norm))

    def check(self) -> None:
        """The raw sum's variance grows like L; the normalized target's is flat."""
        raw, norm = self.slopes
        require(0.8 < raw < 1.3, f"the raw sum's variance should grow like L: slope {raw:.2f}")
        require(abs(norm) < 0.25, f"the normalized target's variance should be flat in L: slope {norm:.2f}")

    def numbers(self) -> dict:
        raw, norm = self.slopes
        return {"slope_raw": raw, "slope_norm": norm, "n_concepts": self.var_raw.shape[0],
                "n_variance": self.n_variance, "var_Lmax": int(self.n_terms[-1]) + 1,
                "var_raw_max": np.median(self.var_raw[:, -1]), "var_norm_max": np.median(self.var_norm[:, -1])}


def variance_study(lengths: Sequence[int], *, n_variance: int, n_concepts: int, token_dim: int = 8,
                   phi: str = "sin(3z)", cache_dir=None) -> VarianceStudy:
    """``Var F*_L`` of ``n_concepts`` concepts (seeds 0..) per length, on ``n_variance`` sequences each
    (cached kind ``target_variance``, :class:`rnnlib.concept_kinds.VarianceConfig`)."""
    config = VarianceConfig(tuple(check_int("length", L, minimum=2) for L in lengths),
                            check_int("n_variance", n_variance, minimum=2),
                            check_int("n_concepts", n_concepts, minimum=1),
                            check_int("token_dim", token_dim, minimum=2), smooth_function(phi).name)
    return VarianceStudy(**run_many([config], cache_dir=cache_dir, progress=False)[0].data())


class LabelNoiseStudy(LabelNoiseData):
    """``OPT`` under Gaussian label noise, in units of ``Var F*`` and standardized.

    Attributes:
        levels: relative noise levels ``s = sigma / sd(F*)``; ``opt_rel``, ``opt_std``: the measured error
            of the true concept divided by ``Var F*`` and by ``Var y``.
        n_noise: sequences; ``floor``, ``floor_predicted``: ``run_experiment``'s ``noise_floor`` for an
            untrained experiment with ``noise_std = floor_noise`` and ``sigma^2 / (Var F* + sigma^2)``.
        shown: the level quoted in the text.
    """

    def check(self) -> None:
        """OPT = s^2 in units of Var F*, s^2/(1+s^2) standardized; noise_floor agrees."""
        tol = 4 * np.sqrt(2 / self.n_noise)    # four standard errors of a sample variance, relative
        for s, rel, std in zip(self.levels, self.opt_rel, self.opt_std):
            require(abs(rel - s ** 2) <= tol * s ** 2 + 1e-12, f"OPT at s = {s}: {rel:.4f}, predicted {s ** 2:.4f}")
            pred = s ** 2 / (1 + s ** 2)
            require(abs(std - pred) <= 2 * tol * pred + 1e-12, f"standardized OPT at s = {s}: {std:.4f}, "
                    f"predicted {pred:.4f}")
        require(abs(self.floor - self.floor_predicted) <= 2 * tol * self.floor_predicted,
                f"noise_floor {self.floor:.4f} should match {self.floor_predicted:.4f}")

    def numbers(self) -> dict:
        k = self.levels.index(self.shown)
        s = self.shown
        return {"n_noise": self.n_noise, "noise_s": s, "noise_rel": self.opt_rel[k], "noise_std": self.opt_std[k],
                "noise_pred_rel": s ** 2, "noise_pred_std": s ** 2 / (1 + s ** 2), "floor": self.floor,
                "floor_predicted": self.floor_predicted, "floor_noise": self.floor_noise}


def label_noise_study(n_noise: int, levels: Sequence[float] = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0), *,
                      length: int = 10, token_dim: int = 8, phi: str = "sin(3z)", floor_noise: float = 0.3,
                      shown: float = 0.5, cache_dir=None) -> LabelNoiseStudy:
    """Error of the true concept on noisy labels, and ``noise_floor`` of an untrained experiment (cached
    kind ``label_noise``, :class:`rnnlib.concept_kinds.LabelNoiseConfig`)."""
    levels = tuple(float(s) for s in levels)
    if shown not in levels:
        raise ValueError(f"shown must be one of the levels {levels}, got {shown!r}")
    config = LabelNoiseConfig(check_int("n_noise", n_noise, minimum=2), levels,
                              check_int("length", length, minimum=2),
                              check_int("token_dim", token_dim, minimum=2), smooth_function(phi).name,
                              check_float("floor_noise", floor_noise, positive=True), float(shown))
    return LabelNoiseStudy(**run_many([config], cache_dir=cache_dir, progress=False)[0].data())


@dataclass(frozen=True)
class LinearShareStudy:
    """The linear share of one term ``phi(<w*, x*>)`` of the concept, for each smooth function.

    Attributes:
        token_dim: raw token dimension; ``shares``: name -> direction -> share of ``Var phi`` that the best
            affine function of the token explains (:func:`rnnlib.linear_share.linear_share`, exact by
            quadrature), for ``w*`` uniform on the sphere (the class's draw) and orthogonal to the
            token's constant coordinate.
    """

    token_dim: int
    shares: dict

    def check(self) -> None:
        """z is all linear; even functions keep a linear part only through the constant coordinate."""
        for name, s in self.shares.items():
            for d, v in s.items():
                require(-1e-12 <= v <= 1 + 1e-12, f"{name} ({d}): a share must lie in [0, 1], got {v}")
        require(all(abs(v - 1) < 1e-9 for v in self.shares.get("z", {}).values()), "z is all linear")
        for name in set(self.shares) & {"z^2", "cos(3z)-1"}:   # even in z: no linear part when z has mean 0
            s = self.shares[name]
            require(abs(s["orthogonal_to_constant"]) < 1e-9 < s["sphere"],
                    f"{name}: linear share 0 only for directions orthogonal to the constant coordinate, got {s}")

    def numbers(self) -> dict:
        keys = {"z^2": "sq", "z^3": "cube", "sin(3z)": "sin", "cos(3z)-1": "cos", "exp(z)-1": "exp",
                "tanh(4z)": "tanh4"}
        out = {}
        for name, key in keys.items():
            if name in self.shares:
                out[f"share_{key}_sphere"] = self.shares[name]["sphere"]
                out[f"share_{key}_orth"] = self.shares[name]["orthogonal_to_constant"]
        return out


def linear_share_study(functions: Sequence[str] | None = None, *, token_dim: int = 8,
                       directions: Sequence[str] = DIRECTIONS) -> LinearShareStudy:
    """Linear shares of every function (default :data:`rnnlib.SMOOTH_FUNCTIONS`) for each direction law."""
    names = list(dict.fromkeys(smooth_function(f).name for f in (SMOOTH_FUNCTIONS if functions is None else functions)))
    directions = [check_choice("direction", d, DIRECTIONS) for d in directions]
    token_dim = check_int("token_dim", token_dim, minimum=2)
    # computed by rnnlib.linear_share.linear_share_table, read from the engine's cache when it holds them
    res = run_many([LinearShares(tuple(names), token_dim, d) for d in directions], progress=False, desc="shares")
    return LinearShareStudy(token_dim, {n: {d: r.shares[i] for d, r in zip(directions, res)}
                                        for i, n in enumerate(names)})
