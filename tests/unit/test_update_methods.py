"""Update methods: the old model is untouched, the new model covers all classes, b acts in training only."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from trust.errors import ConfigError, DataError
from trust.models import NeuralClassifier
from trust.update import (
    PCT_CODE, FocalDistillationUpdate, MarginPreservingUpdate, NaiveUpdate, negative_flip_rate, teacher_seed,
)


def _signals(n=240, k=4, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    X = rng.normal(size=(n, 12)) + 1.5 * np.eye(k, 12)[y] + 0.8 * np.eye(k, 12, 4)[y]
    return X.astype(np.float32), y


@pytest.fixture(scope="module")
def setting():
    X, y = _signals()
    old = y < 2
    old_model = NeuralClassifier("mlp", epochs=5, hidden=(16,), random_state=0).fit(X[old], y[old])
    return X, y, old_model


def _state(model):
    return {k: v.clone() for k, v in model.network_.state_dict().items()}


@pytest.mark.parametrize("make", [lambda: NaiveUpdate(), lambda: FocalDistillationUpdate(distillation="lm"),
                                  lambda: MarginPreservingUpdate(b=2.0)])
def test_fit_leaves_the_old_model_untouched_and_returns_a_model_over_all_classes(setting, make):
    X, y, old_model = setting
    before, params = _state(old_model), copy.deepcopy(old_model.get_params())
    upd = make().set_params(model_params={"epochs": 2})
    assert upd.fit(old_model, X, y) is upd
    after = _state(old_model)
    assert all(torch.equal(before[k], after[k]) for k in before) and old_model.get_params() == params
    assert isinstance(upd.model_, NeuralClassifier) and upd.model_.classes_.tolist() == [0, 1, 2, 3]


def test_margin_update_without_bias_or_distillation_is_the_naive_update(setting):
    X, y, old_model = setting
    naive = NaiveUpdate(model_params={"epochs": 3}).fit(old_model, X, y).model_
    plain = MarginPreservingUpdate(b=0.0, old_weight=0.0, new_weight=0.0, model_params={"epochs": 3}).fit(
        old_model, X, y, new_model=naive).model_
    assert np.array_equal(naive.decision_function(X), plain.decision_function(X))


def test_the_bias_is_not_applied_at_prediction_time(setting):
    X, y, old_model = setting
    m = MarginPreservingUpdate(b=4.0, model_params={"epochs": 2}).fit(old_model, X, y).model_
    with torch.no_grad():
        raw = m.network_(torch.as_tensor((X - m.mean_) / m.scale_)).numpy()
    assert np.allclose(m.decision_function(X), raw, atol=1e-5)
    assert np.array_equal(m.predict(X), raw.argmax(axis=1))


def test_a_large_bias_makes_old_classes_win_more_often_on_old_samples(setting):
    X, y, old_model = setting
    kw = {"old_weight": 0.0, "new_weight": 0.0, "model_params": {"epochs": 10}}
    naive = NaiveUpdate(model_params={"epochs": 10}).fit(old_model, X, y).model_
    share = {}
    for b in (0.0, 8.0):
        m = MarginPreservingUpdate(b=b, **kw).fit(old_model, X, y, new_model=naive).model_
        share[b] = np.mean(m.predict(X[y < 2]) < 2)
    assert share[8.0] > share[0.0] or share[0.0] == 1.0


def test_focal_distillation_pulls_old_class_logits_towards_the_old_model(setting):
    X, y, old_model = setting
    target = old_model.decision_function(X)
    kw = {"model_params": {"epochs": 10}}
    naive = NaiveUpdate(**kw).fit(old_model, X, y).model_.decision_function(X)[:, :2]
    fd = FocalDistillationUpdate(distillation="lm", ce_weight=0.0, distill_weight=1.0, **kw).fit(
        old_model, X, y).model_.decision_function(X)[:, :2]
    assert np.mean((fd - target) ** 2) < 0.5 * np.mean((naive - target) ** 2)


def test_b_from_a_grid_is_the_lowest_validation_nfr_within_the_accuracy_tolerance(setting):
    X, y, old_model = setting
    Xv, yv = _signals(seed=1)
    upd = MarginPreservingUpdate(b=[0.0, 2.0, 6.0], tolerance=0.05, model_params={"epochs": 3}).fit(
        old_model, X, y, eval_set=(Xv, yv))
    ok = [c for c in upd.candidates_ if c["val"]["accuracy"] >= upd.teacher_val_accuracy_ - 0.05]
    pool = ok or upd.candidates_
    best = min(c["val"]["nfr"] for c in pool) if ok else None
    chosen = next(c for c in upd.candidates_ if c["b"] == upd.b_)
    assert upd.model_ is chosen["model"]
    assert (chosen["val"]["nfr"] == best) if ok else chosen["val"]["accuracy"] == max(c["val"]["accuracy"] for c in pool)
    old_v = yv < 2
    assert chosen["val"]["nfr"] == negative_flip_rate(yv[old_v], old_model.predict(Xv[old_v]),
                                                      upd.model_.predict(Xv[old_v]))


def test_a_grid_without_a_validation_set_is_refused(setting):
    X, y, old_model = setting
    with pytest.raises(ConfigError, match="eval_set"):
        MarginPreservingUpdate(b=[0, 4]).fit(old_model, X, y)


def test_labels_missing_an_old_class_are_a_one_line_error(setting):
    X, y, old_model = setting
    keep = y != 1
    with pytest.raises(DataError, match="old class 1 is missing"):
        NaiveUpdate().fit(old_model, X[keep], y[keep])


def test_labels_with_only_the_old_classes_are_refused(setting):
    X, y, old_model = setting
    with pytest.raises(DataError, match="adds at least one new class"):
        NaiveUpdate().fit(old_model, X[y < 2], y[y < 2])


def test_an_unknown_model_setting_is_refused(setting):
    X, y, old_model = setting
    with pytest.raises(ConfigError, match="'epoch'"):
        NaiveUpdate(model_params={"epoch": 3}).fit(old_model, X, y)


def test_an_unfitted_old_model_is_refused(setting):
    X, y, _ = setting
    with pytest.raises(ConfigError, match="fitted"):
        NaiveUpdate().fit(NeuralClassifier("mlp"), X, y)


def test_the_independent_teacher_is_a_naive_update_with_the_derived_seed(setting):
    X, y, old_model = setting
    upd = MarginPreservingUpdate(b=2.0, model_params={"epochs": 2}, random_state=3).fit(old_model, X, y)
    again = NaiveUpdate(model_params={"epochs": 2}, random_state=teacher_seed(3)).fit(old_model, X, y).model_
    assert teacher_seed(3) != 3 and upd.teacher_.random_state == teacher_seed(3)
    assert np.array_equal(upd.teacher_.decision_function(X), again.decision_function(X))


def test_the_pct_code_setting_distils_only_on_old_class_rows(setting):
    # with the cross-entropy off and no standardisation, new-class rows can only act through the distillation
    X, y, old_model = setting
    moved = X.copy()
    moved[y >= 2] += 3.0
    kw = {"model_params": {"epochs": 3, "standardize": False}, "ce_weight": 0.0}

    def logits(data, **settings):
        return FocalDistillationUpdate(**settings, **kw).fit(old_model, data, y).model_.decision_function(X)

    only_old = {k: v for k, v in PCT_CODE.items() if k != "ce_weight"}
    assert np.array_equal(logits(X, **only_old), logits(moved, **only_old))
    assert not np.array_equal(logits(X), logits(moved))
