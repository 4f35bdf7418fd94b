"""Sweeps of SGD runs (chapters 5, 7 and 8; infrastructure, Paper: none): many configs through the
cached engine.

A *sweep* is a list of :class:`~rnnlib.experiment.ExperimentConfig`; :func:`sweep` returns one
:class:`~rnnlib.experiment.ExperimentResult` per config, in order.  It is a thin layer over
:func:`rnnlib.engine.run_many` (the engine: executors, resumption) and :mod:`rnnlib.cache` (keys,
integrity); this module adds what is particular to SGD runs: grids and JSON specs
(:func:`config_grid`, :func:`configs_from_spec`), tables and CSV files, and the deprecated
``measure`` hook.

``measure``: a module-level function ``measure(result) -> {name: number}`` of a trained run.  It
is a derived kind of the engine (:class:`MeasureConfig`): the run is trained (or read) once, its
weights are stored in the cache, and the hook runs on the model rebuilt from them, so a run
measured by several hooks, or first swept without one, is never retrained.  New code should
define a kind instead (see :mod:`rnnlib.engine`).

Command line: ``python -m rnnlib sweep SPEC.json --workers 2 --cache DIR`` (:mod:`rnnlib.cli`).
"""
from __future__ import annotations

import csv
import dataclasses
import importlib
import itertools
import json
import math
import os
import tempfile
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterable, Mapping, Sequence

from . import cache as cache_module
from . import engine
from .cache import CACHE_FORMAT, FILE_MODE, CacheWarning, default_cache_dir
from .config import check_resources
from .engine import SweepError, kind_key, process_pool, run_many
from .experiment import ExperimentConfig, ExperimentResult

__all__ = ["sweep", "config_grid", "configs_from_spec", "config_key", "code_digest", "default_cache_dir",
           "cache_status", "estimated_cost", "process_pool", "results_table", "write_csv", "CacheWarning",
           "SweepError", "ExtrasCollision", "MeasureConfig", "MeasureResult", "measured", "CACHE_FORMAT",
           "SPEC_KEYS", "RESULT_COLUMNS", "MAX_GRID_POINTS"]

SPEC_KEYS = ("base", "grid", "configs")
# a grid larger than this is refused before it is built: a million points is weeks of CPU at the
# book's sizes, and the list of configs alone would take gigabytes
MAX_GRID_POINTS = 10 ** 6
RESULT_COLUMNS = ("train_mse", "test_mse", "train_mse_at_init", "test_mse_at_init", "noise_floor",
                  "w_displacement", "w_displacement_spectral", "w_init_norm", "pattern_flips", "lr",
                  "n_steps", "seconds")
_CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(ExperimentConfig))
_TREE_LIMIT = 200  # JSON nesting a spec may have (a real spec nests 3 deep)


class ExtrasCollision(ValueError):
    """A measure returned a name that is a config field or a result column (it would overwrite it)."""


def code_digest(module: str = "experiment") -> str:
    """Digest of the code an SGD run depends on (see :func:`rnnlib.cache.code_digest`)."""
    return cache_module.code_digest(module)


def _measure_name(measure: Callable | str | None) -> str | None:
    if measure is None or isinstance(measure, str):
        return measure
    if not callable(measure):
        raise TypeError(f"measure must be a callable(result) -> dict or None, got {type(measure).__name__}")
    module = getattr(measure, "__module__", None)
    qual = getattr(measure, "__qualname__", None)
    if not module or not qual or "<" in qual:
        raise ValueError(f"measure must be a module-level function (it names the cache entries and "
                         f"is sent to worker processes), got {measure!r}")
    return f"{module}:{qual}"


def _resolve(name: str) -> Callable:
    module, _, qual = name.partition(":")
    obj: Any = importlib.import_module(module)
    for part in qual.split("."):
        obj = getattr(obj, part)
    return obj


