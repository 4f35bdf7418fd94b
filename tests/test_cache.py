"""The cache (rnnlib.cache) and the engine's keys: code digests, round trips, canonical configs.

The digest test edits a copy of the package in a temporary directory and checks the keys an SGD
run gets there: a docstring or comment edit anywhere changes no key; a code edit in a module an
SGD run does not import changes no key; a code edit in the training loop changes it.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rnnlib
from rnnlib import ExperimentConfig
from rnnlib.cache import Cache, CacheWarning, code_digest, module_closure, payload_digest
from rnnlib.engine import kind_key, run_many

REPO = Path(__file__).resolve().parent.parent
TINY = ExperimentConfig(width=16, length=4, n_train=48, n_test=40, epochs=2, batch_size=16)

_KEY_SCRIPT = """
import json, rnnlib
from rnnlib.sweep import config_key
from rnnlib.generalization import trained_weight_norms
cfg = rnnlib.ExperimentConfig(width=16, length=4, n_train=48, n_test=40, epochs=2, batch_size=16)
print(json.dumps({"sgd": config_key(cfg), "norms": config_key(cfg, trained_weight_norms)}))
"""


def _keys(root: Path) -> dict:
    proc = subprocess.run([sys.executable, "-c", _KEY_SCRIPT], capture_output=True, text=True, cwd=root,
                          env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"}, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def test_docstring_and_comment_edits_change_no_key_code_edits_do(tmp_path):
    root = tmp_path / "copy"
    shutil.copytree(REPO / "rnnlib", root / "rnnlib", ignore=shutil.ignore_patterns("__pycache__"))
    (root / "pyproject.toml").write_text("")  # a checkout: the default cache stays inside the copy
    before = _keys(root)  # keys computed in a fresh process on the copy
    pkg = root / "rnnlib"
    # a docstring edit in every module and a comment in the training loop: nothing changes
    for path in sorted(pkg.rglob("*.py")):
        text = path.read_text()
        if text.startswith('"""'):
            path.write_text('"""Edited. ' + text[3:])
    _edit(pkg / "training.py", "\nimport ", "\n# a new comment\nimport ")
    _edit(pkg / "training.py", '"""Mean over labelled outputs', '"""Edited: the mean over labelled outputs')
    _edit(pkg / "training.py", "def train_sgd(", "def _unused_helper():\n    \"\"\"doc only\"\"\"\n\n\ndef train_sgd(")
    after_docs = _keys(root)
    # the helper is code, so the SGD key changes with it; undo it to check the docstrings alone
    _edit(pkg / "training.py", "def _unused_helper():\n    \"\"\"doc only\"\"\"\n\n\n", "")
    assert _keys(root) == before, "a docstring or comment edit changed a key"
    assert after_docs["sgd"] != before["sgd"], "a new function in training.py must change the SGD key"
    # code in a module an SGD run does not import (bounds.py): the run keeps its key, the
    # trained_weight_norms measure (which imports bounds) gets a new one
    assert "bounds" not in module_closure("experiment", pkg)
    _edit(pkg / "bounds.py", "\nimport ", "\nUNRELATED = 1\nimport ")
    edited = _keys(root)
    assert edited["sgd"] == before["sgd"] and edited["norms"] != before["norms"]


def test_module_closure_and_digest_in_this_tree():
    closure = module_closure("experiment")
    assert {"experiment", "training", "rnn", "config"} <= set(closure)
    assert not {"bounds", "ledger", "widgets", "sweep", "cli"} & set(closure)
    assert code_digest("experiment") == code_digest("rnnlib.experiment")
    assert "bounds" in module_closure("generalization")


