"""The constructed W* (paper.md 5.4)."""
import numpy as np
import pytest

import rnnlib
from rnnlib.existence import ExistenceSetup, SinglePositionTarget


def _setup(m, seed=0, position=6):
    model = rnnlib.ElmanRNN(9, m, seed=seed)
    xd = rnnlib.sample_tokens(128, 6, 8, seed=1)
    xt = rnnlib.sample_tokens(200, 6, 8, seed=2)
    return ExistenceSetup(model, position, xd, xt, eps_x=0.3, output_scale=0.3)


def test_error_falls_with_width():
    target = SinglePositionTarget(6, 8, 6, "z", seed=0)
    errs = []
    for m in (128, 2048):
        per_seed = []
        for seed in range(3):
            st = _setup(m, seed)
            per_seed.append(st.evaluate(st.construct(target), target)["pseudo_error"])
        errs.append(np.median(per_seed))
    assert errs[1] < 0.5 * errs[0]


def test_rank_two_evaluation_matches_dense_pseudo_network():
    st = _setup(64, position=4)
    target = SinglePositionTarget(6, 8, 4, "sin(3z)", seed=0)
    ws = st.construct(target)
    out = st.evaluate(ws, target)
    dense = rnnlib.ntk.pseudo_network_output(st.U_test, st.P_test, ws.matrix).double().numpy()
    np.testing.assert_allclose(out["pseudo"], dense, rtol=1e-3, atol=1e-3 * np.abs(dense).max())
    # the offset correction cancels the mean error on the design inputs
    design = st._rank_one(st.U_design, st.P_design, ws.v, ws.q).sum(1) + \
        ws.kappa * st._rank_one(st.U_design, st.P_design, ws.b, ws.q_c).sum(1)
    assert abs(design.mean() - target(st.x_star_design).mean()) < 1e-6


def test_true_rnn_change_is_reported():
    st = _setup(64)
    target = SinglePositionTarget(6, 8, 6, "z", seed=0)
    out = st.evaluate(st.construct(target), target, true_rnn=True)
    assert out["rnn_change"].shape == (200,) and np.isfinite(out["rnn_error"])


def test_bad_input():
    model = rnnlib.ElmanRNN(9, 16)
    xd = rnnlib.sample_tokens(8, 6, 8, seed=1)
    with pytest.raises(ValueError, match="position"):
        SinglePositionTarget(6, 8, 7)
    with pytest.raises(ValueError, match="position"):
        ExistenceSetup(model, 7, xd, xd, eps_x=0.3, output_scale=0.3)
    with pytest.raises(ValueError, match="eps_x"):
        ExistenceSetup(model, 3, xd, xd, eps_x=-1.0, output_scale=0.3)
    with pytest.raises(ValueError, match="x_star_design"):
        ExistenceSetup(model, 3, xd[:1], xd, eps_x=0.3, output_scale=0.3)
    st = ExistenceSetup(model, 3, xd, xd, eps_x=0.3, output_scale=0.3)
    with pytest.raises(ValueError, match="position"):
        st.construct(SinglePositionTarget(6, 8, 4))
    with pytest.raises(TypeError, match="target"):
        st.construct("z")
