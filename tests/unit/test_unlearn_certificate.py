"""`trust.unlearn.certify`: the contract, every gate failing and passing, the controls, the schema, the report.

Two small worlds: *memorised rows* (random labels on noise, an MLP that learns its training rows by heart:
forgetting 30 of them is sample unlearning whose membership signal is strong) and *digits* (class
unlearning of class 3 with a small MLP).
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch

from trust.errors import ConfigError, DataError
from trust.evidence import make_evidence
from trust.unlearn.certificate import (
    CERTIFICATE_SCHEMA, DEFAULT_POLICY, MEMBERSHIP_KEYS, OVERFORGETTING_KEYS, certify, validate_certificate,
)

MEMBERSHIP = {k: DEFAULT_POLICY[k] for k in MEMBERSHIP_KEYS}
FP = "hmac-sha256:" + "0" * 64


@pytest.fixture(scope="module")
def memorised():
    from trust.models import NeuralClassifier

    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(240, 16)).astype(np.float32)
    y = rng.integers(0, 3, 240)
    tr, te = np.arange(120), np.arange(120, 240)
    f, r = tr[:30], tr[30:]
    kw = dict(network="mlp", hidden=(256,), epochs=80, lr=1e-2, n_classes=3)
    original = NeuralClassifier(**kw, random_state=0).fit(X[tr], y[tr])
    reference = NeuralClassifier(**kw, random_state=0).fit(X[r], y[r])
    sets = dict(forget=(X[f], y[f]), retain=(X[r], y[r]), test=(X[te], y[te]))
    shadows = _shadows(reference, sets)
    return {"original": original, "reference": reference, "sets": sets, "shadows": shadows}


def _shadows(reference, sets):
    from trust.unlearn.certificate import recipe
    from trust.unlearn.membership import fit_shadows

    return fit_shadows(lambda s: recipe(reference, s), sets["retain"], sets["forget"], n_shadows=4)


def _certify(world, model, **kw):
    return certify(model, original=world["original"], reference=world["reference"], shadows=world["shadows"],
                   **world["sets"], **kw)


@pytest.fixture(scope="module")
def digits():
    from trust.data import load_array_dataset, split_arrays
    from trust.models import NeuralClassifier

    torch.set_num_threads(1)
    ds = load_array_dataset("digits")
    sp = split_arrays(ds.y, val_size=0.1, test_size=0.3, seed=0)
    X, y, tr, te = ds.X, ds.y, sp.train, sp.test
    kw = dict(network="mlp", hidden=(64,), epochs=10, lr=3e-3, n_classes=10)
    f, r = tr[y[tr] == 3], tr[y[tr] != 3]
    original = NeuralClassifier(**kw, random_state=0).fit(X[tr], y[tr])
    reference = NeuralClassifier(**kw, random_state=0).fit(X[r], y[r])
    sets = dict(forget=(X[f], y[f]), retain=(X[r], y[r]), test=(X[te], y[te]))
    world = {"original": original, "reference": reference, "sets": sets, "shadows": _shadows(reference, sets),
             "weak": NeuralClassifier(**kw | {"epochs": 1}, random_state=0).fit(X[r], y[r])}
    world["cert"] = _certify(world, original, forget_class=3)
    return world


def test_the_original_offered_as_unlearned_fails_every_membership_gate(memorised):
    cert = _certify(memorised, memorised["original"], policy=MEMBERSHIP)
    assert [c.policy_key for c in cert.checks if c.passed is False] == list(MEMBERSHIP_KEYS) and not cert.passed


def test_a_second_retrained_model_passes_every_membership_gate(memorised):
    cert = _certify(memorised, memorised["original"], policy=MEMBERSHIP)
    assert cert.controls["retrained_other_seed"].passed


def test_the_reference_itself_passes_and_the_certificate_shows_its_power(memorised):
    cert = _certify(memorised, memorised["reference"], policy=MEMBERSHIP)
    assert cert.passed and cert.power


def test_membership_gates_are_differences_from_the_retrained_models_figures(memorised):
    cert = _certify(memorised, memorised["original"], policy=MEMBERSHIP)
    for c in (c for c in cert.checks if c.policy_key in MEMBERSHIP_KEYS):
        assert c.relation == "difference" and c.value == pytest.approx(c.figure - c.reference_figure)
        assert "retrained" in c.sentence() and "threshold" in c.sentence()


def test_checks_carry_name_figure_reference_figure_threshold_and_verdict(digits):
    for c in digits["cert"].checks:
        assert c.name and c.threshold is not None and isinstance(c.passed, bool)
        assert c.figure is not None and (c.policy_key == "max_forget_accuracy" or c.reference_figure is not None)


def test_class_unlearning_original_fails_forget_accuracy_and_the_likelihood_ratio_gate(digits):
    failed = {c.policy_key for c in digits["cert"].checks if c.passed is False}
    assert {"max_forget_accuracy", "max_ulira_auc_excess_over_retrain"} <= failed


def test_class_unlearning_reference_passes_every_gate(digits):
    assert _certify(digits, digits["reference"], forget_class=3).passed


def _class_logit_shifted(model, k, shift):
    """A copy of ``model`` whose class-``k`` logit is ``shift`` higher on every input (its head bias moved)."""
    m = copy.deepcopy(model)
    with torch.no_grad():
        m.network_.head.bias[k] += shift
    return m


def _failed(cert):
    return [c.policy_key for c in cert.checks if c.passed is False]


def test_a_model_that_puts_the_class_below_every_retrained_model_fails_only_the_over_forgetting_gate(digits):
    cert = _certify(digits, _class_logit_shifted(digits["reference"], 3, -20.0), forget_class=3)
    assert _failed(cert) == list(OVERFORGETTING_KEYS) and cert.figures["unlearned"].ulira_position < -0.5


def test_the_retrained_model_with_the_class_logit_raised_fails_only_the_likelihood_ratio_membership_gate(digits):
    cert = _certify(digits, _class_logit_shifted(digits["reference"], 3, 5.0), forget_class=3)
    assert _failed(cert) == ["max_ulira_auc_excess_over_retrain"]


def test_a_warm_started_model_that_forgets_the_class_by_accuracy_still_fails_the_likelihood_ratio_gate(digits):
    """The original with the class's head row re-initialised, fine-tuned 3 epochs on the retained rows only (Adam,
    every layer): it predicts none of the class, keeps the others, and its class logit stays above a retrained one's."""
    from trust.unlearn.tuning import finetune

    m = copy.deepcopy(digits["original"])
    head = m.network_.head
    with torch.no_grad():
        torch.manual_seed(0)
        fresh = torch.nn.Linear(head.in_features, head.out_features)
        head.weight[3], head.bias[3] = fresh.weight[3], fresh.bias[3]
    m = finetune(m, *digits["sets"]["retain"], trainable="all", optimizer="adam", lr=3e-3, epochs=3, batch_size=128)
    cert = _certify(digits, m, forget_class=3)
    assert _failed(cert) == ["max_ulira_auc_excess_over_retrain"]
    assert 0.0 < cert.figures["unlearned"].ulira_position < 1.0


