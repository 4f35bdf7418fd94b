"""rnnlib: the library behind the executable account of Allen-Zhu & Li (NeurIPS 2019),
"Can SGD Learn Recurrent Neural Networks with Provable Generalization?" (all chapters).

Paper: Allen-Zhu & Li (2019), sections 1, 3 and 5 and Theorem 1; every module names its chapter and the
section of the paper it implements (where the paper's own text was not read, "recalled").

The public API is ``__all__``: the concepts a reader of the book uses, by layer (each
layer imports only the layers below it; ``make lint`` checks it with import-linter):

**core** (the paper's objects):

* :func:`sample_tokens` ``(n, length, token_dim, seed) -> x*`` of shape ``(n, length - 1, token_dim)``,
  unit tokens with last coordinate 1/2, and :func:`embed` ``(x*, eps_x) -> x`` of shape
  ``(n, length, token_dim + 1)``, the start token first: the input normalization (chapter 2; section 3).
* :data:`SMOOTH_FUNCTIONS` (name -> smooth function with Taylor coefficients), the constant
  :data:`C_STAR`, the complexities :func:`complexity_eps` ``C_eps(phi, R, eps)`` and
  :func:`complexity_sample` ``C_s(phi, R)`` and their logarithms :func:`log10_complexity_eps`,
  :func:`log10_complexity_sample`, which never overflow (chapter 2; section 3, after Allen-Zhu, Li &
  Liang 2019).
* :class:`AdditiveConcept` ``(length, token_dim, ...)``: the additive concept class; called on ``x*``
  it gives targets ``(n, length, output_dim)`` (chapter 2; section 3).
* :func:`relu_recurrence`, the one ReLU recurrence ``h_l = relu(W h_{l-1} + A x_l)``, and
  :class:`ElmanRNN` ``(input_dim, width, output_dim=1, *, seed=0)`` at the paper's initialization, with
  ``W`` ``(m, m)``, ``A`` ``(m, input_dim)``, ``B`` ``(output_dim, m)`` (chapter 3; section 3).
* :func:`sgd_step`, one step of SGD on ``W`` with hand-written backpropagation through time, and
  :func:`train_sgd`, the loop around it with callbacks (chapter 4; section 3 and Theorem 1).
* :func:`pick` ``(full, fast)``: the value of the running profile (``RNNLIB_FAST=1`` selects the fast
  one); every chapter sizes its experiments with it (infrastructure, no paper section).

**kinds** (the computations the book caches; each is a frozen config with a typed result):

* :class:`ExperimentConfig` (frozen; its defaults are the book's task) and :func:`run_experiment`
  ``(cfg) -> ExperimentResult``; :class:`ExperimentResult` holds the standardized train and test
  errors (1.0 is predicting the mean), the error at initialization, how far ``W`` moved and the loss
  curve (chapters 4-5; Theorem 1).
* :func:`forward_stability` (hidden-state norms at initialization) and :func:`backward_maps` (the
  maps ``Back_{i->j}``, their norms and coherence) (chapter 3; section 5, recalled).
* :func:`pseudo_network`: the RNN linearized in ``W'`` around its initialization, ``(n, L, d)``
  (chapter 4; section 5, recalled).
* :func:`evaluate_bounds`: the weight-dependent factor of three earlier norm-based bounds on a network
  (chapter 1; section 1, the introduction's contrast).
* :func:`run_baseline` ``(name, cfg) -> BaselineResult``: random features, the W-only tangent kernel,
  SGD on W and A, Adam on everything, linear ridge, on the same data (chapter 7; the paper has none).
* :func:`fit_indicator`: the indicator-to-function lemma in one dimension (chapter 6; Lemma 5.2,
  recalled).
* :func:`interference`: change one pair's target, retrain, measure how the other outputs move
  (chapter 6; section 5, backward coherence, recalled).

**engine** (infrastructure, chapters 5-8):

* :func:`run_many`: configs of any kinds, cached, serially or on any ``concurrent.futures.Executor``;
  :func:`sweep`, the same for :class:`ExperimentConfig`, and :func:`config_grid`, a Cartesian grid of
  configs (the cache itself is :mod:`rnnlib.cache`, the pools :mod:`rnnlib.engine`).

**studies and tasks**:

* :data:`BOOK_TASK`, the book's one task, ``ExperimentConfig()``; every chapter's design is in
  :mod:`rnnlib.tasks` (chapters 4-8); one study per chapter in :mod:`rnnlib.studies`; the claims
  ledger in :mod:`rnnlib.ledger` (chapter 8).

**presentation**: :mod:`rnnlib.plots`, :mod:`rnnlib.widgets`, :mod:`rnnlib.glue` (modules only).

Every other name lives in its module (``from rnnlib.stats import samples_needed``); every module is
also reachable as an attribute (``rnnlib.theory``), imported on first use.  The names this package
exported before the API was made small (``rnnlib.hidden_norms``, ``rnnlib.process_pool``, ...) still
resolve, with a ``DeprecationWarning`` that names the module to import them from.
"""
from importlib import import_module as _import_module
from pkgutil import iter_modules as _iter_modules