def test_weights_are_stored_and_measures_never_retrain(tmp_path, monkeypatch):
    from rnnlib.generalization import trained_weight_norms
    plain = rnnlib.sweep([TINY], cache_dir=tmp_path, progress=False)[0]
    key = kind_key(TINY)
    assert (tmp_path / f"{key}.npz").exists()
    calls = []
    real = sys.modules["rnnlib.experiment"].run_experiment
    monkeypatch.setattr(sys.modules["rnnlib.experiment"], "run_experiment",
                        lambda cfg, **kw: calls.append(cfg) or real(cfg, **kw))
    measured = rnnlib.sweep([TINY], cache_dir=tmp_path, progress=False, measure=trained_weight_norms)[0]
    assert calls == [], "the measure retrained a cached run"
    assert measured.test_mse == plain.test_mse and measured.extras["norm_width"] == TINY.width
    # the same norms as measuring the freshly trained model
    fresh = rnnlib.run_experiment(TINY, keep_model=True)
    assert measured.extras == trained_weight_norms(fresh)


def test_damaged_weights_are_recomputed(tmp_path):
    from rnnlib.generalization import trained_weight_norms
    rnnlib.sweep([TINY], cache_dir=tmp_path, progress=False)
    npz = tmp_path / f"{kind_key(TINY)}.npz"
    npz.write_bytes(npz.read_bytes()[:-20] + b"\0" * 20)
    with pytest.warns(CacheWarning, match="arrays"):
        res = rnnlib.sweep([TINY], cache_dir=tmp_path, progress=False, measure=trained_weight_norms)[0]
    assert res.extras["norm_width"] == TINY.width


def test_run_many_mixes_kinds_and_rejects_non_kinds(tmp_path):
    from rnnlib.sweep import measured
    from rnnlib.generalization import trained_weight_norms
    out = run_many([measured(TINY, trained_weight_norms), TINY], cache_dir=tmp_path, progress=False)
    assert out[0].values["norm_width"] == 16 and out[1].config == TINY
    with pytest.raises(TypeError, match=r"configs\[0\] must be a kind config"):
        run_many([{"width": 3}], cache_dir=False, progress=False)


# -- property tests (hypothesis): canonical configs and cache round trips --------------------------------------

_FLOATS = st.floats(min_value=0.05, max_value=5, allow_nan=False)


@settings(max_examples=60, deadline=None, database=None)
@given(width=st.integers(1, 4096), eps_x=_FLOATS, seed=st.integers(0, 2 ** 31),
       as_numpy=st.booleans(), phi=st.sampled_from(["z^2", "square", " z^2 ", "sin(3z)", "sin(3.0z)", " sin(3z)",
                                                    "cos(2z)-1", "z", "identity"]))
def test_equal_configs_have_equal_keys(width, eps_x, seed, as_numpy, phi):
    cfg = ExperimentConfig(width=width, eps_x=eps_x, seed=seed, phi=phi)
    other = ExperimentConfig(width=np.int64(width) if as_numpy else width,
                             eps_x=np.float64(eps_x) if as_numpy else eps_x,
                             seed=np.uint32(seed) if as_numpy else seed, phi=phi.strip())
    assert cfg == other and kind_key(cfg) == kind_key(other)
    # canonical: a round trip through JSON is the same config
    back = ExperimentConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert back == cfg and kind_key(back) == kind_key(cfg)
    assert ExperimentConfig(phi=cfg.phi) == ExperimentConfig(phi=phi)  # the canonical name parses to itself


@settings(max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
                            | st.text(max_size=8),
                            lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=5), c, max_size=4),
                            max_leaves=20),
       with_arrays=st.booleans())
def test_cache_round_trip(tmp_path, payload, with_arrays):
    cache = Cache(tmp_path)
    key = payload_digest({"p": payload})
    arrays = {"W": np.arange(6, dtype=np.float32).reshape(2, 3)} if with_arrays else None
    cache.store(key, "toy", {"p": payload}, arrays)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fresh = Cache(tmp_path)
        assert fresh.load(key, "toy") == {"p": payload}
        got = fresh.load_arrays(key)
    if with_arrays:
        assert got["W"].dtype == np.float32 and np.array_equal(got["W"], arrays["W"])
    else:
        assert got is None
    with pytest.warns(CacheWarning, match="another config, kind"):
        assert Cache(tmp_path).load(key, "other kind") is None