def test_the_position_figure_puts_the_reference_near_zero_and_the_original_near_one(digits):
    figs = digits["cert"].figures
    assert abs(figs["retrained"].ulira_position) < 0.2 and abs(figs["original"].ulira_position - 1.0) < 0.2


def test_the_original_passes_the_over_forgetting_gate_so_the_two_directions_are_separate_gates(digits):
    c, = [c for c in digits["cert"].checks if c.policy_key in OVERFORGETTING_KEYS]
    assert c.passed is True and c.figure == pytest.approx(1.0 - digits["cert"].figures["unlearned"].ulira_auc)


def test_the_forget_accuracy_gate_is_absolute(digits):
    c, = [c for c in digits["cert"].checks if c.policy_key == "max_forget_accuracy"]
    assert c.reference is None and c.value > 0.5 and c.threshold == DEFAULT_POLICY["max_forget_accuracy"]


def test_the_retained_accuracy_gate_fails_a_model_that_lost_the_retained_classes(digits):
    cert = _certify(digits, digits["weak"], forget_class=3)
    c, = [c for c in cert.checks if c.policy_key == "min_retain_accuracy_ratio_to_retrain"]
    assert c.relation == "ratio" and c.passed is False


def test_a_missing_policy_key_leaves_its_check_ungated(digits):
    cert = digits["cert"].with_policy({"max_forget_accuracy": 0.05})
    assert [c.passed is None for c in cert.checks] == [False, True, True, True, True]


