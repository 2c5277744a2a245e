"""evaluate_unlearning, the membership attack, relearn time and the unlearning certificate, on digits.

Models: small MLPs on sklearn's digits (seeded), the original on every training row and the reference
retrained from scratch without class 3 (same recipe, same seed).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from trust.errors import DataError
from trust.report import build_report
from trust.evidence import make_evidence
from trust.unlearn.metrics import (
    FIGURES, certificate_checks, evaluate_unlearning, membership_rate, relearn_epochs, unlearning_certificate,
)
from trust.unlearn.report_section import validate_certificate
from trust.unlearn.tuning import finetune

K = 3
POLICY = {"max_forget_accuracy": 0.05, "max_mia_gap_to_retrain": 0.05, "max_retain_gap_to_retrain": 0.03}
FP = "hmac-sha256:" + "0" * 64


@pytest.fixture(scope="module")
def digits():
    from trust.data import load_array_dataset, split_arrays
    from trust.models import NeuralClassifier

    torch.set_num_threads(1)
    ds = load_array_dataset("digits")
    sp = split_arrays(ds.y, val_size=0.1, test_size=0.3, seed=0)
    X, y = ds.X, ds.y
    tr, te = sp.train, sp.test
    kw = dict(network="mlp", hidden=(64,), epochs=15, lr=3e-3, n_classes=10, random_state=0)
    f, r = tr[y[tr] == K], tr[y[tr] != K]
    original = NeuralClassifier(**kw).fit(X[tr], y[tr])
    retrained = NeuralClassifier(**kw).fit(X[r], y[r])
    return {"original": original, "retrained": retrained, "forget": (X[f], y[f]), "retain": (X[r], y[r]),
            "test": (X[te], y[te])}


@pytest.fixture(scope="module")
def figures(digits):
    d = digits
    return {"original": evaluate_unlearning(d["original"], d["retrained"], d["forget"], d["retain"], d["test"],
                                            forget_class=K, seconds=(1.0, 4.0)),
            "retrained": evaluate_unlearning(d["retrained"], d["retrained"], d["forget"], d["retain"], d["test"],
                                             forget_class=K, seconds=(4.0, 4.0))}


def test_accuracies_match_predictions_on_each_part(digits, figures):
    m, (Xt, yt) = digits["original"], digits["test"]
    keep = yt != K
    assert figures["original"]["test_retain_accuracy"] == pytest.approx(np.mean(m.predict(Xt[keep]) == yt[keep]))
    assert figures["original"]["test_forget_accuracy"] == pytest.approx(np.mean(m.predict(Xt[~keep]) == yt[~keep]))
    assert figures["original"]["forget_accuracy"] == pytest.approx(np.mean(m.predict(digits["forget"][0]) == K))


def test_retrained_figures_are_the_reference_models_own(figures):
    for k in FIGURES:
        a, b = figures["original"][f"retrained.{k}"], figures["retrained"][k]
        assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b)


def test_model_retrained_without_the_class_never_predicts_it(figures):
    assert figures["retrained"]["forget_accuracy"] == 0.0 and figures["retrained"]["test_forget_accuracy"] == 0.0


def test_loss_attack_calls_the_original_models_forget_rows_members_far_more_than_the_retrained_models(figures):
    assert figures["original"]["mia_loss"] > figures["original"]["retrained.mia_loss"] + 0.3


def test_gaps_are_absolute_differences_and_avg_gap_their_mean(figures):
    f = figures["original"]
    gaps = [abs(f[k] - f[f"retrained.{k}"]) for k in FIGURES if k != "relearn_epochs"]
    assert [f[f"gap.{k}"] for k in FIGURES if k != "relearn_epochs"] == pytest.approx(gaps)
    assert f["avg_gap"] == pytest.approx(np.mean(gaps))


def test_a_model_compared_with_itself_has_no_gap(figures):
    assert figures["retrained"]["avg_gap"] == 0.0


def test_runtime_ratio_is_unlearn_over_retrain_seconds(figures):
    assert figures["original"]["runtime_ratio"] == 0.25


def test_relearn_takes_no_epoch_for_the_original_and_some_for_the_retrained(figures):
    assert figures["original"]["relearn_epochs"] == 0.0 and figures["original"]["retrained.relearn_epochs"] >= 1.0


def test_relearn_epochs_caps_at_max_epochs_plus_one_when_never_reached(digits):
    # a learning rate far too small to move the weights within one epoch
    assert relearn_epochs(digits["retrained"], digits["forget"], digits["retain"], max_epochs=1, lr=1e-9) == 2.0


def test_evaluation_leaves_both_models_unchanged(digits):
    d = digits
    before = [p.detach().clone() for p in d["retrained"].network_.parameters()]
    evaluate_unlearning(d["retrained"], d["retrained"], d["forget"], d["retain"], d["test"], forget_class=K)
    assert all(torch.equal(a, b) for a, b in zip(before, d["retrained"].network_.parameters()))


def test_without_forget_class_the_forgotten_class_test_accuracy_is_undefined_and_left_out(digits):
    d = digits
    f = evaluate_unlearning(d["original"], d["retrained"], d["forget"], d["retain"], d["test"], relearn=False)
    assert math.isnan(f["test_forget_accuracy"])
    gaps = [f[f"gap.{k}"] for k in ("forget_accuracy", "retain_accuracy", "test_retain_accuracy", "mia_loss",
                                    "mia_confidence")]
    assert f["avg_gap"] == pytest.approx(np.mean(gaps))


def test_membership_rate_follows_which_side_the_target_resembles():
    rng = np.random.default_rng(0)
    members, others = rng.normal(0, 1, 300), rng.normal(3, 1, 300)
    assert membership_rate(members, others, rng.normal(0, 1, 200)) > 0.85
    assert membership_rate(members, others, rng.normal(3, 1, 200)) < 0.15


def test_an_empty_forget_set_is_refused(digits):
    d = digits
    empty = (d["forget"][0][:0], d["forget"][1][:0])
    with pytest.raises(DataError, match="forget set is empty"):
        evaluate_unlearning(d["original"], d["retrained"], empty, d["retain"], d["test"], forget_class=K)


def test_a_forget_class_the_model_does_not_know_is_refused(digits):
    d = digits
    with pytest.raises(DataError, match="forget_class 12"):
        evaluate_unlearning(d["original"], d["retrained"], d["forget"], d["retain"], d["test"], forget_class=12)


def _certificate(figures, who):
    return unlearning_certificate(what="class", forget_class=K, count=len(figures), fingerprint=FP, method=who,
                                  params={"epochs": 1}, unlearned=figures[who], original=figures["original"],
                                  seconds={"unlearn": 1.0, "retrain": 4.0})


def test_certificate_validates_against_its_schema_and_the_evidence_schema(figures):
    cert = _certificate(figures, "original")
    validate_certificate(cert)
    make_evidence("unlearn_concept", "unlearning", details={"certificate": cert})


def test_retrained_model_passes_the_certificate_and_the_original_fails_it(figures):
    passed = {who: [c["passed"] for c in certificate_checks(_certificate(figures, who), POLICY)]
              for who in ("retrained", "original")}
    assert all(passed["retrained"]) and len(passed["retrained"]) == 3
    assert not passed["original"][0] and not passed["original"][1]  # forget accuracy and MIA gap fail


def test_report_renders_the_certificate_table_and_regates_with_the_current_policy(figures):
    cert = _certificate(figures, "original")
    doc = make_evidence("unlearn_concept", "unlearning", details={"certificate": cert},
                        checks=certificate_checks(cert, {"max_forget_accuracy": 1.0}))
    model = build_report({"evidence/unlearn_concept.json": doc}, policy=POLICY)
    sec, = [s for s in model["sections"] if s["id"] == "unlearning"]
    table, = [b for b in sec["blocks"] if b["type"] == "table" and b["caption"].startswith("Certificate:")]
    first = table["rows"][0]
    assert first[1:4] == [1.0, 0.0, 1.0] and first[5] == "fail"  # re-gated at 0.05, though recorded at 1.0


def test_finetune_trains_a_copy_and_only_its_head_by_default(digits):
    m = digits["original"]
    before = {n: p.detach().clone() for n, p in m.network_.named_parameters()}
    tuned = finetune(m, *digits["forget"], epochs=1, lr=0.1)
    assert all(torch.equal(before[n], p) for n, p in m.network_.named_parameters())
    changed = {n for n, p in tuned.network_.named_parameters() if not torch.equal(before[n], p)}
    assert changed == {"head.weight", "head.bias"}
