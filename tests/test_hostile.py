"""Hostile but realistic input (issue 15): each test names its class (2-12) and failed on d52219f.

Classes: 2 degenerate data, 3 damaged cache entries, 4 extras colliding with columns, 5 thread
count, 6 canonical configs, 7 requests beyond the machine, 9 unwritable caches, 10 workers
outliving a killed parent, 11 the command line, 12 smaller ones.  Class 6's property tests live in
tests/test_cache.py (hypothesis).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import rnnlib
from rnnlib import ExperimentConfig, config_grid
from rnnlib import sweep as run_sweep
from rnnlib.cli import main as cli_main
from rnnlib.generalization import trained_weight_norms
from rnnlib.sweep import CacheWarning, SweepError, config_key, results_table

REPO = Path(__file__).resolve().parent.parent
TINY = ExperimentConfig(width=16, length=4, n_train=48, n_test=40, epochs=2, batch_size=16)


def _numbers(result):
    d = result.to_dict()
    d.pop("seconds")
    return d


def _env():
    return dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""),
                OMP_NUM_THREADS="1")


# -- 2. degenerate data ---------------------------------------------------------------------------

def test_c2_one_training_sequence_is_refused():
    with pytest.raises(ValueError, match=r"n_train must be an integer >= 2, got 1"):
        ExperimentConfig(n_train=1)


def test_c2_labels_without_variance_are_refused(monkeypatch):
    def constant(self, x_star, seed=None):
        return np.full((x_star.shape[0], self.length, self.output_dim), 0.7)

    monkeypatch.setattr(rnnlib.AdditiveConcept, "labels_for", constant)
    with pytest.raises(ValueError, match="zero variance"):
        rnnlib.run_experiment(TINY)


# -- 3. the cache trusts its entries ----------------------------------------------------------------

def _edit(entry, how):
    res = entry["result"]
    if how == "nan":
        res["test_mse"] = float("nan")
    elif how == "string":
        res["test_mse"] = "0.01"
    elif how == "other number":
        res["test_mse"] = res["test_mse"] / 2
    elif how == "negative steps":
        res["n_steps"] = -5
    elif how == "nan in history":
        res["history"]["train_mse"][0] = float("nan")
    return entry


@pytest.mark.parametrize("how", ["nan", "string", "other number", "negative steps", "nan in history"])
def test_c3_hand_edited_entry_is_damaged_and_recomputed(tmp_path, how):
    ref = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    path = tmp_path / f"{config_key(TINY)}.json"
    path.write_text(json.dumps(_edit(json.loads(path.read_text()), how)))  # NaN written as NaN
    with pytest.warns(CacheWarning, match="recomputing"):
        res = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    assert _numbers(res) == _numbers(ref)


def test_c3_edited_entry_with_recomputed_digest_still_fails_validation(tmp_path):
    """Someone who also fixes the digest cannot smuggle in a NaN or a negative step count."""
    from rnnlib.cache import payload_digest
    run_sweep([TINY], cache_dir=tmp_path, progress=False)
    path = tmp_path / f"{config_key(TINY)}.json"
    entry = _edit(json.loads(path.read_text()), "negative steps")
    entry["digest"] = payload_digest(entry["result"])
    path.write_text(json.dumps(entry))
    with pytest.warns(CacheWarning, match="n_steps"):
        res = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    assert res.n_steps > 0


# -- 4. extras colliding with config fields or result columns -----------------------------------------

def collide_with_config(result):
    return {"seed": 123.0}


def collide_with_result(result):
    return {"test_mse": 0.0, "fine": 1.0}


@pytest.mark.parametrize("hook, name", [(collide_with_config, "seed"), (collide_with_result, "test_mse")])
def test_c4_measure_keys_colliding_are_refused(hook, name):
    with pytest.raises(SweepError, match=rf"name\(s\) \['{name}'\].*config fields or result columns"):
        run_sweep([TINY], cache_dir=False, progress=False, measure=hook)


def test_c4_results_table_refuses_colliding_extras():
    res = rnnlib.run_experiment(TINY)
    res.extras = {"width": 1.0}
    with pytest.raises(ValueError, match=r"\['width'\]"):
        results_table([res])


# -- 5. thread count ---------------------------------------------------------------------------------

def test_c5_serial_with_2_threads_equals_pool_with_1_thread_bitwise():
    """Width 200: torch splits these products over threads, which changed the last digits."""
    cfgs = config_grid(ExperimentConfig(width=200, length=5, n_train=64, n_test=64, epochs=2,
                                        batch_size=16), seed=[0, 1])
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        serial = run_sweep(cfgs, cache_dir=False, progress=False)
        assert torch.get_num_threads() == 2  # restored after each run
    finally:
        torch.set_num_threads(before)
    pooled = run_sweep(cfgs, cache_dir=False, progress=False, workers=2, threads=1)
    assert [_numbers(r) for r in pooled] == [_numbers(r) for r in serial]


def test_c5_a_run_uses_a_fixed_thread_count_whatever_the_caller_set():
    """The mechanism behind the bitwise equality: every run trains with RUN_THREADS torch threads
    (1), so a serial sweep in a 2-thread process and a pool of 1-thread workers do the same
    arithmetic; the caller's setting is restored afterwards."""
    seen = []
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        rnnlib.run_experiment(TINY, callback=lambda epoch, model: seen.append(torch.get_num_threads()))
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    assert seen and set(seen) == {rnnlib.experiment.RUN_THREADS} == {1}


