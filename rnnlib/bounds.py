"""Prior generalization bounds for RNNs, evaluated on an actual network (chapters 1, 5 and 8;
Allen-Zhu & Li (2019), section 1: the earlier bounds its introduction contrasts with Theorem 1).

Earlier generalization bounds for vanilla RNNs hold for any weights, but for
weights like the paper's random initialization they grow exponentially with the
sequence length ``L``. This module evaluates the weight-dependent factor of three
of them on a given :class:`~rnnlib.rnn.ElmanRNN` ``h_l = relu(W h_{l-1} + A x_l)``,
``y_l = B h_l``, so a chapter can plot them against ``L``:

* :func:`log10_zhang_factor`: Zhang, Lei & Dhillon (ICML 2018), PAC-Bayes;
* :func:`log10_spectral_complexity`: Bartlett, Foster & Telgarsky (NeurIPS 2017),
  applied to the network unrolled over ``L`` steps;
* :func:`log10_tu_lambda` and :func:`log10_tu_factor`: Tu, He & Tao (ICLR 2020).

Every value is a ``log10`` computed without forming the number itself. The
numbers reach ``10^400`` and more at ``L = 1000`` and are still finite here.
Terms that depend only on the data and the sample size, such as ``1/sqrt(n)``,
the margin, ``||X||_F`` and ``log(1/delta)``, are left out. What is returned is
the factor through which each bound depends on the weights and on ``L``.

Norms, for a matrix ``M`` whose rows are the weights of one unit of the next layer:

* ``||M||_2``: spectral norm (largest singular value);
* ``||M^T||_1``: the matrix-1 norm of ``M^T``, i.e. the largest absolute row sum of ``M``
  (Tu et al.'s ``beta``);
* ``||M^T||_{2,1}``: the sum over rows of ``M`` of their Euclidean norms (Bartlett et al.).
"""
from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass

import numpy as np
import torch

from ._checks import as_array, check_float, check_int
from .rnn import ElmanRNN

__all__ = ["WeightNorms", "weight_norms", "log10_zhang_factor", "log10_spectral_complexity",
           "log10_tu_lambda", "log10_tu_factor", "evaluate_bounds", "BOUNDS"]

# Below this value of L |beta - 1| the closed form of Tu's Lambda loses digits to cancellation,
# so the finite sum is used instead (relative error of the closed form ~ 1e-16 / (L |beta - 1|)).
_TU_SERIES_BELOW = 1e-3
_SERIES_CHUNK = 1_000_000

BOUNDS = {
    "zhang": {
        "label": "Zhang et al. (2018)",
        "formula": r"L^2\,\|A\|_2\,\|B\|_2\,\max\{1, \|W\|_2^L\}",
        "cite": "zhang2018stabilizing",
    },
    "bartlett": {
        "label": "Bartlett et al. (2017), unrolled",
        "formula": (r"\|A\|_2 \|W\|_2^{L-1} \|B\|_2 \Big(\sum_{M} \big(\|M^\top\|_{2,1}/\|M\|_2\big)^{2/3}"
                    r"\Big)^{3/2}"),
        "cite": "bartlett2017spectrally",
    },
    "tu_factor": {
        "label": r"Tu et al. (2020), $\beta_B \beta_A \Lambda$",
        "formula": r"\|B^\top\|_1 \|A^\top\|_1 \Lambda(\|W^\top\|_1, L)",
        "cite": "tu2020understanding",
    },
    "tu_lambda": {
        "label": r"Tu et al. (2020), $\Lambda$",
        "formula": r"\Lambda(\beta_W, L) = \sum_{t=1}^{L} t\,\beta_W^{t-1}",
        "cite": "tu2020understanding",
    },
}
"""Display metadata of each bound returned by :func:`evaluate_bounds`: a label, the
formula in LaTeX and the key of the cited work in ``references.bib``."""


