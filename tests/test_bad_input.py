"""Bad input gets a ValueError or TypeError whose message names the argument (design.md section 4)."""
import numpy as np
import pytest
import torch

import rnnlib
from rnnlib import AdditiveConcept, ElmanRNN, ExperimentConfig

X_STAR = rnnlib.sample_tokens(3, 5, 4, seed=0)
X = rnnlib.embed(X_STAR, 0.3)
NAN_X = X.copy()
NAN_X[0, 1, 0] = np.nan
INF_STAR = X_STAR.copy()
INF_STAR[1, 1, 1] = np.inf
MODEL = ElmanRNN(5, 8)
LAB = np.arange(5) == 4
Y = np.zeros((3, 5, 1), dtype=np.float32)

CASES = [
    # (callable, expected exception, argument named in the message)
    (lambda: rnnlib.sample_tokens(-1, 5, 4), ValueError, "n"),
    (lambda: rnnlib.sample_tokens(3, 1, 4), ValueError, "length"),
    (lambda: rnnlib.sample_tokens(3, 5, 1), ValueError, "token_dim"),
    (lambda: rnnlib.sample_tokens(2.5, 5, 4), TypeError, "n"),
    (lambda: rnnlib.embed(X_STAR, eps_x=0.0), ValueError, "eps_x"),
    (lambda: rnnlib.embed(X_STAR[0], 0.3), ValueError, "x_star"),
    (lambda: rnnlib.embed(INF_STAR, 0.3), ValueError, "x_star"),
    (lambda: rnnlib.embed(2 * X_STAR, 0.3), ValueError, "x_star"),
    (lambda: rnnlib.smooth_function("sinh"), ValueError, "phi"),
    (lambda: rnnlib.smooth_function(3), TypeError, "phi"),
    (lambda: rnnlib.complexity_sample("sin", -1.0), ValueError, "R"),
    (lambda: rnnlib.complexity_eps("sin", 1.0, eps=1.5), ValueError, "eps"),
    (lambda: AdditiveConcept(5, 4, labels="first"), ValueError, "labels"),
    (lambda: AdditiveConcept(0, 4), ValueError, "length"),
    (lambda: AdditiveConcept(5, 4, hidden=0), ValueError, "hidden"),
    (lambda: AdditiveConcept(5, 4, noise_std=-0.1), ValueError, "noise_std"),
    (lambda: AdditiveConcept(5, 4, phi="nope"), ValueError, "phi"),
    (lambda: AdditiveConcept(5, 4)(X_STAR[:, :3]), ValueError, "x_star"),
    (lambda: AdditiveConcept(5, 3)(X_STAR), ValueError, "x_star"),
    (lambda: ElmanRNN(5, 0), ValueError, "width"),
    (lambda: ElmanRNN(0, 8), ValueError, "input_dim"),
    (lambda: ElmanRNN(5, 8, b_var=-1.0), ValueError, "b_var"),
    (lambda: MODEL.forward(X[..., :4]), ValueError, "x"),
    (lambda: MODEL.forward(X[0]), ValueError, "x"),
    (lambda: MODEL.forward(NAN_X), ValueError, "x"),
    (lambda: MODEL.forward("tokens"), TypeError, "x"),
    (lambda: rnnlib.train_sgd(MODEL.copy(), X, Y, LAB, lr=-0.1), ValueError, "lr"),
    (lambda: rnnlib.train_sgd(MODEL.copy(), X, Y, LAB, epochs=-1), ValueError, "epochs"),
    (lambda: rnnlib.train_sgd(MODEL.copy(), X, Y, LAB, batch_size=0), ValueError, "batch_size"),
    (lambda: rnnlib.train_sgd(MODEL.copy(), X, Y, LAB, trained="A"), ValueError, "trained"),
    (lambda: rnnlib.train_sgd(MODEL.copy(), X, Y[:2], LAB), ValueError, "y"),
    (lambda: rnnlib.train_sgd(MODEL.copy(), X, Y, np.zeros(5, bool)), ValueError, "labelled"),
    (lambda: rnnlib.train_sgd(MODEL.copy(), X, Y, LAB, output_scale=float("nan")), ValueError, "output_scale"),
    (lambda: ExperimentConfig(width=0), ValueError, "width"),
    (lambda: ExperimentConfig(length=1), ValueError, "length"),
    (lambda: ExperimentConfig(n_train=-5), ValueError, "n_train"),
    (lambda: ExperimentConfig(phi="sinh"), ValueError, "phi"),
    (lambda: ExperimentConfig(labels="first"), ValueError, "labels"),
    (lambda: ExperimentConfig(trained="B"), ValueError, "trained"),
    (lambda: ExperimentConfig(eps_x=float("inf")), ValueError, "eps_x"),
    (lambda: ExperimentConfig(width=True), TypeError, "width"),
    (lambda: ExperimentConfig.from_dict({"widht": 3}), ValueError, "widht"),
    (lambda: rnnlib.run_experiment({"width": 3}), TypeError, "cfg"),
    (lambda: rnnlib.theory_output_scale(0.1, 10, 1), ValueError, "width"),
    (lambda: rnnlib.practical_step_size(0.0, 10, 64), ValueError, "output_scale"),
]


@pytest.mark.parametrize("call, exc, arg", CASES, ids=[f"{i:02d}-{c[2]}" for i, c in enumerate(CASES)])
def test_bad_input_names_the_argument(call, exc, arg):
    with pytest.raises(exc) as info:
        call()
    assert arg in str(info.value), f"message does not name {arg!r}: {info.value}"


def test_there_are_many_distinct_bad_input_cases():
    assert len(CASES) >= 15


def test_a_diverging_step_size_stops_with_an_error_not_nan():
    cfg = ExperimentConfig(length=5, width=32, n_train=64, n_test=16, epochs=5, lr=100.0)
    with pytest.raises(rnnlib.TrainingDiverged, match="lr=100"):
        rnnlib.run_experiment(cfg)


def test_models_of_different_shapes_cannot_form_an_ensemble():
    with pytest.raises(ValueError, match="width"):
        rnnlib.train_sgd([ElmanRNN(5, 8), ElmanRNN(5, 16)], X, Y, LAB)
    with pytest.raises(TypeError, match="models"):
        rnnlib.train_sgd([], X, Y, LAB)
    assert torch.isfinite(MODEL.W).all()
