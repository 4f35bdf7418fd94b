import numpy as np
import pytest
import torch

import rnnlib


def _tokens(n, L=10, seed=0):
    return rnnlib.sample_tokens(n, L, 8, seed=seed)


def test_flip_fraction_counts_differences():
    a = torch.zeros(2, 3, 4, dtype=torch.bool)
    b = a.clone()
    assert rnnlib.flip_fraction(a, b) == 0.0
    assert rnnlib.flip_fraction(a, ~a) == 1.0
    b[:, 1, :2] = True
    assert rnnlib.flip_fraction(a, b) == pytest.approx(1 / 6)
    assert np.allclose(rnnlib.flip_fraction(a, b, per_step=True), [0.0, 0.5, 0.0])
    assert rnnlib.flip_fraction(np.asarray(a), np.asarray(b)) == pytest.approx(1 / 6)


def test_pattern_flips_between_inputs_and_between_weights():
    model = rnnlib.ElmanRNN(9, 64, seed=0)
    x = rnnlib.embed(_tokens(8), 0.3)
    assert rnnlib.pattern_flips(model, x) == 0.0
    assert rnnlib.pattern_flips(model, x, W_other=model.W.clone()) == 0.0
    x2 = rnnlib.embed(_tokens(8, seed=1), 0.3)
    per_step = rnnlib.pattern_flips(model, x, x2, per_step=True)
    assert per_step.shape == (10,) and per_step[0] == 0.0 and per_step[1:].min() > 0
    W2 = model.W + 0.05 * torch.randn(64, 64, generator=torch.Generator().manual_seed(1))
    moved = rnnlib.pattern_flips(model, x, W_other=W2)
    manual = (model.activation_patterns(x) != model.activation_patterns(x, W2)).float().mean().item()
    assert moved == pytest.approx(manual) and moved > 0


def test_input_free_trajectory_shares_the_start_step():
    model = rnnlib.ElmanRNN(9, 128, seed=2)
    flips = rnnlib.perturbed_token_flips(model, _tokens(4), None, 0.3)
    assert flips[0] == 0.0 and flips[1:].max() < 0.5


def test_sheppard_formula():
    p = rnnlib.sheppard_flip_probability([1.0, 0.0, -1.0, 0.5])
    assert np.allclose(p, [0.0, 0.5, 1.0, 1 / 3])
    rng = np.random.default_rng(0)
    rho = 0.8
    z = rng.standard_normal((200_000, 2))
    a, b = z[:, 0], rho * z[:, 0] + np.sqrt(1 - rho ** 2) * z[:, 1]
    assert np.mean(np.sign(a) != np.sign(b)) == pytest.approx(float(rnnlib.sheppard_flip_probability(rho)), abs=0.004)


def test_measured_flips_match_the_gaussian_prediction():
    # theory versus simulation: at step 2 the pre-activations of a neuron under two inputs are exactly
    # jointly Gaussian over the initialization, flipping with probability arccos(rho) / pi; later steps
    # reuse W and the prediction is an approximation (measured within a few percent)
    xa, xb = _tokens(32, seed=1), _tokens(32, seed=2)
    step2, step2_pred, mean, mean_pred = [], [], [], []
    for seed in range(3):
        model = rnnlib.ElmanRNN(9, 2048, seed=seed)
        flips = rnnlib.perturbed_token_flips(model, xa, xb, 0.3)
        pred = rnnlib.predicted_flips(model, rnnlib.embed(xa, 0.3), rnnlib.embed(xb, 0.3))
        step2.append(flips[1]), step2_pred.append(pred[1])
        mean.append(flips[1:].mean()), mean_pred.append(pred[1:].mean())
    assert np.mean(step2) == pytest.approx(np.mean(step2_pred), rel=0.1)
    assert np.mean(mean) == pytest.approx(np.mean(mean_pred), rel=0.05)


def test_flips_grow_linearly_with_eps_x():
    model = rnnlib.ElmanRNN(9, 512, seed=0)
    eps = [0.01, 0.02, 0.04, 0.3, 1.0]
    flips = rnnlib.flips_versus_eps_x(model, _tokens(32, seed=1), _tokens(32, seed=2), eps)[:, 1:].mean(axis=1)
    assert np.all(np.diff(flips) > 0)
    assert 1.5 < flips[1] / flips[0] < 2.5 and 1.5 < flips[2] / flips[1] < 2.5
    assert flips[0] < 0.02


def test_bad_input():
    model = rnnlib.ElmanRNN(9, 16)
    x = rnnlib.embed(_tokens(2, L=4), 0.3)
    with pytest.raises(TypeError, match="boolean"):
        rnnlib.flip_fraction(torch.zeros(1, 2, 3), torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="same shape"):
        rnnlib.flip_fraction(torch.zeros(1, 2, 3, dtype=torch.bool), torch.zeros(1, 2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match="x_other must have the shape of x"):
        rnnlib.pattern_flips(model, x, x[:1])
    with pytest.raises(ValueError, match="W_other must have shape"):
        rnnlib.pattern_flips(model, x, W_other=torch.zeros(3, 3))
    with pytest.raises(TypeError, match="model"):
        rnnlib.pattern_flips("rnn", x)
    with pytest.raises(ValueError, match="eps_x must be > 0"):
        rnnlib.perturbed_token_flips(model, _tokens(2, L=4), None, 0.0)
    with pytest.raises(ValueError, match="eps_values must list"):
        rnnlib.flips_versus_eps_x(model, _tokens(2, L=4), None, [])
    with pytest.raises(ValueError, match="x_other must have the shape"):
        rnnlib.predicted_flips(model, x, x[:, :2])