def check_extras(extras: Mapping, source: str = "extras") -> dict[str, float]:
    """``extras`` as ``{str: float}``, refusing names of config fields or result columns."""
    if not isinstance(extras, Mapping):
        raise TypeError(f"{source} must return a dict of numbers, got {type(extras).__name__}")
    out = {str(k): float(v) for k, v in extras.items()}
    clash = sorted(set(out) & (set(_CONFIG_FIELDS) | set(RESULT_COLUMNS) | {"config", "history", "extras"}))
    if clash:
        raise ExtrasCollision(f"{source} returned name(s) {clash} that are config fields or result "
                              f"columns and would overwrite them; rename them (e.g. with a prefix)")
    return out


@dataclass
class MeasureResult:
    """The numbers a measure hook returned for one trained run (``{name: float}``)."""

    values: dict

    def to_dict(self) -> dict:
        return {"values": dict(self.values)}

    @classmethod
    def from_dict(cls, data: dict) -> "MeasureResult":
        if not isinstance(data, dict) or not isinstance(data.get("values"), dict):
            raise TypeError("a measure result must be {'values': {name: number}}")
        values = {}
        for k, v in data["values"].items():
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
                raise ValueError(f"measure value {k!r} must be a finite number, got {v!r}")
            values[k] = float(v)
        return cls(values)


@dataclass(frozen=True)
class MeasureConfig:
    """A derived kind: ``measure`` (``"module:qualname"``) applied to the trained run ``run``."""

    kind: ClassVar[str] = "measure"
    result_type: ClassVar = MeasureResult

    run_config: ExperimentConfig
    measure: str

    def to_dict(self) -> dict:
        return {"run": self.run_config.to_dict(), "measure": self.measure}

    def requires(self) -> tuple:
        return (self.run_config,)

    def code_modules(self) -> list[str]:
        return [self.measure.partition(":")[0]]  # the hook's module (and what it imports)

    def run(self, trained: ExperimentResult) -> MeasureResult:
        if trained.model is None:
            raise ValueError("the measure needs the trained model; the engine passes it")
        return MeasureResult(check_extras(_resolve(self.measure)(trained), f"measure {self.measure!r}"))


def measured(cfg: ExperimentConfig, measure: Callable | str) -> MeasureConfig:
    """The :class:`MeasureConfig` of ``measure`` on the run of ``cfg``."""
    return MeasureConfig(cfg, _measure_name(measure))


def config_key(cfg: ExperimentConfig, measure: Callable | str | None = None) -> str:
    """The cache key of ``cfg`` (or of ``measure`` on its run): see :func:`rnnlib.engine.kind_key`."""
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    return kind_key(cfg if measure is None else measured(cfg, measure))


def cache_status(configs: Iterable[ExperimentConfig], cache_dir: str | os.PathLike | None = None, *,
                 measure: Callable | None = None) -> list[bool]:
    """For each config, whether :func:`sweep` would read it (and its measure) from the cache."""
    configs = list(configs)
    runs = engine.is_cached(configs, cache_dir)
    if measure is None:
        return runs
    extras = engine.is_cached([measured(c, measure) for c in configs], cache_dir)
    return [a and b for a, b in zip(runs, extras)]


def estimated_cost(cfg: ExperimentConfig) -> float:
    """Relative cost of a config: SGD steps x batch x ``L`` x ``m^2`` (the matrix products of BPTT)."""
    return cfg.estimated_cost()


