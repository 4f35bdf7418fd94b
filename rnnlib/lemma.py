"""The indicator-to-function lemma in one dimension (chapter 6; Allen-Zhu & Li (2019), Lemma 5.2, recalled).

A random neuron with Gaussian weights, seen through a unit input ``x`` whose projection on a fixed
direction is ``u``, has the pre-activation ``alpha u + beta sqrt(1 - u^2) + b0`` with ``alpha, beta ~
N(0, 1)`` and a random threshold ``b0 ~ N(0, sigma_b^2)``. The lemma (Allen-Zhu, Li & Liang 2019,
Lemma 6.2, restated by Panigrahi & Goyal, Lemma 4.1) says that for a smooth ``phi`` there is a weight
function ``H(alpha, b0)`` with

    E[ H(alpha, b0) * 1{alpha u + beta sqrt(1 - u^2) + b0 >= 0} ]  ~=  phi(u)     for all u in [-1, 1],

so the *activation pattern* of a random layer, weighted by ``H``, expresses ``phi``; an average over
``M`` neurons replaces the expectation with an error of order ``sqrt(E[H^2] / M)``.

The expectations are exact. With ``g = alpha u + beta sqrt(1-u^2)`` (a standard normal with
correlation ``u`` to ``alpha``), ``E[He_j(alpha) | g] = u^j He_j(g)`` for the probabilists' Hermite
polynomials, and ``E[He_j(g) 1{g >= -b}] = c_j(b)`` with ``c_0 = Phi_N`` and
``c_j(b) = phi_N(b) He_{j-1}(-b)``, so ``E[He_j(alpha) 1{...} | b0] = u^j c_j(b0)``. Among all ``H``
whose average is the polynomial ``sum_j t_j u^j``, the one of least second moment ``E[H^2]`` (which
sets the Monte-Carlo error) is, by Cauchy-Schwarz in each Hermite component,

    H(alpha, b0) = sum_j t_j He_j(alpha) c_j(b0) / e_j,      e_j = E[c_j(b0)^2],
    E[H 1{...}](u) = sum_j t_j u^j,                          E[H^2] = sum_j j! t_j^2 / e_j.

For ``j >= 1`` the factor ``c_j(b0)`` is concentrated on ``|b0| < 3``: only neurons near their
threshold, the ones whose pattern the input can flip, carry weight. The fit chooses ``t`` by ridge
least squares on a grid of ``u`` with ``E[H^2]`` as the penalty. Lemma 5.2(b) of Allen-Zhu & Li (their
main new ingredient, content recalled) is a robust version in which the threshold carries an extra
small noise ``n``; :meth:`IndicatorFit.estimate` adds it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import as_array, check_choice, check_float, check_int
from .smooth import SmoothFunction, smooth_function

__all__ = ["IndicatorFit", "fit_indicator", "shared_sup_errors", "hermite", "threshold_factors",
           "noisy_threshold_factors", "sup_error_vs_neurons", "noise_robustness"]

_SQRT2 = math.sqrt(2.0)


def hermite(n_max: int, x: np.ndarray) -> np.ndarray:
    """Probabilists' Hermite polynomials ``He_0..He_{n_max}`` at ``x``; shape ``(n_max + 1, *x.shape)``."""
    n_max = check_int("n_max", n_max, minimum=0)
    x = np.asarray(x, dtype=np.float64)
    out = np.empty((n_max + 1,) + x.shape)
    out[0] = 1.0
    if n_max >= 1:
        out[1] = x
    for j in range(1, n_max):
        out[j + 1] = x * out[j] - j * out[j - 1]
    return out


def _normal_cdf(x):
    x = np.asarray(x, dtype=np.float64)
    return 0.5 * (1.0 + np.vectorize(math.erf, otypes=[np.float64])(x / _SQRT2))


def _normal_pdf(x):
    return np.exp(-0.5 * np.asarray(x, dtype=np.float64) ** 2) / math.sqrt(2 * math.pi)


