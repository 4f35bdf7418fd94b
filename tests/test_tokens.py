import numpy as np

import rnnlib


def test_sample_tokens_are_unit_norm_with_last_coordinate_half():
    x = rnnlib.sample_tokens(50, 7, 5, seed=3)
    assert x.shape == (50, 6, 5)
    np.testing.assert_allclose(np.linalg.norm(x, axis=-1), 1.0, atol=1e-12)
    np.testing.assert_allclose(x[..., -1], 0.5)


def test_sample_tokens_directions_are_spread_over_the_sphere():
    u = rnnlib.sample_tokens(20000, 2, 4, seed=0)[:, 0, :-1]
    # uniform on a sphere of radius sqrt(3)/2: mean 0, covariance (3/4)/3 per coordinate
    np.testing.assert_allclose(u.mean(axis=0), 0.0, atol=0.02)
    np.testing.assert_allclose(np.cov(u.T), np.eye(3) * 0.25, atol=0.02)


def test_embed_puts_start_token_first_and_scales_data():
    x_star = rnnlib.sample_tokens(4, 6, 5, seed=1)
    x = rnnlib.embed(x_star, eps_x=0.2)
    assert x.shape == (4, 6, 6) and x.dtype == np.float32
    np.testing.assert_array_equal(x[:, 0], np.tile(np.eye(6)[-1], (4, 1)))
    np.testing.assert_allclose(x[:, 1:, :-1], 0.2 * x_star, rtol=1e-6)
    np.testing.assert_array_equal(x[:, 1:, -1], 0.0)
    np.testing.assert_allclose(np.linalg.norm(x[:, 1:], axis=-1), 0.2, rtol=1e-6)


def test_embed_final_token_option_appends_start_token():
    x = rnnlib.embed(rnnlib.sample_tokens(2, 4, 3, seed=0), 0.1, final_token=True)
    assert x.shape == (2, 5, 4)
    np.testing.assert_array_equal(x[:, -1], x[:, 0])


def test_tokens_are_deterministic_per_seed():
    a = rnnlib.sample_tokens(3, 5, 4, seed=9)
    b = rnnlib.sample_tokens(3, 5, 4, seed=9)
    c = rnnlib.sample_tokens(3, 5, 4, seed=10)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
