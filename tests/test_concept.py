import numpy as np
import pytest

import rnnlib


def _x(n, L, t=6, seed=0):
    return rnnlib.sample_tokens(n, L, t, seed=seed)


def test_shapes_and_labelled_masks():
    c = rnnlib.AdditiveConcept(6, 6, hidden=3, output_dim=2, labels="last")
    y = c(_x(10, 6))
    assert y.shape == (10, 6, 2)
    assert c.labelled.tolist() == [False] * 5 + [True]
    np.testing.assert_array_equal(y[:, :-1], 0.0)
    c_all = rnnlib.AdditiveConcept(6, 6, labels="all")
    assert c_all.labelled.tolist() == [False] + [True] * 5
    c_strict = rnnlib.AdditiveConcept(6, 6, labels="all", include_current=False)
    assert c_strict.labelled.tolist() == [False, False] + [True] * 4


def test_targets_match_the_formula_term_by_term():
    L, t = 5, 6
    c = rnnlib.AdditiveConcept(L, t, hidden=2, phi=["sin(3z)", "z^2", "exp(z)-1"], labels="all", seed=4)
    x = _x(7, L, t, seed=2)
    y = c(x)
    # direct evaluation of sum_{i=2}^{j} sum_r b* phi(<w*, x*_i>) with 1-based positions
    for j in range(2, L + 1):
        total = np.zeros(7)
        for i in range(2, j + 1):
            for r in range(2):
                phi = c.phis[c.phi_index[i - 1, j - 1, r, 0]]
                total += c.b[i - 1, j - 1, r, 0] * phi(x[:, i - 2] @ c.w[i - 1, j - 1, r, 0])
        np.testing.assert_allclose(y[:, j - 1, 0], total, rtol=1e-10, atol=1e-12)


def test_index_convention_excludes_current_token():
    c = rnnlib.AdditiveConcept(5, 6, labels="last", include_current=False, seed=1)
    x = _x(4, 5)
    x2 = x.copy()
    x2[:, -1] = _x(4, 5, seed=9)[:, -1]  # change the token at position L only
    np.testing.assert_allclose(c(x), c(x2))
    c_inc = rnnlib.AdditiveConcept(5, 6, labels="last", include_current=True, seed=1)
    assert not np.allclose(c_inc(x), c_inc(x2))


def test_each_pair_has_its_own_direction_and_coefficient():
    c = rnnlib.AdditiveConcept(6, 6, labels="all", seed=0)
    np.testing.assert_allclose(np.linalg.norm(c.w, axis=-1), 1.0)
    live = c.b[:, :, 0, 0][c.live]
    assert np.unique(np.round(live, 12)).size == live.size  # distinct per (i, j)


def test_normalization_keeps_scale_flat_in_L_and_raw_sum_grows():
    sd = {}
    for L in (5, 40):
        x = _x(3000, L, seed=L)
        sd[L] = (np.mean([rnnlib.AdditiveConcept(L, 6, seed=s)(x)[:, -1].std() for s in range(8)]),
                 np.mean([rnnlib.AdditiveConcept(L, 6, normalize=False, seed=s)(x)[:, -1].std() for s in range(8)]))
    assert sd[40][0] / sd[5][0] < 1.6
    assert sd[40][1] / sd[5][1] > 2.0  # about sqrt(39/4)


def test_label_noise_gives_opt_close_to_noise_variance():
    c = rnnlib.AdditiveConcept(5, 6, noise_std=0.2, seed=0)
    x = _x(20000, 5)
    y = c.labels_for(x, seed=1)
    opt = np.mean((y[:, -1] - c(x)[:, -1]) ** 2)
    assert opt == pytest.approx(0.04, rel=0.05)


def test_direction_orthogonal_to_constant_keeps_the_other_draws():
    a = rnnlib.AdditiveConcept(6, 6, labels="all", seed=3)
    b = rnnlib.AdditiveConcept(6, 6, labels="all", seed=3, direction="orthogonal_to_constant")
    np.testing.assert_array_equal(b.w[..., -1], 0.0)
    np.testing.assert_allclose(np.linalg.norm(b.w, axis=-1), 1.0)
    np.testing.assert_array_equal(a.b, b.b)
    np.testing.assert_array_equal(a.phi_index, b.phi_index)
    # the default is unchanged: same directions as before the option existed
    c = rnnlib.AdditiveConcept(6, 6, labels="all", seed=3, direction="sphere", center=False)
    np.testing.assert_array_equal(a.w, c.w)


