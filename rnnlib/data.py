"""The data of one experiment: the concept, the train and test sequences, standardized labels
(chapters 2 and 5; Allen-Zhu & Li (2019), section 3, recalled).

:func:`make_dataset` draws what an :class:`~rnnlib.config.ExperimentConfig` names: the additive
concept (its own seed stream), the raw tokens ``x*`` and the network inputs with the start token
(:func:`rnnlib.embed`), and the labels (with label noise if asked).  :func:`standardize_labels` centres
and scales the labels with training-set statistics (the network has no bias), which leaves
standardized errors unchanged, and refuses data whose errors could not be standardized.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .concept import AdditiveConcept
from .config import ExperimentConfig, derive_seed
from .tokens import embed, sample_tokens

__all__ = ["Dataset", "DegenerateDataError", "make_dataset", "standardize_labels", "effective_seeds"]


class DegenerateDataError(ValueError):
    """The training labels cannot be standardized: one sequence, or zero variance at a labelled
    position (dividing by a clamped deviation would give errors near 1e10)."""


@dataclass
class Dataset:
    """Sampled data of one experiment.

    ``x_star_*`` are raw tokens ``(n, L-1, token_dim)``, ``x_*`` network inputs
    ``(n, L, token_dim+1)``, ``y_*`` labels ``(n, L, d)`` (noisy if ``noise_std > 0``),
    ``labelled`` the mask of labelled positions.
    """

    concept: AdditiveConcept
    x_star_train: np.ndarray
    x_train: np.ndarray
    y_train: np.ndarray
    x_star_test: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    labelled: np.ndarray


def make_dataset(cfg: ExperimentConfig) -> Dataset:
    """Draw the concept and the train and test sets of ``cfg``."""
    data_seed = cfg.seed if cfg.data_seed is None else cfg.data_seed
    concept_seed = cfg.seed if cfg.concept_seed is None else cfg.concept_seed
    concept = AdditiveConcept(cfg.length, cfg.token_dim, cfg.hidden, cfg.output_dim, phi=cfg.phi,
                              labels=cfg.labels, include_current=cfg.include_current,
                              noise_std=cfg.noise_std, seed=derive_seed(concept_seed, "concept"),
                              direction=cfg.direction, center=cfg.center)
    xs_tr = sample_tokens(cfg.n_train, cfg.length, cfg.token_dim, derive_seed(data_seed, "train"))
    xs_te = sample_tokens(cfg.n_test, cfg.length, cfg.token_dim, derive_seed(data_seed, "test"))
    return Dataset(concept=concept,
                   x_star_train=xs_tr, x_train=embed(xs_tr, cfg.eps_x),
                   y_train=concept.labels_for(xs_tr, derive_seed(data_seed, "train-noise")),
                   x_star_test=xs_te, x_test=embed(xs_te, cfg.eps_x),
                   y_test=concept.labels_for(xs_te, derive_seed(data_seed, "test-noise")),
                   labelled=concept.labelled)


def effective_seeds(cfg: ExperimentConfig) -> tuple[int, int]:
    """The seeds of the data and of the concept (both default to ``cfg.seed``)."""
    return (cfg.seed if cfg.data_seed is None else cfg.data_seed,
            cfg.seed if cfg.concept_seed is None else cfg.concept_seed)


def standardize_labels(y, labelled, mean=None, std=None):
    """Centre and scale the labels at the labelled positions: ``(y - mean) / std``, float32.

    ``y`` is ``(n, L, d)``; ``mean`` and ``std`` (per labelled position and output) come from ``y``
    itself (the training set) unless given (the test set uses the training set's).  Returns the
    standardized labels (zero at unlabelled positions), ``mean`` and ``std``.  Refuses fewer than
    two sequences or (almost) constant labels with :class:`DegenerateDataError`.
    """
    lab = np.flatnonzero(labelled)
    y_lab = y[:, lab]
    if mean is None:
        if y.shape[0] < 2:
            raise DegenerateDataError(f"the training labels need at least 2 sequences to be "
                                      f"standardized, got {y.shape[0]}")
        mean = y_lab.mean(axis=0)
        std = y_lab.std(axis=0)
        scale = np.maximum(np.abs(mean), 1.0)
        if np.any(~np.isfinite(std)) or np.any(std <= 1e-7 * scale):
            raise DegenerateDataError(f"the training labels have (almost) zero variance at a labelled "
                                      f"position (standard deviation {float(np.min(std)):.3g}); "
                                      f"standardized errors would be meaningless. Use a target whose "
                                      f"labels vary (another phi, more samples)")
    out = np.zeros_like(y, dtype=np.float32)
    out[:, lab] = (y_lab - mean) / std
    return out, mean, std