def threshold_factors(degree: int, b) -> np.ndarray:
    """``c_j(b) = E[He_j(g) 1{g >= -b}]`` for ``j = 0..degree``, ``g ~ N(0, 1)``; shape ``(degree + 1, *b.shape)``."""
    b = np.asarray(b, dtype=np.float64)
    c = np.empty((degree + 1,) + b.shape)
    c[0] = _normal_cdf(b)
    if degree >= 1:
        c[1:] = _normal_pdf(b) * hermite(degree - 1, -b)
    return c


def noisy_threshold_factors(degree: int, b, noise_std: float = 0.0) -> np.ndarray:
    """``c_j`` averaged over a Gaussian threshold noise ``n ~ N(0, tau^2)``: ``rho^j c_j(rho b)``.

    With ``rho = 1 / sqrt(1 + tau^2)``: ``g + n`` is normal with variance ``1 + tau^2`` and correlation
    ``rho`` to ``g``, so Mehler's formula ``E[He_j(g) | g + n] = rho^j He_j((g + n) rho)`` applies.
    """
    rho = 1.0 / math.sqrt(1.0 + noise_std ** 2)
    b = np.asarray(b, dtype=np.float64)
    powers = rho ** np.arange(degree + 1).reshape((-1,) + (1,) * b.ndim)
    return powers * threshold_factors(degree, rho * b)


def _factor_energy(degree: int, bias_scale: float, noise_std: float, n_quad: int = 12001) -> np.ndarray:
    """``e_j = E[c_j(b0)^2]`` for ``b0 ~ N(0, sigma_b^2)``, by the trapezoid rule (c_j varies on scale 1)."""
    half = 12.0 * max(bias_scale, 1.0)
    b = np.linspace(-half, half, n_quad)
    w = _normal_pdf(b / bias_scale) / bias_scale * (b[1] - b[0])
    w[[0, -1]] *= 0.5
    return (noisy_threshold_factors(degree, b, noise_std) ** 2) @ w


