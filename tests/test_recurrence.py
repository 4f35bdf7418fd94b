"""The one ReLU recurrence (rnnlib.recurrence) against torch.nn.RNN and autograd (paper section 2)."""
import numpy as np
import pytest
import torch

import rnnlib
from rnnlib.recurrence import relu_recurrence, relu_step


def _weights(k=None, m=24, dx=5, dtype=torch.float64, seed=0):
    gen = torch.Generator().manual_seed(seed)
    shape = () if k is None else (k,)
    W = torch.randn(*shape, m, m, generator=gen, dtype=dtype) * (2 / m) ** 0.5
    A = torch.randn(*shape, m, dx, generator=gen, dtype=dtype) * (2 / m) ** 0.5
    return W, A


def _torch_rnn(W, A, x, h0=None):
    rnn = torch.nn.RNN(A.shape[1], W.shape[0], nonlinearity="relu", bias=False, batch_first=True,
                       dtype=W.dtype)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(W)
        rnn.weight_ih_l0.copy_(A)
        return rnn(x, None if h0 is None else h0[None])[0]


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_equals_torch_nn_rnn_in_both_dtypes(dtype, tol):
    W, A = _weights(dtype=dtype)
    x = torch.randn(7, 9, 5, dtype=dtype)
    h = relu_recurrence(W, A, x)
    assert h.dtype == dtype and h.shape == (7, 9, 24) and h.is_contiguous()
    torch.testing.assert_close(h, _torch_rnn(W, A, x), rtol=tol, atol=tol)


def test_initial_state_and_step_major_layout():
    W, A = _weights()
    x = torch.randn(4, 6, 5, dtype=torch.float64)
    h0 = torch.rand(4, 24, dtype=torch.float64)
    h = relu_recurrence(W, A, x, h0=h0)
    torch.testing.assert_close(h, _torch_rnn(W, A, x, h0), rtol=1e-12, atol=1e-12)
    hs = relu_recurrence(W, A, x, h0=h0, step_major=True)
    assert hs.shape == (6, 4, 24)
    torch.testing.assert_close(hs.transpose(0, 1), h, rtol=0, atol=0)


def test_ensemble_axis_equals_one_model_at_a_time_and_broadcasts():
    W, A = _weights(k=3)
    x = torch.randn(3, 5, 4, 5, dtype=torch.float64)
    h = relu_recurrence(W, A, x)
    assert h.shape == (3, 5, 4, 24)
    for j in range(3):
        torch.testing.assert_close(h[j], relu_recurrence(W[j], A[j], x[j]), rtol=1e-12, atol=1e-12)
    shared = relu_recurrence(W, A, x[0])  # one input set for every model
    for j in range(3):
        torch.testing.assert_close(shared[j], relu_recurrence(W[j], A[j], x[0]), rtol=1e-12, atol=1e-12)
    out = torch.empty(3, 4, 5, 24, dtype=torch.float64)
    hs = relu_recurrence(W, A, x, out=out, step_major=True)
    assert hs.data_ptr() == out.data_ptr()
    torch.testing.assert_close(hs.transpose(1, 2), h, rtol=0, atol=0)


def test_gradients_through_the_recurrence_equal_torch_autograd_of_nn_rnn():
    W, A = _weights()
    x = torch.randn(6, 5, 5, dtype=torch.float64)
    Wg = W.clone().requires_grad_(True)
    relu_recurrence(Wg, A, x)[:, -1].sum().backward()
    rnn = torch.nn.RNN(5, 24, nonlinearity="relu", bias=False, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_hh_l0.copy_(W)
        rnn.weight_ih_l0.copy_(A)
    rnn(x)[0][:, -1].sum().backward()
    torch.testing.assert_close(Wg.grad, rnn.weight_hh_l0.grad, rtol=1e-9, atol=1e-12)


def test_the_in_place_step_equals_the_functional_step():
    W, A = _weights(k=2)
    z = torch.randn(2, 3, 24, dtype=torch.float64)
    h = torch.rand(2, 3, 24, dtype=torch.float64)
    ref = relu_step(z, h, W.transpose(1, 2))
    z2 = z.clone()
    relu_step(z2, h, W.transpose(1, 2), inplace=True, tmp=torch.empty_like(z))
    torch.testing.assert_close(z2, ref, rtol=1e-14, atol=0)
    assert torch.equal(relu_step(z, None, W.transpose(1, 2)), torch.relu(z))


@pytest.mark.parametrize("name", ["W", "A", "x"])
@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_weights_or_inputs_are_refused(name, bad):
    W, A = _weights()
    args = {"W": W, "A": A, "x": torch.randn(2, 3, 5, dtype=torch.float64)}
    args[name] = args[name].clone()
    args[name].view(-1)[1] = bad
    with pytest.raises(ValueError, match=f"^{name} must contain only finite values"):
        relu_recurrence(**args)


def test_bad_shapes_and_dtypes_are_refused():
    W, A = _weights()
    x = torch.randn(2, 3, 5, dtype=torch.float64)
    with pytest.raises(TypeError, match="share one dtype"):
        relu_recurrence(W.float(), A, x)
    with pytest.raises(TypeError, match="x must be a torch tensor"):
        relu_recurrence(W, A, np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match="d_x"):
        relu_recurrence(W, A, torch.randn(2, 3, 4, dtype=torch.float64))
    with pytest.raises(ValueError, match="ensemble axes"):
        relu_recurrence(W.expand(2, 24, 24), A.expand(3, 24, 5), x)
    with pytest.raises(TypeError, match="float32 or float64"):
        relu_recurrence(W.half(), A.half(), x.half())


def test_a_model_with_a_nan_weight_refuses_the_forward_pass():
    model = rnnlib.ElmanRNN(5, 16, seed=0)
    x = rnnlib.embed(rnnlib.sample_tokens(3, 4, 4, seed=0))
    model.W[2, 3] = float("nan")
    for call in (model.forward, model.hidden_states, model.activation_patterns):
        with pytest.raises(ValueError, match="W must contain only finite values"):
            call(x)
    fine = rnnlib.ElmanRNN(5, 16, seed=0)
    with pytest.raises(ValueError, match="W must contain only finite values"):
        fine.forward(x, W=model.W)
    fine.B[0, 0] = float("inf")
    with pytest.raises(ValueError, match="B must contain only finite values"):
        fine.forward(x)
