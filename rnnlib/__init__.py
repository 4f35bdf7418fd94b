"""rnnlib: the library behind the executable account of Allen-Zhu & Li (NeurIPS 2019),
"Can SGD Learn Recurrent Neural Networks with Provable Generalization?".

Modules follow the order in which the book introduces the concepts: ``bounds`` (the
prior bounds of Chapter 1), ``tokens``, ``smooth``, ``concept``, ``rnn``, ``forward``,
``patterns``, ``backward``, ``training``, ``theory``, ``experiment``, ``pseudo_network``.
"""
from . import bounds
from .backward import BackwardMaps, backward_maps, coherence_matrix, distinct_pairs, mean_offdiagonal
from .bounds import evaluate_bounds, weight_norms
from .concept import AdditiveConcept
from .experiment import ExperimentConfig, ExperimentResult, initial_model, make_dataset, run_experiment
from .forward import ForwardStability, forward_stability, hidden_norms
from .lazy import fit_power_law, lazy_summary, scaled_config
from .patterns import (flip_fraction, flips_versus_eps_x, pattern_flips, perturbed_token_flips,
                       predicted_flips, sheppard_flip_probability)
from .profile import is_fast, pick
from .pseudo_network import PseudoNetworkTracker, linearization_error, pseudo_network, rnn_change
from .rnn import ElmanRNN
from .smooth import (C_STAR, SMOOTH_FUNCTIONS, SmoothFunction, complexity_eps, complexity_sample,
                     log10_complexity_eps, log10_complexity_sample, smooth_function)
from .theory import (log10_theory_iterations, rho, theory_iterations, theory_output_scale,
                     theory_step_size)
from .tokens import embed, sample_tokens
from .training import TrainingDiverged, TrainingHistory, practical_step_size, train_sgd

__version__ = "0.1.0"

__all__ = [
    "AdditiveConcept", "C_STAR", "ElmanRNN", "ExperimentConfig", "ExperimentResult", "SMOOTH_FUNCTIONS",
    "SmoothFunction", "TrainingDiverged", "TrainingHistory", "complexity_eps", "complexity_sample",
    "bounds", "embed", "evaluate_bounds", "is_fast", "log10_complexity_eps", "log10_complexity_sample",
    "log10_theory_iterations",
    "make_dataset", "pick", "practical_step_size", "rho", "run_experiment", "sample_tokens",
    "smooth_function", "theory_iterations", "theory_output_scale", "theory_step_size", "train_sgd",
    "weight_norms",
    "__version__",
    # chapters 3-4: the RNN at initialization, SGD on W
    "BackwardMaps", "ForwardStability", "PseudoNetworkTracker", "backward_maps", "coherence_matrix",
    "distinct_pairs", "flip_fraction", "flips_versus_eps_x", "forward_stability", "hidden_norms",
    "initial_model", "linearization_error", "mean_offdiagonal", "pattern_flips", "perturbed_token_flips",
    "predicted_flips", "pseudo_network", "rnn_change", "sheppard_flip_probability", "fit_power_law",
    "lazy_summary", "scaled_config",
]
