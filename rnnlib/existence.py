"""The existence of a good W* (chapter 6; Allen-Zhu & Li (2019), section 5 and Lemma 5.2, recalled), built
explicitly for one input position.

Target: a single-position function at the last output, ``F*(x*) = phi(<w*, x*_{i0}>)``.

Construction (following the sketch of Panigrahi & Goyal 2021). At step ``i0`` the
pre-activation of neuron ``r`` is ``W_r h_{i0-1} + eps_x A_r[:t] . x*_{i0}``; multiplied by
``s / eps_x`` with ``s = sqrt(m / 2)`` it becomes

    alpha_r u + beta_r sqrt(1 - u^2) + b0_r + n_r(x),      u = <w*, x*_{i0}>,
    alpha_r = s A_r[:t] . w*  ~ N(0, 1),     b0_r = (s / eps_x) W_r hbar  ~ N(0, (||hbar|| / eps_x)^2),
    n_r(x)  = (s / eps_x) W_r (h_{i0-1}(x) - hbar)                     (the noise of Lemma 5.2(b)),

where ``hbar`` is ``h_{i0-1}`` on the zero-input trajectory (start token, then zero tokens). This is
the one-dimensional lemma of :mod:`rnnlib.lemma` with threshold scale ``sigma_b = ||hbar|| / eps_x``:
fit ``H`` there, and set

    W* = v hbar^T / ||hbar||^2,     v_r = Backbar_r H(alpha_r, b0_r) / (lambda ||Backbar||^2),

with ``Backbar = Back_{i0 -> L}`` on the zero-input trajectory. The pseudo-network's step-``i0`` term
is then ``sum_r (Backbar_r^2 / ||Backbar||^2) H_r 1_r``, an average of ``H 1{...}`` over ``m``
neurons, which approximates ``phi(u)``. The terms of the other steps ``i != i0`` carry
``Back_{i -> L} . Back_{i0 -> L}``-type inner products, small by backward coherence; they and the
Monte-Carlo error shrink like ``1 / sqrt(m)``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._checks import as_array, check_choice, check_float, check_int
from .lemma import IndicatorFit, fit_indicator
from .ntk import gradient_factors
from .rnn import ElmanRNN
from .smooth import SmoothFunction, smooth_function
from .tokens import embed

__all__ = ["SinglePositionTarget", "WStar", "ExistenceSetup", "zero_input_trajectory", "sgd_on_target"]


@dataclass
class SinglePositionTarget:
    """``F*(x*) = phi(<w*, x*_{i0}>)``, one input position ``i0`` feeding the last output.

    Args:
        length: ``L`` (positions counting the start token).
        token_dim: dimension of a raw token.
        position: ``i0``, 1-based, in ``2..L``.
        phi: smooth function (name or :class:`~rnnlib.smooth.SmoothFunction`).
        seed: seed of the unit direction ``w*``.
    """

    length: int
    token_dim: int
    position: int
    phi: SmoothFunction | str = "sin(3z)"
    seed: int = 0

    def __post_init__(self):
        self.length = check_int("length", self.length, minimum=2)
        self.token_dim = check_int("token_dim", self.token_dim, minimum=2)
        self.position = check_int("position", self.position, minimum=2)
        if self.position > self.length:
            raise ValueError(f"position must be in 2..length={self.length}, got {self.position}")
        self.phi = smooth_function(self.phi)
        w = np.random.default_rng(check_int("seed", self.seed, minimum=0)).standard_normal(self.token_dim)
        self.w = w / np.linalg.norm(w)

    def projection(self, x_star) -> np.ndarray:
        """``u = <w*, x*_{i0}>`` for raw tokens ``(n, L - 1, token_dim)``; shape ``(n,)``."""
        x_star = as_array("x_star", x_star, ndim=3, last_dim=self.token_dim)
        if x_star.shape[1] != self.length - 1:
            raise ValueError(f"x_star must have {self.length - 1} tokens, got shape {x_star.shape}")
        return x_star[:, self.position - 2] @ self.w

    def __call__(self, x_star) -> np.ndarray:
        """Target values ``(n,)``."""
        return self.phi(self.projection(x_star))


@torch.no_grad()
def zero_input_trajectory(model: ElmanRNN, length: int) -> torch.Tensor:
    """Hidden states ``(L, m)`` for the start token followed by ``L - 1`` zero tokens."""
    length = check_int("length", length, minimum=1)
    x = torch.zeros(1, length, model.input_dim)
    x[0, 0, -1] = 1.0
    return model.hidden_states(x)[0]


@dataclass
class WStar:
    """The constructed displacement, kept as its two rank-one parts.

    ``W* = v q^T + kappa b q_c^T``: the first part carries the target through step ``i0``
    (``q = hbar / ||hbar||^2``); the second, along the output direction ``b = B^T`` at the last step
    (``q_c = hbar_{L-1} / ||hbar_{L-1}||^2``), cancels the constant offset that the finite average
    leaves, calibrated on the design inputs (``kappa = 0`` without the correction).

    Attributes:
        v, q, b, q_c: ``(m,)`` factors; kappa: the offset coefficient.
        fit: the fitted :class:`~rnnlib.lemma.IndicatorFit` (threshold scale ``sigma_b``).
        alpha, b0, H: per-neuron ``alpha_r``, ``b0_r`` and ``H(alpha_r, b0_r)``, ``(m,)``.
    """

    v: np.ndarray
    q: np.ndarray
    b: np.ndarray
    q_c: np.ndarray
    kappa: float
    fit: IndicatorFit
    alpha: np.ndarray
    b0: np.ndarray
    H: np.ndarray

    @property
    def matrix(self) -> torch.Tensor:
        """``W*`` as a dense ``(m, m)`` float32 matrix."""
        dense = np.outer(self.v, self.q) + self.kappa * np.outer(self.b, self.q_c)
        return torch.as_tensor(dense, dtype=torch.float32)

    @property
    def frobenius(self) -> float:
        return float(torch.linalg.matrix_norm(self.matrix))


class ExistenceSetup:
    """Everything about one RNN and one input position that does not depend on the target.

    Computes once, at the random initialization: the reference state ``hbar = h_{i0-1}`` and the
    backward map ``Backbar = Back_{i0 -> L}`` (averaged over the design inputs, or on the zero-input
    trajectory), the threshold scale ``sigma_b = ||hbar|| / eps_x``, the rms threshold noise
    ``tau = rms ||h_{i0-1}(x) - hbar|| / eps_x`` of Lemma 5.2(b), and the pseudo-network factors
    ``u_i, h_{i-1}`` of the design and test inputs. :meth:`construct` and :meth:`evaluate` then cost
    ``O(n L m)`` per target, because ``W*`` has rank two.

    Args:
        model: the RNN at initialization (scalar output).
        position: ``i0`` (1-based, ``2..L``).
        x_star_design: raw tokens ``(n_d, L - 1, token_dim)``: reference state, noise level, offset.
        x_star_test: raw tokens ``(n_t, L - 1, token_dim)`` on which targets are compared.
        eps_x, output_scale: input scale and ``lambda``.
        reference: ``"mean"`` (over the design inputs; makes the noise uncorrelated with ``b0``) or
            ``"zero"`` (the zero-input trajectory).
    """

    def __init__(self, model: ElmanRNN, position: int, x_star_design, x_star_test, *, eps_x: float,
                 output_scale: float, reference: str = "mean"):
        if not isinstance(model, ElmanRNN):
            raise TypeError(f"model must be an ElmanRNN, got {type(model).__name__}")
        if model.output_dim != 1:
            raise ValueError(f"model.output_dim must be 1, got {model.output_dim}")
        self.model = model
        self.eps_x = check_float("eps_x", eps_x, positive=True)
        self.output_scale = check_float("output_scale", output_scale, positive=True)
        self.reference = check_choice("reference", reference, ("mean", "zero"))
        token_dim = model.input_dim - 1
        self.x_star_design = as_array("x_star_design", x_star_design, ndim=3, last_dim=token_dim)
        self.x_star_test = as_array("x_star_test", x_star_test, ndim=3, last_dim=token_dim)
        if self.x_star_design.shape[0] < 2 or self.x_star_design.shape[1:] != self.x_star_test.shape[1:]:
            raise ValueError("x_star_design must hold >= 2 sequences of the same length as x_star_test, got "
                             f"shapes {self.x_star_design.shape} and {self.x_star_test.shape}")
        self.length = L = self.x_star_test.shape[1] + 1
        self.position = i0 = check_int("position", position, minimum=2)
        if i0 > L:
            raise ValueError(f"position must be in 2..{L}, got {position}")
        m = model.width
        xd = torch.as_tensor(embed(self.x_star_design, self.eps_x))
        xt = torch.as_tensor(embed(self.x_star_test, self.eps_x))
        self.U_design, self.P_design = gradient_factors(model, xd, output_scale=self.output_scale)
        self.U_test, self.P_test = gradient_factors(model, xt, output_scale=self.output_scale)
        h_design = self.P_design[:, i0 - 2]  # h_{i0-1}(x): row i-2 holds h_{i-1}
        if self.reference == "mean":
            h_ref = h_design.mean(dim=0)
            h_last = self.P_design[:, L - 2].mean(dim=0)
        else:
            zero = zero_input_trajectory(model, L)
            h_ref, h_last = zero[i0 - 2], zero[L - 2]
        self.tau = float(torch.linalg.vector_norm(h_design - h_ref, dim=1).pow(2).mean().sqrt()) / self.eps_x
        self.sigma_b = float(torch.linalg.vector_norm(h_ref)) / self.eps_x
        if i0 == L:
            back = model.B[0]
        else:  # Back_{i0 -> L} = u_{i0+1} W / lambda; row i0 - 1 holds u_{i0+1}
            if self.reference == "mean":
                back = (self.U_design[:, i0 - 1] @ model.W).mean(dim=0) / self.output_scale
            else:
                x0 = torch.zeros(1, L, model.input_dim)
                x0[0, 0, -1] = 1.0
                U0, _ = gradient_factors(model, x0, output_scale=1.0)
                back = U0[0, i0 - 1] @ model.W
        self.back = back.double().numpy()
        self.h_ref = h_ref.double().numpy()
        self.h_last = h_last.double().numpy()
        self._b0 = (math.sqrt(m / 2.0) / self.eps_x * (model.W @ h_ref)).double().numpy()
        self._unit_offset_design = self._rank_one(self.U_design, self.P_design, model.B[0].double().numpy(),
                                                  self.h_last / (self.h_last @ self.h_last)).sum(axis=1)

    @staticmethod
    def _rank_one(U, P, v, q) -> np.ndarray:
        """Per-step pseudo-network terms ``(u_i . v)(h_{i-1} . q)`` of ``W' = v q^T``; ``(n, L - 1)``."""
        vt = torch.as_tensor(v, dtype=torch.float32)
        qt = torch.as_tensor(q, dtype=torch.float32)
        return ((U @ vt) * (P @ qt)).double().numpy()

    def construct(self, target: SinglePositionTarget, *, offset: bool = True, noise_aware: bool = False,
                  u_range: tuple | None = None, **fit_kwargs) -> WStar:
        """Build ``W*`` for ``target`` (module docstring).

        Args:
            target: a :class:`SinglePositionTarget` with this setup's length, position and token size.
            offset: add the rank-one correction that cancels the mean offset on the design inputs.
            noise_aware: fit ``H`` for Gaussian threshold noise of the measured size ``tau``.
            u_range: interval where ``H`` is fitted (default: the range of ``u`` on the design inputs).
            **fit_kwargs: passed to :func:`rnnlib.lemma.fit_indicator` (``degree``, ``reg``).
        """
        if not isinstance(target, SinglePositionTarget):
            raise TypeError(f"target must be a SinglePositionTarget, got {type(target).__name__}")
        if (target.length, target.position, target.token_dim + 1) != \
                (self.length, self.position, self.model.input_dim):
            raise ValueError(f"target must have length {self.length}, position {self.position} and token_dim "
                             f"{self.model.input_dim - 1}, got {target.length}, {target.position}, "
                             f"{target.token_dim}")
        if u_range is None:
            u = target.projection(self.x_star_design)
            u_range = (max(-1.0, float(u.min())), min(1.0, float(u.max())))
        fit = fit_indicator(target.phi, bias_scale=self.sigma_b, noise_std=self.tau if noise_aware else 0.0,
                            u_range=u_range, **fit_kwargs)
        m = self.model.width
        w = torch.as_tensor(target.w, dtype=torch.float32)
        alpha = (math.sqrt(m / 2.0) * self.model.A[:, : target.token_dim] @ w).double().numpy()
        H = fit.H(alpha, self._b0)
        v = self.back * H / (self.output_scale * float(self.back @ self.back))
        q = self.h_ref / float(self.h_ref @ self.h_ref)
        b = self.model.B[0].double().numpy()
        q_c = self.h_last / float(self.h_last @ self.h_last)
        kappa = 0.0
        if offset:
            gap = self._rank_one(self.U_design, self.P_design, v, q).sum(axis=1) - target(self.x_star_design)
            kappa = -float(gap.mean()) / float(self._unit_offset_design.mean())
        return WStar(v=v, q=q, b=b, q_c=q_c, kappa=kappa, fit=fit, alpha=alpha, b0=self._b0, H=H)

    def evaluate(self, w_star: WStar, target: SinglePositionTarget, *, true_rnn: bool = False) -> dict:
        """Compare the pseudo-network with ``W*`` (and optionally the RNN at ``W + W*``) to the target.

        Returns:
            dict with ``target`` ``(n,)``, ``pseudo`` ``(n,)``, ``per_step`` ``(n, L - 1)`` (the term of
            each step ``i = 2..L``, the offset part included at its steps), scalars ``pseudo_error``
            (standardized MSE against the target), ``diagonal_error`` (step ``i0`` alone, no offset),
            ``cross_rms`` (rms of all other terms, relative to the target's standard deviation), and
            with ``true_rnn`` also ``rnn_change`` ``(n,)`` and ``rnn_error``.
        """
        if not isinstance(w_star, WStar):
            raise TypeError(f"w_star must be a WStar, got {type(w_star).__name__}")
        y = target(self.x_star_test)
        main = self._rank_one(self.U_test, self.P_test, w_star.v, w_star.q)
        corr = w_star.kappa * self._rank_one(self.U_test, self.P_test, w_star.b, w_star.q_c)
        per_step = main + corr
        pseudo = per_step.sum(axis=1)
        diag = main[:, self.position - 2]
        var = float(y.var())
        out = {"target": y, "pseudo": pseudo, "per_step": per_step,
               "pseudo_error": float(((pseudo - y) ** 2).mean() / var),
               "diagonal_error": float(((diag - y) ** 2).mean() / var),
               "cross_rms": float(np.sqrt(((pseudo - diag) ** 2).mean() / var))}
        if true_rnn:
            xt = torch.as_tensor(embed(self.x_star_test, self.eps_x))
            before = self.model.forward(xt)[:, -1, 0]
            after = self.model.forward(xt, self.model.W + w_star.matrix)[:, -1, 0]
            change = (self.output_scale * (after - before)).double().numpy()
            out["rnn_change"] = change
            out["rnn_error"] = float(((change - y) ** 2).mean() / var)
        return out


