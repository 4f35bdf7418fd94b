import numpy as np
import pytest
import torch

import rnnlib
from rnnlib.backward import coherence_matrix, distinct_pairs, mean_offdiagonal


def _inputs(n=3, L=6, t=8, eps=0.3, seed=0):
    return rnnlib.embed(rnnlib.sample_tokens(n, L, t, seed=seed), eps)


def _autograd_jacobians(model, x, where):
    """d y_j / d (perturbation added at step i), for every i, j and output s: (n, L_i, L_j, d, m)."""
    x = torch.as_tensor(x)
    n, L, _ = x.shape
    m, d = model.width, model.output_dim
    deltas = [torch.zeros(n, m, dtype=torch.float64, requires_grad=True) for _ in range(L)]
    W, A, B = model.W.double(), model.A.double(), model.B.double()
    h = torch.zeros(n, m, dtype=torch.float64)
    ys = []
    for t in range(L):
        z = h @ W.T + x[:, t].double() @ A.T
        if where == "pre":
            z = z + deltas[t]
        h = torch.relu(z)
        if where == "post":
            h = h + deltas[t]
        ys.append(h @ B.T)
    y = torch.stack(ys, 1)  # (n, L, d)
    jac = torch.zeros(n, L, L, d, m, dtype=torch.float64)
    for j in range(L):
        for s in range(d):
            grads = torch.autograd.grad(y[:, j, s].sum(), deltas, retain_graph=True, allow_unused=True)
            for i in range(j + 1):
                if grads[i] is not None:
                    jac[:, i, j, s] = grads[i]
    return jac


def test_back_maps_equal_autograd_jacobians_of_hidden_states():
    model = rnnlib.ElmanRNN(9, 32, output_dim=2, seed=1)
    x = _inputs()
    bm = rnnlib.backward_maps(model, x)
    ref = _autograd_jacobians(model, x, "post")
    torch.testing.assert_close(bm.maps.double(), ref, rtol=1e-4, atol=1e-5)


def test_back_maps_times_pattern_equal_jacobians_of_pre_activations():
    model = rnnlib.ElmanRNN(9, 48, output_dim=1, seed=2)
    x = _inputs(n=4, L=5)
    bm = rnnlib.backward_maps(model, x)
    D = (model.hidden_states(x) > 0).double()  # (n, L, m)
    ref = _autograd_jacobians(model, x, "pre")
    got = bm.maps.double() * D[:, :, None, None, :]
    torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-5)


def test_definition_back_ii_is_B_and_maps_vanish_for_i_after_j():
    model = rnnlib.ElmanRNN(9, 16, output_dim=2, seed=0)
    bm = rnnlib.backward_maps(model, _inputs(n=2, L=5))
    for i in range(1, 6):
        torch.testing.assert_close(bm.get(i, i), model.B.expand(2, -1, -1))
    assert torch.all(bm.maps[:, 3, 1] == 0)  # Back_{4->2} is not defined: stored as zero
    rel = bm.relative_norms()
    assert np.isnan(rel[:, 3, 1]).all() and np.allclose(rel[:, 2, 2], 1.0)
    # the explicit product for one pair
    W = model.W
    D = (model.hidden_states(_inputs(n=2, L=5)) > 0).float()
    manual = model.B @ torch.diag(D[0, 4]) @ W @ torch.diag(D[0, 3]) @ W
    torch.testing.assert_close(bm.get(3, 5)[0], manual, rtol=1e-5, atol=1e-6)


def test_a_subset_of_outputs_gives_the_same_maps():
    model = rnnlib.ElmanRNN(9, 24, seed=3)
    x = _inputs(n=3, L=7)
    full = rnnlib.backward_maps(model, x)
    part = rnnlib.backward_maps(model, x, outputs=[3, 7])
    assert part.maps.shape == (3, 7, 2, 1, 24) and part.outputs == (3, 7)
    torch.testing.assert_close(part.maps[:, :, 0], full.maps[:, :, 2])
    torch.testing.assert_close(part.maps[:, :, 1], full.maps[:, :, 6])
    again = rnnlib.backward_maps(model, x, outputs=7)
    torch.testing.assert_close(again.maps[:, :, 0], full.maps[:, :, 6])


