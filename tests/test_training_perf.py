"""The fast training core: its hand-written kernels against autograd, the fused SGD loop against a
plain autograd SGD loop, ensembles against one-by-one training (rnnlib.training, rnnlib.experiment)."""

import numpy as np
import pytest
import torch

import rnnlib
from rnnlib.training import _Trainer, _Workspace, bptt, predict


def _autograd_loss(W, A, B, x, y, lab, lam):
    """The batch-mean loss sum_l 1/2 (lam B h_l - y_l)^2 of (k, n, L, d_x) inputs, built for autograd."""
    k, n, L, _ = x.shape
    h = torch.zeros(k, n, W.shape[-1], dtype=W.dtype)
    outs = []
    for t in range(L):
        h = torch.relu(h @ W.transpose(1, 2) + x[:, :, t] @ A.transpose(1, 2))
        if t in lab:
            outs.append(lam * h @ B.transpose(1, 2))
    out = torch.stack(outs, dim=2)
    return 0.5 * (out - y).pow(2).sum(dim=(1, 2, 3)) / n


def _weights(k, dx, m, d, dtype=torch.float64, seed=0):
    models = [rnnlib.ElmanRNN(dx, m, d, seed=seed + s) for s in range(k)]
    return tuple(torch.stack([getattr(mm, name) for mm in models]).to(dtype) for name in "WAB")


LABEL_SETS = [[6], [3, 4, 5, 6], [1, 3, 4], [0, 2, 6], [4]]