def sgd_on_target(target: SinglePositionTarget, cfg) -> float:
    """Standardized test error of SGD on W (as :func:`~rnnlib.experiment.run_experiment` trains it) on
    ``target``: the point of comparison for the constructed ``W*``.

    The tokens, initialization, step size, batch order and iterate averaging come from ``cfg`` (an
    :class:`~rnnlib.experiment.ExperimentConfig` with the target's length and token size and
    ``output_dim = 1``); the labels are ``target`` at the last position.
    """
    from .experiment import ExperimentConfig, sgd_options, standardize_labels, derive_seed, initial_model
    from .tokens import sample_tokens
    from .training import train_sgd

    if not isinstance(target, SinglePositionTarget):
        raise TypeError(f"target must be a SinglePositionTarget, got {type(target).__name__}")
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    if (cfg.length, cfg.token_dim, cfg.output_dim) != (target.length, target.token_dim, 1):
        raise ValueError(f"cfg must have length {target.length}, token_dim {target.token_dim} and output_dim 1, "
                         f"got {cfg.length}, {cfg.token_dim}, {cfg.output_dim}")
    data_seed = cfg.seed if cfg.data_seed is None else cfg.data_seed
    xs_tr = sample_tokens(cfg.n_train, cfg.length, cfg.token_dim, derive_seed(data_seed, "train"))
    xs_te = sample_tokens(cfg.n_test, cfg.length, cfg.token_dim, derive_seed(data_seed, "test"))
    labelled = np.zeros(cfg.length, dtype=bool)
    labelled[-1] = True
    y_tr = np.zeros((cfg.n_train, cfg.length, 1))
    y_te = np.zeros((cfg.n_test, cfg.length, 1))
    y_tr[:, -1, 0], y_te[:, -1, 0] = target(xs_tr), target(xs_te)
    y_tr, mean, std = standardize_labels(y_tr, labelled)
    y_te, _, _ = standardize_labels(y_te, labelled, mean, std)
    model = initial_model(cfg)
    train_sgd(model, embed(xs_tr, cfg.eps_x), y_tr, labelled, seed=derive_seed(cfg.seed, "sgd"),
              **sgd_options(cfg))
    pred = cfg.output_scale * model.forward(embed(xs_te, cfg.eps_x))[:, -1, 0].double().numpy()
    truth = y_te[:, -1, 0].astype(np.float64)
    return float(((pred - truth) ** 2).mean() / truth.var())
