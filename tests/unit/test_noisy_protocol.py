"""run_noisy / NoisyResult: gates relative to cross-entropy (each shown to FAIL and to PASS), the oracle control,
evidence valid against its schema, and the report section reading the details."""

from __future__ import annotations

import numpy as np
import pytest

from trust.errors import ConfigError
from trust.evidence import Evidence
from trust.noisy.protocol import NoisyResult, run_noisy

POLICY = {"min_noisy_accuracy_gain_over_ce": 0.0, "min_noisy_tail_gain_over_ce": 0.0}


def _result(rcal_acc, ce_acc, rcal_tail=0.5, ce_tail=0.4):
    figs = {"ce": {"accuracy": ce_acc, "head": 0.9, "medium": 0.7, "tail": ce_tail, "ece": 0.2, "per_class": [0.9, 0.7, 0.4],
                   "seconds": 1.0},
            "rcal": {"accuracy": rcal_acc, "head": 0.9, "medium": 0.8, "tail": rcal_tail, "ece": 0.1,
                     "per_class": [0.9, 0.8, 0.5], "seconds": 2.0}}
    return NoisyResult("toy_lt10_sym40", "toy", figs, {}, (30, 10, 3), {"head": (0,), "medium": (1,), "tail": (2,)},
                       0.4, {"imbalance_ratio": 10.0, "noise_rate": 0.4, "noise_kind": "symmetric"})


def _gate(ev: Evidence, key: str):
    c, = [c for c in ev.checks if c.policy_key == key]
    return c


def test_rcal_below_cross_entropy_fails_the_accuracy_gate():
    c = _gate(_result(0.60, 0.70).to_evidence(POLICY), "min_noisy_accuracy_gain_over_ce")
    assert c.passed is False and c.value == pytest.approx(-0.10)


def test_rcal_above_cross_entropy_passes_the_accuracy_gate():
    c = _gate(_result(0.78, 0.70).to_evidence(POLICY), "min_noisy_accuracy_gain_over_ce")
    assert c.passed is True and c.value == pytest.approx(0.08)


def test_rcal_worse_on_the_tail_classes_fails_the_tail_gate():
    assert _gate(_result(0.78, 0.70, rcal_tail=0.2, ce_tail=0.4).to_evidence(POLICY), "min_noisy_tail_gain_over_ce").passed is False


def test_rcal_better_on_the_tail_classes_passes_the_tail_gate():
    assert _gate(_result(0.78, 0.70, rcal_tail=0.6, ce_tail=0.4).to_evidence(POLICY), "min_noisy_tail_gain_over_ce").passed is True


def test_each_gate_sentence_names_its_figure_its_reference_and_its_threshold():
    c = _gate(_result(0.78, 0.70).to_evidence(POLICY), "min_noisy_accuracy_gain_over_ce")
    s = c.sentence()
    assert "0.78" in s and "cross-entropy on the same noisy rows 0.7" in s and "threshold 0 (>=)" in s


def test_the_tail_versus_head_comparison_is_reported_not_gated():
    checks = _result(0.78, 0.70).to_evidence(POLICY).checks
    c, = [c for c in checks if "tail-class gain" in c.name]
    assert c.policy_key is None and c.passed is None


def test_a_missing_baseline_fails_the_gate_rather_than_passing_it():
    r = _result(0.78, 0.70)
    r = NoisyResult(r.setting, r.dataset, {"rcal": r.figures["rcal"]}, {}, r.counts, r.groups)
    assert _gate(r.to_evidence(POLICY), "min_noisy_accuracy_gain_over_ce").passed is not True


def test_the_report_section_reads_the_details_and_shows_the_gain_on_its_card():
    from trust.report import build_report, render_html
    from trust.report.examples import EXAMPLE_POLICY

    doc = _result(0.78, 0.70).to_evidence(POLICY).document("noisy_toy_lt10_sym40")
    m = build_report({"evidence/noisy_toy_lt10_sym40.json": doc}, policy={**EXAMPLE_POLICY, **POLICY})
    sec, = [s for s in m["sections"] if s["id"] == "noisy-labels"]
    rows = next(b for b in sec["blocks"] if b["type"] == "table")["rows"]
    assert ["toy", "toy_lt10_sym40", "RCAL", 0.78, 0.9, 0.8, 0.5, 0.1] in rows
    assert "RCAL vs cross-entropy: accuracy +8.0 to +8.0 points" in render_html(m)


@pytest.fixture(scope="module")
def tiny_run():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 80)
    X = rng.normal(0, 0.3, size=(240, 16)) + 2.0 * np.stack([np.sin(np.arange(16) * (c + 1) / 3) for c in y])
    methods = {"ce": {"epochs": 2, "channels": [8]},
               "rcal": {"contrastive_epochs": 2, "epochs": 2, "channels": [8]},
               "rcal_oracle": {"method": "rcal", "oracle": True, "contrastive_epochs": 2, "epochs": 2, "channels": [8]}}
    r = run_noisy(X[::2], y[::2], X[1::2], y[1::2], methods=methods,
                  corrupt={"imbalance_ratio": 4, "noise_rate": 0.3, "noise_kind": "proportional"}, setting="toy",
                  random_state=0, device="cpu")
    return r, X[::2], y[::2]


def test_run_noisy_scores_every_method_and_its_evidence_validates(tiny_run):
    r, _, _ = tiny_run
    ev = r.to_evidence(POLICY)  # Evidence validates its details against NOISY_SCHEMA
    assert set(r.figures) == {"ce", "rcal", "rcal_oracle"} and 0.2 < r.noisy_share < 0.4
    assert ev.metrics["rcal.accuracy"] == r.figures["rcal"]["accuracy"]


def test_the_oracle_control_estimates_stage_two_from_the_clean_labels(tiny_run):
    from trust.noisy.protocol import noisy_long_tail
    from trust.noisy.recovery import recover_class_distributions

    r, X_pool, y_pool = tiny_run
    ns = noisy_long_tail(y_pool, imbalance_ratio=4, noise_rate=0.3, noise_kind="proportional", random_state=0)
    oracle = r.models["rcal_oracle"]
    want = recover_class_distributions(oracle.contrastive_embed(X_pool[ns.index]), ns.y_clean, n_classes=3)
    np.testing.assert_allclose(oracle.class_means_, want.means, atol=1e-5)


def test_the_oracle_needs_known_clean_labels():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(60, 16)), np.arange(60) % 3
    with pytest.raises(ConfigError, match="oracle"):
        run_noisy(X, y, X, y, methods={"rcal": {"oracle": True, "contrastive_epochs": 1, "epochs": 1}}, device="cpu")
