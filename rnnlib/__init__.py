"""rnnlib: the library behind the executable account of Allen-Zhu & Li (NeurIPS 2019),
"Can SGD Learn Recurrent Neural Networks with Provable Generalization?".

Modules follow the order in which the book introduces the concepts: ``bounds`` (the
prior bounds of Chapter 1), ``tokens``, ``smooth``, ``concept``, ``rnn``, ``forward``,
``patterns``, ``backward``, ``training``, ``theory``, ``experiment``, ``pseudo_network``,
``lazy``, ``sweep`` (the cached, resumable engine that runs many experiments; also
``python -m rnnlib``), ``generalization`` (sample complexity, Chapter 5), then Chapter 6
(``lemma``, ``existence``, ``interference``), Chapter 7 (``ntk``, ``baselines``, ``outside``) and
``ledger`` (the claims ledger and theory calculator, Chapter 8).
"""
from . import bounds, ledger
from .backward import BackwardMaps, backward_maps, coherence_matrix, distinct_pairs, mean_offdiagonal
from .bounds import evaluate_bounds, weight_norms
from .concept import AdditiveConcept
from .experiment import (ExperimentConfig, ExperimentResult, initial_model, make_dataset, run_ensemble,
                         run_experiment)
from .forward import ForwardStability, forward_stability, hidden_norms
from .lazy import fit_power_law, lazy_summary, scaled_config
from .patterns import (flip_fraction, flips_versus_eps_x, pattern_flips, perturbed_token_flips,
                       predicted_flips, sheppard_flip_probability)
from .profile import is_fast, pick
from .pseudo_network import PseudoNetworkTracker, linearization_error, pseudo_network, rnn_change
from .rnn import ElmanRNN
from .sweep import CacheWarning, SweepError, config_grid, default_cache_dir, process_pool, sweep
from .smooth import (C_STAR, SMOOTH_FUNCTIONS, SmoothFunction, complexity_eps, complexity_sample,
                     log10_complexity_eps, log10_complexity_sample, smooth_function)
from .theory import (log10_theory_iterations, rho, theory_iterations, theory_output_scale,
                     theory_step_size)
from .tokens import embed, sample_tokens
from .training import TrainingDiverged, TrainingHistory, practical_step_size, train_sgd
# chapters 6-7
from .baselines import BASELINES, BaselineResult, run_baseline
from .existence import ExistenceSetup, SinglePositionTarget, WStar
from .interference import InterferenceResult, change_pair, interference
from .lemma import IndicatorFit, fit_indicator, noise_robustness, sup_error_vs_neurons
from .ntk import gradient_factors, measure_ntk_cost, ntk_gram
from .outside import (OUTSIDE_TARGETS, ExactlyOneConcept, NonAdditiveConcept, OutsideResult, ParityConcept,
                      make_target, run_outside, samples_needed)

__version__ = "0.1.0"

__all__ = [
    "AdditiveConcept", "C_STAR", "ElmanRNN", "ExperimentConfig", "ExperimentResult", "SMOOTH_FUNCTIONS",
    "SmoothFunction", "TrainingDiverged", "TrainingHistory", "complexity_eps", "complexity_sample",
    "bounds", "embed", "evaluate_bounds", "is_fast", "log10_complexity_eps", "log10_complexity_sample",
    "log10_theory_iterations",
    "make_dataset", "pick", "practical_step_size", "rho", "run_experiment", "sample_tokens",
    "run_ensemble", "smooth_function", "sweep", "config_grid", "default_cache_dir", "process_pool",
    "CacheWarning", "SweepError",
    "theory_iterations", "theory_output_scale", "theory_step_size", "train_sgd",
    "weight_norms",
    "__version__",
    # chapters 3-4: the RNN at initialization, SGD on W
    "BackwardMaps", "ForwardStability", "PseudoNetworkTracker", "backward_maps", "coherence_matrix",
    "distinct_pairs", "flip_fraction", "flips_versus_eps_x", "forward_stability", "hidden_norms",
    "initial_model", "linearization_error", "mean_offdiagonal", "pattern_flips", "perturbed_token_flips",
    "predicted_flips", "pseudo_network", "rnn_change", "sheppard_flip_probability", "fit_power_law",
    "lazy_summary", "scaled_config",
    # chapters 6-7: why it works, baselines and limits
    "BASELINES", "BaselineResult", "run_baseline", "ExistenceSetup", "SinglePositionTarget", "WStar",
    "InterferenceResult", "change_pair", "interference", "IndicatorFit", "fit_indicator", "noise_robustness",
    "sup_error_vs_neurons", "gradient_factors", "measure_ntk_cost", "ntk_gram", "OUTSIDE_TARGETS",
    "ExactlyOneConcept", "NonAdditiveConcept", "OutsideResult", "ParityConcept", "make_target", "run_outside",
    "samples_needed",
    # chapter 8: the claims ledger
    "ledger",
]
