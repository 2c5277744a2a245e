"""ConceptUnlearner and the baselines on digits (a small seeded MLP): CAVs, PCBM, IG, donor, poisoning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trust.errors import DataError
from trust.unlearn import BaselineUnlearner, ConceptUnlearner, digit_concepts

K = 3


@pytest.fixture(scope="module")
def digits():
    from trust.data import load_array_dataset, split_arrays
    from trust.models import NeuralClassifier

    torch.set_num_threads(1)
    ds = load_array_dataset("digits")
    sp = split_arrays(ds.y, val_size=0.2, test_size=0.2, seed=0)
    X, y = ds.X, ds.y
    model = NeuralClassifier("mlp", hidden=(64,), epochs=15, lr=3e-3, n_classes=10, random_state=0)
    model.fit(X[sp.train], y[sp.train])
    return {"model": model, "X": X[sp.train], "y": y[sp.train], "val": (X[sp.val], y[sp.val]),
            "test": (X[sp.test], y[sp.test])}


@pytest.fixture(scope="module")
def unlearner(digits):
    d = digits
    return ConceptUnlearner("targeted", epochs=5, random_state=0).fit(d["model"], d["X"], d["y"], K, digit_concepts(),
                                                                     eval_set=d["val"])


def test_digit_concepts_is_a_ten_class_binary_matrix_with_distinct_rows():
    A = digit_concepts()
    assert A.index.tolist() == list(range(10)) and set(np.unique(A.to_numpy())) == {0, 1}
    assert len({tuple(r) for r in A.to_numpy()}) == 10


def test_cav_held_out_accuracy_is_above_chance_for_most_concepts(unlearner, digits):
    A = digit_concepts()
    yv = digits["val"][1]
    chance = {c: max(A[c].reindex(yv).mean(), 1 - A[c].reindex(yv).mean()) for c in unlearner.concepts_}
    above = [unlearner.cav_accuracy_[c] > chance[c] for c in unlearner.concepts_]
    assert np.mean(above) >= 2 / 3


def test_integrated_gradients_are_complete_within_the_reported_delta(unlearner, digits):
    S = unlearner.concept_scores(digits["val"][0][:40])
    target = np.arange(40) % 10
    attr, delta = unlearner.attribute(S, target)
    W, b = unlearner.pcbm_.coef_, unlearner.pcbm_.intercept_
    base = unlearner.ig_baseline_scores(40)
    diff = (S @ W.T + b)[np.arange(40), target] - (base @ W.T + b)[np.arange(40), target]   # independent logits
    assert np.all(np.abs(attr.sum(axis=1) - diff) <= np.abs(delta) + 1e-6)


def test_pcbm_accuracy_is_close_to_the_original_models(unlearner):
    assert unlearner.pcbm_accuracy_ > unlearner.model_accuracy_ - 0.1


def test_concept_importance_has_one_row_per_class_and_a_column_per_concept_used(unlearner):
    imp = unlearner.concept_importance_
    assert imp.shape == (10, len(unlearner.concepts_)) and list(imp.columns) == unlearner.concepts_


def test_donor_is_the_retained_class_whose_top_concepts_overlap_most(unlearner):
    assert unlearner.donor_class_ != K and unlearner.overlap_[unlearner.donor_class_] == unlearner.overlap_.max()


def test_targeted_poisoning_forgets_the_class_on_its_test_rows(unlearner, digits):
    Xt, yt = digits["test"]
    assert np.mean(unlearner.model_.predict(Xt[yt == K]) == K) <= 0.05


def test_targeted_poisoning_sends_the_forgotten_class_to_the_donor(unlearner, digits):
    Xt, yt = digits["test"]
    assert np.mean(unlearner.model_.predict(Xt[yt == K]) == unlearner.donor_class_) > 0.5


def test_fit_leaves_the_original_model_unchanged(digits):
    d = digits
    before = [p.detach().clone() for p in d["model"].network_.parameters()]
    ConceptUnlearner("random", epochs=1).fit(d["model"], d["X"], d["y"], K, digit_concepts())
    assert all(torch.equal(a, b) for a, b in zip(before, d["model"].network_.parameters()))


def test_random_poisoning_relabels_every_forget_row_to_a_retained_class(digits):
    d = digits
    u = ConceptUnlearner("random").fit(d["model"], d["X"], d["y"], K, digit_concepts())
    assert u.donor_class_ is None and u.n_relabelled_ == int((d["y"] == K).sum())
    assert np.mean(u.model_.predict(d["X"][d["y"] == K]) == K) <= 0.05


def test_a_class_the_model_does_not_know_is_refused(digits):
    d = digits
    with pytest.raises(DataError, match="forget_class 11 is not a class"):
        ConceptUnlearner().fit(d["model"], d["X"], d["y"], 11, digit_concepts())


def test_forgetting_the_only_class_left_is_refused(digits):
    d = digits
    only = d["y"] == K
    with pytest.raises(DataError, match="no other class"):
        ConceptUnlearner().fit(d["model"], d["X"][only], d["y"][only], K, digit_concepts())


def test_an_empty_forget_set_is_refused(digits):
    d = digits
    keep = d["y"] != K
    with pytest.raises(DataError, match="no example of class 3"):
        ConceptUnlearner().fit(d["model"], d["X"][keep], d["y"][keep], K, digit_concepts())


def test_a_concept_matrix_whose_classes_do_not_match_the_model_is_refused(digits):
    d = digits
    with pytest.raises(DataError, match="do not match the model's classes"):
        ConceptUnlearner().fit(d["model"], d["X"], d["y"], K, digit_concepts().drop(index=9))


def test_a_concept_matrix_with_non_binary_values_is_refused(digits):
    d = digits
    A = digit_concepts().astype(float)
    A.iloc[0, 0] = 0.5
    with pytest.raises(DataError, match="0/1 values"):
        ConceptUnlearner().fit(d["model"], d["X"], d["y"], K, A)


def test_retrain_baseline_equals_a_fresh_fit_without_the_class(digits):
    from trust.models import NeuralClassifier

    d = digits
    b = BaselineUnlearner("retrain").fit(d["model"], d["X"], d["y"], K)
    keep = d["y"] != K
    fresh = NeuralClassifier("mlp", hidden=(64,), epochs=15, lr=3e-3, n_classes=10, random_state=0)
    fresh.fit(d["X"][keep], d["y"][keep])
    assert np.array_equal(b.model_.decision_function(d["test"][0]), fresh.decision_function(d["test"][0]))


def test_donor_flip_baseline_picks_the_class_the_model_confuses_most(digits):
    d = digits
    b = BaselineUnlearner("donor_flip", epochs=1).fit(d["model"], d["X"], d["y"], K)
    P = d["model"].predict_proba(d["X"][d["y"] == K]).mean(axis=0)
    P[K] = -1
    assert b.donor_class_ == int(np.argmax(P))


def test_gradient_ascent_raises_the_forget_rows_loss(digits):
    d = digits
    forget = d["y"] == K
    b = BaselineUnlearner("gradient_ascent", lr=0.05, ascent_epochs=2).fit(d["model"], d["X"], d["y"], K)
    before = d["model"].predict_proba(d["X"][forget])[:, K]
    after = b.model_.predict_proba(d["X"][forget])[:, K]
    assert after.mean() < before.mean()
