"""Tests of the figures of Chapter 1 (rnnlib.plots.question)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnlib  # noqa: E402
from rnnlib.plots import question  # noqa: E402
from figures import assert_labelled  # noqa: E402


@pytest.fixture(scope="module")
def position_data():
    tokens = rnnlib.sample_tokens(1, 4, 8, seed=11)[0]
    x = np.stack([tokens[[0, 1, 2]], tokens[[2, 1, 0]]])
    concept = rnnlib.AdditiveConcept(4, 8, labels="all", seed=0)
    same = rnnlib.AdditiveConcept(6, 8, labels="all", seed=0).pair_contributions(
        np.repeat(tokens[None, None, 0], 5, axis=1))[0]
    return same, concept.pair_contributions(x), [["a", "b", "c"], ["c", "b", "a"]]


def test_position_example(position_data):
    same, sentences, words = position_data
    assert_labelled(question.plot_position_example(same, sentences, words))
    assert_labelled(question.plot_position_example(same[..., 0], sentences[..., 0], words, output=2))


def test_position_example_bad_input(position_data):
    same, sentences, words = position_data
    with pytest.raises(ValueError, match="same_token"):
        question.plot_position_example(same[:3], sentences, words)
    with pytest.raises(ValueError, match="sentences"):
        question.plot_position_example(same, sentences[:, :3], words)
    with pytest.raises(ValueError, match="words"):
        question.plot_position_example(same, sentences, words[:1])


def test_prior_bounds():
    lengths = np.arange(2, 30)
    curves, hidden, spectral = {}, {}, {}
    x = rnnlib.embed(rnnlib.sample_tokens(8, int(lengths[-1]), 8, seed=0))
    for m in (16, 32):
        nets = [rnnlib.ElmanRNN(9, m, seed=s) for s in range(2)]
        curves[m] = rnnlib.evaluate_bounds(nets[0], lengths)
        spectral[m] = curves[m]["norms"]["spectral_W"]
        hidden[m] = np.stack([n.hidden_states(x).norm(dim=-1).mean(dim=0).numpy() for n in nets])
    assert_labelled(question.plot_prior_bounds(curves, hidden, spectral_W=spectral))
    assert_labelled(question.plot_prior_bounds(curves, hidden, keys=("tu_lambda",)))
    with pytest.raises(ValueError, match="keys"):
        question.plot_prior_bounds(curves, hidden, keys=("vc",))
    with pytest.raises(ValueError, match="non-empty"):
        question.plot_prior_bounds({}, hidden)