@dataclass(frozen=True)
class WeightNorms:
    """The norms of ``W`` (m, m), ``A`` (m, d_x) and ``B`` (d, m) that the bounds use.

    Attributes:
        width: ``m``.
        spectral_W, spectral_A, spectral_B: ``||M||_2``.
        one_W, one_A, one_B: ``||M^T||_1`` = largest absolute row sum of ``M``.
        two_one_W, two_one_A, two_one_B: ``||M^T||_{2,1}`` = sum of the row norms of ``M``.
    """

    width: int
    spectral_W: float
    spectral_A: float
    spectral_B: float
    one_W: float
    one_A: float
    one_B: float
    two_one_W: float
    two_one_A: float
    two_one_B: float

    def to_dict(self) -> dict:
        return asdict(self)


def _matrix(name: str, value, rows: int | None = None, cols: int | None = None) -> np.ndarray:
    arr = as_array(name, value, ndim=2)
    if rows is not None and arr.shape[0] != rows:
        raise ValueError(f"{name} must have {rows} rows (the width m of W), got shape {arr.shape}")
    if cols is not None and arr.shape[1] != cols:
        raise ValueError(f"{name} must have {cols} columns (the width m of W), got shape {arr.shape}")
    return arr


def _spectral_norm(M: np.ndarray) -> float:
    """Largest singular value, from the top eigenvalue of the smaller Gram matrix.

    A symmetric eigensolver on ``M^T M`` is faster than an SVD and loses nothing in relative
    accuracy for the largest singular value. It runs on one thread: at m = 1024 a second
    thread gains little, and on a loaded machine multi-threaded LAPACK was measured 10-40
    times slower than one thread (0.2 s versus several seconds).
    """
    M = torch.from_numpy(M)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        gram = M.T @ M if M.shape[1] <= M.shape[0] else M @ M.T
        top = float(torch.linalg.eigvalsh(gram)[-1])
    finally:
        torch.set_num_threads(threads)
    return math.sqrt(max(top, 0.0))


def weight_norms(net, A=None, B=None) -> WeightNorms:
    """Compute the norms of an RNN's three matrices once, in float64.

    Args:
        net: an :class:`~rnnlib.rnn.ElmanRNN`, or the recurrent matrix ``W`` of shape
            ``(m, m)`` (numpy array or torch tensor), in which case ``A`` ``(m, d_x)`` and
            ``B`` ``(d, m)`` must be given too.
        A, B: only when ``net`` is a matrix.

    Returns:
        a :class:`WeightNorms`.
    """
    if isinstance(net, ElmanRNN):
        if A is not None or B is not None:
            raise TypeError("A and B must not be given when net is an ElmanRNN (it has its own)")
        W, A, B = net.W, net.A, net.B
    else:
        if A is None or B is None:
            raise TypeError("weight_norms needs an ElmanRNN, or W together with A and B; "
                            f"got net of type {type(net).__name__} with A={A is not None}, B={B is not None}")
        W = net
    W = _matrix("W", W)
    if W.shape[0] != W.shape[1]:
        raise ValueError(f"W must be square (m, m), got shape {W.shape}")
    m = W.shape[0]
    A = _matrix("A", A, rows=m)
    B = _matrix("B", B, cols=m)
    values = {"width": m}
    for key, M in (("W", W), ("A", A), ("B", B)):
        values[f"spectral_{key}"] = _spectral_norm(M)
        values[f"one_{key}"] = float(np.abs(M).sum(axis=1).max())
        values[f"two_one_{key}"] = float(np.linalg.norm(M, axis=1).sum())
    if values["spectral_A"] == 0 or values["spectral_B"] == 0 or values["spectral_W"] == 0:
        raise ValueError("W, A and B must be nonzero matrices (a bound of a constant network is 0, "
                         "whose log10 is -inf)")
    return WeightNorms(**values)


