"""Tests of the figures of Chapter 2 (rnnlib.plots.concept_class)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import rnnlib  # noqa: E402
from rnnlib.plots import concept_class as cc  # noqa: E402
from figures import assert_labelled  # noqa: E402


def test_tokens_figure():
    xs = rnnlib.sample_tokens(1, 5, 6, seed=0)
    assert_labelled(cc.plot_tokens(xs[0], rnnlib.embed(xs)[0]))
    with pytest.raises(ValueError, match="x must have shape"):
        cc.plot_tokens(xs[0], rnnlib.embed(xs)[0, :-1])


def test_taylor_and_complexity_figures():
    assert_labelled(cc.plot_taylor_truncations(["sin(3z)", "tanh(4z)"], [1, 5]))
    assert_labelled(cc.plot_complexity(["z^2", "exp(z)-1", "tanh(4z)"], radii_sample=[0.1, 1, 10],
                                 radii_eps=[0.1, 1, 10], radii_eps_cstar=[0.1, 0.3]))
    with pytest.raises(ValueError, match="phi"):
        cc.plot_taylor_truncations(["sinh"], [1])
    with pytest.raises(TypeError, match="orders"):
        cc.plot_taylor_truncations(["sin"], [1.5])
    with pytest.raises(ValueError, match="radii"):
        cc.plot_complexity(["z"], radii_sample=[1.0], radii_eps=[1, 2], radii_eps_cstar=[1, 2])
    with pytest.raises(ValueError, match="eps"):
        cc.plot_complexity(["z"], radii_sample=[1, 2], radii_eps=[1, 2], radii_eps_cstar=[1, 2], eps=2.0)


def test_target_figures():
    concept = rnnlib.AdditiveConcept(6, 8, labels="all", seed=0)
    y = concept(rnnlib.sample_tokens(50, 6, 8, seed=0))
    assert_labelled(cc.plot_targets(y, concept.labelled))
    with pytest.raises(ValueError, match="labelled"):
        cc.plot_targets(y, concept.labelled[:-1])
    assert_labelled(cc.plot_target_variance([1, 2, 4], [[0.1, 0.2, 0.4], [0.1, 0.3, 0.5]], [0.1, 0.1, 0.12]))
    with pytest.raises(ValueError, match="columns"):
        cc.plot_target_variance([1, 2, 4], [0.1, 0.2], [0.1, 0.1, 0.1])
    assert_labelled(cc.plot_label_noise([0, 0.5, 1.0], [0, 0.25, 1.0], [0, 0.2, 0.5]))
    with pytest.raises(ValueError, match="equal shapes"):
        cc.plot_label_noise([0, 0.5], [0, 0.25, 1.0], [0, 0.2, 0.5])


def test_concept_explorer_is_deterministic_and_checks_input():
    a = cc.plot_concept_explorer(5, "sin(3z)", n_stats=20)
    b = cc.plot_concept_explorer(5, "sin(3z)", n_stats=20)
    ya = a.axes[1].lines[0].get_ydata()
    yb = b.axes[1].lines[0].get_ydata()
    np.testing.assert_array_equal(ya, yb)
    assert_labelled(a)
    plt.close(b)
    with pytest.raises(ValueError, match="length"):
        cc.plot_concept_explorer(1, "sin(3z)")
    with pytest.raises(ValueError, match="phi"):
        cc.plot_concept_explorer(5, "sigmoid")
