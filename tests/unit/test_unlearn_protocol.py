"""`run_unlearn`: one call unlearns, retrains the reference and certifies; its result saves itself, draws its
plots and writes evidence whose details validate against the certificate's schema and render in the report."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from trust.errors import ConfigError
from trust.evidence import Result
from trust.unlearn import UnlearnInputs, UnlearnResult, run_unlearn
from trust.unlearn.protocol import DETAILS_SCHEMA

FP = "hmac-sha256:" + "1" * 64
POLICY = {"max_forget_accuracy": 0.05, "min_retain_accuracy_ratio_to_retrain": 0.9,
          "max_loss_attack_excess_over_retrain": 0.2, "max_ulira_auc_excess_over_retrain": 0.2,
          "max_ulira_reverse_auc_excess_over_retrain": 0.2}


@pytest.fixture(scope="module")
def inputs():
    from trust.data import load_array_dataset, split_arrays
    from trust.models import NeuralClassifier

    torch.set_num_threads(1)
    ds = load_array_dataset("digits")
    sp = split_arrays(ds.y, val_size=0.1, test_size=0.3, seed=0)
    X, y = ds.X, ds.y
    m = NeuralClassifier("mlp", hidden=(64,), epochs=10, lr=3e-3, n_classes=10, random_state=0).fit(X[sp.train],
                                                                                                   y[sp.train])
    return UnlearnInputs.for_class(m, X[sp.train], y[sp.train], 3, test=(X[sp.test], y[sp.test]),
                                   val=(X[sp.val], y[sp.val]), fingerprint=FP, name="digits")


@pytest.fixture(scope="module")
def concept(inputs):
    return run_unlearn(inputs, method="concept", settings={"epochs": 5}, baselines=["donor_flip"], n_shadows=4,
                       relearn=False)


@pytest.fixture(scope="module")
def laf(inputs):
    return run_unlearn(inputs, method="laf", settings={"epochs": 2, "vae_epochs": 2}, certified="LAF+R",
                       repair_per_class=2, n_shadows=4, relearn=False)


def test_the_result_is_a_frozen_evidence_result_of_kind_unlearn(concept):
    assert isinstance(concept, Result) and isinstance(concept, UnlearnResult) and concept.kind == "unlearn"
    with pytest.raises(AttributeError):
        concept.model = None


def test_the_concept_method_forgets_the_class_and_its_certificate_compares_with_the_reference(concept, inputs):
    cert = concept.certificate
    assert cert.figures["unlearned"].test_forget_accuracy <= 0.05
    assert cert.figures["retrained"].forget_accuracy == 0.0 and concept.reference is not None
    assert list(concept.comparison) == ["donor_flip"]


def test_runtime_reports_fine_tuning_and_the_whole_fit_separately(concept):
    s = concept.seconds
    assert 0 < s["finetune"] < s["whole_fit"] and s["cacheable"] == pytest.approx(s["whole_fit"] - s["finetune"])
    assert concept.runtime()["finetune_over_retrain"] == pytest.approx(s["finetune"] / s["retrain"])


def test_evidence_details_validate_against_the_schema_and_carry_the_gates(concept):
    from trust.evidence import schema_problem

    ev = concept.to_evidence(POLICY)
    assert ev.kind == "unlearn" and schema_problem(dict(ev.details), DETAILS_SCHEMA) is None
    keys = [c.policy_key for c in ev.checks if c.policy_key]
    assert keys == list(POLICY)
    assert any(c.name.startswith("Control: the original") and c.passed for c in ev.checks)
    doc = ev.document("unlearn_concept")
    assert doc["metrics"]["unlearned.ulira_auc"] == pytest.approx(concept.certificate.figures["unlearned"].ulira_auc)


def test_the_report_renders_the_certificate_and_regates_it(concept):
    from trust.report import build_report

    doc = concept.to_evidence(POLICY).document("unlearn_concept")
    model = build_report({"evidence/unlearn_concept.json": doc}, policy={**POLICY, "max_forget_accuracy": 0.0})
    sec, = [s for s in model["sections"] if s["id"] == "unlearning"]
    table, = [b for b in sec["blocks"] if b["type"] == "table" and b.get("caption", "").startswith("Certificate:")]
    assert table["columns"][1:5] == ["Unlearned", "Retrained (reference)", "Original (control: must fail)",
                                     "Retrained, other seed (control: must pass)"]
    assert any(g["policy_key"] == "max_ulira_auc_excess_over_retrain" for g in model["gates"])


def test_a_failed_likelihood_ratio_gate_adds_a_limitation_naming_the_stage_and_where_the_rows_sit(concept):
    from trust.report import build_report

    doc = concept.to_evidence(POLICY).document("unlearn_concept")
    strict = build_report({"evidence/unlearn_concept.json": doc},
                          policy={**POLICY, "max_ulira_auc_excess_over_retrain": -1.0})
    loose = build_report({"evidence/unlearn_concept.json": doc},
                         policy={**POLICY, "max_ulira_auc_excess_over_retrain": 1.0})
    found = [x for x in strict["limitations"] if x.startswith("unlearn_concept: the likelihood-ratio test")]
    assert len(found) == 1 and "of the way from the retrained" in found[0]
    assert not any(x.startswith("unlearn_concept: the likelihood-ratio test") for x in loose["limitations"])


def test_laf_r_uses_its_named_label_budget_and_laf_joins_the_comparison(laf):
    assert laf.method == "LAF+R" and laf.params["repair_per_class"] == 2
    assert laf.analysis["repair_labels"] == 2 * 9 and list(laf.comparison) == ["LAF"]
    assert len(laf.analysis["forget_accuracy_per_epoch"]) == 2


def test_save_writes_the_model_and_plots_draw_pngs(laf, tmp_path):
    from trust.models import NeuralClassifier

    laf.save(tmp_path)
    assert NeuralClassifier.load(tmp_path / "model").classes_.tolist() == list(range(10))
    plots = laf.plots(tmp_path)
    assert {p.path.rsplit("/", 1)[-1] for p in plots} == {"certificate.png", "accuracy_per_epoch.png", "embeddings.png"}
    assert all(open(p.path, "rb").read(4) == b"\x89PNG" for p in plots)


def test_without_held_out_rows_there_is_no_certificate_and_no_evidence(inputs):
    import dataclasses

    r = run_unlearn(dataclasses.replace(inputs, test=None), method="concept", settings={"epochs": 1})
    assert r.certificate is None and r.reference is None
    with pytest.raises(ConfigError, match="no certificate"):
        r.to_evidence(POLICY)


def test_settings_may_not_carry_the_protocols_own_seed(inputs):
    with pytest.raises(ConfigError, match="random_state"):
        run_unlearn(inputs, method="concept", settings={"random_state": 1})


def test_the_concept_method_needs_a_class(inputs):
    import dataclasses

    with pytest.raises(ConfigError, match="forget_class"):
        run_unlearn(dataclasses.replace(inputs, forget_class=None), method="concept")


def test_the_task_builder_forgets_exactly_the_relabelled_rows_of_the_noisy_task(inputs):
    from trust.unlearn.tasks import make_task

    X = np.concatenate([inputs.forget[0], inputs.retain[0]])
    y = np.concatenate([inputs.forget[1], inputs.retain[1]])
    m = inputs.model.set_params(epochs=1)
    task = make_task(m, X, y, "noisy", noisy_classes=[0, 1], noisy_rate=0.5, random_state=0)
    orig_labels = dict(zip(map(bytes, X.reshape(len(X), -1)), y))
    assert all(orig_labels[bytes(x.reshape(-1))] != t for x, t in zip(*task.forget))
    assert task.model is not m and task.forget_class is None


def test_a_stage_fingerprints_the_forget_rows_with_its_own_key_and_records_them(inputs, concept):
    seen = []
    fp = inputs.with_fingerprint(lambda frame: seen.append(frame) or FP).fingerprint
    assert fp == FP and seen[0].shape == (len(inputs.forget[1]), 65) and "label" in seen[0]
    assert concept.data_entry("digits") == {"name": "digits/forget", "fingerprint": FP,
                                            "role": "forgotten rows (class)", "rows": len(inputs.forget[1])}


def test_the_forget_rows_kept_as_a_table_reproduce_their_keyed_fingerprint(inputs, tmp_path):
    """The stages keep outputs/<stage>/<dataset>/forget.parquet so that `trust verify` recomputes the evidence's
    fingerprint of the forgotten rows (it was UNVERIFIABLE)."""
    from trust.data import read_table, write_table
    from trust.data.hashing import keyed_fingerprint

    key = b"k" * 32
    fp = inputs.with_fingerprint(lambda f: keyed_fingerprint(f, key)).fingerprint
    write_table(inputs.forget_frame(), tmp_path / "digits" / "forget.parquet")
    assert keyed_fingerprint(read_table(tmp_path / "digits" / "forget.parquet"), key) == fp
    assert keyed_fingerprint(read_table(tmp_path / "digits" / "forget.parquet").iloc[1:], key) != fp
