import numpy as np
import pytest
import torch

import rnnlib


def _setup(m=64, L=6, n=6, seed=0):
    model = rnnlib.ElmanRNN(9, m, output_dim=2, seed=seed)
    x = rnnlib.embed(rnnlib.sample_tokens(n, L, 8, seed=seed + 1), 0.3)
    gen = torch.Generator().manual_seed(seed + 2)
    direction = torch.randn(m, m, generator=gen)
    return model, x, direction / direction.norm()


def test_recursion_equals_the_sum_over_backward_maps():
    # paper.md 5.3: F_j(x; W') = sum_{i<=j} Back_{i->j} D_i W' h_{i-1}
    model, x, U = _setup()
    rec = rnnlib.pseudo_network(model, x, U, dtype=torch.float64)
    maps = rnnlib.pseudo_network(model, x, U, method="back_maps", dtype=torch.float64)
    assert rec.shape == (6, 6, 2)
    torch.testing.assert_close(rec, maps, rtol=1e-5, atol=1e-6)


def test_equals_the_directional_derivative_of_the_rnn():
    model, x, U = _setup()
    xt = torch.as_tensor(x).double()
    A, B = model.A.double(), model.B.double()

    def outputs(W):
        h = torch.zeros(xt.shape[0], W.shape[0], dtype=torch.float64)
        ys = []
        for t in range(xt.shape[1]):
            h = torch.relu(h @ W.T + xt[:, t] @ A.T)
            ys.append(h @ B.T)
        return torch.stack(ys, 1)

    _, jvp = torch.autograd.functional.jvp(outputs, model.W.double(), U.double())
    pseudo = rnnlib.pseudo_network(model, x, U, dtype=torch.float64)
    torch.testing.assert_close(pseudo, jvp, rtol=1e-8, atol=1e-10)
    # and the finite change of the RNN for a tiny W'
    assert rnnlib.linearization_error(model, x, 1e-4 * U, dtype=torch.float64) < 1e-2


def test_linear_in_w_prime():
    model, x, U = _setup(seed=3)
    V = torch.randn(64, 64, generator=torch.Generator().manual_seed(9)) * 0.01
    f = lambda M: rnnlib.pseudo_network(model, x, M, dtype=torch.float64)  # noqa: E731
    # W' enters as float32, so the combination is exact only to float32 rounding
    torch.testing.assert_close(f(2.0 * U - 3.0 * V), 2.0 * f(U) - 3.0 * f(V), rtol=1e-6, atol=1e-7)
    assert torch.all(f(torch.zeros(64, 64)) == 0)


def test_error_grows_with_the_size_of_w_prime():
    model, x, U = _setup(m=256, L=8, n=16)
    errors = [rnnlib.linearization_error(model, x, tau * U, dtype=torch.float64) for tau in (0.01, 0.3, 3.0)]
    assert errors[0] < errors[1] < errors[2]
    assert errors[0] < 0.1 and errors[2] > 0.3


def test_error_shrinks_with_width_at_fixed_norm():
    # theory versus simulation (paper.md 5.3, E3): for a random direction with ||W'||_F = 1 the relative
    # error at the last position falls with m; single draws scatter (0.3-0.7 at m = 128), so average
    # four initializations.  Measured means: about 0.47 at m = 128 and 0.28 at m = 2048.
    mean_err = {}
    for m in (128, 2048):
        errs = []
        for seed in range(4):
            model, x, U = _setup(m=m, L=8, n=16, seed=seed)
            errs.append(rnnlib.linearization_error(model, x, U, positions=np.arange(8) == 7))
        mean_err[m] = np.mean(errs)
    assert mean_err[2048] < 0.8 * mean_err[128]


def test_tracker_follows_run_experiment():
    # the last iterate (average=0): the tracker follows the trajectory, not the tail average
    cfg = rnnlib.ExperimentConfig(width=48, n_train=64, n_test=300, epochs=4, eval_every=2, average=0.0)
    tracker = rnnlib.PseudoNetworkTracker.for_config(cfg, n_probe=256, every=2)
    assert torch.equal(tracker.model.W, rnnlib.initial_model(cfg).W)
    result = rnnlib.run_experiment(cfg, callback=tracker)
    assert tracker.epoch == [0, 2, 4]
    assert tracker.displacement_fro[0] == 0.0 and np.isnan(tracker.relative_error[0])
    assert np.isclose(tracker.displacement_fro[-1], result.w_displacement, rtol=1e-4)
    assert np.isclose(tracker.displacement_spectral[-1], result.w_displacement_spectral, rtol=1e-3)
    assert abs(tracker.pattern_flips[-1] - result.pattern_flips) < 1e-3
    assert tracker.true_output.shape == (256, 1, 1) == tracker.linearized_output.shape
    assert 0 < tracker.relative_error[-1] < 1
    # the recorded error is the linearization error of the final displacement, computed independently
    trained = rnnlib.run_experiment(cfg, keep_model=True).model
    initial = rnnlib.initial_model(cfg)
    probe = rnnlib.make_dataset(cfg).x_test[:256]
    independent = rnnlib.linearization_error(initial, probe, trained.W - initial.W,
                                             positions=np.arange(cfg.length) == cfg.length - 1,
                                             dtype=torch.float64)
    assert tracker.relative_error[-1] == pytest.approx(independent, rel=1e-3)
    d = tracker.to_dict()
    assert set(d) == {"epoch", "displacement_fro", "displacement_spectral", "pattern_flips", "relative_error"}


def test_same_run_with_and_without_tracker():
    cfg = rnnlib.ExperimentConfig(width=32, n_train=64, n_test=100, epochs=2)
    plain = rnnlib.run_experiment(cfg)
    tracked = rnnlib.run_experiment(cfg, callback=rnnlib.PseudoNetworkTracker.for_config(cfg))
    assert plain.test_mse == tracked.test_mse and plain.w_displacement == tracked.w_displacement


def test_bad_input():
    model, x, U = _setup(m=16, L=4, n=2)
    with pytest.raises(TypeError, match="model"):
        rnnlib.pseudo_network(None, x, U)
    with pytest.raises(ValueError, match="W_prime must have shape"):
        rnnlib.pseudo_network(model, x, torch.zeros(4, 4))
    with pytest.raises(ValueError, match="method must be one of"):
        rnnlib.pseudo_network(model, x, torch.zeros(16, 16), method="autograd")
    with pytest.raises(ValueError, match="dtype"):
        rnnlib.pseudo_network(model, x, torch.zeros(16, 16), dtype=torch.int64)
    with pytest.raises(ValueError, match="did not change"):
        rnnlib.linearization_error(model, x, torch.zeros(16, 16))
    with pytest.raises(ValueError, match="positions must be a boolean mask"):
        rnnlib.linearization_error(model, x, 0.1 * torch.ones(16, 16), positions=[True])
    with pytest.raises(ValueError, match="x must have last dimension"):
        rnnlib.pseudo_network(model, np.zeros((2, 4, 3)), torch.zeros(16, 16))
    with pytest.raises(TypeError, match="cfg must be an ExperimentConfig"):
        rnnlib.PseudoNetworkTracker.for_config({"width": 8})
    with pytest.raises(ValueError, match="labelled must be a boolean mask"):
        rnnlib.PseudoNetworkTracker(model, x, labelled=[True, False])
    tracker = rnnlib.PseudoNetworkTracker(model, x)
    with pytest.raises(TypeError, match="one model"):
        tracker(1, [model, model])
