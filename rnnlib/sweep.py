"""The sweep engine: many experiments, cached, resumable, on one machine or a cluster.

A *sweep* is a list of :class:`~rnnlib.experiment.ExperimentConfig`;
:func:`sweep` returns one :class:`~rnnlib.experiment.ExperimentResult` per config,
in order (design.md section 3).  Every finished result is written to the cache at
once, so a rebuilt book recomputes only what changed and an interrupted sweep
resumes where it stopped.

The cache
---------
One JSON file per result, ``<cache_dir>/<key>.json``.  The key is the SHA-256 of
the config (as a sorted JSON dict), ``rnnlib.__version__``, a digest of the source of
the library's computational modules (:func:`code_digest`) and the name of the optional
``measure`` hook, so a new library version, an edited training loop or a changed
config never reads a stale entry.  JSON loads without executing code (no pickle).  A file is
written to a temporary file in the same directory, flushed to disk and then
renamed over its final name with :func:`os.replace`, which is atomic: a sweep
killed at any moment (``kill -9`` included) leaves either no entry or a complete
one, never a half-written one.  Entries are checked when read (format tag, key,
version, config); a corrupt or foreign file is reported with a
:class:`CacheWarning` and recomputed, never a crash.  The default directory is
:func:`default_cache_dir`: ``$RNNLIB_CACHE`` if set, else ``.rnnlib_cache/`` at the
root of the repository that holds ``rnnlib`` (the chapters' cache, gitignored),
else ``~/.cache/rnnlib``.

Parallel and cluster execution
------------------------------
``executor`` accepts any :class:`concurrent.futures.Executor`; each uncached
config becomes one task, and results are cached by the calling process as they
arrive (workers need no access to the cache directory).  ``workers=K`` is a
shortcut for a local :class:`~concurrent.futures.ProcessPoolExecutor` with ``K``
processes (:func:`process_pool`: ``spawn`` start method, so the workers never inherit a
forked torch thread pool), each running torch with ``cpu_count // K`` threads; pass
``executor=process_pool(K)`` to reuse one pool across several sweeps.  Results do not
depend on the executor: the same config gives the same numbers serially, in a
process pool or on a cluster.

With Dask distributed (``pip install "dask[distributed]"``; every worker needs
``rnnlib`` importable, e.g. ``pip install -e .`` on a shared file system)::

    from dask.distributed import Client
    client = Client("tcp://scheduler:8786")          # or Client() for a local cluster
    results = rnnlib.sweep(configs, executor=client.get_executor(), threads=1)

Ray (``pip install ray``) ships no ``concurrent.futures.Executor`` (its proposals,
ray-project/ray#29456, were not merged), but every Ray ``ObjectRef`` converts to a
``concurrent.futures.Future``, so a five-line adapter is enough::

    import concurrent.futures, ray
    class RayExecutor(concurrent.futures.Executor):
        def submit(self, fn, /, *args, **kwargs):
            return ray.remote(fn).remote(*args, **kwargs).future()
    ray.init(address="auto")
    results = rnnlib.sweep(configs, executor=RayExecutor(), threads=1)

``threads`` fixes the torch threads per task (use 1 when a node runs one task per
core).  The caller's cache directory still receives every result, so a later run
on a laptop reads the cluster's results without recomputing them.

Command line: ``python -m rnnlib sweep SPEC.json --workers 2 --cache DIR`` (see
:mod:`rnnlib.cli`).
"""
from __future__ import annotations

import csv
import hashlib
import itertools
import json
import multiprocessing
import os
import tempfile
import time
import warnings
from concurrent.futures import Executor, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping, Sequence

from ._checks import check_choice, check_int
from .experiment import ExperimentConfig, ExperimentResult, run_experiment

__all__ = ["sweep", "config_grid", "configs_from_spec", "config_key", "code_digest", "default_cache_dir",
           "cache_status",
           "estimated_cost", "process_pool",
           "results_table", "write_csv", "CacheWarning", "SweepError", "CACHE_FORMAT", "SPEC_KEYS"]

CACHE_FORMAT = "rnnlib-experiment-result"
CACHE_FORMAT_VERSION = 1
SPEC_KEYS = ("base", "grid", "configs")
# temporary files older than this are leftovers of killed writers (a write takes milliseconds)
_STALE_TMP_SECONDS = 600.0


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_FILE_MODE = 0o666 & ~_umask()


class CacheWarning(UserWarning):
    """A cache entry could not be used (corrupt, foreign or unreadable); it is recomputed."""