def test_c5_a_computation_of_the_engine_uses_one_blas_thread():
    """numpy's BLAS (eigh, products) also sums in another order on more threads, and in a pool each
    worker's BLAS threads spin against the others: the engine runs every computation on one."""
    from threadpoolctl import threadpool_info, threadpool_limits

    from rnnlib.engine import _compute

    class Seen:
        def run(self):
            self.blas = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
            return self

        def to_dict(self):
            return {"blas": self.blas}

    with threadpool_limits(2, user_api="blas"):
        assert _compute(Seen(), (), None)[0] == {"blas": [1]}
        assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {2}  # restored


# -- 6. canonical configs ----------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["z^2", "square", " z^2 ", "z ^ 2"])
def test_c6_phi_spellings_are_one_config(spelling):
    cfg = TINY.replace(phi=spelling)
    assert cfg == TINY.replace(phi="z^2") and config_key(cfg) == config_key(TINY.replace(phi="z^2"))


def test_c6_int_for_float_and_numpy_scalars_are_canonical():
    a = TINY.replace(eps_x=1, lr_scale=2, average=0)
    b = TINY.replace(eps_x=1.0, lr_scale=2.0, average=0.0)
    assert config_key(a) == config_key(b) and isinstance(a.eps_x, float)
    c = TINY.replace(width=np.int64(16), eps_x=np.float32(0.5), seed=np.int32(3))
    assert type(c.width) is int and type(c.eps_x) is float and type(c.seed) is int
    json.dumps(c.to_dict())  # numpy scalars crashed the sweep's JSON
    grid = config_grid(TINY, seed=np.arange(2), eps_x=np.linspace(0.2, 0.3, 2))
    assert [type(g.seed) for g in grid] == [int] * 4
    res = run_sweep(grid[:1], cache_dir=False, progress=False)
    assert res[0].config.seed == 0


@pytest.mark.parametrize("field, value, error", [
    ("width", True, TypeError), ("seed", np.bool_(True), TypeError),
    ("eps_x", 0.3 + 1j, TypeError), ("lr", np.complex128(0.1), TypeError),
    ("include_current", "no", TypeError), ("include_current", "false", TypeError),
    ("include_current", 1, TypeError), ("trained", 3, TypeError),
])
def test_c6_bool_complex_and_string_booleans_are_refused(field, value, error):
    with pytest.raises(error, match=field):
        TINY.replace(**{field: value})


# -- 7. requests beyond the machine ----------------------------------------------------------------------

@pytest.mark.parametrize("change", [{"width": 10 ** 6}, {"length": 10 ** 4}])
def test_c7_huge_run_is_refused_up_front_with_an_estimate(change, monkeypatch):
    monkeypatch.setenv("RNNLIB_MAX_MEMORY_GB", "4")  # the limit of a small machine, whatever this one has
    cfg = ExperimentConfig(**change)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"needs an estimated [0-9.e+]+ GiB"):
        rnnlib.run_experiment(cfg)
    with pytest.raises(ValueError, match="GiB"):
        run_sweep([TINY, cfg], cache_dir=False, progress=False)
    assert time.perf_counter() - start < 5


def test_c7_huge_grid_is_refused_before_it_is_built():
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"1e\+08 points.*MAX_GRID_POINTS"):
        config_grid(TINY, seed=range(10 ** 4), data_seed=range(10 ** 4))
    assert time.perf_counter() - start < 5


