"""rnnlib: the library behind the executable account of Allen-Zhu & Li (NeurIPS 2019),
"Can SGD Learn Recurrent Neural Networks with Provable Generalization?".

Modules follow the order in which the book introduces the concepts: ``bounds`` (the
prior bounds of Chapter 1), ``tokens``, ``smooth``, ``concept``, ``rnn``, ``training``,
``theory``, ``experiment``.
"""
from . import bounds
from .bounds import evaluate_bounds, weight_norms
from .concept import AdditiveConcept
from .experiment import ExperimentConfig, ExperimentResult, make_dataset, run_experiment
from .profile import is_fast, pick
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
]
