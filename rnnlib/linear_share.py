"""How much of a target term a linear model of the token already explains (chapters 2 and 5;
Allen-Zhu & Li (2019), section 3, recalled: the tokens and the additive class).

One term of the additive concept is ``phi(z)`` with ``z = <w*, x*>``, a unit direction ``w*`` and a raw
token ``x* = ((sqrt 3 / 2) u, 1/2)``, ``u`` uniform on the unit sphere of ``R^d`` (``d = token_dim - 1``,
:func:`rnnlib.sample_tokens`).  Write ``w* = (sqrt(1 - c^2) w_hat, c)`` with ``c`` its component on the
constant coordinate; then ``z = a s + c / 2`` with ``a = (sqrt 3 / 2) sqrt(1 - c^2)`` and
``s = <w_hat, u>``, whose density on ``[-1, 1]`` is proportional to ``(1 - s^2)^((d - 3) / 2)``.  The best
affine function of ``x*`` (equivalently of ``u``, the last coordinate being constant) explains

    linear variance = Cov(phi, u) Cov(u)^-1 Cov(u, phi) = d * E[phi(z) s]^2        (Cov(u) = I / d)

of ``Var phi(z)``, because ``E[phi(z) u]`` points along ``w_hat`` by the symmetry of ``u``.  With
``c != 0`` even functions keep a linear part (``z`` has mean ``c / 2``); with ``c = 0``
(``direction="orthogonal_to_constant"``) an even ``phi`` has none.

:func:`linear_share` averages over the concept's own directions (:class:`rnnlib.AdditiveConcept`):
``"sphere"`` draws ``w*`` uniform on the unit sphere of ``R^token_dim`` (so ``c`` has density
``(1 - c^2)^((token_dim - 3) / 2)``), ``"orthogonal_to_constant"`` fixes ``c = 0``.  Both averages are
one-dimensional integrals, computed by Gauss-Legendre quadrature in the angle (``s = cos theta``), which
is exact to rounding for the smooth functions of :data:`rnnlib.SMOOTH_FUNCTIONS`;
:func:`linear_share_mc` is the seeded Monte-Carlo check with its standard error.  ``eps_x`` plays no
part: the concept is defined on the raw tokens, and a linear function of ``eps_x x*`` is one of ``x*``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._checks import check_choice, check_int
from .smooth import SmoothFunction, smooth_function

__all__ = ["DIRECTIONS", "LinearShare", "term_moments", "term_mean", "linear_share", "linear_share_mc",
           "linear_share_table"]

#: How the concept draws the directions ``w*`` (see :class:`rnnlib.AdditiveConcept`).
DIRECTIONS = ("sphere", "orthogonal_to_constant")
_HALF_SQRT3 = math.sqrt(3.0) / 2.0


@dataclass(frozen=True)
class LinearShare:
    """The linear share of one term ``phi(<w*, x*>)``, averaged over the directions ``w*``.

    Attributes:
        phi: the function's name.
        token_dim, direction: the token size and the direction distribution.
        share: ``E_w[linear variance] / E_w[variance]``: the share of the variance of a sum of many
            such terms (with independent directions) that a linear model of the tokens explains, and
            so ``1 - share`` is the standardized error linear ridge tends to as ``N`` grows.
        mean_share: ``E_w[linear variance / variance]``, the per-term share averaged.
        variance, linear_variance: ``E_w[Var phi]`` and ``E_w[linear variance]``.
        stderr: standard error of ``share`` (0 for quadrature, which is exact to rounding).
        method: ``"quadrature"`` or ``"monte carlo"``.
    """

    phi: str
    token_dim: int
    direction: str
    share: float
    mean_share: float
    variance: float
    linear_variance: float
    stderr: float
    method: str


def _angle_rule(n: int, power: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``cos(theta)`` and weights for ``E[f(s)]`` with density ``prop. to sin(theta)^power`` on
    ``[0, pi]`` (``s = cos theta``): Gauss-Legendre in ``theta``, normalized to sum 1."""
    x, w = np.polynomial.legendre.leggauss(n)
    theta = (x + 1.0) * (math.pi / 2.0)
    w = w * np.sin(theta) ** power
    return np.cos(theta), w / w.sum()


