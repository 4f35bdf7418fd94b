"""The experiment engine: any list of computations, cached, resumable, serial or distributed.

Infrastructure, not a paper concept (Paper: none): the engine layer, used by every chapter that caches
what it computes (chapters 1-8).  It knows the computations ("kinds") only through a small protocol:

* a **config** is a frozen dataclass with a class attribute ``kind`` (a short name), a class
  attribute ``result_type``, ``to_dict()``, and ``run(*inputs) -> result``;
* a **result** is a dataclass with ``to_dict()`` and ``from_dict(d)`` (``from_dict`` validates
  types and finiteness and raises ``ValueError``/``TypeError`` on a damaged payload); it may
  also offer ``arrays() -> {name: ndarray} | None`` (for example the trained weights of an SGD
  run, stored as ``.npz`` beside the JSON entry) and ``with_arrays(arrays) -> result``;
* a **derived** config also has ``requires() -> tuple[config, ...]``: the engine computes (or
  reads) those first and calls ``run(*their_results)`` with their arrays attached, so prior bounds
  or baselines of a trained run never retrain it;
* optionally ``code_modules() -> [module, ...]`` (default: the config class's module) names the
  modules whose import closure keys the cache (:func:`rnnlib.cache.code_digest`).

:func:`run_many` runs a list of configs of any kinds serially, on a local process pool
(:func:`process_pool`) or on any :class:`concurrent.futures.Executor` (Dask's
``client.get_executor()``).  Workers compute and return results; the calling process writes
the cache, so workers need no access to it.
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import threading
import warnings
from concurrent.futures import Executor, Future, ProcessPoolExecutor, wait
from typing import Any, Iterable, Sequence

from ._checks import check_bool, check_choice, check_int
from .cache import Cache, CacheWarning, canonical_json, code_digest, default_cache_dir

__all__ = ["run_many", "kind_key", "is_cached", "process_pool", "SweepError", "SerialExecutor"]


class SweepError(RuntimeError):
    """One computation failed; the message names its config.  Finished ones stay cached."""


def _check_config(i: int, config: Any) -> None:
    kind = getattr(type(config), "kind", None)
    if not isinstance(kind, str) or not callable(getattr(config, "run", None)) \
            or not callable(getattr(config, "to_dict", None)) or not hasattr(type(config), "result_type"):
        raise TypeError(f"configs[{i}] must be a kind config (a dataclass with 'kind', 'result_type', "
                        f"'to_dict' and 'run'), got {type(config).__name__}")


def _requires(config) -> tuple:
    req = getattr(config, "requires", None)
    return tuple(req()) if callable(req) else ()


def _modules(config) -> list[str]:
    mods = getattr(config, "code_modules", None)
    return list(mods()) if callable(mods) else [type(config).__module__]


def kind_key(config) -> str:
    """The cache key of a config: SHA-256 of its kind, its canonical dict, the digest of the code
    its kind depends on and the keys of the configs it requires."""
    import hashlib
    payload = {"kind": type(config).kind, "config": config.to_dict(),
               "code": [code_digest(m) for m in _modules(config)],
               "inputs": [kind_key(dep) for dep in _requires(config)]}
    return hashlib.sha256(canonical_json(payload).encode()).hexdigest()


# -- workers -----------------------------------------------------------------------------------

def _compute(config, inputs: tuple, threads: int | None):
    """Run one config (in a worker): ``(result dict, arrays or None)``."""
    import torch
    from threadpoolctl import threadpool_limits
    if threads is not None:
        torch.set_num_threads(threads)
    # one torch thread and one BLAS thread (numpy's) per computation, whatever the executor: threaded
    # products sum in another order, and a result must not depend on where it ran (serial, pool,
    # cluster).  In a pool, a BLAS thread pool per worker also spins against the other workers: an
    # NTK point (eigh of 3,000 x 3,000) beside an SGD run took 41 and 38 s of wall with numpy's two
    # threads and 20 and 22 s with one, on 2 cores.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(1, user_api="blas"):
            result = config.run(*inputs)
    finally:
        torch.set_num_threads(before)
    arrays = result.arrays() if callable(getattr(result, "arrays", None)) else None
    return result.to_dict(), arrays


def _watch_parent(parent: int, interval: float) -> None:
    import time
    while True:
        time.sleep(interval)
        if os.getppid() != parent:  # the parent died; we were re-parented
            os._exit(1)


def init_worker(threads: int, parent: int | None = None, interval: float = 0.5) -> None:
    """Initializer of :func:`process_pool` workers: torch threads, and exit when the parent dies.

    A parent killed by ``SIGKILL`` cannot stop its workers; a daemon thread polling
    :func:`os.getppid` ends the worker within ``interval`` seconds of the parent's death.
    """
    import signal

    import torch
    torch.set_num_threads(threads)
    # Ctrl-C reaches the whole process group: the parent handles it (and ends the workers), so a
    # worker prints no traceback of its own
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent = os.getppid() if parent is None else parent
    threading.Thread(target=_watch_parent, args=(parent, interval), daemon=True,
                     name="rnnlib-parent-watchdog").start()


def process_pool(workers: int | None = None, *, threads: int | None = None) -> ProcessPoolExecutor:
    """A local process pool for :func:`run_many` (and :func:`rnnlib.sweep`), reusable across calls.

    ``workers`` processes (default: the CPU count) started with the ``spawn`` method (a forked
    torch thread pool can deadlock), each running torch with ``threads`` threads (default
    ``cpu_count // workers``).  Workers exit when this process dies, even by ``kill -9``.
    Shut it down with ``pool.shutdown()`` or use it in a ``with`` block.
    """
    cpus = os.cpu_count() or 1
    workers = cpus if workers is None else check_int("workers", workers, minimum=1)
    threads = max(1, cpus // workers) if threads is None else check_int("threads", threads, minimum=1)
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                               initializer=init_worker, initargs=(threads, os.getpid()))


class SerialExecutor(Executor):
    """Runs each task when submitted, in this process."""

    def submit(self, fn, /, *args, **kwargs):
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - handed to the caller through the future
            fut.set_exception(exc)
        return fut


# -- progress ------------------------------------------------------------------------------------

class _Progress:
    """A tqdm bar on a terminal or in a notebook; one plain line per finished point in a log (no
    ``\\r`` frames)."""

    def __init__(self, total: int, cached: int, desc: str, enabled: bool):
        self.total, self.done, self.cached, self.desc = total, cached, cached, desc
        self.bar = None
        self.enabled = enabled and total > 0
        if not self.enabled:
            return
        # a terminal or a notebook kernel (tqdm.auto draws a widget there): a live bar
        if getattr(sys.stderr, "isatty", lambda: False)() or "ipykernel" in sys.modules:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=total, initial=cached, desc=desc, unit="run")
            self.bar.set_postfix(cached=cached)
        else:
            print(f"{desc}: {cached}/{total} cached", file=sys.stderr, flush=True)

    def update(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        elif self.enabled:
            print(f"{self.desc}: {self.done}/{self.total} done ({self.cached} cached)", file=sys.stderr,
                  flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# -- the engine ----------------------------------------------------------------------------------

def _open_cache(cache_dir) -> Cache:
    if cache_dir is True:
        raise TypeError("cache_dir must be a path, None (the default directory) or False (no cache), "
                        "got True")
    if cache_dir is False:
        return Cache(None)
    return Cache(default_cache_dir() if cache_dir is None else cache_dir)


def _load_hit(cache: Cache, key: str, config):
    payload = cache.load(key, type(config).kind)
    if payload is None:
        return None
    try:
        result = type(config).result_type.from_dict(payload)
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        return cache.reject(key, f"result does not validate ({exc})")
    stored = getattr(result, "config", None)  # an SGD result names its config: it must be this one
    if type(stored) is type(config) and stored != config:
        return cache.reject(key, "its config differs from the requested one")
    return result


def _graph(configs: Sequence) -> tuple[dict[str, Any], dict[str, int]]:
    """Every config (requested and required) by key, and its level (0 = requires nothing)."""
    nodes: dict[str, Any] = {}
    levels: dict[str, int] = {}

    def visit(cfg, depth=0) -> int:
        if depth > 50:
            raise ValueError(f"config {type(cfg).__name__} requires a chain deeper than 50 kinds")
        key = kind_key(cfg)
        if key not in levels:
            deps = _requires(cfg)
            levels[key] = 1 + max((visit(d, depth + 1) for d in deps), default=-1)
            nodes[key] = cfg
        return levels[key]

    for cfg in configs:
        visit(cfg)
    return nodes, levels


def is_cached(configs: Iterable, cache_dir=None) -> list[bool]:
    """For each config (of any kind), whether :func:`run_many` would read it from the cache."""
    cache = Cache(default_cache_dir() if cache_dir is None else cache_dir)
    configs = list(configs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CacheWarning)
        return [_load_hit(cache, kind_key(c), c) is not None for c in configs]


def run_many(configs: Iterable, *, cache_dir=None, executor: Executor | None = None,
             workers: int | None = None, threads: int | None = None, progress: bool = True,
             on_error: str = "raise", desc: str = "runs") -> list:
    """Compute (or read from the cache) the result of every config, in order.

    Args:
        configs: configs of any kinds (see the module docstring); duplicates run once.
        cache_dir: cache directory; ``None``: :func:`rnnlib.cache.default_cache_dir`; ``False``:
            no cache (results live in memory for this call).
        executor: any :class:`concurrent.futures.Executor`; ``None``: serial, unless ``workers``.
            It is not shut down.
        workers: run a local :func:`process_pool` of this many processes (ignored with ``executor``).
        threads: torch threads per task (``None``: unchanged).  An SGD run fixes its own thread
            count (see :func:`rnnlib.experiment.run_experiment`), so its numbers never depend on it.
        progress: a progress bar on a terminal, one line per point otherwise.
        on_error: ``"raise"``: a failure raises :class:`SweepError` after finished points are
            cached; ``"skip"``: warn and put ``None`` in its place.
        desc: label of the progress output.

    Returns:
        One result per config, in the order given (models are not attached).
    """
    configs = list(configs)
    for i, cfg in enumerate(configs):
        _check_config(i, cfg)
    if executor is not None and not isinstance(executor, Executor):
        raise TypeError("executor must be a concurrent.futures.Executor or None, "
                        f"got {type(executor).__name__}")
    if workers is not None:
        workers = check_int("workers", workers, minimum=1)
    if threads is not None:
        threads = check_int("threads", threads, minimum=1)
    progress = check_bool("progress", progress)
    check_choice("on_error", on_error, ("raise", "skip"))
    cache = _open_cache(cache_dir)
    nodes, levels = _graph(configs)

    results: dict[str, Any] = {}
    for key, cfg in nodes.items():
        hit = _load_hit(cache, key, cfg)
        if hit is not None:
            results[key] = hit
    todo = [k for k in nodes if k not in results]  # in the order given: serial runs are reproducible
    # the inputs of a derived config still to compute need their arrays (trained weights)
    need_arrays = {kind_key(d) for k in todo for d in _requires(nodes[k])}
    for key in sorted(need_arrays - set(todo)):
        if cache.load_arrays(key) is None:
            todo.append(key)
            del results[key]

    bar = _Progress(len(nodes), len(nodes) - len(todo), desc, progress)
    own_pool = None
    if executor is None and workers is not None and workers > 1 and len(todo) > 1:
        own_pool = process_pool(min(workers, len(todo)), threads=threads)
    runner = executor or own_pool or SerialExecutor()
    failures: list[tuple[Any, BaseException]] = []
    failed: set[str] = set()
    interrupted = True
    try:
        for level in sorted({levels[k] for k in todo}):
            batch = [k for k in todo if levels[k] == level]
            if not isinstance(runner, SerialExecutor):
                batch.sort(key=lambda k: -_cost(nodes[k]))  # longest first: no idle worker at the end
            _run_level(batch, nodes, runner, cache, results, failures, failed, threads, bar, on_error)
            if failures and on_error == "raise":
                break
        interrupted = False
    finally:
        bar.close()
        if own_pool is not None:
            if interrupted:  # Ctrl-C or an error: do not wait for running points
                for proc in list(getattr(own_pool, "_processes", {}).values()):
                    proc.terminate()
            own_pool.shutdown(wait=not interrupted, cancel_futures=True)
    if failures and on_error == "raise":
        cfg, exc = failures[0]
        raise SweepError(f"{type(cfg).kind} point failed: {type(exc).__name__}: {exc}\n  config: "
                         f"{cfg.to_dict()}" + ("\n  (finished points are cached; rerun to resume)"
                                               if cache.directory is not None else "")) from exc
    for cfg, exc in failures:
        warnings.warn(f"{type(cfg).kind} point skipped after {type(exc).__name__}: {exc}; config "
                      f"{cfg.to_dict()}", RuntimeWarning, stacklevel=2)
    return [results.get(kind_key(cfg)) for cfg in configs]


def _cost(config) -> float:
    cost = getattr(config, "estimated_cost", None)
    return float(cost()) if callable(cost) else 0.0


def _inputs(config, cache: Cache, results: dict) -> tuple:
    out = []
    for dep in _requires(config):
        key = kind_key(dep)
        res = results[key]
        arrays = cache.load_arrays(key)
        if arrays is not None and callable(getattr(res, "with_arrays", None)):
            res = res.with_arrays(arrays)
        out.append(res)
    return tuple(out)


def _run_level(batch, nodes, runner, cache, results, failures, failed, threads, bar, on_error):
    serial = isinstance(runner, SerialExecutor)
    pending: dict[Future, str] = {}
    for key in batch:
        cfg = nodes[key]
        bad = [d for d in _requires(cfg) if kind_key(d) in failed]
        if bad:
            failed.add(key)
            failures.append((cfg, RuntimeError(f"its input {type(bad[0]).kind} failed")))
            continue
        fut = runner.submit(_compute, cfg, _inputs(cfg, cache, results), threads)
        if serial:
            _collect(fut, key, nodes, cache, results, failures, failed, bar)
            if failures and on_error == "raise":
                return
        else:
            pending[fut] = key
    while pending:
        done, _ = wait(list(pending), return_when="FIRST_COMPLETED")
        for fut in done:
            _collect(fut, pending.pop(fut), nodes, cache, results, failures, failed, bar)
        if failures and on_error == "raise":
            for fut in list(pending):
                if fut.cancel():
                    del pending[fut]
            # points already running still finish and are cached before the error is raised
            for fut in wait(list(pending)).done:
                _collect(fut, pending.pop(fut), nodes, cache, results, [], failed, bar)


def _collect(fut, key, nodes, cache, results, failures, failed, bar):
    cfg = nodes[key]
    try:
        payload, arrays = fut.result()
        result = type(cfg).result_type.from_dict(payload)
    except Exception as exc:  # noqa: BLE001 - reported by run_many() with the config
        failures.append((cfg, exc))
        failed.add(key)
        return
    cache.store(key, type(cfg).kind, payload, arrays)
    results[key] = result
    bar.update()
