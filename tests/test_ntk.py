"""The W-only NTK against explicit per-sample gradients from autograd (paper.md 5.3, E7)."""
import numpy as np
import pytest
import torch

import rnnlib
from rnnlib.ntk import gradient_factors, ntk_gram, pseudo_network_output


def _autograd_gradients(model, x, output_scale, position):
    """d(lambda B h_j)/dW for every sample, flattened: (n, m*m)."""
    X = torch.as_tensor(x)
    grads = []
    for n in range(X.shape[0]):
        W = model.W.clone().requires_grad_(True)
        h = torch.zeros(model.width)
        for t in range(position):
            h = torch.relu(W @ h + model.A @ X[n, t])
        y = output_scale * (model.B @ h)[0]
        (g,) = torch.autograd.grad(y, W)
        grads.append(g.flatten().double())
    return torch.stack(grads)


@pytest.mark.parametrize("position", [-1, 4])
def test_gram_equals_gradient_inner_products(position):
    model = rnnlib.ElmanRNN(4, 24, seed=3)
    x = rnnlib.embed(rnnlib.sample_tokens(9, 6, 3, seed=0), 0.5)
    K = ntk_gram(model, x, output_scale=0.7, position=position, chunk=4)  # several blocks, one partial
    G = _autograd_gradients(model, x, 0.7, 6 if position == -1 else position)
    expected = (G @ G.T).numpy()
    np.testing.assert_allclose(K, expected, rtol=1e-4, atol=1e-4 * np.abs(expected).max())
    assert np.allclose(K, K.T)


def test_cross_kernel_matches_gram_rows_and_chunking():
    model = rnnlib.ElmanRNN(4, 16, seed=1)
    x = rnnlib.embed(rnnlib.sample_tokens(11, 5, 3, seed=2), 0.3)
    K = ntk_gram(model, x, output_scale=0.3, chunk=3)
    Kc = ntk_gram(model, x[:5], x, output_scale=0.3, chunk=2)
    np.testing.assert_allclose(Kc, K[:5], rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(ntk_gram(model, x, output_scale=0.3, chunk=100), K, rtol=1e-5, atol=1e-8)


def test_pseudo_network_is_the_gradient_contraction():
    # F(x; W') = <grad_W F(x), W'> for the W-only linearization
    model = rnnlib.ElmanRNN(4, 20, seed=0)
    x = rnnlib.embed(rnnlib.sample_tokens(5, 5, 3, seed=1), 0.3)
    Wp = torch.randn(20, 20, generator=torch.Generator().manual_seed(0))
    U, P = gradient_factors(model, x, output_scale=0.5)
    out = pseudo_network_output(U, P, Wp).double().numpy()
    G = _autograd_gradients(model, x, 0.5, 5)
    np.testing.assert_allclose(out, (G @ Wp.flatten().double()).numpy(), rtol=1e-4, atol=1e-5)
    # and it is the first-order change of the RNN output
    t = 1e-3
    change = 0.5 * (model.forward(x, model.W + t * Wp) - model.forward(x))[:, -1, 0].double().numpy() / t
    np.testing.assert_allclose(change, out, rtol=0.05, atol=0.05 * np.abs(out).max())


def test_kernel_scales_with_lambda_squared():
    model = rnnlib.ElmanRNN(4, 16, seed=0)
    x = rnnlib.embed(rnnlib.sample_tokens(4, 5, 3, seed=0), 0.3)
    np.testing.assert_allclose(ntk_gram(model, x, output_scale=0.2), 4 * ntk_gram(model, x, output_scale=0.1),
                               rtol=1e-5)


def test_bad_input():
    model = rnnlib.ElmanRNN(4, 8)
    x = rnnlib.embed(rnnlib.sample_tokens(3, 5, 3, seed=0), 0.3)
    with pytest.raises(ValueError, match="output_scale"):
        ntk_gram(model, x, output_scale=0.0)
    with pytest.raises(ValueError, match="x1"):
        ntk_gram(model, x[..., :3], output_scale=0.3)
    with pytest.raises(ValueError, match="x2"):
        ntk_gram(model, x, x[:, :4], output_scale=0.3)
    with pytest.raises(ValueError, match="position"):
        ntk_gram(model, x, output_scale=0.3, position=7)
    with pytest.raises(ValueError, match="position"):
        gradient_factors(model, x, output_scale=0.3, position=1)
    with pytest.raises(ValueError, match="chunk"):
        ntk_gram(model, x, output_scale=0.3, chunk=0)
    with pytest.raises(ValueError, match="output_dim"):
        gradient_factors(rnnlib.ElmanRNN(4, 8, output_dim=2), x, output_scale=0.3)
    with pytest.raises(TypeError, match="model"):
        ntk_gram("model", x, output_scale=0.3)


def test_factored_pseudo_network_matches_rnnlib_pseudo_network():
    # the factors u_i, h_{i-1} give the same pseudo-network as the forward-mode recursion of chapter 4
    model = rnnlib.ElmanRNN(4, 32, seed=2)
    x = rnnlib.embed(rnnlib.sample_tokens(6, 7, 3, seed=3), 0.3)
    Wp = 0.1 * torch.randn(32, 32, generator=torch.Generator().manual_seed(1))
    U, P = gradient_factors(model, x, output_scale=0.3)
    ours = pseudo_network_output(U, P, Wp).double().numpy()
    ref = 0.3 * rnnlib.pseudo_network(model, x, Wp, dtype=torch.float64)[:, -1, 0].numpy()
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-5)


def test_measure_ntk_cost_runs_the_bench_script_in_a_subprocess():
    from rnnlib.ntk import measure_ntk_cost
    out = measure_ntk_cost(n=12, length=3, width=16, chunk=5, threads=1, n_test=4, timeout=120)
    assert out["finite"] and out["threads"] == 1
    assert out["seconds_gram"] > 0 and out["seconds_cross"] > 0
    assert out["peak_rss_mb"] >= out["rss_before_mb"] > 0
    with pytest.raises(ValueError, match="width"):
        measure_ntk_cost(width=0)