def _s_rule(token_dim: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The law of ``s = <w_hat, u>``, ``u`` uniform on the sphere of ``R^(token_dim - 1)``."""
    d = token_dim - 1
    if d == 1:  # u = +-1
        return np.array([-1.0, 1.0]), np.array([0.5, 0.5])
    return _angle_rule(n, d - 2)


def _moments(f: SmoothFunction, c: np.ndarray, token_dim: int, n: int):
    """``E[phi]``, ``Var phi`` and ``d E[phi s]^2`` at each constant component ``c`` (any shape)."""
    s, ws = _s_rule(token_dim, n)
    c = np.asarray(c, dtype=np.float64)
    a = _HALF_SQRT3 * np.sqrt(np.clip(1.0 - c ** 2, 0.0, None))
    z = a[..., None] * s + 0.5 * c[..., None]
    v = f(z)
    m0 = v @ ws
    m2 = (v * v) @ ws
    m1 = (v * s) @ ws
    return m0, np.clip(m2 - m0 ** 2, 0.0, None), (token_dim - 1) * m1 ** 2


def _check(phi, token_dim, direction, n_nodes):
    f = smooth_function(phi)
    token_dim = check_int("token_dim", token_dim, minimum=2)
    check_choice("direction", direction, DIRECTIONS)
    n_nodes = check_int("n_nodes", n_nodes, minimum=8)
    return f, token_dim, n_nodes


def term_moments(phi, c, *, token_dim: int, n_nodes: int = 200):
    """Exact moments of one term ``phi(<w*, x*>)`` over the tokens, for given constant components ``c``.

    Args:
        phi: a smooth function or its name.
        c: ``w*``'s component(s) on the constant coordinate, any shape, each in ``[-1, 1]``.
        token_dim: dimension of a raw token.
        n_nodes: quadrature nodes.

    Returns:
        ``(mean, variance, linear_variance)``, arrays of ``c``'s shape.
    """
    f, token_dim, n_nodes = _check(phi, token_dim, "sphere", n_nodes)
    c = np.asarray(c, dtype=np.float64)
    if not np.all(np.isfinite(c)) or np.any(np.abs(c) > 1.0 + 1e-12):
        raise ValueError("c must hold components of unit vectors, in [-1, 1]; got values from "
                         f"{np.nanmin(c) if c.size else 0} to {np.nanmax(c) if c.size else 0}")
    return _moments(f, c, token_dim, n_nodes)


def term_mean(phi, w, *, n_nodes: int = 200) -> np.ndarray:
    """``E_x*[phi(<w*, x*>)]`` for unit directions ``w`` of shape ``(..., token_dim)``; shape ``(...)``.

    The concept subtracts it from each term with ``center=True``.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.ndim < 1 or w.shape[-1] < 2:
        raise ValueError(f"w must have a last dimension token_dim >= 2, got shape {w.shape}")
    return term_moments(phi, w[..., -1], token_dim=w.shape[-1], n_nodes=n_nodes)[0]


def linear_share(phi, *, token_dim: int = 8, direction: str = "sphere", n_nodes: int = 200) -> LinearShare:
    """The share of a term's variance that the best affine function of the raw token explains.

    Args:
        phi: a smooth function or its name (e.g. ``"sin(3z)"``).
        token_dim: dimension of a raw token (the book uses 8).
        direction: the law of ``w*``: ``"sphere"`` (uniform on the unit sphere, the concept's default)
            or ``"orthogonal_to_constant"`` (uniform among unit vectors with last coordinate 0).
        n_nodes: quadrature nodes per dimension.

    Returns:
        A :class:`LinearShare` (exact to rounding, ``stderr = 0``).

    Example:
        >>> round(linear_share("z", token_dim=8).share, 6)
        1.0
    """
    f, token_dim, n_nodes = _check(phi, token_dim, direction, n_nodes)
    if direction == "orthogonal_to_constant":
        c, wc = np.zeros(1), np.ones(1)
    else:
        c, wc = _angle_rule(n_nodes, token_dim - 2)
    _, var, lin = _moments(f, c, token_dim, n_nodes)
    with np.errstate(invalid="ignore", divide="ignore"):
        per = np.where(var > 1e-300, lin / np.where(var > 0, var, 1.0), 0.0)
    total = float(var @ wc)
    share = float(lin @ wc) / total if total > 0 else math.nan
    return LinearShare(f.name, token_dim, direction, share, float(per @ wc), total, float(lin @ wc), 0.0,
                       "quadrature")


def _directions(rng, n: int, token_dim: int, direction: str) -> np.ndarray:
    w = rng.standard_normal((n, token_dim))
    if direction == "orthogonal_to_constant":
        w[:, -1] = 0.0
    return w / np.linalg.norm(w, axis=1, keepdims=True)


def linear_share_mc(phi, *, token_dim: int = 8, direction: str = "sphere", n_directions: int = 200,
                    n_tokens: int = 4000, seed: int = 0) -> LinearShare:
    """Monte-Carlo check of :func:`linear_share`: tokens from :func:`rnnlib.sample_tokens`'s law.

    For each of ``n_directions`` directions, ``n_tokens`` tokens are drawn and the variance of
    ``phi(<w*, x*>)`` and of its least-squares affine fit on ``x*`` measured; ``share`` is the ratio of
    their means and ``stderr`` its delta-method standard error over directions (the in-sample fit adds a
    bias of about ``token_dim / n_tokens``).  Seeded and deterministic.
    """
    from .tokens import sample_tokens

    f, token_dim, _ = _check(phi, token_dim, direction, 8)
    n_directions = check_int("n_directions", n_directions, minimum=2)
    n_tokens = check_int("n_tokens", n_tokens, minimum=token_dim + 2)
    rng = np.random.default_rng(check_int("seed", seed, minimum=0))
    W = _directions(rng, n_directions, token_dim, direction)
    x = sample_tokens(n_tokens, n_directions + 1, token_dim, seed=int(rng.integers(2 ** 31)))
    var = np.empty(n_directions)
    lin = np.empty(n_directions)
    for k in range(n_directions):
        xk = x[:, k]
        v = f(xk @ W[k])
        F = np.column_stack([np.ones(n_tokens), xk[:, :-1]])  # the last coordinate is constant
        coef, *_ = np.linalg.lstsq(F, v, rcond=None)
        var[k] = v.var()
        lin[k] = (F @ coef).var()
    share = lin.mean() / var.mean()
    # delta method for a ratio of means
    resid = lin - share * var
    se = float(resid.std(ddof=1) / math.sqrt(n_directions) / var.mean())
    per = np.divide(lin, var, out=np.zeros_like(lin), where=var > 0)
    return LinearShare(f.name, token_dim, direction, float(share), float(per.mean()), float(var.mean()),
                       float(lin.mean()), se, "monte carlo")


def linear_share_table(functions=None, *, token_dim: int = 8, direction: str = "sphere") -> dict:
    """``{name: LinearShare}`` for every function (default :data:`rnnlib.SMOOTH_FUNCTIONS`)."""
    from .smooth import SMOOTH_FUNCTIONS

    names = list(SMOOTH_FUNCTIONS) if functions is None else list(functions)
    return {str(name): linear_share(name, token_dim=token_dim, direction=direction) for name in names}