def test_deterministic():
    model = rnnlib.ElmanRNN(9, 32, seed=5)
    x = _inputs()
    a = rnnlib.backward_maps(model, x).maps
    b = rnnlib.backward_maps(model.copy(), x).maps
    assert torch.equal(a, b)


def test_backward_stability_at_large_width():
    x = _inputs(n=8, L=10, seed=4)
    rel = rnnlib.backward_maps(rnnlib.ElmanRNN(9, 1024, seed=0), x).relative_norms()
    assert 0.85 < np.nanmedian(rel) < 1.15
    assert np.nanmax(rel) < 1.5 and np.nanmin(rel) > 0.5


def test_coherence_shrinks_like_inverse_sqrt_m():
    # theory versus simulation (paper.md 5.2): maps into the same output are nearly orthogonal,
    # |cos| ~ c / sqrt(m); measured c ~ 1.2-1.5 (sqrt(2 / (pi m / 2)) = 1.13 / sqrt(m) for independent
    # vectors with half of their coordinates zero)
    x = _inputs(n=8, L=10, seed=3)
    coh = {}
    for m in (128, 2048):
        bm = rnnlib.backward_maps(rnnlib.ElmanRNN(9, m, seed=0), x, outputs=10)
        coh[m] = mean_offdiagonal(bm.cos_matrix())
        assert 1 / 3 < coh[m] * np.sqrt(m) < 3, (m, coh[m])
    assert coh[2048] < coh[128]
    assert coh[128] / coh[2048] > 0.5 * np.sqrt(2048 / 128)


def test_maps_of_equal_length_stay_correlated():
    # measured, not predicted by the digest: Back_{i->j} and Back_{i+k->j+k} share W and overlapping
    # patterns, so their |cos| stays O(1) at every width while other pairs decorrelate
    x = _inputs(n=8, L=8, seed=3)
    c = rnnlib.backward_maps(rnnlib.ElmanRNN(9, 1024, seed=0), x).coherence()
    assert c["same_length"] > 0.2
    assert c["different_length"] < 3 / np.sqrt(1024)
    assert c["same_output"] < 3 / np.sqrt(1024)


def test_distinct_pairs_keep_one_copy_of_B():
    pairs = distinct_pairs([3, 5])
    assert (5, 5) in pairs and (3, 3) not in pairs and len(pairs) == 2 + 4 + 1
    by_length = distinct_pairs([5], order="length")
    assert [j - i for i, j in by_length] == sorted(j - i for i, j in by_length)


def test_coherence_matrix_of_known_vectors():
    v = torch.tensor([[[1.0, 0.0], [1.0, 1.0], [0.0, -2.0]]])
    cos = coherence_matrix(v)
    assert np.allclose(np.diag(cos), 1.0)
    assert np.isclose(cos[0, 1], 1 / np.sqrt(2)) and np.isclose(cos[0, 2], 0.0) and np.isclose(cos[1, 2], 1 / np.sqrt(2))
    assert np.isclose(mean_offdiagonal(cos), (2 / np.sqrt(2)) / 3)


def test_bad_input():
    model = rnnlib.ElmanRNN(9, 16)
    x = _inputs(n=2, L=4)
    with pytest.raises(TypeError, match="model"):
        rnnlib.backward_maps("model", x)
    with pytest.raises(ValueError, match="x must have last dimension 9"):
        rnnlib.backward_maps(model, np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match="outputs must list positions in 1..4"):
        rnnlib.backward_maps(model, x, outputs=[5])
    with pytest.raises(ValueError, match="outputs must be an integer >= 1"):
        rnnlib.backward_maps(model, x, outputs=[0])
    with pytest.raises(TypeError, match="outputs"):
        rnnlib.backward_maps(model, x, outputs=[1.5])
    with pytest.raises(ValueError, match="W must have shape"):
        rnnlib.backward_maps(model, x, W=torch.zeros(3, 3))
    bm = rnnlib.backward_maps(model, x, outputs=[2, 4])
    with pytest.raises(ValueError, match="j must be one of"):
        bm.get(1, 3)
    with pytest.raises(ValueError, match="i must be <= j"):
        bm.get(4, 2)
    with pytest.raises(ValueError, match="order must be one of"):
        distinct_pairs([3], order="time")
    with pytest.raises(ValueError, match="non-zero"):
        coherence_matrix(torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="square"):
        mean_offdiagonal(np.ones((2, 3)))