@pytest.mark.parametrize("lab", LABEL_SETS)
@pytest.mark.parametrize("trained", ["W", "WA", "WAB"])
def test_fused_sgd_step_equals_an_autograd_step(lab, trained):
    """One step of the workspace (gradient accumulated straight into W) = autograd gradient step."""
    torch.manual_seed(1)
    k, n, L, dx, m, d, lam, lr = 3, 7, 7, 5, 24, 2, 0.6, 0.05
    W, A, B = _weights(k, dx, m, d)
    x = torch.randn(k, n, L, dx, dtype=torch.float64)
    y = torch.randn(k, n, len(lab), d, dtype=torch.float64)
    Wg, Ag, Bg = (t.clone().requires_grad_(True) for t in (W, A, B))
    loss_ref = _autograd_loss(Wg, Ag, Bg, x, y, lab, lam)
    loss_ref.sum().backward()

    steps = lab[-1] + 1
    ws = _Workspace(k, n, steps, m, dx, lab, d, torch.float64)
    ws.x.copy_(x[:, :, :steps].transpose(1, 2).reshape(k, steps * n, dx))
    ws.y.copy_(y.transpose(1, 2).reshape(k, len(lab) * n, d))
    sumsq = torch.zeros(k, 1, 1, dtype=torch.float64)
    W1, A1, B1 = W.clone(), A.clone(), B.clone()
    ws.sgd_step(W1, A1, B1, lam, lr, trained, sumsq)

    torch.testing.assert_close(0.5 * sumsq.view(k) / n, loss_ref.detach(), rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(W1, W - lr * Wg.grad, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(A1, A - lr * Ag.grad if "A" in trained else A, rtol=1e-12, atol=1e-14)
    torch.testing.assert_close(B1, B - lr * Bg.grad if "B" in trained else B, rtol=1e-12, atol=1e-14)


def test_bptt_gradients_equal_autograd_for_every_label_set_in_float32_and_float64():
    torch.manual_seed(2)
    k, n, L, dx, m, d, lam = 2, 9, 7, 4, 32, 1, 0.3
    for dtype, tol in ((torch.float64, 1e-11), (torch.float32, 2e-5)):
        W, A, B = _weights(k, dx, m, d, dtype)
        x = torch.randn(k, n, L, dx, dtype=dtype)
        for lab in LABEL_SETS:
            y = torch.randn(k, n, len(lab), d, dtype=dtype)
            Wg, Ag, Bg = (t.clone().requires_grad_(True) for t in (W, A, B))
            _autograd_loss(Wg, Ag, Bg, x, y, lab, lam).sum().backward()
            loss, grads = bptt(W, A, B, x, y, lab, lam, trained="WAB")
            assert loss.shape == (k,) and loss.dtype == dtype
            for name, ref in zip("WAB", (Wg.grad, Ag.grad, Bg.grad)):
                scale = float(ref.abs().max())
                torch.testing.assert_close(grads[name], ref, rtol=tol, atol=tol * scale)


def test_bptt_of_a_single_position_gives_W_no_gradient():
    W, A, B = _weights(2, 3, 8, 1)
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64)
    y = torch.randn(2, 4, 1, 1, dtype=torch.float64)
    _, grads = bptt(W, A, B, x, y, [0], 1.0, trained="WA")
    assert torch.equal(grads["W"], torch.zeros_like(W))
    assert grads["A"].abs().max() > 0


def test_bptt_rejects_labels_that_do_not_fit():
    W, A, B = _weights(1, 3, 8, 1)
    x = torch.randn(1, 4, 3, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="labelled"):
        bptt(W, A, B, x, torch.zeros(1, 4, 1, 1, dtype=torch.float64), [5], 1.0)
    with pytest.raises(ValueError, match="increasing"):
        bptt(W, A, B, x, torch.zeros(1, 4, 2, 1, dtype=torch.float64), [2, 1], 1.0)


@pytest.mark.parametrize("lab", [[9], [2, 5, 9], [3, 4]])
def test_predict_equals_the_models_forward_pass_and_does_not_depend_on_chunking(lab):
    models = [rnnlib.ElmanRNN(6, 40, 2, seed=s) for s in range(3)]
    x = rnnlib.embed(rnnlib.sample_tokens(50, 10, 5, seed=0), 0.3)
    W, A, B = (torch.stack([getattr(mm, name) for mm in models]) for name in "WAB")
    X = torch.as_tensor(x)[None].expand(3, *x.shape)
    out = predict(W, A, B, X, lab, 0.7)
    assert out.shape == (3, 50, len(lab), 2)
    for j, mm in enumerate(models):
        torch.testing.assert_close(out[j], 0.7 * mm.forward(x)[:, lab], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(predict(W, A, B, X, lab, 0.7, chunk=7), out, rtol=1e-5, atol=5e-6)


def _data(n=96, L=7, token_dim=5, seed=0, labels="last"):
    x_star = rnnlib.sample_tokens(n, L, token_dim, seed=seed)
    c = rnnlib.AdditiveConcept(L, token_dim, labels=labels, seed=seed)
    y = c(x_star)
    lab = np.flatnonzero(c.labelled)
    y[:, lab] = (y[:, lab] - y[:, lab].mean(axis=0)) / y[:, lab].std(axis=0)
    return rnnlib.embed(x_star, 0.3), y.astype(np.float32), c.labelled


def _autograd_sgd(model, x, y, labelled, *, output_scale, lr, epochs, batch_size, seed, trained="W",
                  dtype=torch.float32):
    """Mini-batch SGD written the obvious way with autograd: the semantics train_sgd must keep
    (batch order from numpy's default_rng(seed).permutation each epoch; loss = batch mean of
    sum_l 1/2 (lambda B h_l - y_l)^2; plain steps W -= lr * grad)."""
    lab = list(np.flatnonzero(labelled))
    X = torch.as_tensor(x, dtype=dtype)
    Y = torch.as_tensor(y, dtype=dtype)[:, lab]
    W, A, B = (getattr(model, name).to(dtype).clone()[None].requires_grad_(name in trained) for name in "WAB")
    rng = np.random.default_rng(seed)
    n = X.shape[0]
    epoch_mse = []
    for _ in range(epochs):
        perm = rng.permutation(n)
        total = 0.0
        for s in range(0, n, batch_size):
            idx = perm[s:s + batch_size]
            loss = _autograd_loss(W, A, B, X[idx][None], Y[idx][None], lab, output_scale)
            loss.sum().backward()
            total += float(loss.detach()) * len(idx)
            with torch.no_grad():
                for t in (W, A, B):
                    if t.grad is not None:
                        t -= lr * t.grad
                        t.grad = None
        epoch_mse.append(2 * total / n / (len(lab) * Y.shape[-1]) / float(Y.double().var(dim=0, unbiased=False).mean()))
    return W.detach()[0], A.detach()[0], B.detach()[0], epoch_mse


@pytest.mark.parametrize("labels,trained", [("last", "W"), ("all", "W"), ("last", "WAB")])
def test_train_sgd_equals_plain_autograd_sgd_in_float32(labels, trained):
    """Same batches, same steps: equal to float32 rounding (small problem, so that no pre-activation
    lies within rounding of 0, where the two could take different sides of the ReLU)."""
    x, y, labelled = _data(labels=labels)
    model = rnnlib.ElmanRNN(6, 32, seed=3)
    W, A, B, mse = _autograd_sgd(model, x, y, labelled, output_scale=0.5, lr=0.05, epochs=3, batch_size=16,
                                 seed=11, trained=trained)
    hist = rnnlib.train_sgd(model, x, y, labelled, output_scale=0.5, lr=0.05, epochs=3, batch_size=16,
                            seed=11, trained=trained)
    torch.testing.assert_close(model.W, W, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.A, A, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(model.B, B, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(hist.train_mse[1:], mse, rtol=1e-5)
    assert hist.n_steps == 3 * 6


def test_the_trainer_in_float64_follows_autograd_sgd_for_many_steps():
    """In float64 the fused loop and the autograd loop stay together to 1e-10 over 100 steps,
    including a last batch smaller than the others."""
    x, y, labelled = _data(n=100)
    model = rnnlib.ElmanRNN(6, 48, seed=5)
    W_ref, _, _, _ = _autograd_sgd(model, x, y, labelled, output_scale=0.4, lr=0.08, epochs=4, batch_size=4,
                                   seed=2, dtype=torch.float64)
    lab = np.flatnonzero(labelled)
    W, A, B = (getattr(model, name).double()[None].clone() for name in "WAB")
    X, Y = torch.as_tensor(x, dtype=torch.float64)[None], torch.as_tensor(y, dtype=torch.float64)[None]
    trainer = _Trainer(W, A, B, X, Y, lab, 0.4, "W")
    rng = np.random.default_rng(2)
    for _ in range(4):
        trainer.epoch(torch.as_tensor(rng.permutation(100))[None], 4, 0.08)
    assert float((W_ref - model.W.double()).abs().max()) > 1e-3  # W did move
    torch.testing.assert_close(W[0], W_ref, rtol=1e-10, atol=1e-12)


def test_training_is_deterministic():
    x, y, labelled = _data()
    runs = []
    for _ in range(2):
        model = rnnlib.ElmanRNN(6, 64, seed=0)
        hist = rnnlib.train_sgd(model, x, y, labelled, epochs=2, batch_size=8, seed=4, x_eval=x, y_eval=y)
        runs.append((model.W, hist.to_dict()))
    assert torch.equal(runs[0][0], runs[1][0])
    assert runs[0][1] == runs[1][1]


@pytest.mark.parametrize("shared", [True, False])
def test_ensemble_equals_one_by_one_with_shared_or_own_data(shared):
    data = [_data(seed=s) for s in range(4)]
    labelled = data[0][2]
    xs = data[0][0] if shared else [d[0] for d in data]
    ys = data[0][1] if shared else [d[1] for d in data]
    ens = [rnnlib.ElmanRNN(6, 32, seed=s) for s in range(4)]
    hists = rnnlib.train_sgd(ens, xs, ys, labelled, epochs=2, batch_size=16, seed=[7, 8, 9, 10],
                             x_eval=data[1][0], y_eval=data[1][1], trained="WAB")
    for j, (mdl, h) in enumerate(zip(ens, hists)):
        d = data[0] if shared else data[j]
        solo = rnnlib.ElmanRNN(6, 32, seed=j)
        h1 = rnnlib.train_sgd(solo, d[0], d[1], labelled, epochs=2, batch_size=16, seed=7 + j,
                              x_eval=data[1][0], y_eval=data[1][1], trained="WAB")
        for name in "WAB":
            torch.testing.assert_close(getattr(mdl, name), getattr(solo, name), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(h.train_mse, h1.train_mse, rtol=1e-5)
        np.testing.assert_allclose(h.test_mse, h1.test_mse, rtol=1e-5)
        assert h.n_steps == h1.n_steps


def _assert_results_match(a, b):
    da, db = a.to_dict(), b.to_dict()
    assert da["config"] == db["config"]
    for key in da:
        if key in ("config", "seconds"):
            continue
        if key == "extras":
            assert da[key] == db[key]
            continue
        if key == "history":
            for name, values in da[key].items():
                np.testing.assert_allclose(values, db[key][name], rtol=1e-5, atol=1e-7, err_msg=name)
        else:
            np.testing.assert_allclose(da[key], db[key], rtol=1e-5, atol=1e-7, err_msg=key)


def test_run_ensemble_returns_what_run_experiment_returns_one_by_one():
    base = rnnlib.ExperimentConfig(n_train=160, n_test=200, width=32, length=6, epochs=3)
    configs = ([base.replace(seed=s) for s in range(3)]                     # own data each
               + [base.replace(seed=s, data_seed=5) for s in (4, 5)]          # shared data
               + [base.replace(width=24, seed=1, labels="all")])              # a group of its own
    ensemble = rnnlib.run_ensemble(configs, max_models=2)
    assert [r.config for r in ensemble] == configs
    for cfg, res in zip(configs, ensemble):
        _assert_results_match(res, rnnlib.run_experiment(cfg))
        assert res.seconds > 0


def test_run_ensemble_keeps_models_on_request():
    cfgs = [rnnlib.ExperimentConfig(n_train=64, n_test=64, width=16, epochs=1, seed=s) for s in range(2)]
    res = rnnlib.run_ensemble(cfgs, keep_model=True)
    solo = rnnlib.run_experiment(cfgs[1], keep_model=True)
    torch.testing.assert_close(res[1].model.W, solo.model.W, rtol=1e-5, atol=1e-6)
    assert res[0].model is not res[1].model


def test_run_ensemble_rejects_bad_input():
    with pytest.raises(ValueError, match="configs"):
        rnnlib.run_ensemble([])
    with pytest.raises(TypeError, match=r"configs\[1\]"):
        rnnlib.run_ensemble([rnnlib.ExperimentConfig(), {"seed": 1}])
    with pytest.raises(ValueError, match="max_models"):
        rnnlib.run_ensemble([rnnlib.ExperimentConfig()], max_models=0)
    with pytest.raises(TypeError, match="max_models"):
        rnnlib.run_ensemble([rnnlib.ExperimentConfig()], max_models=2.5)


def test_configs_that_differ_in_more_than_seeds_do_not_share_an_ensemble():
    from rnnlib.experiment import _ensemble_key
    base = rnnlib.ExperimentConfig()
    assert _ensemble_key(base) == _ensemble_key(base.replace(seed=3, data_seed=1, concept_seed=2))
    changes = {"length": 11, "width": 128, "n_train": 500, "n_test": 100, "token_dim": 5, "phi": "cos(z)",
               "hidden": 2, "output_dim": 2, "eps_x": 0.5, "output_scale": 0.5, "lr": 0.01, "lr_scale": 0.5,
               "epochs": 3, "batch_size": 8, "trained": "WA", "labels": "all", "include_current": False,
               "noise_std": 0.1, "b_var": 0.5, "eval_every": 2}
    for name, value in changes.items():
        if hasattr(base, name):
            assert _ensemble_key(base.replace(**{name: value})) != _ensemble_key(base), name


def test_trainer_averages_the_iterates_after_the_given_step():
    x, y, labelled = _data(n=50)
    model = rnnlib.ElmanRNN(6, 16, seed=0)
    W, A, B = (getattr(model, name)[None].clone() for name in "WAB")
    trainer = _Trainer(W, A, B, torch.as_tensor(x)[None], torch.as_tensor(y)[None],
                       np.flatnonzero(labelled), 0.3, "W", average_from=5)
    trainer.epoch(torch.randperm(50)[None], 8, 0.01)
    assert trainer.steps == 7 and trainer.n_avg == 2  # 6 full batches of 8 and one of 2
    avg_W = trainer.current()[0]
    assert not torch.equal(avg_W, W)  # the mean of steps 6 and 7, not the last iterate