# -- 9. a cache that cannot be written ---------------------------------------------------------------------

def test_c9_directory_where_the_entry_should_be(tmp_path):
    (tmp_path / f"{config_key(TINY)}.json").mkdir()
    with pytest.warns(CacheWarning, match="keeping results in memory"):
        res = run_sweep([TINY, TINY.replace(seed=1)], cache_dir=tmp_path, progress=False)
    assert res[0] is not None and _numbers(res[0]) == _numbers(rnnlib.run_experiment(TINY))


def test_c9_read_only_cache_dir(tmp_path, monkeypatch):
    cache = tmp_path / "ro"
    cache.mkdir()
    if os.geteuid() == 0:  # root writes anywhere: make the writes fail as on a read-only mount
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Read-only file system")
        monkeypatch.setattr("tempfile.mkstemp", refuse)
    else:
        cache.chmod(0o555)
    try:
        with pytest.warns(CacheWarning, match="keeping results in memory"):
            res = run_sweep([TINY], cache_dir=cache, progress=False, measure=trained_weight_norms)
        assert res[0].extras["norm_width"] == TINY.width  # the derived measure found the weights in memory
    finally:
        cache.chmod(0o755)


def test_c9_deeply_nested_entry(tmp_path):
    ref = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    (tmp_path / f"{config_key(TINY)}.json").write_text("[" * 200_000 + "]" * 200_000)
    with pytest.warns(CacheWarning, match="recomputing"):
        res = run_sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    assert _numbers(res) == _numbers(ref)


# -- 10. workers outliving a killed parent --------------------------------------------------------------------