@dataclass
class IndicatorFit:
    """A fitted weight function ``H(alpha, b0) = sum_j t_j He_j(alpha) c_j(b0) / e_j``.

    Attributes:
        phi: the target smooth function.
        t: ``(degree + 1,)`` coefficients: the infinite-width average is ``sum_j t_j u^j``.
        energy: ``(degree + 1,)`` values ``e_j = E[c_j(b0)^2]``.
        bias_scale: ``sigma_b``, the standard deviation of the threshold ``b0``.
        u_range: the interval of ``u`` the fit was made on.
        reg: the ridge weight on ``E[H^2]``.
        noise_std: the threshold-noise level ``tau`` the fit anticipates (0: the clean lemma).
    """

    phi: SmoothFunction
    t: np.ndarray
    energy: np.ndarray
    bias_scale: float
    u_range: tuple
    reg: float
    noise_std: float = 0.0

    @property
    def degree(self) -> int:
        return self.t.shape[0] - 1

    def H(self, alpha, b0) -> np.ndarray:
        """``H`` at arrays ``alpha`` and ``b0`` of the same shape."""
        alpha = np.asarray(alpha, dtype=np.float64)
        b0 = np.asarray(b0, dtype=np.float64)
        if alpha.shape != b0.shape:
            raise ValueError(f"alpha and b0 must have the same shape, got {alpha.shape} and {b0.shape}")
        ha = hermite(self.degree, alpha)
        cb = noisy_threshold_factors(self.degree, b0, self.noise_std)
        return np.einsum("j,j...,j...->...", self.t / self.energy, ha, cb)

    @property
    def second_moment(self) -> float:
        """``E[H^2]`` over ``alpha ~ N(0,1)``, ``b0 ~ N(0, sigma_b^2)``: ``sum_j j! t_j^2 / e_j``."""
        fact = np.array([math.factorial(j) for j in range(self.degree + 1)], dtype=np.float64)
        return float((fact * self.t ** 2 / self.energy).sum())

    def expectation(self, u) -> np.ndarray:
        """The infinite-width average ``E[H 1{...}] = sum_j t_j u^j`` at ``u`` (under the anticipated noise)."""
        return np.polynomial.polynomial.polyval(np.asarray(u, dtype=np.float64), self.t)

    def bias_error(self, n_grid: int = 401) -> float:
        """Sup over the fitted range of ``|phi(u) - E[H 1{...}]|`` (the error at ``M = infinity``)."""
        u = np.linspace(*self.u_range, n_grid)
        return float(np.abs(self.phi(u) - self.expectation(u)).max())

    def sample_neurons(self, M: int, seed: int = 0) -> dict:
        """``M`` random neurons: ``alpha, beta ~ N(0,1)``, ``b0 ~ N(0, sigma_b^2)`` and ``H(alpha, b0)``."""
        M = check_int("M", M, minimum=1)
        rng = np.random.default_rng(check_int("seed", seed, minimum=0))
        alpha, beta, z = rng.standard_normal((3, M))
        b0 = self.bias_scale * z
        return {"alpha": alpha, "beta": beta, "b0": b0, "H": self.H(alpha, b0)}

    def estimate(self, u, M: int, *, seed: int = 0, noise: float = 0.0, noise_kind: str = "gaussian",
                 chunk: int = 20000) -> np.ndarray:
        """The finite average ``(1/M) sum_r H_r 1{alpha_r u + beta_r sqrt(1-u^2) + b0_r + n >= 0}``.

        Args:
            u: points in ``[-1, 1]``, shape ``(n_u,)``.
            M: number of neurons.
            seed: seed of the neurons (and of the noise).
            noise: size ``tau`` of the threshold noise of Lemma 5.2(b) (0: the clean lemma).
            noise_kind: ``"gaussian"`` (``n ~ N(0, tau^2)`` independently for every neuron and every
                ``u``, as when ``n`` comes from the rest of the sequence) or ``"shift"`` (``n = +tau``
                for all, a one-sided bias).
            chunk: neurons per block (bounds memory at ``chunk * n_u`` floats).

        Returns:
            ``(n_u,)`` estimates of ``phi(u)``.
        """
        u = as_array("u", u)
        if u.ndim != 1 or np.any(np.abs(u) > 1):
            raise ValueError(f"u must be a 1-d array of values in [-1, 1], got shape {u.shape}, "
                             f"range [{u.min() if u.size else 0:.3g}, {u.max() if u.size else 0:.3g}]")
        noise = check_float("noise", noise, nonnegative=True)
        noise_kind = check_choice("noise_kind", noise_kind, ("gaussian", "shift"))
        chunk = check_int("chunk", chunk, minimum=1)
        nr = self.sample_neurons(M, seed)
        rng = np.random.default_rng([check_int("seed", seed, minimum=0), 1])
        return _fire_sums(u, nr, [[nr["H"]]], [noise], rng, noise_kind, chunk)[0, 0] / M


def _fire_sums(u, nr: dict, H: list, noises: list, rng, noise_kind: str, chunk: int) -> np.ndarray:
    """``sum_r H_r 1{alpha_r u + beta_r sqrt(1-u^2) + b0_r + n >= 0}`` for each weight vector ``H[t][k]``
    at the noise size ``noises[t]``; ``(len(noises), len(H[0]), n_u)``.  One pre-activation and one
    block of standard normals (from ``rng``, blocks of ``chunk`` neurons) serve every ``H`` and ``tau``."""
    root = np.sqrt(np.clip(1.0 - u ** 2, 0.0, None))
    total = np.zeros((len(noises), len(H[0]), u.size))
    gaussian = noise_kind == "gaussian" and any(tau > 0 for tau in noises)
    for s in range(0, nr["alpha"].size, chunk):
        pre = (nr["alpha"][s:s + chunk, None] * u + nr["beta"][s:s + chunk, None] * root
               + nr["b0"][s:s + chunk, None])
        normals = rng.standard_normal(pre.shape) if gaussian else None
        for t, tau in enumerate(noises):
            fires = (pre if tau == 0 else pre + (tau * normals if noise_kind == "gaussian" else tau)) >= 0
            for k, h in enumerate(H[t]):
                total[t, k] += (h[s:s + chunk, None] * fires).sum(axis=0)
    return total