def _resolve(net) -> WeightNorms:
    if isinstance(net, WeightNorms):
        return net
    if isinstance(net, ElmanRNN):
        return weight_norms(net)
    if isinstance(net, (tuple, list)) and len(net) == 3:
        return weight_norms(net[0], net[1], net[2])
    raise TypeError("net must be an ElmanRNN, a WeightNorms or a tuple (W, A, B), "
                    f"got {type(net).__name__}")


def _lengths(length) -> tuple[np.ndarray, bool]:
    """``length`` as an int64 array of values >= 1, and whether it was a scalar."""
    if isinstance(length, (numbers.Integral, np.integer)) and not isinstance(length, bool):
        return np.array([check_int("length", length, minimum=1)]), True
    if isinstance(length, (list, tuple, np.ndarray, range)):
        arr = np.asarray(length)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"length must be an integer or a non-empty 1-d sequence of integers, "
                             f"got shape {arr.shape}")
        for value in arr.tolist():
            check_int("length", value, minimum=1)
        return arr.astype(np.int64), False
    raise TypeError(f"length must be an integer or a sequence of integers, got {type(length).__name__}")


def _out(values: np.ndarray, scalar: bool):
    return float(values[0]) if scalar else values


def log10_zhang_factor(net, length):
    r"""``log10`` of the weight-dependent factor of Zhang, Lei & Dhillon's bound.

    The bound, as quoted by Tu, He & Tao (2020), is

    .. math::

        \tilde O\Big(\frac{\max\{d, m, k\}\, L^2\, \|U\|_2 \|V\|_2 \max\{1, \|W\|_2^L\}}{\sqrt{n}\,\alpha}\Big)

    with ``U`` the input-to-hidden matrix (here ``A``) and ``V`` the hidden-to-output matrix
    (here ``B``). This returns ``log10( L^2 ||A||_2 ||B||_2 max(1, ||W||_2^L) )``. It is
    exponential in ``L`` as soon as ``||W||_2 > 1``; at the paper's initialization
    ``||W||_2`` is about ``2 sqrt(2)``.

    Reference: J. Zhang, Q. Lei and I. S. Dhillon, "Stabilizing gradients for deep neural
    networks via efficient SVD parameterization", ICML 2018 (as recalled in Allen-Zhu & Li (2019), section 1).

    Args:
        net: an :class:`~rnnlib.rnn.ElmanRNN`, a :class:`WeightNorms` or a tuple ``(W, A, B)``.
        length: ``L`` (>= 1), or a 1-d sequence of lengths.

    Returns:
        a float, or a float64 array of the same length as ``length``.
    """
    norms = _resolve(net)
    L, scalar = _lengths(length)
    value = (2 * np.log10(L) + math.log10(norms.spectral_A) + math.log10(norms.spectral_B)
             + L * max(0.0, math.log10(norms.spectral_W)))
    return _out(value, scalar)


def _stable_ratio(two_one: float, spectral: float) -> float:
    """``(||M^T||_{2,1} / ||M||_2)^(2/3)``, one layer's term of Bartlett et al.'s sum."""
    return (two_one / spectral) ** (2.0 / 3.0)