class SweepError(RuntimeError):
    """One point of a sweep failed; the message names its config.  Finished points stay cached."""


def _version() -> str:
    from . import __version__
    return __version__


def default_cache_dir() -> Path:
    """The cache directory used when none is given.

    ``$RNNLIB_CACHE`` if set; otherwise ``<repo>/.rnnlib_cache`` when ``rnnlib`` is imported
    from a source checkout (the directory above the package holds ``pyproject.toml`` or
    ``.git``), which is where the book's chapters cache their sweeps whatever their working
    directory; otherwise ``~/.cache/rnnlib``.
    """
    env = os.environ.get("RNNLIB_CACHE", "").strip()
    if env:
        return Path(env).expanduser()
    root = Path(__file__).resolve().parent.parent
    if (root / "pyproject.toml").exists() or (root / ".git").exists():
        return root / ".rnnlib_cache"
    return Path.home() / ".cache" / "rnnlib"


# modules that cannot change a result: the engine, interfaces and figures
_NOT_RESULT_MODULES = {"sweep.py", "cli.py", "__main__.py", "widgets.py", "profile.py", "__init__.py",
                       "ledger.py"}  # the ledger reads results; it holds no measure hook
_DIGEST: str | None = None


def code_digest() -> str:
    """SHA-256 (hex, 16 characters) of the source of every ``rnnlib`` module that computes results.

    All ``rnnlib/*.py`` except the engine, the command line, widgets, profiles and ``plots/``: an
    edit to any of them (the training loop, the data, a measure's module, ...) changes every cache
    key, so results computed by older code are never read back.
    """
    global _DIGEST
    if _DIGEST is None:
        h = hashlib.sha256()
        for path in sorted(Path(__file__).resolve().parent.glob("*.py")):
            if path.name not in _NOT_RESULT_MODULES:
                h.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
        _DIGEST = h.hexdigest()[:16]
    return _DIGEST


def _measure_name(measure: Callable | None) -> str | None:
    if measure is None:
        return None
    if not callable(measure):
        raise TypeError(f"measure must be a callable(result) -> dict or None, got {type(measure).__name__}")
    module = getattr(measure, "__module__", None)
    qual = getattr(measure, "__qualname__", None)
    if not module or not qual or "<" in qual:
        raise ValueError(f"measure must be a module-level function (it names the cache entries and "
                         f"is sent to worker processes), got {measure!r}")
    return f"{module}.{qual}"


def config_key(cfg: ExperimentConfig, measure: Callable | str | None = None) -> str:
    """The cache key of ``cfg``: SHA-256 hex of its fields, the library version, :func:`code_digest`
    and the measure's name."""
    if not isinstance(cfg, ExperimentConfig):
        raise TypeError(f"cfg must be an ExperimentConfig, got {type(cfg).__name__}")
    name = measure if isinstance(measure, str) or measure is None else _measure_name(measure)
    payload = {"config": cfg.to_dict(), "rnnlib_version": _version(), "code": code_digest(),
               "measure": name}
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


# -- the cache ------------------------------------------------------------------------------

def _entry_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"{key}.json"


