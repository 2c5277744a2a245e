"""Label-Agnostic Forgetting: the label-free API, the VAEs, the losses, copying, seeding, LAF+R."""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from torch import nn

from trust.data import load_array_dataset
from trust.errors import ConfigError, DataError
from trust.models import NeuralClassifier
from trust.unlearn.laf import (
    LabelAgnosticForgetting, alignment_loss, extractor_unlearning_loss, per_class_subset, vae_reconstruction_error,
)

FAST = dict(epochs=3, lr=1e-3, align_lr=2e-3, batch_size=32, vae_epochs=5, device="cpu", random_state=0)


@pytest.fixture(scope="module")
def digits():
    torch.set_num_threads(1)
    ds = load_array_dataset("digits")
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(ds.y))[:900]
    X, y = ds.X[idx], ds.y[idx]
    model = NeuralClassifier("cnn", epochs=30, lr=3e-3, channels=(32, 64, 128), n_classes=10, device="cpu",
                             random_state=0).fit(X[:700], y[:700])
    return X, y, model


@pytest.fixture(scope="module")
def unlearned(digits):
    X, y, model = digits
    Xtr, ytr = X[:700], y[:700]
    f = ytr == 3
    return LabelAgnosticForgetting(**{**FAST, "epochs": 6}).fit(model, Xtr[f], Xtr[~f])


def test_fit_takes_only_the_model_and_two_input_arrays():
    params = list(inspect.signature(LabelAgnosticForgetting.fit).parameters)
    assert params == ["self", "model", "forget_X", "remain_X"]


def test_class_removal_forgets_the_class_and_keeps_the_rest(digits, unlearned):
    X, y, model = digits
    Xte, yte = X[700:], y[700:]
    pred = unlearned.model_.predict(Xte)
    before = model.predict(Xte)
    assert (before[yte == 3] == 3).mean() > 0.8
    assert (pred[yte == 3] == 3).mean() < 0.2
    assert (pred[yte != 3] == yte[yte != 3]).mean() > 0.85


def test_the_original_model_is_untouched_and_model_is_a_copy(digits):
    X, y, model = digits
    before = model.decision_function(X[700:])
    f = y[:700] == 3
    laf = LabelAgnosticForgetting(**{**FAST, "epochs": 1}).fit(model, X[:700][f], X[:700][~f])
    laf.repair(X[:50], y[:50])
    assert laf.model_ is not model and laf.model_.network_ is not model.network_
    np.testing.assert_array_equal(model.decision_function(X[700:]), before)


def test_seeded_runs_reproduce_exactly(digits):
    X, y, model = digits
    f = y[:700] == 5
    a = LabelAgnosticForgetting(**{**FAST, "epochs": 1}).fit(model, X[:700][f], X[:700][~f])
    b = LabelAgnosticForgetting(**{**FAST, "epochs": 1}).fit(model, X[:700][f], X[:700][~f])
    np.testing.assert_array_equal(a.model_.decision_function(X[700:]), b.model_.decision_function(X[700:]))


def test_remaining_vae_reconstructs_held_out_embeddings_better_than_their_mean(digits, unlearned):
    X, y, model = digits
    e_train = model.embed(X[:700][y[:700] != 3])
    e_held = torch.as_tensor(model.embed(X[700:][y[700:] != 3]), dtype=torch.float32)
    with torch.no_grad():
        vae_err = vae_reconstruction_error(unlearned.vae_remain_, e_held).mean().item()
    mean_err = ((e_held.numpy() - e_train.mean(axis=0)) ** 2).sum(axis=1).mean()
    assert vae_err < mean_err


def test_extractor_unlearning_loss_matches_a_loop_over_samples():
    rng = np.random.default_rng(1)
    ms, mu = rng.gamma(2.0, 3.0, 7), rng.gamma(2.0, 3.0, 4)
    expected = sum(math.exp(m / (m + 1)) for m in ms) - sum(math.exp(m / (m + 1)) for m in mu)
    got = extractor_unlearning_loss(torch.as_tensor(ms), torch.as_tensor(mu)).item()
    assert got == pytest.approx(expected, rel=1e-10)


def test_alignment_loss_matches_a_loop_over_samples():
    g = torch.Generator().manual_seed(0)
    es, ts, eu, tu = (torch.randn(n, 6, generator=g, dtype=torch.float64) for n in (5, 5, 3, 3))
    tau = 5.0

    def cos(a, b):
        return float(a @ b / (a.norm() * b.norm()))

    c2 = [1 - cos(eu[j], tu[j]) for j in range(3)]
    denom = sum(math.exp(c / tau) for c in c2)
    expected = sum(math.log(math.exp(1 - cos(es[i], ts[i])) / denom) for i in range(5))
    assert alignment_loss(es, ts, eu, tu, tau).item() == pytest.approx(expected, rel=1e-10)


