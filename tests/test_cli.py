"""``python -m rnnlib run`` and ``python -m rnnlib sweep``: success and error paths."""
from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import rnnlib
from rnnlib.cli import EXIT_FAILED, EXIT_USAGE, main

REPO = Path(__file__).resolve().parent.parent
TINY_OPTS = ["--width", "16", "--length", "4", "--n-train", "48", "--n-test", "40", "--epochs", "2",
             "--batch-size", "16"]
TINY = rnnlib.ExperimentConfig(width=16, length=4, n_train=48, n_test=40, epochs=2, batch_size=16)


def _python_m(*args, cwd=None):
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "rnnlib", *args], capture_output=True, text=True,
                          env=env, cwd=cwd, timeout=600)


def test_run_prints_the_result_as_json_in_a_subprocess():
    proc = _python_m("run", *TINY_OPTS, "--seed", "3", "--eps-x", "0.25", "--no-include-current")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    cfg = TINY.replace(seed=3, eps_x=0.25, include_current=False)
    assert out["config"] == cfg.to_dict()
    # the same numbers as the library in this process: determinism across processes
    ref = rnnlib.run_experiment(cfg)
    assert out["test_mse"] == ref.test_mse and out["w_displacement"] == ref.w_displacement


def test_run_options_cover_every_config_field(capsys):
    assert main(["run", *TINY_OPTS, "--phi", "z^2", "--trained", "WA", "--labels", "all", "--lr", "0.05",
                 "--average", "0.5", "--no-history", "--indent", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"]["phi"] == "z^2" and out["config"]["trained"] == "WA" and out["config"]["lr"] == 0.05
    assert "history" not in out
    assert main(["run", "--help"]) == 0
    helptext = capsys.readouterr().out
    for f in [x.name for x in dataclasses.fields(rnnlib.ExperimentConfig)]:
        assert "--" + f.replace("_", "-") in helptext


def test_run_with_cache(tmp_path, capsys):
    assert main(["run", *TINY_OPTS, "--cache", str(tmp_path)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert len(list(tmp_path.glob("*.json"))) == 1
    assert main(["run", *TINY_OPTS, "--cache", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out) == first


@pytest.mark.parametrize("args, match", [
    (["run", "--width", "-3"], "width must be an integer >= 1, got -3"),
    (["run", "--width", "abc"], "invalid int value: 'abc'"),
    (["run", "--bogus", "1"], "unrecognized arguments: --bogus"),
    (["run", "--trained", "X"], "invalid choice: 'X'"),
    (["run", "--phi", "sinh(z)"], "sinh"),
    (["run", "--eps-x", "nan"], "eps_x must be finite"),
    (["run", "--n-test", "1"], "n_test must be an integer >= 2"),
    (["run", "--average", "2"], "average must be a fraction"),
    (["run", "--indent", "-1"], "--indent must be >= 0"),
    ([], "the following arguments are required"),
    (["train"], "invalid choice: 'train'"),
])
def test_run_usage_errors(args, match, capsys):
    assert main(args) == EXIT_USAGE
    err = capsys.readouterr().err
    assert match in err


def test_run_failing_experiment_exits_1(capsys):
    assert main(["run", *TINY_OPTS, "--lr", "1e6"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "diverged" in err and "lr=1e+06" in err


def _write_spec(path: Path, spec) -> Path:
    path.write_text(spec if isinstance(spec, str) else json.dumps(spec))
    return path


def test_sweep_writes_csv_and_resumes_from_cache(tmp_path):
    spec = _write_spec(tmp_path / "spec.json", {
        "base": {k: v for k, v in TINY.to_dict().items() if v is not None},
        "grid": {"seed": [0, 1], "length": [3, 4]}})
    cache = tmp_path / "cache"
    proc = _python_m("sweep", str(spec), "--cache", str(cache), "--workers", "2")
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "spec.csv"
    rows = list(csv.DictReader(out.open()))
    assert [(int(r["seed"]), int(r["length"])) for r in rows] == [(0, 3), (0, 4), (1, 3), (1, 4)]
    assert "wrote 4 results" in proc.stderr
    assert len(list(cache.glob("*.json"))) == 4
    ref = rnnlib.run_experiment(TINY.replace(seed=1, length=4))
    assert float(rows[3]["test_mse"]) == pytest.approx(ref.test_mse, rel=0, abs=1e-15)
    # rerun (in this process: a second python -m rnnlib would only add a torch import): everything from
    # the cache, same CSV
    first = out.read_text()
    assert main(["sweep", str(spec), "--cache", str(cache), "--no-progress", "-o", str(tmp_path / "b.csv")]) == 0
    assert (tmp_path / "b.csv").read_text() == first


def test_sweep_in_process_uses_cache(tmp_path, monkeypatch, capsys):
    spec = _write_spec(tmp_path / "s.json", {"base": {"width": 16, "length": 4, "n_train": 48, "n_test": 40,
                                                       "epochs": 2, "batch_size": 16},
                                              "configs": [{"seed": 0}, {"seed": 1}]})
    assert main(["sweep", str(spec), "--cache", str(tmp_path / "c"), "--no-progress"]) == 0
    calls = []
    module = sys.modules["rnnlib.experiment"]
    real = module.run_experiment
    monkeypatch.setattr(module, "run_experiment", lambda cfg, **kw: calls.append(cfg) or real(cfg, **kw))
    assert main(["sweep", str(spec), "--cache", str(tmp_path / "c"), "--no-progress"]) == 0
    assert calls == []
    assert main(["sweep", str(spec), "--no-cache", "--no-progress", "-o", str(tmp_path / "n.csv")]) == 0
    assert len(calls) == 2


@pytest.mark.parametrize("spec, match", [
    ("{not json", "not valid JSON"),
    ({"grid": {"length": [3]}, "sizes": [1]}, "unknown key(s) ['sizes']"),
    ({"grid": {"length": 5}}, "grid['length'] must be a non-empty list"),
    ({"grid": {"width": [0]}}, "width must be an integer >= 1, got 0"),
    ({"base": {"colour": "red"}}, "unknown config field(s) ['colour']"),
    ([{"length": 3}], "must be a JSON object"),
])
def test_sweep_bad_spec_exits_2_with_message(tmp_path, spec, match, capsys):
    path = _write_spec(tmp_path / "bad.json", spec)
    assert main(["sweep", str(path), "--no-progress", "--no-cache"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert match in err and "bad.json" in err
    assert not (tmp_path / "bad.csv").exists()


@pytest.mark.parametrize("extra, match", [
    (["--workers", "0"], "--workers must be an integer >= 1, got 0"),
    (["--workers", "two"], "invalid int value: 'two'"),
    (["--cache", "FILE"], "--cache must be a directory"),
    (["--cache", "DIR", "--no-cache"], "exclude each other"),
    (["-o", "DIR"], "--output must be a file path"),
])
def test_sweep_bad_options_exit_2(tmp_path, extra, match, capsys):
    spec = _write_spec(tmp_path / "s.json", {"base": {"width": 16}})
    (tmp_path / "FILE").write_text("x")
    (tmp_path / "DIR").mkdir()
    extra = [str(tmp_path / e) if e in ("FILE", "DIR") else e for e in extra]
    assert main(["sweep", str(spec), *extra]) == EXIT_USAGE
    assert match in capsys.readouterr().err


def test_sweep_missing_spec_in_subprocess(tmp_path):
    proc = _python_m("sweep", str(tmp_path / "nope.json"))
    assert proc.returncode == EXIT_USAGE
    assert "no such file" in proc.stderr and "Traceback" not in proc.stderr


def test_sweep_failing_point_exits_1(tmp_path, capsys):
    spec = _write_spec(tmp_path / "s.json", {"base": {"width": 16, "length": 4, "n_train": 48, "n_test": 40,
                                                       "epochs": 2, "batch_size": 16},
                                              "configs": [{"seed": 0}, {"lr": 1e6}]})
    assert main(["sweep", str(spec), "--cache", str(tmp_path / "c"), "--no-progress"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "diverged" in err and "rerun to resume" in err
    assert len(list((tmp_path / "c").glob("*.json"))) == 1
