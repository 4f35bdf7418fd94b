"""The sweep engine: cache, resume after a real kill -9, corrupt entries, executors, determinism."""
from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import pytest

import rnnlib
from rnnlib import ExperimentConfig, config_grid
from rnnlib import sweep as run_sweep
from rnnlib.generalization import trained_weight_norms
from rnnlib.sweep import (CACHE_FORMAT, CacheWarning, SweepError, config_key, configs_from_spec,
                          default_cache_dir, results_table, write_csv)

REPO = Path(__file__).resolve().parent.parent
TINY = ExperimentConfig(width=16, length=4, n_train=48, n_test=40, epochs=2, batch_size=16)


def _numbers(result):
    """Everything a result measured, without the wall time."""
    d = result.to_dict()
    d.pop("seconds")
    return d


def _entries(cache: Path):
    return sorted(p for p in cache.glob("*.json") if not p.name.startswith(".tmp-"))


class _Counter:
    """Stands in for run_experiment inside rnnlib.sweep and counts calls."""

    def __init__(self, monkeypatch):
        self.calls = []
        # the SGD kind (ExperimentConfig.run) calls rnnlib.experiment.run_experiment
        module = sys.modules["rnnlib.experiment"]
        self._real = module.run_experiment

        def counted(cfg, **kw):
            self.calls.append(cfg)
            return self._real(cfg, **kw)

        monkeypatch.setattr(module, "run_experiment", counted)


def test_results_in_order_and_cache_hit(tmp_path, monkeypatch):
    cfgs = config_grid(TINY, seed=[2, 0, 1])
    first = run_sweep(cfgs, cache_dir=tmp_path, progress=False)
    assert [r.config for r in first] == cfgs
    assert len(_entries(tmp_path)) == 3
    counter = _Counter(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        second = run_sweep(cfgs, cache_dir=tmp_path, progress=False)
    assert counter.calls == []
    assert [r.to_dict() for r in second] == [r.to_dict() for r in first]


def test_duplicates_run_once_and_extend_sweep(tmp_path, monkeypatch):
    counter = _Counter(monkeypatch)
    cfgs = [TINY, TINY.replace(seed=1), TINY]
    res = run_sweep(cfgs, cache_dir=tmp_path, progress=False)
    assert len(counter.calls) == 2
    assert _numbers(res[0]) == _numbers(res[2])
    # a larger sweep computes only the new point
    res2 = run_sweep(cfgs + [TINY.replace(seed=2)], cache_dir=tmp_path, progress=False)
    assert len(counter.calls) == 3 and counter.calls[-1].seed == 2
    assert _numbers(res2[1]) == _numbers(res[1])


def test_entry_is_json_with_key_and_no_temp_left(tmp_path):
    res = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    (path,) = _entries(tmp_path)
    entry = json.loads(path.read_text())
    assert entry["format"] == CACHE_FORMAT
    assert entry["key"] == path.stem == config_key(TINY)
    assert entry["kind"] == "sgd"
    assert entry["result"]["test_mse"] == res.test_mse
    assert not list(tmp_path.glob(".tmp-*"))


def test_key_depends_on_config_and_measure(monkeypatch):
    k = config_key(TINY)
    assert k == config_key(ExperimentConfig.from_dict(TINY.to_dict()))
    assert k != config_key(TINY.replace(seed=1))
    assert k != config_key(TINY.replace(eps_x=0.31))
    assert k != config_key(TINY, trained_weight_norms)


def test_key_depends_on_the_code_that_computes_results(monkeypatch):
    import rnnlib.cache
    import rnnlib.engine
    digest = rnnlib.cache.code_digest()
    assert len(digest) == 16 and digest == rnnlib.cache.code_digest("experiment")
    k = config_key(TINY)
    monkeypatch.setattr(rnnlib.engine, "code_digest", lambda m: "0" * 16)  # as if training.py changed
    assert config_key(TINY) != k


@pytest.mark.parametrize("content", [
    b'{"format": "rnnlib-experiment-result", "format_version": 1, "key": "trunc',  # killed non-atomic write
    b"\x00\x01\x02 binary garbage \xff",
    b'{"hello": "a file someone else put here"}',
    b"[1, 2, 3]",
    b"",
])
def test_corrupt_or_foreign_entry_warns_and_recomputes(tmp_path, content, monkeypatch):
    ref = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    (path,) = _entries(tmp_path)
    path.write_bytes(content)
    counter = _Counter(monkeypatch)
    with pytest.warns(CacheWarning, match="recomputing"):
        res = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    assert len(counter.calls) == 1
    assert _numbers(res) == _numbers(ref)
    assert json.loads(path.read_text())["key"] == path.stem  # repaired in place
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_sweep([TINY], cache_dir=tmp_path, progress=False)
    assert len(counter.calls) == 1


def test_entry_of_another_config_or_version_is_rejected(tmp_path, monkeypatch):
    other = TINY.replace(seed=5)
    run_sweep([other], cache_dir=tmp_path, progress=False)
    (other_path,) = _entries(tmp_path)
    target = tmp_path / f"{config_key(TINY)}.json"
    target.write_bytes(other_path.read_bytes())  # a valid entry under the wrong name
    with pytest.warns(CacheWarning, match="another config"):
        res = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    assert res.config == TINY
    # an entry of another kind under this key is foreign too
    entry = json.loads(target.read_text())
    entry["kind"] = "measure"
    target.write_text(json.dumps(entry))
    with pytest.warns(CacheWarning):
        run_sweep([TINY], cache_dir=tmp_path, progress=False)


def test_unrelated_and_stale_temp_files_are_harmless(tmp_path):
    (tmp_path / "notes.txt").write_text("my notes")
    (tmp_path / "results.csv").write_text("a,b\n1,2\n")
    stale = tmp_path / ".tmp-deadbeef.json"
    stale.write_text('{"half": ')
    old = time.time() - 3600
    os.utime(stale, (old, old))
    fresh = tmp_path / ".tmp-inflight.json"
    fresh.write_text('{"half": ')
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        run_sweep([TINY], cache_dir=tmp_path, progress=False)
    assert (tmp_path / "notes.txt").read_text() == "my notes"
    assert not stale.exists()  # left by a killed writer long ago: cleaned
    assert fresh.exists()  # may belong to a concurrent sweep: kept


def test_no_cache_and_default_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("RNNLIB_CACHE", str(tmp_path / "envcache"))
    assert default_cache_dir() == tmp_path / "envcache"
    run_sweep([TINY], progress=False)
    assert len(_entries(tmp_path / "envcache")) == 1
    run_sweep([TINY.replace(seed=3)], cache_dir=False, progress=False)
    assert len(_entries(tmp_path / "envcache")) == 1
    monkeypatch.delenv("RNNLIB_CACHE")
    assert default_cache_dir() == REPO / ".rnnlib_cache"


def test_serial_and_process_pool_give_identical_numbers(tmp_path):
    cfgs = config_grid(TINY, seed=[0, 1], length=[3, 5])
    serial = run_sweep(cfgs, cache_dir=False, progress=False)
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=2, mp_context=ctx) as pool:
        pooled = run_sweep(cfgs, cache_dir=tmp_path, executor=pool, progress=False)
    assert [_numbers(r) for r in pooled] == [_numbers(r) for r in serial]
    shortcut = run_sweep(cfgs, cache_dir=False, workers=2, progress=False)
    assert [_numbers(r) for r in shortcut] == [_numbers(r) for r in serial]
    # and what the pool cached reads back identically
    cached = run_sweep(cfgs, cache_dir=tmp_path, progress=False)
    assert [r.to_dict() for r in cached] == [r.to_dict() for r in pooled]


