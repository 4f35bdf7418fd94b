import numpy as np
import pytest
import torch

import rnnlib
from rnnlib.training import bptt
from test_training_perf import _autograd_loss


def _autograd_grads(W, A, B, x, y, lab, lam):
    W, A, B = (t.clone().requires_grad_(True) for t in (W, A, B))
    loss = _autograd_loss(W, A, B, x, y, lab, lam)
    loss.sum().backward()
    return loss.detach(), {"W": W.grad, "A": A.grad, "B": B.grad}


@pytest.mark.parametrize("labels", [[5], [1, 3, 5], [0, 1, 2, 3, 4, 5]])
def test_hand_written_bptt_equals_autograd(labels):
    torch.manual_seed(0)
    k, n, L, dx, m, d = 2, 5, 6, 4, 16, 2
    models = [rnnlib.ElmanRNN(dx, m, d, seed=s) for s in range(k)]
    W = torch.stack([mm.W for mm in models]).double()
    A = torch.stack([mm.A for mm in models]).double()
    B = torch.stack([mm.B for mm in models]).double()
    x = torch.randn(k, n, L, dx, dtype=torch.float64)
    y = torch.randn(k, n, len(labels), d, dtype=torch.float64)
    loss, grads = bptt(W, A, B, x, y, labels, 0.7, trained="WAB")
    ref_loss, ref = _autograd_grads(W, A, B, x, y, labels, 0.7)
    torch.testing.assert_close(loss, ref_loss)
    for name in "WAB":
        torch.testing.assert_close(grads[name], ref[name], rtol=1e-9, atol=1e-12)


def _data(L=6, n=64, seed=0):
    x_star = rnnlib.sample_tokens(n, L, 5, seed=seed)
    c = rnnlib.AdditiveConcept(L, 5, seed=seed)
    y = c(x_star)
    y[:, -1] = (y[:, -1] - y[:, -1].mean()) / y[:, -1].std()
    return rnnlib.embed(x_star, 0.3), y.astype(np.float32), c.labelled


def test_only_W_moves_under_the_papers_algorithm():
    x, y, lab = _data()
    model = rnnlib.ElmanRNN(6, 32, seed=0)
    A0, B0, W0 = model.A.clone(), model.B.clone(), model.W.clone()
    hist = rnnlib.train_sgd(model, x, y, lab, epochs=3, batch_size=16)
    assert torch.equal(model.A, A0) and torch.equal(model.B, B0)
    assert not torch.equal(model.W, W0)
    assert hist.n_steps == 12 and len(hist.train_mse) == 4


def test_ensemble_training_equals_training_one_by_one():
    x, y, lab = _data()
    seeds = [3, 4, 5]
    ens = [rnnlib.ElmanRNN(6, 32, seed=s) for s in seeds]
    hists = rnnlib.train_sgd(ens, x, y, lab, epochs=2, batch_size=16, seed=seeds)
    for s, trained, h in zip(seeds, ens, hists):
        solo = rnnlib.ElmanRNN(6, 32, seed=s)
        h1 = rnnlib.train_sgd(solo, x, y, lab, epochs=2, batch_size=16, seed=s)
        torch.testing.assert_close(trained.W, solo.W, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h.train_mse, h1.train_mse, rtol=1e-4)


def test_sgd_reduces_training_error():
    x, y, lab = _data(n=256)
    model = rnnlib.ElmanRNN(6, 128, seed=0)
    hist = rnnlib.train_sgd(model, x, y, lab, epochs=15, x_eval=x, y_eval=y, eval_every=5)
    assert hist.test_mse[-1] < 0.8 * hist.test_mse[0]
    assert hist.eval_epoch == [0, 5, 10, 15]


def test_divergence_raises_a_clear_error_naming_the_step_size():
    x, y, lab = _data()
    model = rnnlib.ElmanRNN(6, 32, seed=0)
    with pytest.raises(rnnlib.TrainingDiverged, match="lr="):
        rnnlib.train_sgd(model, x, y, lab, lr=50.0, epochs=5)
    assert issubclass(rnnlib.TrainingDiverged, ValueError)


def test_practical_step_size_formula():
    assert rnnlib.practical_step_size(0.5, 10, 100, c=0.25) == pytest.approx(0.25 / (0.25 * 10 * 100))


def test_fewer_samples_than_one_batch_train_in_a_single_step_per_epoch():
    x, y, lab = _data(n=20)
    model = rnnlib.ElmanRNN(6, 16, seed=0)
    hist = rnnlib.train_sgd(model, x, y, lab, epochs=2, batch_size=32)
    assert hist.n_steps == 2 and all(np.isfinite(hist.train_mse))