def sweep(configs: Iterable[ExperimentConfig], cache_dir: str | os.PathLike | None | bool = None, *,
          executor: Executor | None = None, workers: int | None = None, progress: bool = True,
          measure: Callable[[ExperimentResult], Mapping[str, float]] | None = None,
          threads: int | None = None, on_error: str = "raise", desc: str = "sweep") -> list:
    """Run every config (or read it from the cache) and return the results in order.

    Args:
        configs: the :class:`~rnnlib.experiment.ExperimentConfig` of each point; duplicates run once.
        cache_dir: directory of the cache; ``None`` uses :func:`default_cache_dir`, ``False``
            disables caching.
        executor: any :class:`concurrent.futures.Executor` (a process pool, Dask's
            ``Client.get_executor()``, ...); ``None`` runs serially unless ``workers`` is given.
        workers: run a local process pool of this many processes (ignored with ``executor``).
        progress: a progress bar on a terminal, one plain line per point in a log.
        measure: deprecated; a module-level function ``measure(result) -> {name: number}`` called
            with ``result.model`` (rebuilt from the cached weights, never retrained); its numbers
            land in ``result.extras``.  Names of config fields or result columns are refused
            (:class:`ExtrasCollision`).
        threads: torch threads per worker (an SGD run itself always uses
            :data:`rnnlib.experiment.RUN_THREADS`, so numbers do not depend on it).
        on_error: ``"raise"``: a failing point raises :class:`SweepError` after the finished points
            are cached; ``"skip"``: warn and put ``None`` in its place.
        desc: label of the progress output.

    Returns:
        ``list[ExperimentResult]``, one per config, in the order given (``result.model`` is ``None``).

    Example:
        >>> import rnnlib
        >>> base = rnnlib.ExperimentConfig(width=64, n_train=100, n_test=100, epochs=2)
        >>> res = rnnlib.sweep(rnnlib.config_grid(base, seed=[0, 1]), cache_dir=False, progress=False)
        >>> len(res)
        2
    """
    configs = list(configs)
    for i, cfg in enumerate(configs):
        if not isinstance(cfg, ExperimentConfig):
            raise TypeError(f"configs[{i}] must be an ExperimentConfig, got {type(cfg).__name__}")
    name = _measure_name(measure)
    for cfg in configs:  # refuse a run beyond the machine before any point starts
        check_resources(cfg)
    jobs: list = list(configs) + ([measured(c, name) for c in configs] if name else [])
    out = run_many(jobs, cache_dir=cache_dir, executor=executor, workers=workers, threads=threads,
                   progress=progress, on_error=on_error, desc=desc)
    runs, extras = out[:len(configs)], out[len(configs):]
    if not name:
        return runs
    merged = []
    for run, ext in zip(runs, extras):
        merged.append(None if run is None or ext is None else dataclasses.replace(run, extras=dict(ext.values)))
    return merged


# -- building sweeps ------------------------------------------------------------------------

def config_grid(base: ExperimentConfig | Mapping | None = None, **axes: Sequence) -> list[ExperimentConfig]:
    """The Cartesian product of ``axes`` over ``base``, last axis varying fastest.

    Example: ``config_grid(cfg, length=[5, 10], seed=[0, 1, 2])`` gives 6 configs.
    """
    if base is None:
        base = ExperimentConfig()
    elif isinstance(base, Mapping):
        base = ExperimentConfig.from_dict(dict(base))
    elif not isinstance(base, ExperimentConfig):
        raise TypeError(f"base must be an ExperimentConfig, a dict or None, got {type(base).__name__}")
    known = set(base.to_dict())
    for name, values in axes.items():
        if name not in known:
            raise ValueError(f"grid axis {name!r} is not a config field; known fields are {sorted(known)}")
        if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
            raise TypeError(f"grid axis {name!r} must be a list of values, got {values!r}")
    names = list(axes)
    sizes = {}
    for n in names:
        try:
            sizes[n] = len(axes[n])
        except TypeError:  # a generator: count it by listing it
            axes[n] = list(axes[n])
            sizes[n] = len(axes[n])
        if not sizes[n]:
            raise ValueError(f"grid axis {n!r} must list at least one value, got []")
    total = math.prod(sizes.values())
    if total > MAX_GRID_POINTS:
        raise ValueError(f"the grid has {total:.3g} points ({' x '.join(str(v) for v in sizes.values())}), "
                         f"more than MAX_GRID_POINTS = {MAX_GRID_POINTS:.0e}; split it into smaller sweeps")
    lists = [list(axes[n]) for n in names]
    return [base.replace(**dict(zip(names, combo))) for combo in itertools.product(*lists)]


