"""The book's task and every chapter's design, in one place (chapters 4-8; Allen-Zhu & Li (2019),
section 3 and Theorem 1, recalled).

:data:`BOOK_TASK` is the one task the book studies: a length-10 sequence of unit tokens scaled by
``eps_x = 0.3`` (section 3), the additive target with ``phi = sin(3z)`` at the last
position (section 3), an Elman RNN of width 256 with output scale ``lambda = 0.3``, SGD on ``W``
alone with the practical step size ``c / (lambda^2 L m)``, ``c = 2``, and tail averaging of the
last half of the iterates (the theorem's guarantee is for an average of iterates, Theorem 1).
Every chapter's design is derived from it with ``.replace(...)``, so two chapters that compare
methods, or read each other's runs, train on the same task and data.

Each design function takes ``fast`` (``True``/``False``; ``None`` reads ``RNNLIB_FAST`` now,
:mod:`rnnlib.profile`) and returns a frozen design whose ``configs()`` lists its runs:

==========================  ===========  ============================================================
design                      chapter      what it runs
==========================  ===========  ============================================================
:func:`sgd_design`          4 (and 8)    SGD on W at several widths, followed by a pseudo-network
:func:`single_position_sgd` 6            SGD on W against one-position targets (beside ``W*``)
:func:`interference_design` 6 (and 8)    one pair's target changed, retrained
:func:`headline_design`     5, 7 (8)     ``N*(L)`` of five methods on a target with no linear part
==========================  ===========  ============================================================
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._checks import check_int
from .experiment import ExperimentConfig
from .profile import is_fast

__all__ = ["BOOK_TASK", "book_task", "steps_for_length", "with_step_budget", "SGDDesign", "sgd_design",
           "single_position_sgd", "InterferenceDesign", "interference_design", "headline_design",
           "headline_contrasts"]

# Every field spelled out: this is the task whatever ExperimentConfig's defaults are.
BOOK_TASK = ExperimentConfig(length=10, width=256, n_train=1000, n_test=2000, token_dim=8, phi="sin(3z)",
                             hidden=1, output_dim=1, eps_x=0.3, output_scale=0.3, lr=None, lr_scale=2.0,
                             epochs=30, batch_size=32, average=0.5, trained="W", labels="last",
                             include_current=True, noise_std=0.0)


def _fast(fast: bool | None) -> bool:
    if fast is None:
        return is_fast()
    if not isinstance(fast, bool):
        raise TypeError(f"fast must be True, False or None, got {fast!r}")
    return fast


def book_task(fast: bool | None = None) -> ExperimentConfig:
    """:data:`BOOK_TASK` in the full profile; in the fast one a width of 64 and 400 test sequences."""
    return BOOK_TASK.replace(width=64, n_test=400) if _fast(fast) else BOOK_TASK


def steps_for_length(length: int, steps_at_10: int) -> int:
    """SGD steps for length ``L``: ``steps_at_10 * max(1, L / 10)``.

    The practical step size ``c / (lambda^2 L m)`` shrinks like ``1/L`` while each of the ``L - 1``
    token terms of the target carries ``1/(L-1)`` of its variance, so the number of steps must
    grow like ``L``; below ``L = 10`` the budget is not reduced (short sequences are not cheaper
    to fit per step).
    """
    length = check_int("length", length, minimum=1)
    steps_at_10 = check_int("steps_at_10", steps_at_10, minimum=1)
    return int(round(steps_at_10 * max(1.0, length / 10.0)))


def with_step_budget(cfg: ExperimentConfig, steps: int) -> ExperimentConfig:
    """``cfg`` with ``epochs`` set so that SGD takes at least ``steps`` steps on ``cfg.n_train`` samples."""
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    steps = check_int("steps", steps, minimum=1)
    per_epoch = math.ceil(cfg.n_train / cfg.batch_size)
    return cfg.replace(epochs=max(1, math.ceil(steps / per_epoch)))


# -- chapter 4 ---------------------------------------------------------------------------------

@dataclass(frozen=True, eq=False)
class SGDDesign:
    """Chapter 4: SGD on ``W`` at several widths, each followed by a pseudo-network tracker.

    Attributes:
        base: the run at ``theory_width`` (a short budget: the widest network dominates the cost).
        widths: the widths ``m`` of the lazy-regime sweep.
        theory_width: the width of the theory-versus-practice run (and of the ledger's row).
        n_probe: test sequences on which the pseudo-network is compared.
    """

    base: ExperimentConfig
    widths: tuple
    theory_width: int
    n_probe: int

    def configs(self) -> list[ExperimentConfig]:
        """One run per width, narrowest first."""
        return [self.base.replace(width=m) for m in self.widths]


def sgd_design(fast: bool | None = None) -> SGDDesign:
    """Chapter 4's :class:`SGDDesign`: the book task with a modest budget.

    The runs follow the iterate SGD takes (``average=0``): the tracker records the trajectory, and
    the final ``W`` is the one whose displacement and pseudo-network error it reports.
    """
    f = _fast(fast)
    base = BOOK_TASK.replace(n_train=300 if f else 400, n_test=200 if f else 500, epochs=10 if f else 12,
                             eval_every=5 if f else 3, average=0.0)
    widths = (64, 256, 1024) if f else (64, 128, 256, 512, 1024, 2048)
    return SGDDesign(base, widths, 256, 128)


# -- chapter 6 ---------------------------------------------------------------------------------

def single_position_sgd(fast: bool | None = None) -> ExperimentConfig:
    """Chapter 6's SGD-on-W run against one-position targets: the book task with 1000 test sequences."""
    f = _fast(fast)
    return with_step_budget(BOOK_TASK.replace(width=128 if f else 256, n_test=1000), 600 if f else 1000)


@dataclass(frozen=True, eq=False)
class InterferenceDesign:
    """Chapter 6's interference experiment (E14): one pair's target changed, retrained from ``W_0``.

    Attributes:
        base: all positions labelled; ``widths`` and ``seeds`` vary.
        widths, seeds: the grid; pair: ``(i0, j0)``, the changed term.
    """

    base: ExperimentConfig
    widths: tuple
    seeds: tuple
    pair: tuple

    def configs(self) -> list[ExperimentConfig]:
        """Every run, by width, then seed."""
        return [self.base.replace(width=m, seed=s) for m in self.widths for s in self.seeds]


def interference_design(fast: bool | None = None) -> InterferenceDesign:
    """Chapter 6's :class:`InterferenceDesign` (the ledger's interference row runs the same).

    Every position is labelled, ``L = 8``, and the step constant is ``c = 0.3`` with the last
    iterate: two networks trained on targets that differ in one pair are compared output by
    output, and a smaller step keeps both close to ``W_0`` where the argument applies.
    """
    f = _fast(fast)
    base = BOOK_TASK.replace(length=8, labels="all", n_train=300 if f else 1000, n_test=300 if f else 1000,
                             epochs=30, lr_scale=0.3, average=0.0)
    return InterferenceDesign(base, (64, 128, 256) if f else (128, 256, 512, 1024), (0,) if f else (0, 1), (3, 6))


# -- chapters 5 and 7 ---------------------------------------------------------------------------

def headline_design(fast: bool | None = None):
    """Chapter 5's headline study (issue 13): a :class:`rnnlib.headline.HeadlineDesign`, profile-aware.

    Full profile: ``z^2`` of directions orthogonal to the constant coordinate, centred, no
    current-token term, ``eps_x = 1`` (at the book's ``0.3`` SGD on ``W`` barely learns a target
    without a linear part; :func:`rnnlib.headline.headline_base`), ``L`` in 5..80, one grid ``N`` in
    100..10,000, 3 seeds at every point, width 128 at every ``L`` (in the prototype of issue 13,
    width 64 lost at ``L = 10`` and 256 did not rescue ``L = 20``), 2,000 steps at ``L <= 10`` scaled
    with ``L``.  At ``L = 40`` and ``80`` only ``N = 10,000`` runs: in the prototype
    (``c = 2``) SGD on ``W`` stayed at error 1 there, so smaller ``N`` could not locate ``N*`` either, and one run costs
    about 15 s and 65 s of CPU.  The NTK stops at ``N L <= 30,000``.

    SGD's step constant ``c`` (step ``c / (lambda^2 L m)``) is chosen by the ridge baselines'
    validation protocol (:class:`rnnlib.headline_probes.StepTuning`) per SGD method, length and ``N``
    of 100, 1000, 10,000 (300 and 3000 take the ``c`` of the ``N`` below), at seed 0 (every seed then
    uses it), from ``c`` in 1, 2, 4, ..., 32
    (:data:`rnnlib.headline_probes.C_GRID`); a run that diverges with it trains with ``c / 2``.  The
    grid was first 0.5..4 around the book's ``c = 2``; a pilot of SGD on ``W`` at ``N = 10,000`` found
    the held-out error still falling at 4 and widened it upwards until the error rose again: at
    ``L = 5`` 0.25, 0.12, 0.05, 0.04, 0.18, 0.38 for ``c`` = 2, 4, 8, 16, 32, 64 (128 diverged); at
    ``L = 10`` 0.88, 0.66, 0.38, 0.22, 0.19, 0.26.  One ``c`` per length chosen at ``N = 10,000`` was
    not enough: it overfits at small ``N`` (``L = 5``, ``N = 100``, ``c = 16``: train 0.00, test 1.16)
    and ``c = 32`` diverged at ``L = 10``, ``N = 1000`` for seed 1.

    Choices that keep chapter 5 within its budget (10 minutes cold on 2 cores; CPU seconds per run
    measured at ``L = 5``, ``N = 1000``, one thread: 0.28, 0.59, 1.6 and 6.0 at widths 32, 128, 256 and 512):

    * ``c`` is tuned at ``L = 5`` and ``10`` only, at every other ``N`` of the grid (6 values x 3 ``N``
      x 2 methods, on four fifths of the samples: about 48 s of CPU); longer lengths take the ``c`` of
      ``L = 10`` at the same ``N`` (one tuning at ``L = 20`` costs 6 runs of about 4 s, at ``L = 80``
      of about 65 s); seed 0 stands for every seed.
    * SGD on ``W`` and ``A`` stops at ``L = 40`` (``stops``): in session 5's build its three runs at
      ``L = 80`` took 227 of the 1,224 CPU seconds of chapter 5's runs, and at ``L = 40`` it already
      stayed at test error 0.97 to 1.07 with 10,000 samples.  The table and the figures say where it stops.
    * ``L = 80`` keeps width 128.  A narrower width there would save time (a step costs 1.7 ms at width
      64 and 4.2 ms at 128, one thread, batch 32), but one initialization in three then starts far from
      the labels: standardized test error at initialization 2.1, 4.3, 176 at width 64 and 1.5, 159, 1.2
      at 96, against 2.6, 1.9, 2.1 at 128 (seeds 0, 1, 2), and SGD on ``W`` at width 64 diverged with
      every ``c`` down to 1 (chapter 3: the forward pass needs width as ``L`` grows).
    * The width study runs at the shortest length only (``L = 5``; at ``L = 10`` width 512 costs
      about 12 s a run) at widths 32, 64, 128, 512 on the whole grid and 3 seeds (256 is left out:
      24 s of CPU for a point between two measured ones).
    """
    from .headline import HeadlineDesign, headline_base  # headline imports this module's step budget
    from .headline_probes import C_GRID

    if _fast(fast):
        return HeadlineDesign(headline_base(eps_x=1.0, n_test=400), lengths=(4, 6, 8), n_grid=(100, 300, 1000),
                              seeds=(0, 1), widths={4: 32, 6: 32, 8: 32}, steps_at_10=300, ntk_max=3000,
                              stops={"sgd_wa": 6}, tune_grid=C_GRID, tune_lengths=(4, 6), tune_ns=(100, 1000),
                              width_grid=(8, 16, 32, 64), width_lengths=(4,))
    return HeadlineDesign(headline_base(eps_x=1.0), lengths=(5, 10, 20, 40, 80), n_grid=(100, 300, 1000, 3000, 10000),
                          seeds=(0, 1, 2), widths={5: 128, 10: 128, 20: 128, 40: 128, 80: 128}, steps_at_10=2000,
                          ntk_max=30000, n_min={40: 10000, 80: 10000}, stops={"sgd_wa": 40}, tune_grid=C_GRID,
                          tune_ns=(100, 1000, 10000), tune_lengths=(5, 10), width_grid=(32, 64, 128, 512),
                          width_lengths=(5,))


def headline_contrasts(design) -> dict:
    """``{name: HeadlineDesign}``: the contrasts chapter 5 sets beside the headline (issue 13, 2 and 4-6).

    * ``"current"``: SGD on ``W`` at the two shortest lengths with the current-token term (``i = j``);
    * ``"sin3z"``: the old headline task (``sin 3z`` of sphere directions, uncentred, current-token
      term, ``eps_x = 0.3``) at the second length, SGD on ``W`` and linear ridge, ``N`` up to the
      grid's fourth point;
    * ``"noise"``: SGD on ``W`` at the shortest length with label noise :data:`NOISE_STD`, on the
      grid without its first point and with three times its last;
    * ``"all"``: SGD on ``W`` at the shortest length with a label at every position.
    """
    from .headline import NOISE_STD, HeadlineDesign

    if not isinstance(design, HeadlineDesign):
        raise TypeError(f"design must be a HeadlineDesign, got {type(design).__name__}")
    L1, L2 = design.lengths[:2]
    grid, b = design.n_grid, design.base
    off = dict(width_grid=(), width_lengths=(), tune_grid=(), tune_lengths=())  # the contrasts keep the chosen c
    plain = dict(n_min={}, n_max={}, methods=("sgd_w",), **off)
    return {"current": design.replace(base=b.replace(include_current=True), lengths=(L1, L2), **plain),
            "sin3z": design.replace(base=b.replace(phi="sin(3z)", include_current=True, eps_x=0.3), lengths=(L2,),
                                    n_grid=grid[:4], direction="sphere", center=False, n_min={}, n_max={},
                                    methods=("sgd_w", "linear_ridge"), **off),
            "noise": design.replace(base=b.replace(noise_std=NOISE_STD), lengths=(L1,),
                                    n_grid=grid[1:] + (3 * grid[-1],), **plain),
            "all": design.replace(base=b.replace(labels="all"), lengths=(L1,), **plain)}
