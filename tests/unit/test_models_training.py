"""fit_torch: weighting, callbacks (custom loss, freezing), custom batches, seeding, device names."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from trust.errors import ConfigError
from trust.models import Callback, build_network, fit_torch, resolve_device


def _data(n=64, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)).astype(np.float32)
    return X, (X @ np.array([1.0, -2.0, 0.5], dtype=np.float32))


def _mse(model, x, y):
    return (model(x).squeeze(-1) - y) ** 2


def _linear(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Linear(3, 1)


def test_full_batch_sgd_matches_a_hand_written_step():
    X, y = _data()
    a, b = _linear(), _linear()
    fit_torch(a, _mse, (X, y), epochs=1, batch_size=len(X), lr=0.1, optimizer="sgd", momentum=0.0)
    loss = _mse(b, torch.as_tensor(X), torch.as_tensor(y)).mean()
    loss.backward()
    with torch.no_grad():
        for p in b.parameters():
            p -= 0.1 * p.grad
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_sample_weights_equal_repeating_rows():
    X, y = _data(8)
    w = np.array([1, 2, 1, 3, 1, 1, 2, 1], dtype=float)
    a, b = _linear(), _linear()
    fit_torch(a, _mse, (X, y), sample_weight=w, epochs=1, batch_size=8, lr=0.1, optimizer="sgd", momentum=0.0)
    rep = np.repeat(np.arange(8), w.astype(int))
    fit_torch(b, _mse, (X[rep], y[rep]), epochs=1, batch_size=len(rep), lr=0.1, optimizer="sgd", momentum=0.0)
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_weights_with_a_scalar_loss_are_refused():
    X, y = _data()
    with pytest.raises(ConfigError, match="per-sample"):
        fit_torch(_linear(), lambda m, x, t: _mse(m, x, t).mean(), (X, y), sample_weight=np.ones(len(X)))


def test_a_frozen_parameter_does_not_move():
    class Freeze(Callback):
        def on_train_begin(self, model):
            model.bias.requires_grad_(False)

    X, y = _data()
    m = _linear()
    b0 = m.bias.detach().clone()
    fit_torch(m, _mse, (X, y), epochs=3, callbacks=[Freeze()])
    assert torch.equal(m.bias, b0) and not torch.equal(m.weight, _linear().weight)


def test_a_callback_loss_term_is_minimised():
    class PullToZero(Callback):
        def loss(self, model, batch, loss):
            return loss + 100.0 * model.weight.pow(2).sum()

    X, y = _data()
    m = _linear()
    fit_torch(m, _mse, (X, y), epochs=50, lr=0.05, callbacks=[PullToZero()])
    assert float(m.weight.detach().abs().max()) < 0.05


def test_on_epoch_end_returning_true_stops_training():
    class StopAt2(Callback):
        def on_epoch_end(self, epoch, logs):
            return epoch == 1

    X, y = _data()
    h = fit_torch(_linear(), _mse, (X, y), epochs=10, callbacks=[StopAt2()])
    assert h.epochs_run == 2


def test_custom_batches_are_the_ones_used():
    seen = []

    def loss(model, x, idx):
        seen.append(idx.tolist())
        return model(x).sum() * 0

    X, _ = _data(6)
    fit_torch(_linear(), loss, (X, np.arange(6)), epochs=2, batches=lambda rng: [np.array([0, 1]), np.array([5])])
    assert seen == [[0, 1], [5], [0, 1], [5]]


def test_same_seed_gives_identical_weights_with_dropout():
    X, y = _data()

    def run():
        torch.manual_seed(0)
        net = build_network("mlp", (3,), 2, hidden=(8,), dropout=0.5)
        fit_torch(net, lambda m, x, t: F.cross_entropy(m(x), t, reduction="none"), (X, (y > 0).astype(np.int64)),
                  epochs=3, random_state=5)
        return torch.cat([p.flatten() for p in net.parameters()])

    assert torch.equal(run(), run())


def test_validation_loss_is_recorded_each_epoch():
    X, y = _data()
    h = fit_torch(_linear(), _mse, (X, y), epochs=4, val_data=(X, y))
    assert len(h.val_loss) == 4 and h.val_loss[-1] < h.val_loss[0]


def test_patience_without_validation_data_is_refused():
    X, y = _data()
    with pytest.raises(ConfigError, match="needs val_data"):
        fit_torch(_linear(), _mse, (X, y), patience=2)


def test_unknown_device_name_is_a_config_error():
    with pytest.raises(ConfigError, match="device='gpu' is unknown"):
        resolve_device("gpu")


def test_auto_device_is_cuda_exactly_when_available():
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")


def test_cuda_without_a_device_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("a CUDA device is present")
    with pytest.raises(ConfigError, match="no CUDA device"):
        resolve_device("cuda")


def test_network_of_unknown_name_is_a_config_error():
    with pytest.raises(ConfigError, match="network='vit' is unknown"):
        build_network("vit", (3,), 2)