def test_thread_executor_and_thread_count_do_not_change_numbers():
    cfgs = config_grid(TINY, seed=[0, 1])
    serial = run_sweep(cfgs, cache_dir=False, progress=False, threads=1)
    with ThreadPoolExecutor(2) as ex:
        threaded = run_sweep(cfgs, cache_dir=False, executor=ex, progress=False, threads=2)
    assert [_numbers(r) for r in threaded] == [_numbers(r) for r in serial]


def test_determinism_run_after_run():
    cfg = TINY.replace(width=24, epochs=3, average=0.5)
    a = run_sweep([cfg], cache_dir=False, progress=False)[0]
    b = run_sweep([cfg], cache_dir=False, progress=False)[0]
    assert _numbers(a) == _numbers(b)
    assert _numbers(a) == _numbers(rnnlib.run_experiment(cfg))


_KILL_SCRIPT = textwrap.dedent("""
    import sys, rnnlib
    base = rnnlib.ExperimentConfig(width=32, length=6, n_train=96, n_test=64, epochs=8, batch_size=8)
    cfgs = rnnlib.config_grid(base, seed=list(range({n})))
    if __name__ == "__main__":
        rnnlib.sweep(cfgs, cache_dir=sys.argv[1], progress=False, workers={workers})
""")


@pytest.mark.parametrize("workers", [1, 2])
def test_kill_9_mid_sweep_then_rerun_resumes(tmp_path, monkeypatch, workers):
    """A real SIGKILL of a running sweep process (and its workers); the rerun recomputes only
    what had not finished and finds no corrupt entry."""
    n = 10
    script = tmp_path / "sweep_job.py"
    script.write_text(_KILL_SCRIPT.format(n=n, workers=workers))
    cache = tmp_path / "cache"
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, str(script), str(cache)], env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.time() + 300
        while len(_entries(cache)) < 2 and proc.poll() is None and time.time() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, f"sweep ended before the kill: {proc.communicate()[1].decode()[-2000:]}"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the sweep process and any worker it started
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    finished = {p.name: p.read_bytes() for p in _entries(cache)}
    assert 2 <= len(finished) < n, "the kill must land mid-sweep"

    import importlib.util
    spec = importlib.util.spec_from_file_location("sweep_job", script)
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    counter = _Counter(monkeypatch)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CacheWarning)  # a corrupt entry would fail the test here
        results = run_sweep(job.cfgs, cache_dir=cache, progress=False)
    recomputed = len(counter.calls)
    assert recomputed == n - len(finished), "a finished point was recomputed"
    done_keys = {Path(name).stem for name in finished}
    assert not done_keys & {config_key(c) for c in counter.calls}
    for name, data in finished.items():  # finished entries untouched by the rerun
        assert (cache / name).read_bytes() == data
    assert len(_entries(cache)) == n
    assert all(r is not None and r.config == c for r, c in zip(results, job.cfgs))
    # the resumed sweep gives the numbers a clean serial run gives
    fresh = run_sweep(job.cfgs[:2], cache_dir=False, progress=False)
    assert [_numbers(r) for r in fresh] == [_numbers(r) for r in results[:2]]
    print(f"kill -9 with workers={workers}: {len(finished)} of {n} entries finished before the kill, "
          f"{recomputed} recomputed on rerun, no corrupt entry")


