"""The ledger's probes as a cached kind (chapter 8, the claims ledger).

Paper: the claims of Allen-Zhu & Li (2019), sections 3 and 5 and Theorem 1 (recalled), that chapter 8 checks at
initialization (forward stability and backward coherence, section 5), on the concept class (section 3),
on the theorem's scales (Theorem 1) and on chapter 4's pseudo-network (section 5). The kind
``ledger_probe`` (:class:`LedgerProbeConfig`) runs one function of :mod:`rnnlib.ledger_measures`
through :mod:`rnnlib.engine`, so a rebuilt ledger reads it from the cache and re-measures nothing.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import ledger_measures
from .config import ExperimentConfig
from .experiment import run_experiment
from .payload import finite_number
from .pseudo_network import PseudoNetworkTracker

__all__ = ["PROBES", "LedgerProbe", "LedgerProbeConfig"]

# the ledger's probes: name -> function of rnnlib.ledger_measures returning a flat {name: number}
PROBES = ("measure_forward_stability", "measure_coherence", "measure_two_layer_class", "measure_additivity",
          "measure_normalization", "measure_theory_scales", "pseudo_network")


@dataclass(frozen=True)
class LedgerProbeConfig:
    """Kind ``ledger_probe``: one probe of :data:`PROBES` with keyword arguments ``kwargs`` (a tuple of
    ``(name, value)`` pairs). ``pseudo_network`` trains ``run_config`` with a
    :class:`~rnnlib.PseudoNetworkTracker` on ``n_probe`` sequences (chapter 4's network) and returns
    :func:`rnnlib.ledger_measures.measure_pseudo_network`."""

    kind: ClassVar[str] = "ledger_probe"
    probe: str
    kwargs: tuple = ()
    run_config: ExperimentConfig | None = None

    def to_dict(self) -> dict:
        return {"probe": self.probe, "kwargs": [list(kv) for kv in self.kwargs],
                "run": None if self.run_config is None else self.run_config.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> LedgerProbeConfig:
        run = d.get("run")
        return cls(str(d["probe"]), tuple((str(k), v) for k, v in d["kwargs"]),
                   None if run is None else ExperimentConfig.from_dict(run))

    def run(self) -> LedgerProbe:
        if self.probe not in PROBES:
            raise ValueError(f"probe must be one of {PROBES}, got {self.probe!r}")
        kwargs = dict(self.kwargs)
        if self.probe == "pseudo_network":
            if self.run_config is None:
                raise ValueError("the pseudo_network probe needs run_config")
            tracker = PseudoNetworkTracker.for_config(self.run_config, **kwargs)
            values = ledger_measures.measure_pseudo_network(run_experiment(self.run_config, callback=tracker), tracker)
        else:
            values = getattr(ledger_measures, self.probe)(**kwargs)
        return LedgerProbe(self, {k: (int(v) if isinstance(v, (int, np.integer)) else float(v))
                                  for k, v in values.items()})


@dataclass(frozen=True, eq=False)
class LedgerProbe:
    """``values``: the probe's numbers (ints stay ints)."""

    config: LedgerProbeConfig
    values: dict

    def to_dict(self) -> dict:
        return {"config": self.config.to_dict(), "values": dict(self.values)}

    @classmethod
    def from_dict(cls, d: dict) -> LedgerProbe:
        if not isinstance(d.get("values"), dict):
            raise TypeError("a ledger probe needs a 'values' mapping")
        return cls(LedgerProbeConfig.from_dict(d["config"]),
                   {k: v if isinstance(v, int) and not isinstance(v, bool) else finite_number(k, v)
                    for k, v in d["values"].items()})


LedgerProbeConfig.result_type = LedgerProbe