def _load_entry(path: Path, cfg: ExperimentConfig, key: str, measure_name: str | None):
    """The cached result at ``path``, or ``None`` (with a :class:`CacheWarning` if it is unusable)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        return _reject(path, f"unreadable ({exc})")
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as exc:
        return _reject(path, f"not valid JSON ({exc.msg} at character {exc.pos})")
    if not isinstance(entry, dict) or entry.get("format") != CACHE_FORMAT:
        return _reject(path, f"not an rnnlib result (no format tag {CACHE_FORMAT!r})")
    if entry.get("format_version") != CACHE_FORMAT_VERSION:
        return _reject(path, f"cache format version {entry.get('format_version')!r}, "
                             f"expected {CACHE_FORMAT_VERSION}")
    if entry.get("key") != key or entry.get("rnnlib_version") != _version() \
            or entry.get("code") != code_digest() or entry.get("measure") != measure_name:
        return _reject(path, "it belongs to another config, library version or measure")
    try:
        result = ExperimentResult.from_dict(entry["result"])
    except (KeyError, TypeError, ValueError) as exc:
        return _reject(path, f"result does not load ({exc})")
    if result.config != cfg:
        return _reject(path, "its config differs from the requested one")
    return result


def _reject(path: Path, reason: str) -> None:
    warnings.warn(f"ignoring cache entry {path}: {reason}; recomputing it", CacheWarning, stacklevel=4)
    return None


def _store_entry(cache_dir: Path, key: str, result: ExperimentResult, measure_name: str | None) -> Path:
    """Write one entry atomically: temporary file, fsync, then ``os.replace``."""
    entry = {"format": CACHE_FORMAT, "format_version": CACHE_FORMAT_VERSION, "key": key,
             "rnnlib_version": _version(), "code": code_digest(), "measure": measure_name,
             "created": time.time(),
             "result": result.to_dict()}
    try:
        text = json.dumps(entry, allow_nan=False)
    except ValueError as exc:
        raise ValueError(f"result of config {result.config} holds a non-finite number and cannot "
                         f"be cached as JSON: {exc}") from exc
    path = _entry_path(cache_dir, key)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=cache_dir)
    try:
        os.chmod(tmp, _FILE_MODE)  # mkstemp makes 0600; entries are ordinary files
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def _clean_stale_tmp(cache_dir: Path) -> None:
    now = time.time()
    for tmp in cache_dir.glob(".tmp-*.json"):
        try:
            if now - tmp.stat().st_mtime > _STALE_TMP_SECONDS:
                tmp.unlink()
        except OSError:
            pass


# -- running one point ----------------------------------------------------------------------

def _run_point(cfg: ExperimentConfig, measure: Callable | None = None, threads: int | None = None) -> dict:
    """Run one config (in a worker); returns the result as a plain dict (no model)."""
    if threads is not None:
        import torch
        torch.set_num_threads(threads)
    result = run_experiment(cfg, keep_model=measure is not None)
    if measure is not None:
        extras = measure(result)
        if not isinstance(extras, Mapping):
            raise TypeError(f"measure must return a dict of numbers, got {type(extras).__name__}")
        result.extras = {str(k): float(v) for k, v in extras.items()}
    result.model = None
    return result.to_dict()


def _init_worker(threads: int) -> None:
    import torch
    torch.set_num_threads(threads)


def process_pool(workers: int | None = None, *, threads: int | None = None) -> ProcessPoolExecutor:
    """A local process pool for :func:`sweep` that can be reused across calls.

    ``workers`` processes (default: the CPU count) started with the ``spawn`` method (a forked
    torch thread pool can deadlock), each running torch with ``threads`` threads (default
    ``cpu_count // workers``, so the pool does not oversubscribe the cores).  Shut it down with
    ``pool.shutdown()`` or use it in a ``with`` block.
    """
    cpus = os.cpu_count() or 1
    workers = cpus if workers is None else check_int("workers", workers, minimum=1)
    threads = max(1, cpus // workers) if threads is None else check_int("threads", threads, minimum=1)
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_init_worker, initargs=(threads,))


class _SerialExecutor(Executor):
    """Runs each task when submitted, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut


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
            ``Client.get_executor()``, Ray's executor, ...); ``None`` runs serially in this process
            unless ``workers`` is given.  The executor is not shut down.
        workers: run a local process pool of this many processes (ignored with ``executor``).
        progress: show a tqdm progress bar over points.
        measure: a module-level function ``measure(result) -> {name: number}`` called in the
            worker with ``result.model`` (the trained network) attached; its numbers are stored in
            ``result.extras`` and cached with the result (its name is part of the cache key).
        threads: torch threads per task (``None``: unchanged serially, ``cpu_count // workers``
            in a local pool).
        on_error: ``"raise"`` (default): a failing point raises :class:`SweepError` after the
            points already finished are cached; ``"skip"``: warn and put ``None`` in its place.
        desc: label of the progress bar.

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
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError("executor must be a concurrent.futures.Executor or None, "
                        f"got {type(executor).__name__}")
    if workers is not None:
        workers = check_int("workers", workers, minimum=1)
    if threads is not None:
        threads = check_int("threads", threads, minimum=1)
    check_choice("on_error", on_error, ("raise", "skip"))
    measure_name = _measure_name(measure)
    if cache_dir is True:
        raise TypeError("cache_dir must be a path, None (the default directory) or False (no cache), "
                        "got True")
    cache = None if cache_dir is False else Path(default_cache_dir() if cache_dir is None else cache_dir)
    if cache is not None:
        if cache.exists() and not cache.is_dir():
            raise ValueError(f"cache_dir must be a directory, got the file {cache}")
        cache.mkdir(parents=True, exist_ok=True)
        _clean_stale_tmp(cache)

    keys = [config_key(cfg, measure_name) for cfg in configs]
    results: dict[str, ExperimentResult | None] = {}
    todo: dict[str, ExperimentConfig] = {}
    for key, cfg in zip(keys, configs):
        if key in results or key in todo:
            continue
        hit = _load_entry(_entry_path(cache, key), cfg, key, measure_name) if cache is not None else None
        if hit is not None:
            results[key] = hit
        else:
            todo[key] = cfg

    bar = None
    n_unique = len(results) + len(todo)
    if progress and n_unique:
        from tqdm.auto import tqdm
        bar = tqdm(total=n_unique, initial=len(results), desc=desc, unit="run")
        bar.set_postfix(cached=len(results))

    own_pool = None
    if executor is None and workers is not None and workers > 1 and len(todo) > 1:
        threads = threads or max(1, (os.cpu_count() or 1) // workers)
        own_pool = process_pool(min(workers, len(todo)), threads=threads)
    runner = executor or own_pool or _SerialExecutor()
    order = list(todo.items())
    if not isinstance(runner, _SerialExecutor):
        # longest first: the pool then ends with short tasks instead of one worker idling
        order.sort(key=lambda item: -estimated_cost(item[1]))
    failures: list[tuple[ExperimentConfig, BaseException]] = []
    try:
        pending: dict[Future, str] = {}
        for key, cfg in order:
            fut = runner.submit(_run_point, cfg, measure, threads)
            pending[fut] = key
            if isinstance(runner, _SerialExecutor):
                _collect(fut, key, todo, results, cache, measure_name, failures, bar)
                del pending[fut]
                if failures and on_error == "raise":
                    break
        while pending:
            done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
            for fut in done:
                _collect(fut, pending.pop(fut), todo, results, cache, measure_name, failures, bar)
            if failures and on_error == "raise":
                for fut in list(pending):
                    if fut.cancel():
                        del pending[fut]
                # points already running still finish and are cached before we raise
                for fut in wait(list(pending)).done:
                    _collect(fut, pending.pop(fut), todo, results, cache, measure_name, [], bar)
    finally:
        if bar is not None:
            bar.close()
        if own_pool is not None:
            own_pool.shutdown(wait=True, cancel_futures=True)
    if failures and on_error == "raise":
        cfg, exc = failures[0]
        raise SweepError(f"sweep point failed: {type(exc).__name__}: {exc}\n  config: {cfg.to_dict()}"
                         + ("\n  (finished points are cached; rerun to resume)" if cache else "")) from exc
    for cfg, exc in failures:
        warnings.warn(f"sweep point skipped after {type(exc).__name__}: {exc}; config {cfg.to_dict()}",
                      RuntimeWarning, stacklevel=2)
    return [results.get(key) for key in keys]


def estimated_cost(cfg: ExperimentConfig) -> float:
    """Relative cost of a config: SGD steps x batch x ``L`` x ``m^2`` (the matrix products of BPTT)."""
    steps = cfg.epochs * -(-cfg.n_train // cfg.batch_size)
    return float(steps * min(cfg.batch_size, cfg.n_train) * cfg.length * cfg.width ** 2
                 + cfg.n_test * cfg.length * cfg.width ** 2)


def cache_status(configs: Iterable[ExperimentConfig], cache_dir: str | os.PathLike | None = None, *,
                 measure: Callable | None = None) -> list[bool]:
    """For each config, whether :func:`sweep` would read it from the cache (an entry that loads)."""
    cache = Path(default_cache_dir() if cache_dir is None else cache_dir)
    name = _measure_name(measure)
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheWarning)
        for cfg in configs:
            key = config_key(cfg, name)
            out.append(_load_entry(_entry_path(cache, key), cfg, key, name) is not None)
    return out


def _collect(fut, key, todo, results, cache, measure_name, failures, bar):
    try:
        result = ExperimentResult.from_dict(fut.result())
    except Exception as exc:  # noqa: BLE001 - reported by sweep() with the config
        failures.append((todo[key], exc))
        results[key] = None
        return
    if cache is not None:
        _store_entry(cache, key, result, measure_name)
    results[key] = result
    if bar is not None:
        bar.update(1)


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
    lists = [list(axes[n]) for n in names]
    for n, vals in zip(names, lists):
        if not vals:
            raise ValueError(f"grid axis {n!r} must list at least one value, got []")
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


# -- tables ---------------------------------------------------------------------------------

RESULT_COLUMNS = ("train_mse", "test_mse", "train_mse_at_init", "test_mse_at_init", "noise_floor",
                  "w_displacement", "w_displacement_spectral", "w_init_norm", "pattern_flips", "lr",
                  "n_steps", "seconds")


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
        row.update(res.extras)
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
    os.chmod(tmp, _FILE_MODE)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    os.replace(tmp, path)
    return path