def test_failure_raises_after_caching_finished_points(tmp_path):
    good = TINY
    bad = TINY.replace(lr=1e6, seed=1)  # SGD diverges at once
    with pytest.raises(SweepError, match="diverged") as info:
        run_sweep([good, bad], cache_dir=tmp_path, progress=False)
    assert "'lr': 1000000.0" in str(info.value)
    assert len(_entries(tmp_path)) == 1
    with pytest.warns(RuntimeWarning, match="skipped"):
        res = run_sweep([good, bad], cache_dir=tmp_path, progress=False, on_error="skip")
    assert res[0] is not None and res[1] is None


def test_failure_in_process_pool(tmp_path):
    bad = TINY.replace(lr=1e6)
    with pytest.raises(SweepError, match="diverged"):
        run_sweep([TINY, bad, TINY.replace(seed=2)], cache_dir=tmp_path, workers=2, progress=False)


def test_measure_hook_fills_extras_and_is_cached(tmp_path, monkeypatch):
    res = run_sweep([TINY], cache_dir=tmp_path, measure=trained_weight_norms, progress=False)[0]
    assert res.extras["norm_width"] == TINY.width
    assert res.extras["norm_spectral_W"] > 0
    plain = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    assert plain.extras == {}
    assert len(_entries(tmp_path)) == 2
    counter = _Counter(monkeypatch)
    again = run_sweep([TINY], cache_dir=tmp_path, measure=trained_weight_norms, progress=False)[0]
    assert counter.calls == [] and again.extras == res.extras
    with pytest.raises(ValueError, match="module-level"):
        run_sweep([TINY], cache_dir=False, measure=lambda r: {}, progress=False)


def test_progress_bar_runs(tmp_path, capsys):
    run_sweep(config_grid(TINY, seed=[0, 1]), cache_dir=tmp_path, progress=True)
    run_sweep(config_grid(TINY, seed=[0, 1]), cache_dir=tmp_path, progress=True)
    assert "sweep" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, error, match", [
    ({"configs": [TINY.to_dict()]}, TypeError, r"configs\[0\] must be an ExperimentConfig"),
    ({"executor": "pool"}, TypeError, "executor must be"),
    ({"workers": 0}, ValueError, "workers must be"),
    ({"threads": 0}, ValueError, "threads must be"),
    ({"on_error": "ignore"}, ValueError, "on_error must be"),
    ({"cache_dir": True}, TypeError, "cache_dir must be"),
    ({"measure": 3}, TypeError, "measure must be"),
])
def test_bad_arguments(kwargs, error, match):
    args = {"configs": [TINY], "cache_dir": False, "progress": False, **kwargs}
    with pytest.raises(error, match=match):
        run_sweep(**args)


def test_cache_dir_that_is_a_file(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ValueError, match="cache_dir must be a directory"):
        run_sweep([TINY], cache_dir=f, progress=False)