def fit_indicator(phi="sin(3z)", *, degree: int = 14, bias_scale: float = 1.0, noise_std: float = 0.0,
                  u_range: tuple = (-1.0, 1.0), reg: float = 1e-8, n_grid: int = 401) -> IndicatorFit:
    """Fit ``H`` so that ``E[H(alpha, b0) 1{alpha u + beta sqrt(1-u^2) + b0 >= 0}] ~= phi(u)``.

    Args:
        phi: the smooth function (name or :class:`~rnnlib.smooth.SmoothFunction`).
        degree: highest Hermite degree in ``alpha`` (the polynomial degree in ``u`` reachable).
        bias_scale: ``sigma_b`` (1 in the lemma; ``||h|| / eps_x`` inside the RNN, see
            :mod:`rnnlib.existence`).
        noise_std: ``tau``: fit for a threshold carrying Gaussian noise ``N(0, tau^2)`` (the degree-``j``
            part of the average is damped by ``(1 + tau^2)^{-j/2}``, so ``H`` must grow to undo it).
        u_range: interval ``[lo, hi]`` inside ``[-1, 1]`` where ``phi`` must be reproduced.
        reg: ridge weight on ``E[H^2]`` relative to the mean squared fit residual on the grid.
        n_grid: points of the ``u`` grid.

    Returns:
        an :class:`IndicatorFit`.

    Example:
        >>> fit = fit_indicator("z^2", degree=4)
        >>> fit.bias_error() < 0.01
        True
    """
    phi = smooth_function(phi)
    degree = check_int("degree", degree, minimum=0)
    bias_scale = check_float("bias_scale", bias_scale, positive=True)
    reg = check_float("reg", reg, nonnegative=True)
    noise_std = check_float("noise_std", noise_std, nonnegative=True)
    n_grid = check_int("n_grid", n_grid, minimum=2)
    if (not isinstance(u_range, (tuple, list)) or len(u_range) != 2
            or not -1.0 <= float(u_range[0]) < float(u_range[1]) <= 1.0):
        raise ValueError(f"u_range must be (lo, hi) with -1 <= lo < hi <= 1, got {u_range!r}")
    u_range = (float(u_range[0]), float(u_range[1]))
    energy = _factor_energy(degree, bias_scale, noise_std)
    u = np.linspace(*u_range, n_grid)
    target = phi(u)
    fact = np.array([math.factorial(j) for j in range(degree + 1)], dtype=np.float64)
    # columns scaled so the penalty E[H^2] = sum j! t_j^2 / e_j is a plain squared norm
    scale = np.sqrt(fact / energy)
    design = (u[:, None] ** np.arange(degree + 1)[None, :]) / scale
    gram = design.T @ design / n_grid + reg * np.eye(degree + 1)
    t = np.linalg.solve(gram, design.T @ target / n_grid) / scale
    return IndicatorFit(phi=phi, t=t, energy=energy, bias_scale=bias_scale, u_range=u_range, reg=reg,
                        noise_std=noise_std)


def sup_error_vs_neurons(fit: IndicatorFit, Ms, *, n_draws: int = 5, n_grid: int = 201, seed: int = 0,
                         noise: float = 0.0, noise_kind: str = "gaussian") -> np.ndarray:
    """Sup over the fitted ``u`` range of ``|phi(u) - estimate|`` for each ``M`` and draw.

    Returns:
        ``(len(Ms), n_draws)`` array of sup errors.
    """
    Ms = [check_int("M", M, minimum=1) for M in Ms]
    n_draws = check_int("n_draws", n_draws, minimum=1)
    u = np.linspace(*fit.u_range, check_int("n_grid", n_grid, minimum=2))
    target = fit.phi(u)
    out = np.empty((len(Ms), n_draws))
    for a, M in enumerate(Ms):
        for d in range(n_draws):
            est = fit.estimate(u, M, seed=seed + 1000 * a + d, noise=noise, noise_kind=noise_kind)
            out[a, d] = np.abs(est - target).max()
    return out


