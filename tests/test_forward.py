import numpy as np
import pytest
import torch

import rnnlib
from rnnlib._linalg import spectral_norm


def test_hidden_norms_match_the_float32_states():
    model = rnnlib.ElmanRNN(9, 128, seed=0)
    x = rnnlib.embed(rnnlib.sample_tokens(5, 12, 8, seed=0), 0.3)
    ref = model.hidden_states(x).norm(dim=-1).double().numpy()
    got = rnnlib.hidden_norms(model, x)
    assert got.shape == (5, 12) and got.dtype == np.float64
    assert np.allclose(got, ref, rtol=1e-5)
    W2 = 0.5 * model.W
    assert np.allclose(rnnlib.hidden_norms(model, x, W=W2), model.hidden_states(x, W2).norm(dim=-1).numpy(), rtol=1e-5)


def test_he_initialization_preserves_the_norm_in_expectation():
    # theory versus simulation (paper.md 5.1): E ||relu(W h + A x)||^2 = ||h||^2 + ||x||^2 over a fresh
    # initialization; at step 2, h_1 = relu(A e_dx) is independent of W and of A's data columns
    x = rnnlib.embed(rnnlib.sample_tokens(4, 2, 8, seed=0), 0.3)
    ratios = []
    for seed in range(40):
        model = rnnlib.ElmanRNN(9, 256, seed=seed)
        h = model.hidden_states(x).double()
        expected = h[:, 0].pow(2).sum(-1) + torch.as_tensor(x[:, 1]).double().pow(2).sum(-1)
        ratios.append((h[:, 1].pow(2).sum(-1) / expected).mean().item())
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.03)


def test_forward_stability_and_its_growth_rate():
    res = rnnlib.forward_stability(256, 30, seeds=[0, 1, 2], n=4)
    assert res.norms.shape == (3, 4, 30) and res.typical.shape == (3, 30)
    assert np.allclose(res.spectral, 2 * np.sqrt(2), atol=0.2)
    assert np.all(res.row_sum > 10)  # ||W^T||_1 ~ 1.13 sqrt(m) = 18
    rate = res.growth_rate()
    manual = (np.log10(res.typical[:, -1]) - np.log10(res.typical[:, 0])) / 29
    assert np.allclose(rate, manual)
    # at L = 30 <= 2 sqrt(m) the norms stay of order one, far below ||W||_2^l
    assert res.norms.min() > 0.3 and res.norms.max() < 5


def test_spectral_norm_agrees_with_the_svd():
    gen = torch.Generator().manual_seed(0)
    for M in (torch.randn(300, 300, generator=gen) / 10, torch.randn(200, 40, generator=gen) @ torch.randn(40, 250, generator=gen),
              torch.randn(5, 7, generator=gen)):
        ref = float(torch.linalg.matrix_norm(M.double(), ord=2))
        assert spectral_norm(M) == pytest.approx(ref, rel=1e-6)
    assert spectral_norm(torch.zeros(50, 50)) == 0.0


def test_bad_input():
    model = rnnlib.ElmanRNN(9, 16)
    with pytest.raises(TypeError, match="model"):
        rnnlib.hidden_norms(None, np.zeros((1, 2, 9)))
    with pytest.raises(ValueError, match="W must have shape"):
        rnnlib.hidden_norms(model, np.zeros((1, 2, 9)), W=torch.zeros(4, 4))
    with pytest.raises(ValueError, match="width must be an integer >= 1"):
        rnnlib.forward_stability(0, 10)
    with pytest.raises(ValueError, match="seeds must list"):
        rnnlib.forward_stability(16, 10, seeds=[])
    with pytest.raises(ValueError, match="length must be an integer >= 2"):
        rnnlib.forward_stability(16, 1)
    with pytest.raises(ValueError, match="M must be a matrix"):
        spectral_norm(torch.zeros(3))