def test_regating_with_a_looser_policy_turns_a_fail_into_a_pass(digits):
    loose = {**DEFAULT_POLICY, "max_forget_accuracy": 1.0, "max_ulira_auc_excess_over_retrain": 1.0}
    assert digits["cert"].with_policy(loose).passed and not digits["cert"].passed


def test_the_certificate_validates_against_its_schema_and_evidence(digits):
    d = digits["cert"].to_dict(fingerprint=FP, method="original", params={"epochs": np.int64(3)},
                               seconds={"retrain": 1.0})
    validate_certificate(d)
    make_evidence("unlearn_concept", "unlearn", details={"certificate": d})
    assert d["params"]["epochs"] == 3 and d["forgotten"] == {"what": "class", "class": 3,
                                                             "count": len(digits["sets"]["forget"][1]),
                                                             "fingerprint": FP}


def test_a_certificate_missing_its_controls_is_refused():
    with pytest.raises(DataError, match="controls"):
        validate_certificate({k: {} for k in CERTIFICATE_SCHEMA["required"] if k != "controls"})


def test_certify_changes_none_of_the_models(digits):
    before = [p.detach().clone() for p in digits["original"].network_.parameters()]
    _certify(digits, digits["original"], forget_class=3, relearn=True, relearn_max_epochs=1)
    assert all(torch.equal(a, b) for a, b in zip(before, digits["original"].network_.parameters()))


def test_the_summary_prints_the_verdict_beside_both_controls(digits):
    s = digits["cert"].summary()
    assert s.startswith("certificate: FAIL") and "[original]" in s and "[retrained_other_seed]" in s


def test_a_reference_without_fixed_classes_is_refused(digits):
    from trust.models import NeuralClassifier

    loose = NeuralClassifier("mlp", hidden=(8,), epochs=1).fit(*digits["sets"]["retain"])
    with pytest.raises(ConfigError, match="n_classes"):
        certify(digits["original"], original=digits["original"], reference=loose, **digits["sets"], forget_class=3)


def test_forget_rows_of_another_class_are_refused(digits):
    s = digits["sets"]
    with pytest.raises(DataError, match="other than forget_class 3"):
        certify(digits["original"], original=digits["original"], reference=digits["reference"], forget=s["retain"],
                retain=s["retain"], test=s["test"], forget_class=3)


def test_held_out_rows_without_the_forgotten_class_are_refused(digits):
    s = digits["sets"]
    X, y = s["test"]
    with pytest.raises(DataError, match="no row of the forgotten class"):
        certify(digits["original"], original=digits["original"], reference=digits["reference"], forget=s["forget"],
                retain=s["retain"], test=(X[y != 3], y[y != 3]), forget_class=3)


def test_an_empty_forget_set_is_refused(digits):
    s = digits["sets"]
    with pytest.raises(DataError, match="forget set is empty"):
        certify(digits["original"], original=digits["original"], reference=digits["reference"],
                forget=(s["forget"][0][:0], s["forget"][1][:0]), retain=s["retain"], test=s["test"])