def noise_robustness(fit: IndicatorFit, noises, *, M: int = 100_000, n_draws: int = 3, n_grid: int = 201,
                     seed: int = 0, noise_kind: str = "gaussian") -> np.ndarray:
    """Sup error at fixed ``M`` for each threshold-noise size ``tau``; shape ``(len(noises), n_draws)``.

    Equal, value for value, to :func:`sup_error_vs_neurons` at ``[M]`` for each ``tau`` (same neurons
    and noise draws), computed with one draw of the neurons and of the noise per draw for all ``tau``.
    """
    noises = [check_float("noise", tau, nonnegative=True) for tau in noises]
    return shared_sup_errors([[fit]] * len(noises), noises, M=M, n_draws=n_draws, n_grid=n_grid, seed=seed,
                             noise_kind=noise_kind)[:, 0]


def shared_sup_errors(fits, noises, *, M: int, n_draws: int, n_grid: int = 201, seed: int = 0,
                      noise_kind: str = "gaussian") -> np.ndarray:
    """Sup errors of the fits ``fits[t]`` (lists of one length, one ``bias_scale`` and ``u_range``) at
    the noise ``noises[t]``, all on the same neurons and noise draws; ``(len(noises), len(fits[0]), n_draws)``.

    Each value equals bitwise :func:`sup_error_vs_neurons` ``(fit, [M], n_draws=n_draws, seed=seed,
    noise=noises[t])``: the neurons, the pattern and the noise's normals do not depend on ``H`` or on
    ``tau``, so they are drawn once per draw (chapter 6's noise study drew the same normals 8 times).
    """
    flat = [f for group in fits for f in group]
    if len(fits) != len(noises) or not flat or len({len(g) for g in fits}) != 1 \
            or not all(isinstance(f, IndicatorFit) for f in flat):
        raise ValueError(f"fits must be one list of IndicatorFit per noise size, all of one non-zero length, "
                         f"got {[len(g) for g in fits]} for {len(noises)} noises")
    if len({(f.bias_scale, f.u_range) for f in flat}) != 1:
        raise ValueError("fits must share bias_scale and u_range, got "
                         f"{sorted({(f.bias_scale, f.u_range) for f in flat})}")
    noises = [check_float("noise", tau, nonnegative=True) for tau in noises]
    noise_kind = check_choice("noise_kind", noise_kind, ("gaussian", "shift"))
    M, n_draws = check_int("M", M, minimum=1), check_int("n_draws", n_draws, minimum=1)
    seed = check_int("seed", seed, minimum=0)
    u = np.linspace(*flat[0].u_range, check_int("n_grid", n_grid, minimum=2))
    out = np.empty((len(noises), len(fits[0]), n_draws))
    for d in range(n_draws):
        nr = flat[0].sample_neurons(M, seed + d)
        H = [[f.H(nr["alpha"], nr["b0"]) for f in group] for group in fits]
        total = _fire_sums(u, nr, H, noises, np.random.default_rng([seed + d, 1]), noise_kind, 20000)
        out[:, :, d] = [[np.abs(total[t, k] / M - f.phi(u)).max() for k, f in enumerate(g)] for t, g in enumerate(fits)]
    return out


def __getattr__(name: str):
    """The cached kinds moved to :mod:`rnnlib.lemma_kinds`; their old import path keeps working."""
    if name in ("LemmaRateConfig", "LemmaRateResult", "LemmaNoiseConfig", "LemmaNoiseResult"):
        from . import lemma_kinds
        return getattr(lemma_kinds, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