_LONG_SWEEP = textwrap.dedent("""
    import sys, rnnlib
    base = rnnlib.ExperimentConfig(width=160, length=10, n_train=2000, n_test=64, epochs=200, batch_size=8)
    if __name__ == "__main__":
        rnnlib.sweep(rnnlib.config_grid(base, seed=[0, 1, 2, 3]), cache_dir=False, progress=False, workers=2)
""")


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM])
def test_c10_workers_exit_when_the_parent_is_killed(tmp_path, sig):
    script = tmp_path / "long_sweep.py"
    script.write_text(_LONG_SWEEP)
    proc = subprocess.Popen([sys.executable, str(script)], env=_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    workers: list[int] = []
    try:
        deadline = time.time() + 120
        while time.time() < deadline:  # two workers, busy (a worker's python imported torch)
            workers = [c for c in _children(proc.pid)
                       if "spawn_main" in Path(f"/proc/{c}/cmdline").read_text(errors="ignore")]
            if len(workers) >= 2:
                break
            time.sleep(0.2)
        assert len(workers) >= 2, "the sweep did not start its workers"
        time.sleep(3)  # the workers are inside a run now
        os.kill(proc.pid, sig)  # the parent only, as a job scheduler or an OOM killer would
        proc.wait(timeout=30)
        deadline = time.time() + 5
        while any(_alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.1)
        left = [w for w in workers if _alive(w)]
        assert not left, f"workers {left} still running 5 s after the parent died"
    finally:
        for w in workers:
            try:
                os.kill(w, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if proc.poll() is None:
            proc.kill()


# -- 11. the command line ------------------------------------------------------------------------------------

def _cli(*args, timeout=300, cwd=None):
    return subprocess.run([sys.executable, "-m", "rnnlib", *args], capture_output=True, text=True,
                          env=_env(), timeout=timeout, cwd=cwd)


TINY_SPEC = {"base": {"width": 16, "length": 4, "n_train": 48, "n_test": 40, "epochs": 2, "batch_size": 16},
             "grid": {"seed": [0, 1]}}


def test_c11_output_equal_to_the_spec_is_refused(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(TINY_SPEC))
    proc = _cli("sweep", str(spec), "-o", str(spec), "--no-cache")
    assert proc.returncode == 2 and "is the input spec" in proc.stderr
    assert json.loads(spec.read_text()) == TINY_SPEC


@pytest.mark.parametrize("content, match", [
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    (b"\xff\xfe garbage", "not valid JSON"),
])
def test_c11_nested_or_garbage_spec_is_one_line_exit_2(tmp_path, content, match):
    spec = tmp_path / "s.json"
    spec.write_bytes(content if isinstance(content, bytes) else content.encode())
    proc = _cli("sweep", str(spec), "--no-cache")
    assert proc.returncode == 2 and match in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_c11_unwritable_output_fails_before_computing(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(TINY_SPEC))
    (tmp_path / "afile").write_text("x")
    cache = tmp_path / "cache"
    proc = _cli("sweep", str(spec), "-o", str(tmp_path / "afile" / "out.csv"), "--cache", str(cache))
    assert proc.returncode == 2 and "cannot be written" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not list(cache.glob("*.json")), "it computed before checking the output path"


def test_c11_usage_errors_exit_2_and_failures_exit_1(tmp_path, capsys):
    # the statuses main() returns (in this process: each python -m rnnlib costs a torch import); the
    # process exits with them (__main__: sys.exit(main())), checked here on a failure and by the
    # subprocess tests above on usage errors
    assert cli_main(["run", "--width", "0"]) == 2
    assert cli_main(["run", "--width", "ten"]) == 2
    assert cli_main(["run", "--include-current", "no"]) == 2
    assert cli_main(["run", "--width", "1000000"]) == 2  # beyond the machine: refused, not run
    assert cli_main(["frobnicate"]) == 2
    capsys.readouterr()
    proc = _cli("run", "--width", "16", "--length", "4", "--n-train", "48", "--n-test", "40", "--epochs", "1",
                "--lr", "1e6")
    assert proc.returncode == 1 and "diverged" in proc.stderr


def _default_sigint() -> None:
    """In the child before exec: Ctrl-C does what it does on a terminal. A shell's background job (``cmd &``
    without job control, as a CI script may start the tests) ignores SIGINT, and an ignored signal stays
    ignored across exec, so the sweep would never see the interrupt."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.parametrize("workers", ["1", "2"])
def test_c11_ctrl_c_prints_one_line_and_exits_130(tmp_path, workers):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps({"base": {"width": 32, "length": 6, "n_train": 96, "n_test": 64, "epochs": 30,
                                         "batch_size": 8}, "grid": {"seed": list(range(40))}}))
    cache = tmp_path / "cache"
    proc = subprocess.Popen([sys.executable, "-m", "rnnlib", "sweep", str(spec), "--cache", str(cache),
                             "--workers", workers], env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, preexec_fn=_default_sigint)
    try:
        deadline = time.time() + 120
        while len(list(cache.glob("*.json"))) < 2 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, "the sweep ended before the interrupt"
        os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C on a terminal: the whole process group
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130
    lines = [ln for ln in err.splitlines() if not ln.startswith("sweep: ")]  # progress lines of a log
    n = len(list(cache.glob("*.json")))
    assert lines == [f"interrupted; {n} points cached; rerun to resume"], err[-2000:]


def test_c11_progress_in_a_log_has_no_carriage_returns(tmp_path):
    spec = tmp_path / "s.json"
    spec.write_text(json.dumps(TINY_SPEC))
    proc = _cli("sweep", str(spec), "--no-cache")
    assert proc.returncode == 0
    assert "\r" not in proc.stderr and "sweep: 2/2 done" in proc.stderr


# -- 12. smaller ones -----------------------------------------------------------------------------------------

def test_c12_cache_helpers_are_reachable_by_the_names_the_readme_gives(tmp_path):
    assert rnnlib.cache.cache_status([TINY], tmp_path) == [False]
    assert len(rnnlib.cache.code_digest()) == 16
    assert callable(rnnlib.engine.run_many)


@pytest.mark.parametrize("kwargs", [{"progress": "no"}, {"progress": "false"}])
def test_c12_string_booleans_are_refused(kwargs):
    with pytest.raises(TypeError, match="progress must be True or False"):
        run_sweep([TINY], cache_dir=False, **kwargs)
    with pytest.raises(TypeError, match="progress must be True or False"):
        rnnlib.run_experiment(TINY, **kwargs)


def test_c12_complex_inputs_are_refused():
    x = np.ones((2, 3, 4)) * (1 + 1j)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: a ComplexWarning and the imaginary part dropped
        with pytest.raises(TypeError, match="real numbers"):
            rnnlib.embed(x, 0.3)
        model = rnnlib.ElmanRNN(5, 8)
        with pytest.raises(TypeError, match="real numbers"):
            model.forward(np.ones((2, 3, 5)) * (1 + 2j))
        with pytest.raises(TypeError, match="real numbers"):
            model.forward(torch.ones(2, 3, 5, dtype=torch.complex64))
