"""The pseudo-network: the RNN linearized in W' around its initialization (chapter 4; Allen-Zhu & Li (2019),
section 5, recalled).

With the hidden states ``h_l``, patterns ``D_l`` and backward maps ``Back_{i->j}`` of the
random initialization ``W``, the pseudo-network is

    F_j(x; W') = sum_{i=1}^{j} Back_{i->j} D_i W' h_{i-1}        (h_0 = 0)

It is linear in ``W'`` and is the directional derivative of the RNN's outputs
``F_j(x; W) = B h_j`` in the direction ``W'``, so ``F(W + W') - F(W) ~ F(x; W')`` while
``W'`` is small: the lazy regime, in which SGD on the RNN behaves like SGD on the
(linear) pseudo-network.

Two ways to evaluate it:

* ``method="recursion"`` (default): the forward-mode recursion
  ``dh_l = D_l (W' h_{l-1} + W dh_{l-1})``, ``F_l = B dh_l``: one extra product per step;
* ``method="back_maps"``: the paper's sum over backward maps (:func:`rnnlib.backward_maps`),
  slower, kept to check the recursion against the formula.

:class:`PseudoNetworkTracker` is a ``callback`` for :func:`rnnlib.train_sgd` /
:func:`rnnlib.run_experiment` that measures, after every few epochs, how far ``W`` moved and
how well the pseudo-network at initialization predicts the trained RNN.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ._checks import as_tensor, check_choice, check_int
from ._linalg import spectral_norm
from .backward import backward_maps
from .recurrence import relu_recurrence
from .rnn import ElmanRNN

__all__ = ["pseudo_network", "rnn_change", "linearization_error", "PseudoNetworkTracker"]


def _setup(model, x, W_prime, W, dtype):
    if not isinstance(model, ElmanRNN):
        raise TypeError(f"model must be an ElmanRNN, got {type(model).__name__}")
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
    x = as_tensor("x", x, ndim=3, last_dim=model.input_dim).to(dtype)
    W_prime = as_tensor("W_prime", W_prime, ndim=2).to(dtype)
    if W_prime.shape != model.W.shape:
        raise ValueError(f"W_prime must have shape {tuple(model.W.shape)} like W, got {tuple(W_prime.shape)}")
    W = (model.W if W is None else as_tensor("W", W, ndim=2)).to(dtype)
    if W.shape != model.W.shape:
        raise ValueError(f"W must have shape {tuple(model.W.shape)}, got {tuple(W.shape)}")
    return x, W_prime, W, model.A.to(dtype), model.B.to(dtype)


def _recursion(D, prev, Wp, W, B):
    """Forward mode: dh_l = D_l (W' h_{l-1} + W dh_{l-1}); returns B dh_l, ``(n, L, d)``."""
    n, L, m = D.shape
    dh = torch.zeros(n, m, dtype=D.dtype)
    out = torch.empty(n, L, m, dtype=D.dtype)
    Wpt, Wt = Wp.T.contiguous(), W.T.contiguous()
    for t in range(L):
        dh = D[:, t] * (prev[:, t] @ Wpt + dh @ Wt)
        out[:, t] = dh
    return out @ B.T


@torch.no_grad()
def pseudo_network(model: ElmanRNN, x, W_prime, *, W: torch.Tensor | None = None,
                   method: str = "recursion", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """``F_j(x; W') = sum_{i<=j} Back_{i->j} D_i W' h_{i-1}`` at every position ``j``.

    Args:
        model: the RNN at initialization (its ``W``, ``A``, ``B`` fix ``h``, ``D`` and ``Back``).
        x: inputs ``(n, L, d_x)``.
        W_prime: the displacement ``W'``, ``(m, m)``.
        W: the matrix to linearize around (default ``model.W``).
        method: ``"recursion"`` (forward mode, fast) or ``"back_maps"`` (the explicit sum).
        dtype: ``torch.float32`` or ``torch.float64`` (use float64 for tiny ``W'``).

    Returns:
        ``(n, L, d)`` tensor, unscaled like :meth:`ElmanRNN.forward` (multiply by ``lambda``
        for the network's output scale).

    Example:
        >>> import rnnlib, torch
        >>> model = rnnlib.ElmanRNN(9, 64)
        >>> x = rnnlib.embed(rnnlib.sample_tokens(4, 5, 8, seed=0))
        >>> rnnlib.pseudo_network(model, x, 0.01 * torch.randn(64, 64)).shape
        torch.Size([4, 5, 1])
    """
    check_choice("method", method, ("recursion", "back_maps"))
    x, Wp, W, A, B = _setup(model, x, W_prime, W, dtype)
    hs = relu_recurrence(W, A, x)
    D = (hs > 0).to(dtype)
    prev = torch.cat([torch.zeros_like(hs[:, :1]), hs[:, :-1]], dim=1)  # h_{l-1}
    if method == "recursion":
        return _recursion(D, prev, Wp, W, B)
    # the paper's formula: u_i = D_i W' h_{i-1}, F_j = sum_{i<=j} Back_{i->j} u_i
    bm = backward_maps(model, x.float(), W=W.float())
    u = D * (prev @ Wp.T)  # (n, L, m)
    maps = bm.maps.to(dtype)  # (n, L_i, L_j, d, m), zero for i > j
    return torch.einsum("nijdm,nim->njd", maps, u)


@torch.no_grad()
def rnn_change(model: ElmanRNN, x, W_prime, *, W: torch.Tensor | None = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """The true change of the outputs ``F(W + W') - F(W)`` (unscaled), ``(n, L, d)``."""
    x, Wp, W, A, B = _setup(model, x, W_prime, W, dtype)
    return (relu_recurrence(W + Wp, A, x) - relu_recurrence(W, A, x)) @ B.T


@torch.no_grad()
def linearization_error(model: ElmanRNN, x, W_prime, *, W: torch.Tensor | None = None, positions=None,
                        dtype: torch.dtype = torch.float32) -> float:
    """Relative error of the pseudo-network against the true change of the RNN.

    ``||F_pseudo(W') - (F(W + W') - F(W))|| / ||F(W + W') - F(W)||`` over all samples and
    the chosen positions (Frobenius norms).

    Args:
        positions: boolean mask ``(L,)`` of the positions to compare (default all).
    """
    true = rnn_change(model, x, W_prime, W=W, dtype=dtype)
    pseudo = pseudo_network(model, x, W_prime, W=W, dtype=dtype)
    if positions is not None:
        mask = np.asarray(positions, dtype=bool)
        if mask.shape != (true.shape[1],):
            raise ValueError(f"positions must be a boolean mask of shape ({true.shape[1]},), got {mask.shape}")
        true, pseudo = true[:, torch.as_tensor(mask)], pseudo[:, torch.as_tensor(mask)]
    denom = float(true.double().norm())
    if denom == 0.0:
        raise ValueError("the RNN's outputs did not change (W_prime too small for the dtype, or zero); "
                         "the relative error is undefined; use dtype=torch.float64 or a larger W_prime")
    return float((pseudo - true).double().norm()) / denom


@dataclass
class PseudoNetworkTracker:
    """A training callback that follows the lazy regime along the SGD trajectory.

    Create it with the model *at initialization* and probe inputs, then pass it as
    ``callback`` to :func:`rnnlib.train_sgd` or :func:`rnnlib.run_experiment`.  Every
    ``every`` epochs (and at epoch 0, when created) it records, for ``W' = W_t - W_0``:
    ``||W'||_F``, ``||W'||_2``, the fraction of flipped activation patterns on the probe
    inputs, and the relative error of the pseudo-network at ``W_0`` against the true change
    ``F(W_t) - F(W_0)`` at the labelled positions.  At the last call it also keeps the
    outputs of the trained RNN and of its linearization ``F(W_0) + F_pseudo(W')``.

    Args:
        model: the RNN at initialization (copied; later changes do not affect the tracker).
        x_probe: probe inputs ``(n, L, d_x)``.
        labelled: boolean mask ``(L,)`` of the positions compared (default: the last).
        every: record every this many epochs.
        epochs: the length of the run, if known: that epoch is recorded too.

    Attributes:
        epoch, displacement_fro, displacement_spectral, pattern_flips, relative_error: lists,
            one entry per record (the error is NaN at epoch 0, where nothing changed).
        true_output, linearized_output: unscaled outputs at the labelled positions at the
            last record, ``(n, nl, d)`` numpy arrays.
    """

    model: ElmanRNN
    x_probe: object
    labelled: object = None
    every: int = 1
    epochs: int | None = None
    epoch: list = field(default_factory=list)
    displacement_fro: list = field(default_factory=list)
    displacement_spectral: list = field(default_factory=list)
    pattern_flips: list = field(default_factory=list)
    relative_error: list = field(default_factory=list)
    true_output: np.ndarray | None = None
    linearized_output: np.ndarray | None = None

    def __post_init__(self):
        if not isinstance(self.model, ElmanRNN):
            raise TypeError(f"model must be an ElmanRNN, got {type(self.model).__name__}")
        self.model = self.model.copy()
        self.every = check_int("every", self.every, minimum=1)
        if self.epochs is not None:
            self.epochs = check_int("epochs", self.epochs, minimum=0)
        self.x_probe = as_tensor("x_probe", self.x_probe, ndim=3, last_dim=self.model.input_dim)
        L = self.x_probe.shape[1]
        mask = np.arange(L) == L - 1 if self.labelled is None else np.asarray(self.labelled, dtype=bool)
        if mask.shape != (L,) or not mask.any():
            raise ValueError(f"labelled must be a boolean mask of shape ({L},) with a True entry, got {mask!r}")
        self.labelled = mask
        self._lab = torch.as_tensor(np.flatnonzero(mask))
        self._h0 = self.model.hidden_states(self.x_probe)
        self._d0 = self._h0 > 0
        self._prev0 = torch.cat([torch.zeros_like(self._h0[:, :1]), self._h0[:, :-1]], dim=1)
        self._f0 = (self._h0 @ self.model.B.T)[:, self._lab]
        self._record(0, self.model.W)

    @classmethod
    def for_config(cls, cfg, *, n_probe: int = 256, every: int | None = None) -> "PseudoNetworkTracker":
        """A tracker for :func:`rnnlib.run_experiment` ``(cfg, callback=tracker)``.

        It starts from the same initialization (:func:`rnnlib.experiment.initial_model`), probes
        the first ``n_probe`` test sequences of ``cfg`` at its labelled positions, and records
        every ``every`` epochs (default: about five times per run) and at the last epoch.
        """
        from .experiment import ExperimentConfig, initial_model, make_dataset

        if not isinstance(cfg, ExperimentConfig):
            raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
        n_probe = check_int("n_probe", n_probe, minimum=1)
        every = max(1, cfg.epochs // 5) if every is None else every
        data = make_dataset(cfg)
        return cls(initial_model(cfg), data.x_test[:n_probe], labelled=data.labelled, every=every,
                   epochs=cfg.epochs)

    def _record(self, epoch: int, W_t: torch.Tensor) -> None:
        W0 = self.model.W
        delta = W_t - W0
        self.epoch.append(int(epoch))
        self.displacement_fro.append(float(torch.linalg.matrix_norm(delta)))
        self.displacement_spectral.append(spectral_norm(delta) if float(delta.abs().max()) > 0 else 0.0)
        h_t = self.model.hidden_states(self.x_probe, W_t)
        self.pattern_flips.append(float(((h_t > 0) != self._d0).double().mean()))
        true = (h_t @ self.model.B.T)[:, self._lab] - self._f0
        # the states and patterns at W_0 are fixed: reuse them rather than re-running the network
        pseudo = _recursion(self._d0.float(), self._prev0, delta, W0, self.model.B)[:, self._lab]
        denom = float(true.double().norm())
        self.relative_error.append(float((pseudo - true).double().norm()) / denom if denom > 0 else float("nan"))
        self.true_output = (self._f0 + true).numpy()
        self.linearized_output = (self._f0 + pseudo).numpy()

    def __call__(self, epoch: int, model) -> None:
        if isinstance(model, (list, tuple)):
            raise TypeError("PseudoNetworkTracker follows one model; train an ensemble with one tracker each")
        if epoch % self.every == 0 or epoch == self.epochs:
            self._record(epoch, model.W)

    def to_dict(self) -> dict:
        """The recorded curves (JSON-ready lists)."""
        return {"epoch": list(self.epoch), "displacement_fro": list(self.displacement_fro),
                "displacement_spectral": list(self.displacement_spectral),
                "pattern_flips": list(self.pattern_flips), "relative_error": list(self.relative_error)}