def test_divergence_in_the_last_epoch_is_caught_on_the_final_model():
    # issue 15 item 1: the running error of the single epoch looks fine (it averages the steps
    # before the blow-up) but the final model's error is ~1e29; it must raise, not be returned
    cfg = rnnlib.ExperimentConfig(length=10, width=32, n_train=96, n_test=64, lr_scale=100, epochs=1)
    with pytest.raises(rnnlib.TrainingDiverged, match=r"by the end of training.*lr=") as info:
        rnnlib.run_experiment(cfg)
    assert "final training" in str(info.value)


def test_the_final_check_accepts_a_run_that_trains_well():
    x, y, lab = _data()
    model = rnnlib.ElmanRNN(x.shape[-1], 64, seed=0)
    hist = rnnlib.train_sgd(model, x, y, lab, epochs=1, x_eval=x, y_eval=y)
    assert np.isfinite(hist.test_mse[-1]) and hist.test_mse[-1] < 10 * max(hist.test_mse[0], 1)


@pytest.mark.parametrize("kw, name", [(dict(c=1e300), "c=1e\\+300"), (dict(output_scale=1e-30), "output_scale=1e-30"),
                                      (dict(output_scale=1e-200), "output_scale=1e-200")])
def test_practical_step_size_refuses_a_step_outside_float32_range(kw, name):
    args = dict(output_scale=0.3, length=10, width=256)
    args.update(kw)
    with pytest.raises(ValueError, match=name):
        rnnlib.practical_step_size(**args)


def test_train_sgd_refuses_step_sizes_and_output_scales_that_overflow_float32():
    x, y, lab = _data(n=8)
    model = rnnlib.ElmanRNN(6, 16, seed=0)
    with pytest.raises(ValueError, match="lr must be within"):
        rnnlib.train_sgd(model, x, y, lab, lr=1e300, epochs=1)
    with pytest.raises(ValueError, match="output_scale must be within"):
        rnnlib.train_sgd(model, x, y, lab, output_scale=1e-200, lr=0.1, epochs=1)
    with pytest.raises(ValueError, match="output_scale=1e-30"):
        rnnlib.train_sgd(model, x, y, lab, output_scale=1e-30, epochs=1)


def test_the_history_carries_the_final_models_errors():
    x, y, lab = _data()
    model = rnnlib.ElmanRNN(6, 32, seed=0)
    hist = rnnlib.train_sgd(model, x, y, lab, epochs=2, x_eval=x[:32], y_eval=y[:32], average_from=2)
    from rnnlib.training import predict, standardized_mse
    idx = np.flatnonzero(lab)
    X, Y = torch.as_tensor(x)[None], torch.as_tensor(y)[None][:, :, idx]
    W, A, B = (t[None] for t in (model.W, model.A, model.B))
    train = standardized_mse(predict(W, A, B, X, idx, 0.3), Y)[0]
    assert hist.final_train_mse == pytest.approx(train, rel=1e-6)
    assert hist.final_test_mse == hist.test_mse[-1]
    assert "final_train_mse" not in hist.to_dict()


def test_callbacks_see_every_hook_in_order_and_teardown_runs_after_an_error():
    from rnnlib.callbacks import Callback

    class Recorder(Callback):
        def __init__(self):
            self.events = []

        def on_train_start(self, state):
            self.events.append(("start", state.epoch))

        def on_step_end(self, state):
            self.events.append(("step", state.steps))

        def on_epoch_end(self, state):
            self.events.append(("epoch", state.epoch, float(state.run_mse[0])))

        def on_train_end(self, state):
            self.events.append(("end", state.epoch))

        def teardown(self, state):
            self.events.append(("teardown",))

    x, y, lab = _data(n=40)
    rec, calls = Recorder(), []
    hist = rnnlib.train_sgd(rnnlib.ElmanRNN(6, 16, seed=0), x, y, lab, epochs=2, batch_size=16,
                            callback=[rec, lambda epoch, model: calls.append(epoch)])
    kinds = [e[0] for e in rec.events]
    assert kinds == ["start"] + (["step"] * 3 + ["epoch"]) * 2 + ["end", "teardown"]
    assert [e[1] for e in rec.events if e[0] == "step"] == [1, 2, 3, 4, 5, 6]
    assert [e[2] for e in rec.events if e[0] == "epoch"] == hist.train_mse[1:]
    assert calls == [1, 2]

    class Stop(Callback):
        def on_epoch_end(self, state):
            raise RuntimeError("stop")

    rec = Recorder()
    with pytest.raises(RuntimeError, match="stop"):
        rnnlib.train_sgd(rnnlib.ElmanRNN(6, 16, seed=0), x, y, lab, epochs=2, callback=[Stop(), rec])
    assert rec.events[-1] == ("teardown",) and ("end", 1) not in rec.events