def log10_spectral_complexity(net, length):
    r"""``log10`` of Bartlett, Foster & Telgarsky's spectral complexity of the unrolled RNN.

    Bartlett et al. bound the generalization gap of a network with layers ``M_1..M_D`` and
    1-Lipschitz activations by :math:`\tilde O(\|X\|_F R / (\gamma n) + \sqrt{\log(1/\delta)/n})`,
    where, with reference matrices taken as zero,

    .. math::

        R = \Big(\prod_i \|M_i\|_2\Big)\Big(\sum_i \big(\|M_i^\top\|_{2,1} / \|M_i\|_2\big)^{2/3}\Big)^{3/2}.

    Unrolled over ``L`` steps, the path from the first input to the output at step ``L``
    passes through ``A``, then ``W`` ``L - 1`` times, then ``B``. So here the layers are
    ``(A, W, ..., W, B)``:

    .. math::

        R_L = \|A\|_2 \|W\|_2^{L-1} \|B\|_2 \Big(r_A + (L-1) r_W + r_B\Big)^{3/2},
        \qquad r_M = \big(\|M^\top\|_{2,1}/\|M\|_2\big)^{2/3}.

    The unrolled network also takes an input at every layer. The chain above is the
    longest path through it, and the one that carries the ``||W||^{L-1}`` factor. Applying
    Bartlett et al. this way is an inference of ours, not a published RNN bound.

    Reference: P. L. Bartlett, D. J. Foster and M. Telgarsky, "Spectrally-normalized margin
    bounds for neural networks", NeurIPS 2017.

    Args:
        net: an :class:`~rnnlib.rnn.ElmanRNN`, a :class:`WeightNorms` or a tuple ``(W, A, B)``.
        length: ``L`` (>= 1), or a 1-d sequence of lengths.

    Returns:
        ``log10 R_L``: a float, or a float64 array like ``length``.
    """
    n = _resolve(net)
    L, scalar = _lengths(length)
    r_A, r_W, r_B = (_stable_ratio(n.two_one_A, n.spectral_A), _stable_ratio(n.two_one_W, n.spectral_W),
                     _stable_ratio(n.two_one_B, n.spectral_B))
    value = (math.log10(n.spectral_A) + (L - 1) * math.log10(n.spectral_W) + math.log10(n.spectral_B)
             + 1.5 * np.log10(r_A + (L - 1) * r_W + r_B))
    return _out(value, scalar)


def _log10_sum(log_terms: np.ndarray) -> float:
    top = log_terms.max()
    return float(top + np.log10(np.sum(np.power(10.0, log_terms - top))))


def _log10_tu_lambda_series(beta: float, L: int) -> float:
    """``log10 sum_{t=1}^{L} t beta^(t-1)`` term by term, in chunks, on a log scale."""
    if beta == 0.0:
        return 0.0
    log_beta = math.log10(beta)
    parts = []
    for start in range(1, L + 1, _SERIES_CHUNK):
        t = np.arange(start, min(L, start + _SERIES_CHUNK - 1) + 1, dtype=np.float64)
        parts.append(_log10_sum(np.log10(t) + (t - 1) * log_beta))
    return _log10_sum(np.asarray(parts))


def _log10_tu_lambda_one(beta: float, L: int) -> float:
    if beta == 1.0:
        return math.log10((L + L * L) / 2.0)
    if beta == 0.0:
        return 0.0  # only the t = 1 term survives: 1 * beta^0 = 1
    delta = beta - 1.0
    if L * abs(delta) < _TU_SERIES_BELOW:
        return _log10_tu_lambda_series(beta, L)
    if delta > 0:
        # Lambda = [beta^L (L delta - 1) + 1] / delta^2, factored as beta^L [L delta - 1 + beta^-L] / delta^2
        inner = L * delta + math.expm1(-L * math.log1p(delta))
        return L * math.log10(beta) + math.log10(inner) - 2 * math.log10(delta)
    # 0 < beta < 1: Lambda = [1 - beta^L (1 + L (1 - beta))] / (1 - beta)^2
    d = -delta
    numerator = -math.expm1(L * math.log1p(-d) + math.log1p(L * d))
    return math.log10(numerator) - 2 * math.log10(d)