def test_cycling_gives_a_small_forget_set_one_step_per_remaining_batch(digits):
    X, y, model = digits
    f = np.flatnonzero(y[:700] == 3)[:20]
    r = np.flatnonzero(y[:700] != 3)
    kw = {**FAST, "epochs": 1, "batch_size": 32}
    cyc = LabelAgnosticForgetting(**kw).fit(model, X[f], X[r])
    pub = LabelAgnosticForgetting(**kw, cycle_forget=False).fit(model, X[f], X[r])
    assert cyc.history_["steps"] == [math.ceil(len(r) / 32)]
    assert pub.history_["steps"] == [math.ceil(len(f) / 32)]


def test_repair_changes_only_the_head(digits, unlearned):
    X, y, _ = digits
    laf = LabelAgnosticForgetting(**{**FAST, "epochs": 1}).fit(digits[2], X[:700][y[:700] == 3], X[:700][y[:700] != 3])
    idx = per_class_subset(y[:700], 5, random_state=0)
    laf.repair(X[idx], y[idx])
    old, new = laf.laf_model_.network_.state_dict(), laf.model_.network_.state_dict()
    changed = {k for k in old if not torch.equal(old[k], new[k])}
    assert changed == {"head.weight", "head.bias"}


def test_per_class_subset_takes_the_asked_number_of_each_class():
    y = np.array([0] * 10 + [1] * 3 + [2] * 8)
    idx = per_class_subset(y, 5, random_state=0)
    assert np.bincount(y[idx]).tolist() == [5, 3, 5]


def test_an_empty_forget_set_is_refused(digits):
    X, _, model = digits
    with pytest.raises(DataError, match="forget_X is empty"):
        LabelAgnosticForgetting(**FAST).fit(model, X[:0], X[:100])


def test_forget_and_remaining_inputs_of_different_shapes_are_refused(digits):
    X, _, model = digits
    with pytest.raises(DataError, match="forget_X has samples of shape"):
        LabelAgnosticForgetting(**FAST).fit(model, X[:10, :4], X[10:100])


def test_a_model_without_embed_is_refused(digits):
    X, y, _ = digits
    net = nn.Sequential(nn.Flatten(), nn.Linear(64, 10))
    model = NeuralClassifier(net, epochs=1, n_classes=10, device="cpu").fit(X[:100].astype(np.float32), y[:100])
    with pytest.raises(ConfigError, match="no embed"):
        LabelAgnosticForgetting(**FAST).fit(model, X[:10].astype(np.float32), X[10:100].astype(np.float32))


def test_forget_inputs_equal_to_the_remaining_ones_are_refused(digits):
    X, _, model = digits
    with pytest.raises(DataError, match="also appears in remain_X"):
        LabelAgnosticForgetting(**FAST).fit(model, X[:50], X[:50])


def test_forget_inputs_all_among_the_remaining_ones_are_refused(digits):
    X, _, model = digits
    with pytest.raises(DataError, match="50 of 50"):
        LabelAgnosticForgetting(**FAST).fit(model, X[:50], X[:200])


def test_non_finite_inputs_are_refused(digits):
    X, _, model = digits
    bad = X[:20].astype(float)
    bad[0, 0, 0] = np.nan
    with pytest.raises(DataError):
        LabelAgnosticForgetting(**FAST).fit(model, bad, X[100:200])


def test_the_fit_times_its_two_stages(unlearned):
    assert unlearned.seconds_ >= unlearned.seconds_stage1_ + unlearned.seconds_stage2_ > 0


def test_auto_epochs_run_the_fewest_epochs_that_reach_the_step_budget(digits):
    X, y, model = digits
    f = y[:700] == 3
    laf = LabelAgnosticForgetting(**{**FAST, "epochs": "auto", "auto_steps": 40, "vae_epochs": 1}).fit(
        model, X[:700][f], X[:700][~f])
    per_epoch = laf.history_["steps"][0]
    assert laf.epochs_ == -(-40 // per_epoch) and sum(laf.history_["steps"]) >= 40 > sum(laf.history_["steps"][:-1])


def test_epochs_must_be_a_count_or_auto(digits):
    X, y, model = digits
    with pytest.raises(ConfigError, match="epochs"):
        LabelAgnosticForgetting(**{**FAST, "epochs": "many"}).fit(model, X[:20], X[100:200])