def configs_from_spec(spec: Mapping | str | os.PathLike) -> list[ExperimentConfig]:
    """The configs of a sweep spec: a dict or a JSON file of the form

    ``{"base": {field: value}, "grid": {field: [values]}, "configs": [{field: value}, ...]}``

    All keys are optional: ``base`` overrides the config defaults; ``grid`` takes the Cartesian
    product over ``base``; ``configs`` adds explicit points (each over ``base``).  With neither
    ``grid`` nor ``configs`` the spec is the single point ``base``.  Errors raise ``ValueError``
    naming the offending key.
    """
    where = "spec"
    if isinstance(spec, (str, os.PathLike)):
        where = f"spec {spec}"
        path = Path(spec)
        if not path.is_file():
            raise ValueError(f"{where}: no such file")
        try:
            spec = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ValueError(f"{where}: not valid JSON ({exc})") from exc
        except OSError as exc:
            raise ValueError(f"{where}: cannot be read ({exc.strerror or exc})") from exc
        except RecursionError:
            raise ValueError(f"{where}: JSON nested too deeply") from None
    if _depth(spec) > _TREE_LIMIT:
        raise ValueError(f"{where}: JSON nested deeper than {_TREE_LIMIT} levels")
    if not isinstance(spec, Mapping):
        raise ValueError(f"{where}: must be a JSON object with keys among {list(SPEC_KEYS)}, "
                         f"got {type(spec).__name__}")
    unknown = sorted(set(spec) - set(SPEC_KEYS))
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; allowed keys are {list(SPEC_KEYS)}")
    base = spec.get("base", {})
    if not isinstance(base, Mapping):
        raise ValueError(f"{where}: 'base' must be an object of config fields, got {base!r}")
    try:
        base_cfg = ExperimentConfig.from_dict(dict(base))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: 'base': {exc}") from exc
    out: list[ExperimentConfig] = []
    grid = spec.get("grid")
    if grid is not None:
        if not isinstance(grid, Mapping) or not grid:
            raise ValueError(f"{where}: 'grid' must be a non-empty object field -> list, got {grid!r}")
        for name, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{where}: grid[{name!r}] must be a non-empty list, got {values!r}")
        try:
            out += config_grid(base_cfg, **grid)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{where}: 'grid': {exc}") from exc
    points = spec.get("configs")
    if points is not None:
        if not isinstance(points, list) or not points:
            raise ValueError(f"{where}: 'configs' must be a non-empty list of objects, got {points!r}")
        for i, point in enumerate(points):
            if not isinstance(point, Mapping):
                raise ValueError(f"{where}: configs[{i}] must be an object, got {point!r}")
            try:
                out.append(ExperimentConfig.from_dict({**base_cfg.to_dict(), **point}))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{where}: configs[{i}]: {exc}") from exc
    if grid is None and points is None:
        out.append(base_cfg)
    return out


def _depth(value, limit: int = _TREE_LIMIT + 1) -> int:
    """Nesting depth of a JSON value, counted iteratively up to ``limit`` (no recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        deepest = max(deepest, d)
        if d >= limit:
            return d
        if isinstance(v, Mapping):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, (list, tuple)):
            stack.extend((x, d + 1) for x in v)
    return deepest


# -- tables ---------------------------------------------------------------------------------

def results_table(results: Sequence[ExperimentResult | None]) -> list[dict[str, Any]]:
    """One flat row per result: the config fields, the scalar measurements and ``extras``."""
    rows = []
    for res in results:
        if res is None:
            continue
        if not isinstance(res, ExperimentResult):
            raise TypeError(f"results must hold ExperimentResult objects, got {type(res).__name__}")
        row = dict(res.config.to_dict())
        row.update({name: getattr(res, name) for name in RESULT_COLUMNS})
        row.update(check_extras(res.extras, "result.extras"))
        rows.append(row)
    return rows


def write_csv(results: Sequence[ExperimentResult | None], path: str | os.PathLike) -> Path:
    """Write :func:`results_table` as CSV (atomically) and return the path."""
    rows = results_table(results)
    path = Path(path)
    columns: list[str] = []
    for row in rows:
        columns += [c for c in row if c not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".csv", dir=path.parent)
    os.chmod(tmp, FILE_MODE)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    os.replace(tmp, path)
    return path