def log10_tu_lambda(beta, length):
    r"""``log10`` of Tu, He & Tao's length factor :math:`\Lambda(\beta_W, L)`.

    .. math::

        \Lambda = \frac{1}{1-\beta_W}\Big(\frac{1-\beta_W^L}{1-\beta_W} - L\beta_W^L\Big)
        \quad (\beta_W \ne 1), \qquad \Lambda = \frac{L + L^2}{2} \quad (\beta_W = 1).

    Both closed forms are the finite sum :math:`\Lambda = \sum_{t=1}^{L} t\,\beta_W^{t-1}`,
    the derivative of the geometric sum :math:`\sum_{t=1}^{L}\beta^t`. ``beta_W`` bounds
    ``||W^T||_1``, the largest absolute row sum of ``W``. At the paper's initialization this is
    about ``2 sqrt(m / pi)``, so ``Lambda`` grows like ``(1.13 sqrt(m))^L``.

    The closed form is evaluated on a log scale: ``beta^L`` is never formed, and ``log1p`` and
    ``expm1`` keep digits near ``beta = 1``. When ``L |beta - 1| < 1e-3`` the closed form
    would still cancel, so the finite sum is added up term by term on a log scale instead.

    Reference: Z. Tu, F. He and D. Tao, "Understanding generalization in recurrent neural
    networks", ICLR 2020, where the bound reads
    ``R <= R_hat + (4k/alpha)(... + (1/n) beta_V beta_U ||X^T||_1 Lambda) + ...``
    (as recalled in Allen-Zhu & Li (2019), section 1).

    Args:
        beta: ``beta_W >= 0``.
        length: ``L`` (>= 1), or a 1-d sequence of lengths.

    Returns:
        a float, or a float64 array like ``length``.
    """
    beta = check_float("beta", beta, nonnegative=True)
    L, scalar = _lengths(length)
    return _out(np.array([_log10_tu_lambda_one(beta, int(length)) for length in L]), scalar)


def log10_tu_factor(net, length):
    r"""``log10`` of the weight-dependent factor :math:`\beta_V \beta_U \Lambda(\beta_W, L)` of Tu et al.

    Here :math:`\beta_U = \|A^\top\|_1`, :math:`\beta_V = \|B^\top\|_1` and
    :math:`\beta_W = \|W^\top\|_1` (largest absolute row sums), so this is
    ``log10(||B^T||_1 ||A^T||_1 Lambda(||W^T||_1, L))``; see :func:`log10_tu_lambda`.

    Reference: Z. Tu, F. He and D. Tao, ICLR 2020 (as recalled in Allen-Zhu & Li (2019), section 1).

    Args:
        net: an :class:`~rnnlib.rnn.ElmanRNN`, a :class:`WeightNorms` or a tuple ``(W, A, B)``.
        length: ``L`` (>= 1), or a 1-d sequence of lengths.
    """
    n = _resolve(net)
    value = log10_tu_lambda(n.one_W, length)
    return value + math.log10(n.one_A) + math.log10(n.one_B)


def evaluate_bounds(net, lengths) -> dict:
    """Evaluate every bound of this module on one network for a list of lengths.

    Args:
        net: an :class:`~rnnlib.rnn.ElmanRNN`, a :class:`WeightNorms` or a tuple ``(W, A, B)``.
        lengths: a 1-d sequence of lengths ``L >= 1`` (an integer is accepted too).

    Returns:
        a dict with float64 arrays of shape ``(len(lengths),)`` under ``"length"``, ``"zhang"``
        (:func:`log10_zhang_factor`), ``"bartlett"`` (:func:`log10_spectral_complexity`),
        ``"tu_lambda"`` (:func:`log10_tu_lambda` at ``beta_W = ||W^T||_1``) and ``"tu_factor"``
        (:func:`log10_tu_factor`), plus ``"norms"``, the :class:`WeightNorms` as a dict.
        :data:`BOUNDS` gives each key's label, formula and citation.
    """
    norms = _resolve(net)
    L, _ = _lengths(lengths)
    return {
        "length": L.astype(np.float64),
        "zhang": np.atleast_1d(log10_zhang_factor(norms, L)),
        "bartlett": np.atleast_1d(log10_spectral_complexity(norms, L)),
        "tu_lambda": np.atleast_1d(log10_tu_lambda(norms.one_W, L)),
        "tu_factor": np.atleast_1d(log10_tu_factor(norms, L)),
        "norms": norms.to_dict(),
    }