from .backward import backward_maps
from .baselines import run_baseline
from .bounds import evaluate_bounds
from .bptt import sgd_step
from .concept import AdditiveConcept
from .config import ExperimentConfig
from .engine import run_many
from .experiment import ExperimentResult, run_experiment
from .forward import forward_stability
from .interference import interference
from .lemma import fit_indicator
from .profile import pick
from .pseudo_network import pseudo_network
from .recurrence import relu_recurrence
from .rnn import ElmanRNN
from .smooth import (C_STAR, SMOOTH_FUNCTIONS, complexity_eps, complexity_sample, log10_complexity_eps,
                     log10_complexity_sample)
from .sweep import config_grid, sweep
from .tasks import BOOK_TASK
from .tokens import embed, sample_tokens
from .training import train_sgd

__version__ = "0.1.0"

__all__ = [
    # core
    "sample_tokens", "embed", "SMOOTH_FUNCTIONS", "C_STAR", "complexity_eps", "complexity_sample",
    "log10_complexity_eps", "log10_complexity_sample", "AdditiveConcept", "relu_recurrence", "ElmanRNN",
    "sgd_step", "train_sgd", "pick",
    # kinds
    "ExperimentConfig", "ExperimentResult", "run_experiment", "forward_stability", "backward_maps",
    "pseudo_network", "evaluate_bounds", "run_baseline", "fit_indicator", "interference",
    # engine
    "run_many", "sweep", "config_grid",
    # studies and tasks
    "BOOK_TASK",
]

# Names exported before the public API was made small, and the module each now comes from.
_MOVED = {
    "rnnlib.backward": ("BackwardMaps", "coherence_matrix", "distinct_pairs", "mean_offdiagonal"),
    "rnnlib.baselines": ("BASELINES", "BaselineResult"),
    "rnnlib.bounds": ("weight_norms",),
    "rnnlib.cache": ("CacheWarning", "default_cache_dir"),
    "rnnlib.callbacks": ("TrainingDiverged",),
    "rnnlib.data": ("make_dataset",),
    "rnnlib.engine": ("SweepError", "process_pool"),
    "rnnlib.existence": ("ExistenceSetup", "SinglePositionTarget", "WStar"),
    "rnnlib.experiment": ("initial_model", "run_ensemble"),
    "rnnlib.forward": ("ForwardStability", "hidden_norms"),
    "rnnlib.interference": ("InterferenceResult", "change_pair"),
    "rnnlib.lazy": ("fit_power_law", "lazy_summary", "scaled_config"),
    "rnnlib.lemma": ("IndicatorFit", "noise_robustness", "sup_error_vs_neurons"),
    "rnnlib.ntk": ("gradient_factors", "measure_ntk_cost", "ntk_gram"),
    "rnnlib.outside": ("ExactlyOneConcept", "NonAdditiveConcept", "OUTSIDE_TARGETS", "OutsideResult",
                       "ParityConcept", "make_target", "run_outside"),
    "rnnlib.patterns": ("flip_fraction", "flips_versus_eps_x", "pattern_flips", "perturbed_token_flips",
                        "predicted_flips", "sheppard_flip_probability"),
    "rnnlib.profile": ("is_fast",),
    "rnnlib.pseudo_network": ("PseudoNetworkTracker", "linearization_error", "rnn_change"),
    "rnnlib.smooth": ("SmoothFunction", "smooth_function"),
    "rnnlib.stats": ("samples_needed",),
    "rnnlib.theory": ("log10_theory_iterations", "rho", "theory_iterations", "theory_output_scale",
                      "theory_step_size"),
    "rnnlib.training": ("TrainingHistory", "practical_step_size"),
}
_DEPRECATED = {name: module for module, names in _MOVED.items() for name in names}

# The package's modules (``__main__`` is the command line: importing it would run it).
_SUBMODULES = frozenset(m.name for m in _iter_modules(__path__) if m.name != "__main__")


def __getattr__(name: str):
    """Resolve a module on first use, and an old top-level name with a ``DeprecationWarning``."""
    module = _DEPRECATED.get(name)
    if module is not None:
        import warnings

        warnings.warn(f"rnnlib.{name} is no longer part of rnnlib's public API; import it from its module: "
                      f"`from {module} import {name}`", DeprecationWarning, stacklevel=2)
        return getattr(_import_module(module), name)
    if name in _SUBMODULES:
        return _import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'rnnlib' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The public API, the public modules and the module's dunders (not the deprecated names)."""
    dunders = {n for n in globals() if n.startswith("__") and n.endswith("__")}
    return sorted(set(__all__) | {m for m in _SUBMODULES if not m.startswith("_")} | dunders)
