"""The additive concept class (chapter 2; Allen-Zhu & Li (2019), section 3, recalled).

Every output is a sum, over earlier input positions, of smooth two-layer
networks of *that single token*::

    F*_{j,s}(x*) = sum_{i=2}^{j} sum_{r=1}^{p} b*_{i->j,r,s} Phi_{i->j,r,s}(<w*_{i->j,r,s}, x*_i>)

Each (input position i -> output position j, hidden unit r, output s) has its own
smooth function, unit direction and coefficient: that position-dependence is the
point of the paper.  Positions are numbered as in the paper, 1..L, with position 1
the start token; arrays index them 0..L-1.

Index convention (recalled, not quoted, so it is a parameter): with
``include_current=True`` the sum runs over ``i = 2..j`` (the current token
counts); with ``False`` over ``i = 2..j-1``.

The directions ``w*`` are uniform on the unit sphere by default; ``direction="orthogonal_to_constant"``
draws them orthogonal to the tokens' constant coordinate, so that an even ``phi`` leaves no part of the
target that is linear in the tokens (chapter 5's headline target, :mod:`rnnlib.linear_share`).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

from ._checks import as_array, check_choice, check_float, check_int
from .linear_share import DIRECTIONS, term_mean
from .smooth import SmoothFunction, smooth_function

__all__ = ["AdditiveConcept"]


class AdditiveConcept:
    """A random target from the additive class.

    Args:
        length: sequence length ``L`` counting the start token (>= 2).
        token_dim: dimension of a raw token ``x*`` (>= 2).
        hidden: ``p``, hidden units of each per-pair two-layer network (>= 1).
        output_dim: ``d``, outputs per position (>= 1).
        phi: a smooth function (name or :class:`~rnnlib.smooth.SmoothFunction`), or a
            sequence of them; with a sequence, every (i, j, r, s) draws its own at random.
        labels: ``"last"`` (only position L carries a label, as in Panigrahi & Goyal) or
            ``"all"`` (every position with a non-empty sum, as in Allen-Zhu & Li).
        include_current: index convention, see the module docstring.
        coef: ``"uniform"`` (``b* ~ U[-1, 1]``) or ``"sign"`` (``b* = +-1``).
        normalize: divide ``F*_j`` by ``sqrt(p * (number of input positions))`` so that its
            scale does not grow with L; ``False`` gives the raw sum (variance grows ~ L).
        noise_std: standard deviation of the Gaussian label noise of :meth:`labels_for`
            (so ``OPT ~ noise_std^2`` under squared loss).
        seed: seed of the random draws.
        direction: law of the unit directions ``w*``: ``"sphere"`` (uniform) or
            ``"orthogonal_to_constant"`` (uniform with last coordinate 0, so ``<w*, x*>`` has mean 0 and
            an even ``phi`` has no linear part; the other draws are the same as with ``"sphere"``).
        center: subtract from every term its mean ``E[phi(<w*, x*>)]`` over the tokens (exact, from
            :func:`rnnlib.linear_share.term_mean`), so every term and ``F*`` have mean 0.

    Attributes:
        w: unit directions, shape ``(L, L, p, d, token_dim)`` indexed ``[i-1, j-1, r, s]``.
        b: coefficients, shape ``(L, L, p, d)`` (0 outside the summation range).
        phi_index: which of :attr:`phis` each term uses, shape ``(L, L, p, d)``.
        labelled: boolean mask over positions, shape ``(L,)``.
        offset: the subtracted term means, shape ``(L, L, p, d)`` (0 unless ``center``).
    """

    def __init__(self, length: int, token_dim: int, hidden: int = 1, output_dim: int = 1, *,
                 phi="sin(3z)", labels: str = "last", include_current: bool = True,
                 coef: str = "uniform", normalize: bool = True, noise_std: float = 0.0,
                 seed: int = 0, direction: str = "sphere", center: bool = False):
        self.length = check_int("length", length, minimum=2)
        self.token_dim = check_int("token_dim", token_dim, minimum=2)
        self.hidden = check_int("hidden", hidden, minimum=1)
        self.output_dim = check_int("output_dim", output_dim, minimum=1)
        self.labels = check_choice("labels", labels, ("last", "all"))
        if not isinstance(include_current, bool):
            raise TypeError(f"include_current must be a bool, got {include_current!r}")
        self.include_current = include_current
        if not self.include_current and self.length < 3:
            raise ValueError("length must be >= 3 when include_current=False "
                             f"(the sum over i = 2..j-1 is empty otherwise), got {length}")
        self.coef = check_choice("coef", coef, ("uniform", "sign"))
        self.normalize = bool(normalize)
        self.noise_std = check_float("noise_std", noise_std, nonnegative=True)
        self.seed = check_int("seed", seed, minimum=0)
        self.direction = check_choice("direction", direction, DIRECTIONS)
        if not isinstance(center, bool):
            raise TypeError(f"center must be a bool, got {center!r}")
        self.center = center
        if isinstance(phi, (str, SmoothFunction)):
            phis: Sequence = [phi]
        elif isinstance(phi, Sequence) and len(phi) > 0:
            phis = phi
        else:
            raise ValueError(f"phi must be a function name, a SmoothFunction or a non-empty list, got {phi!r}")
        self.phis: list[SmoothFunction] = [smooth_function(f) for f in phis]

        L, p, d, t = self.length, self.hidden, self.output_dim, self.token_dim
        rng = np.random.default_rng(self.seed)
        w = rng.standard_normal((L, L, p, d, t))
        if self.direction == "orthogonal_to_constant":
            w[..., -1] = 0.0
        self.w = w / np.linalg.norm(w, axis=-1, keepdims=True)
        if self.coef == "uniform":
            b = rng.uniform(-1.0, 1.0, (L, L, p, d))
        else:
            b = rng.choice([-1.0, 1.0], (L, L, p, d))
        self.phi_index = rng.integers(0, len(self.phis), (L, L, p, d))
        # positions are 1-based in the paper: term (i, j) is live for 2 <= i <= j (or < j)
        i = np.arange(1, L + 1)[:, None]
        j = np.arange(1, L + 1)[None, :]
        live = (i >= 2) & ((i <= j) if self.include_current else (i < j))
        self.n_terms = live.sum(axis=0)  # input positions feeding output j, shape (L,)
        b = b * live[:, :, None, None]
        if self.normalize:
            scale = np.sqrt(np.maximum(self.n_terms, 1) * p)
            b = b / scale[None, :, None, None]
        self.b = b
        self.live = live
        self.offset = np.zeros((L, L, p, d))
        if self.center:
            for k, f in enumerate(self.phis):
                sel = (self.phi_index == k) & live[:, :, None, None]
                self.offset[sel] = term_mean(f, self.w[sel])
        first = 2 if self.include_current else 3
        self.labelled = np.zeros(L, dtype=bool)
        if self.labels == "last":
            self.labelled[-1] = True
        else:
            self.labelled[first - 1:] = True

    def __repr__(self) -> str:
        names = ",".join(f.name for f in self.phis)
        return (f"AdditiveConcept(length={self.length}, token_dim={self.token_dim}, hidden={self.hidden}, "
                f"output_dim={self.output_dim}, phi=[{names}], labels={self.labels!r}, "
                f"include_current={self.include_current}, seed={self.seed}"
                + (f", direction={self.direction!r}" if self.direction != "sphere" else "")
                + (", center=True" if self.center else "") + ")")

    def pair_contributions(self, x_star, positions=None) -> np.ndarray:
        """Every term ``sum_r b* Phi(<w*, x*_i>)`` separately, shape ``(n, L, L, d)`` indexed ``[:, i-1, j-1, s]``.

        ``positions``: output positions ``j`` (1-based, increasing) to compute; the result is then
        ``(n, L, len(positions), d)``, its third axis in that order.  Each entry is computed exactly as
        in the full array (the same products and sums), only for fewer outputs: with labels at the
        last position alone, a target needs ``1/L`` of the work and memory (at ``L = 80`` and
        12,000 sequences the full array of arguments is 600 MB).
        """
        x_star = self._check_x(x_star)
        n = x_star.shape[0]
        cols = slice(None) if positions is None else self._positions(positions)
        w, b, index, offset = self.w[:, cols], self.b[:, cols], self.phi_index[:, cols], self.offset[:, cols]
        # position 1 (start token) has no raw token: pad with zeros, its terms are not live
        xs = np.concatenate([np.zeros((n, 1, self.token_dim)), x_star], axis=1)  # (n, L, t)
        z = np.einsum("nit,ijrst->nijrs", xs, w)  # (n, L, J, p, d)
        values = np.zeros_like(z)
        for k, f in enumerate(self.phis):
            sel = index == k
            if sel.any():
                values[:, sel] = f(z[:, sel]) - offset[sel]
        return np.einsum("nijrs,ijrs->nijs", values, b)

    def _positions(self, positions) -> np.ndarray:
        cols = np.asarray(positions)
        if cols.ndim != 1 or cols.size == 0 or not np.issubdtype(cols.dtype, np.integer) \
                or cols.min() < 1 or cols.max() > self.length or np.any(np.diff(cols) <= 0):
            raise ValueError(f"positions must be increasing integers in 1..{self.length} (the output "
                             f"positions j), got {positions!r}")
        return cols - 1

    def __call__(self, x_star) -> np.ndarray:
        """Noise-free targets ``F*(x*)`` at every position, shape ``(n, L, d)`` (zero where not labelled).

        Only the labelled positions are computed (the others are zero anyway)."""
        x_star = self._check_x(x_star)
        labelled = np.flatnonzero(self.labelled) + 1
        targets = np.zeros((x_star.shape[0], self.length, self.output_dim))
        pairs = self.pair_contributions(x_star, labelled)  # (n, L, J, d)
        total = pairs[:, 0].copy()
        for i in range(1, self.length):  # input positions in order: the same sums, bit for bit, as
            total += pairs[:, i]          # numpy's reduction over axis 1 of the full (n, L, L, d) array
        targets[:, labelled - 1] = total
        return targets

    def labels_for(self, x_star, seed: int = 0) -> np.ndarray:
        """Targets plus ``N(0, noise_std^2)`` noise at the labelled positions, shape ``(n, L, d)``."""
        y = self(x_star)
        if self.noise_std > 0:
            rng = np.random.default_rng(check_int("seed", seed, minimum=0))
            y = y + self.noise_std * rng.standard_normal(y.shape) * self.labelled[None, :, None]
        return y

    def _check_x(self, x_star) -> np.ndarray:
        x_star = as_array("x_star", x_star, ndim=3, last_dim=self.token_dim)
        if x_star.shape[1] != self.length - 1:
            raise ValueError(f"x_star must have {self.length - 1} tokens (length - 1) for this concept, "
                             f"got shape {x_star.shape}")
        return x_star
