"""rnnlib: the library behind the executable account of Allen-Zhu & Li (NeurIPS 2019),
"Can SGD Learn Recurrent Neural Networks with Provable Generalization?".

The public API, by layer (design.md section 3; ``make lint`` checks that each layer imports only the
layers below it):

* **core**: :func:`sample_tokens`, :func:`embed` (tokens, paper section 2.4); :data:`SMOOTH_FUNCTIONS`,
  :func:`complexity_eps`, :func:`complexity_sample` (section 3.2); :class:`AdditiveConcept` (section 3.1);
  :func:`relu_recurrence`, the one ReLU recurrence, and :class:`ElmanRNN` (section 2); :func:`train_sgd`
  and its step :func:`sgd_step` (section 2.6); the modules :mod:`rnnlib.stats` (fits, ``N*``,
  standardized error, bootstrap) and :mod:`rnnlib.theory`.
* **kinds**: :class:`ExperimentConfig` (its defaults are the book's task) and :func:`run_experiment`
  -> :class:`ExperimentResult`; the probes (:func:`forward_stability`, :func:`backward_maps`,
  :func:`pseudo_network`, ...), the baselines (:func:`run_baseline`), targets outside the class, the
  lemma and the existence of ``W*``: each cached computation is a frozen config dataclass with a
  typed result.
* **engine**: :func:`run_many` (any kinds' configs, serially or on any ``concurrent.futures.Executor``),
  :func:`sweep` (the same for :class:`ExperimentConfig`), :func:`process_pool`; the cache in
  :mod:`rnnlib.cache`.
* **studies and tasks**: :data:`BOOK_TASK` and every chapter's design in :mod:`rnnlib.tasks`; one study
  per chapter in :mod:`rnnlib.studies`; the claims ledger in :mod:`rnnlib.ledger`.
* **presentation**: :mod:`rnnlib.plots`, :mod:`rnnlib.widgets`, :mod:`rnnlib.glue`.

The other names below are kept for the chapters and scripts that used them before the layers; new code
reaches them through their modules.
"""
from . import bounds, cache, engine, ledger, stats, tasks
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
from .bptt import sgd_step
from .engine import run_many
from .recurrence import relu_recurrence
from .rnn import ElmanRNN
from .tasks import BOOK_TASK
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
    "BOOK_TASK", "relu_recurrence", "sgd_step", "run_many", "cache", "engine", "stats", "tasks", "ledger",
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
]