def test_config_grid_and_spec(tmp_path):
    grid = config_grid(TINY, length=[3, 5], seed=[0, 1, 2])
    assert [(c.length, c.seed) for c in grid] == [(3, 0), (3, 1), (3, 2), (5, 0), (5, 1), (5, 2)]
    assert config_grid(TINY.to_dict(), seed=[4])[0] == TINY.replace(seed=4)
    with pytest.raises(ValueError, match="not a config field"):
        config_grid(TINY, lenght=[3])
    with pytest.raises(ValueError, match="at least one value"):
        config_grid(TINY, seed=[])
    with pytest.raises(TypeError, match="list of values"):
        config_grid(TINY, seed=3)
    spec = {"base": {"width": 16, "n_test": 40}, "grid": {"length": [3, 4]},
            "configs": [{"length": 7, "seed": 9}]}
    cfgs = configs_from_spec(spec)
    assert [(c.width, c.length, c.seed) for c in cfgs] == [(16, 3, 0), (16, 4, 0), (16, 7, 9)]
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    assert configs_from_spec(path) == cfgs
    assert configs_from_spec({"base": {"seed": 3}}) == [ExperimentConfig(seed=3)]


@pytest.mark.parametrize("spec, match", [
    ([1, 2], "must be a JSON object"),
    ({"grid": {"length": [3]}, "extra": 1}, r"unknown key\(s\) \['extra'\]"),
    ({"grid": {"length": 3}}, r"grid\['length'\] must be a non-empty list"),
    ({"grid": {"length": []}}, r"grid\['length'\] must be a non-empty list"),
    ({"grid": {"lenght": [3]}}, "'lenght' is not a config field"),
    ({"grid": {"width": [0]}}, "width must be an integer >= 1"),
    ({"base": {"phi": "sinh"}}, "'base'.*sinh"),
    ({"base": []}, "'base' must be an object"),
    ({"configs": [{"width": -1}]}, r"configs\[0\].*width"),
    ({"configs": "all"}, "'configs' must be a non-empty list"),
])
def test_bad_specs(spec, match):
    with pytest.raises(ValueError, match=match):
        configs_from_spec(spec)


def test_bad_spec_files(tmp_path):
    with pytest.raises(ValueError, match="no such file"):
        configs_from_spec(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{'length': 3}")
    with pytest.raises(ValueError, match="not valid JSON"):
        configs_from_spec(bad)


def test_table_and_csv(tmp_path):
    res = run_sweep(config_grid(TINY, seed=[0, 1]), cache_dir=False, measure=trained_weight_norms,
                    progress=False)
    rows = results_table(res + [None])
    assert len(rows) == 2 and rows[1]["seed"] == 1 and rows[0]["test_mse"] == res[0].test_mse
    assert "norm_spectral_W" in rows[0]
    path = write_csv(res, tmp_path / "out" / "r.csv")
    lines = path.read_text().strip().splitlines()
    assert len(lines) == 3 and lines[0].startswith("length,width")


def test_cache_status_and_cost_order(tmp_path):
    from rnnlib.sweep import cache_status, estimated_cost
    cfgs = config_grid(TINY, seed=[0, 1])
    assert cache_status(cfgs, tmp_path) == [False, False]
    run_sweep(cfgs[:1], cache_dir=tmp_path, progress=False)
    assert cache_status(cfgs, tmp_path) == [True, False]
    assert cache_status(cfgs, tmp_path, measure=trained_weight_norms) == [False, False]
    (tmp_path / f"{config_key(cfgs[0])}.json").write_text("{broken")
    assert cache_status(cfgs, tmp_path) == [False, False]  # a corrupt entry is not a hit
    assert estimated_cost(TINY.replace(length=8)) > estimated_cost(TINY)
    assert estimated_cost(TINY.replace(width=32)) > estimated_cost(TINY)
    assert estimated_cost(TINY.replace(epochs=4)) > estimated_cost(TINY)


def test_reusable_process_pool_sets_threads():
    pool = rnnlib.process_pool(2, threads=1)
    try:
        import torch
        assert pool.submit(torch.get_num_threads).result() == 1
        cfgs = config_grid(TINY, seed=[0, 1])
        a = run_sweep(cfgs, cache_dir=False, executor=pool, progress=False)
        b = run_sweep(cfgs, cache_dir=False, executor=pool, progress=False)  # the pool survives a sweep
        assert [_numbers(r) for r in a] == [_numbers(r) for r in b]
    finally:
        pool.shutdown()
    with pytest.raises(ValueError, match="workers must be"):
        rnnlib.process_pool(0)
