import numpy as np
import torch

import rnnlib


def _inputs(n=8, L=12, t=7, eps=0.3, seed=0):
    return rnnlib.embed(rnnlib.sample_tokens(n, L, t, seed=seed), eps)


def test_forward_matches_torch_nn_rnn_with_the_same_weights():
    model = rnnlib.ElmanRNN(8, 64, output_dim=2, seed=3)
    x = _inputs()
    ref = torch.nn.RNN(8, 64, nonlinearity="relu", bias=False, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(model.A)
        ref.weight_hh_l0.copy_(model.W)
        h_ref, _ = ref(torch.as_tensor(x))
    h = model.hidden_states(x)
    torch.testing.assert_close(h, h_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.forward(x), h_ref @ model.B.T, rtol=1e-5, atol=1e-6)


def test_initialization_variances_and_dtypes():
    m = 1024
    model = rnnlib.ElmanRNN(9, m, output_dim=2, seed=0)
    assert model.W.dtype == torch.float32 and model.W.shape == (m, m)
    assert model.A.shape == (m, 9) and model.B.shape == (2, m)
    assert abs(model.W.var().item() * m / 2 - 1) < 0.01
    assert abs(model.A.var().item() * m / 2 - 1) < 0.1
    assert abs(model.B.var().item() * 2 - 1) < 0.1
    pg = rnnlib.ElmanRNN(9, m, output_dim=2, seed=0, b_var=1.0)
    assert abs(pg.B.var().item() - 1) < 0.1


def test_hidden_norms_stay_moderate_while_the_norm_product_explodes():
    # paper.md 5.1 expects ||h_l|| ~ 1 although ||W||_2 ~ 2 sqrt(2).  Measured: at m = 512 the
    # typical (median over seeds) max_l<=100 ||h_l|| stays in a band, but with one W reused at
    # every step the log-norm drifts by O(l / sqrt(m)), so single seeds can reach 10^3 at L = 100.
    # Either way the norms stay astronomically below the Lipschitz product ||W||_2^l ~ 10^45.
    x = _inputs(n=16, L=100, t=8, eps=0.3, seed=2)
    peaks, lows = [], []
    for seed in range(8):
        model = rnnlib.ElmanRNN(9, 512, seed=seed)
        norms = model.hidden_states(x).norm(dim=-1)
        peaks.append(norms.max().item())
        lows.append(norms.min().item())
        spec = torch.linalg.matrix_norm(model.W, ord=2).item()
        assert abs(spec - 2 * np.sqrt(2)) < 0.15
        assert np.log10(peaks[-1]) < 0.15 * 100 * np.log10(spec)
    assert min(lows) > 0.5
    assert 0.5 < np.median(peaks) < 4.0


def test_hidden_norm_drift_shrinks_with_width():
    x = _inputs(n=4, L=40, t=8, eps=0.3, seed=2)
    spread = {}
    for m in (128, 2048):
        logs = [np.log(rnnlib.ElmanRNN(9, m, seed=s).hidden_states(x).norm(dim=-1).max().item())
                for s in range(12)]
        spread[m] = np.std(logs)
    assert spread[2048] < 0.75 * spread[128]


def test_activation_patterns_match_the_preactivations():
    model = rnnlib.ElmanRNN(8, 32, seed=0)
    x = _inputs(n=3, L=5)
    D = model.activation_patterns(x)
    h = model.hidden_states(x)
    assert D.dtype == torch.bool and D.shape == (3, 5, 32)
    assert torch.all(h[~D] == 0)


def test_override_W_and_copy_are_independent():
    model = rnnlib.ElmanRNN(8, 32, seed=0)
    x = _inputs(n=2, L=4)
    twin = model.copy()
    twin.W += 0.1
    assert not torch.allclose(model.forward(x), twin.forward(x))
    torch.testing.assert_close(model.forward(x, W=twin.W), twin.forward(x))


def test_same_seed_same_weights():
    a, b = rnnlib.ElmanRNN(5, 16, seed=7), rnnlib.ElmanRNN(5, 16, seed=7)
    assert torch.equal(a.W, b.W) and torch.equal(a.A, b.A) and torch.equal(a.B, b.B)
    assert not torch.equal(a.W, rnnlib.ElmanRNN(5, 16, seed=8).W)
