"""No interference between positions (E14)."""
import numpy as np
import pytest

import rnnlib
from rnnlib.interference import change_pair, interference


def test_change_pair_changes_only_that_pair():
    c = rnnlib.AdditiveConcept(6, 8, labels="all", seed=0)
    d = change_pair(c, (3, 5), seed=1)
    xs = rnnlib.sample_tokens(500, 6, 8, seed=0)
    diff = np.abs(d(xs) - c(xs))[..., 0].max(axis=0)
    assert diff[4] > 0.05 and np.all(np.delete(diff, 4) == 0)


def test_changed_pair_moves_its_output_most():
    cfg = rnnlib.ExperimentConfig(length=6, width=64, n_train=300, n_test=200, epochs=10, labels="all",
                                  lr_scale=0.3)
    r = interference(cfg, (3, 5))
    assert r.target_change[r.positions == 5][0] > 0.3
    assert np.all(r.target_change[r.positions != 5] == 0)
    assert r.moved_at_target > 2 * r.moved_elsewhere
    assert 0 < r.ratio < 1


def test_bad_input():
    cfg = rnnlib.ExperimentConfig(length=6, width=16, n_train=20, n_test=10, epochs=1, labels="all")
    with pytest.raises(ValueError, match="labels"):
        interference(cfg.replace(labels="last"))
    with pytest.raises(ValueError, match="pair"):
        interference(cfg, (5, 3))
    with pytest.raises(ValueError, match="pair"):
        change_pair(rnnlib.AdditiveConcept(6, 8, labels="all"), (1, 4))
