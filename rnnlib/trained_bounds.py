"""Prior generalization bounds of a trained run, as a cached kind (chapters 1, 5 and 8).

The norm-based bounds that Allen-Zhu & Li (2019), section 1, contrasts with Theorem 1 (:mod:`rnnlib.bounds`),
evaluated on the network an SGD run trained.  A derived kind of the engine (:mod:`rnnlib.engine`):
it requires the run, whose trained weights the engine reads from the cache, so computing the
bounds of a run never retrains it, however many chapters ask.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ._checks import check_finite_tree, check_float
from .bounds import evaluate_bounds, weight_norms
from .experiment import ExperimentConfig, ExperimentResult

__all__ = ["PriorBoundsConfig", "PriorBounds"]


@dataclass
class PriorBounds:
    """``norms``: :class:`rnnlib.bounds.WeightNorms` of the trained network as a dict;
    ``log10_bounds``: ``{bound: log10 value at the run's L}`` for the keys of :data:`rnnlib.bounds.BOUNDS`."""

    norms: dict
    log10_bounds: dict

    def to_dict(self) -> dict:
        return {"norms": dict(self.norms), "log10_bounds": dict(self.log10_bounds)}

    @classmethod
    def from_dict(cls, data: dict) -> "PriorBounds":
        check_finite_tree("prior bounds", data)
        for k, v in data["norms"].items():
            check_float(f"norms[{k!r}]", v, nonnegative=True)
        for k, v in data["log10_bounds"].items():
            check_float(f"log10_bounds[{k!r}]", v)
        return cls(dict(data["norms"]), dict(data["log10_bounds"]))


@dataclass(frozen=True)
class PriorBoundsConfig:
    """Kind ``"prior-bounds"``: the prior bounds of the network trained by ``run_config``."""

    kind: ClassVar[str] = "prior-bounds"
    result_type: ClassVar = PriorBounds

    run_config: ExperimentConfig

    def __post_init__(self):
        if not isinstance(self.run_config, ExperimentConfig):
            raise TypeError(f"run_config must be an ExperimentConfig, got {type(self.run_config).__name__}")

    def to_dict(self) -> dict:
        return {"run": self.run_config.to_dict()}

    def requires(self) -> tuple:
        return (self.run_config,)

    def run(self, trained: ExperimentResult) -> PriorBounds:
        if trained.model is None:
            raise ValueError("prior bounds need the trained model; the engine attaches it from the cache")
        norms = weight_norms(trained.model)
        values = evaluate_bounds(norms, [self.run_config.length])
        bounds = {k: float(v[0]) for k, v in values.items() if k not in ("length", "norms")}
        return PriorBounds({k: float(v) for k, v in norms.to_dict().items()}, bounds)