def test_even_target_orthogonal_to_constant_is_not_linear():
    L, t = 6, 8
    c = rnnlib.AdditiveConcept(L, t, phi="z^2", include_current=False, seed=2,
                               direction="orthogonal_to_constant", center=True)
    x = _x(20000, L, t, seed=4)
    y = c(x)[:, -1, 0]
    assert abs(y.mean()) < 3 * y.std() / np.sqrt(y.size)  # centred
    F = np.column_stack([np.ones(len(x)), x[..., :-1].reshape(len(x), -1)])
    coef, *_ = np.linalg.lstsq(F, y, rcond=None)
    assert (F @ coef).var() / y.var() < 0.01  # in-sample fit of pure noise: about 36 / 20000
    # on the sphere the same even target is partly linear
    s = rnnlib.AdditiveConcept(L, t, phi="z^2", include_current=False, seed=2)
    ys = s(x)[:, -1, 0]
    coef, *_ = np.linalg.lstsq(F, ys, rcond=None)
    assert (F @ coef).var() / ys.var() > 0.2


def test_center_subtracts_each_term_mean():
    c0 = rnnlib.AdditiveConcept(5, 6, phi=["cos(3z)", "exp(z)-1"], hidden=2, labels="all", seed=1)
    c1 = rnnlib.AdditiveConcept(5, 6, phi=["cos(3z)", "exp(z)-1"], hidden=2, labels="all", seed=1, center=True)
    x = _x(4, 5)
    shift = np.einsum("ijrs,ijrs->js", c1.offset, c1.b)  # sum over terms of b * E[phi]
    np.testing.assert_allclose(c0(x) - c1(x), np.broadcast_to(shift * c1.labelled[:, None], c0(x).shape),
                               atol=1e-12)
    assert np.all(c1.offset[~c1.live] == 0) and np.any(c1.offset != 0)


def test_direction_and_center_bad_input():
    with pytest.raises(ValueError, match="direction"):
        rnnlib.AdditiveConcept(5, 6, direction="north")
    with pytest.raises(TypeError, match="center"):
        rnnlib.AdditiveConcept(5, 6, center=1)


# --- targets computed at the labelled positions only (issue 13: chapter 5's cold budget) -------------

def _full_reference(concept, x_star):
    """The targets as computed before: every pair, summed over the input axis, then masked."""
    return concept.pair_contributions(x_star).sum(axis=1) * concept.labelled[None, :, None]


@pytest.mark.parametrize("kwargs", [
    dict(length=5, token_dim=8),
    dict(length=10, token_dim=8, labels="all"),
    dict(length=7, token_dim=4, hidden=3, output_dim=2, include_current=True),
    dict(length=6, token_dim=8, phi=["sin(3z)", "z^2"], labels="all", center=True),
    dict(length=40, token_dim=8, phi="z^2", direction="orthogonal_to_constant", center=True),
])
def test_targets_at_labelled_positions_equal_the_full_sum_bit_for_bit(kwargs):
    concept = rnnlib.AdditiveConcept(**kwargs, seed=3)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((300, kwargs["length"] - 1, kwargs["token_dim"]))
    x /= np.linalg.norm(x, axis=-1, keepdims=True)
    ref, got = _full_reference(concept, x), concept(x)
    assert got.shape == ref.shape
    assert (got + 0.0).tobytes() == (ref + 0.0).tobytes()  # + 0.0: -0.0 and 0.0 are the same target
    last = concept.pair_contributions(x, [kwargs["length"]])
    assert np.array_equal(last[:, :, 0], concept.pair_contributions(x)[:, :, -1])


@pytest.mark.parametrize("positions", [[], [0], [3, 2], [1.5], [9]])
def test_pair_contributions_refuses_bad_positions(positions):
    concept = rnnlib.AdditiveConcept(8, 4, seed=0)
    x = np.ones((2, 7, 4)) / 2.0
    with pytest.raises(ValueError, match="positions"):
        concept.pair_contributions(x, positions)
