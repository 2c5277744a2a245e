"""Policy gates of the compliance report: re-gating, ledger composition, warnings, verdicts."""

from __future__ import annotations

import copy
import json

import pytest

from trust.errors import ConfigError
from trust.privacy.ledger import PrivacyLedger
from trust.report import build_report, render_html, render_json, render_markdown
from trust.evidence import check, make_evidence
from trust.report.examples import EXAMPLE_POLICY, example_evidence
from trust.report.policy import collect_ledger, evaluate_gates, validate_policy


def _gates(model, **where):
    return [g for g in model["gates"] + model["stage_checks"] if all(g.get(k) == v for k, v in where.items())]


def test_default_example_passes_and_lists_future_keys_as_not_evaluated():
    model = build_report(example_evidence(), policy=EXAMPLE_POLICY)
    assert model["verdict"]["status"] == "pass"
    assert model["verdict"]["failed"] == 0
    ne = {g["policy_key"] for g in model["gates"] if g["status"] == "not evaluated"}
    assert {"max_ece", "max_nfr_ratio_to_naive", "max_forget_accuracy"} <= ne
    # every policy key with evidence is evaluated
    assert {"min_tstr_auc", "max_dcr_share", "max_mia_auc", "max_exact_copies", "max_aggregate_mse_ratio",
            "max_total_epsilon_per_dataset", "max_delta"}.isdisjoint(ne)


def test_policy_threshold_regates_stage_checks_and_fail_shows_in_all_formats():
    policy = {**EXAMPLE_POLICY, "max_mia_auc": 0.54}  # the stage ran with 0.6
    model = build_report(example_evidence(), policy=policy)
    mia = _gates(model, policy_key="max_mia_auc")
    assert [g["status"] for g in mia] == ["fail", "fail", "pass", "pass"]  # failures sorted first
    assert {g["value"] for g in mia if g["status"] == "fail"} == {0.55, 0.58}
    assert all(g["threshold"] == 0.54 and "re-gated" in g["note"] for g in mia)
    assert model["verdict"]["status"] == "fail" and model["verdict"]["failed"] == 2
    html, md, js = render_html(model), render_markdown(model), json.loads(render_json(model))
    assert 'id="verdict">FAIL<' in html and html.count('status-fail">FAIL<') >= 2
    assert "**Verdict: FAIL**" in md and "| **FAIL** | eps_10: membership-inference AUC" in md
    assert js["verdict"]["status"] == "fail"
    assert sum(g["status"] == "fail" for g in js["gates"]) == 2


def test_missing_figure_on_a_policy_key_fails_but_stage_check_without_figure_does_not():
    ev = {"evidence/e.json": make_evidence("e", "synth_eval", checks=[
        check("tstr", float("nan"), 0.7, ">=", policy_key="min_tstr_auc"),
        check("sanity", None, 1.0, "<=")])}
    model = build_report(ev, policy={"min_tstr_auc": 0.7})
    tstr, = _gates(model, name="tstr")
    sanity, = _gates(model, name="sanity")
    assert tstr["status"] == "fail" and "no figure" in tstr["note"]
    assert sanity["status"] == "not evaluated" and sanity["gate"] == "stage check"


def test_check_with_unset_policy_key_is_a_stage_check_not_a_gate():
    ev = {"evidence/a.json": make_evidence("a", "aggregate", checks=[
        check("mse ratio", 2.5, 2.0, "<=", policy_key="max_aggregate_mse_ratio")])}
    model = build_report(ev, policy={})
    assert model["gates"] == []
    g, = model["stage_checks"]
    assert g["status"] == "fail" and g["gate"] == "stage check" and "not set" in g["note"]
    # no policy gate at all: the verdict is "not evaluated" (no pass), and --strict would fail on it
    assert model["verdict"]["status"] == "not evaluated" and model["verdict"]["stage_checks_failed"] == 1
    assert model["verdict"]["strict_failure"].startswith("no policy gate was evaluated")
    assert "1 stage check(s) without a policy key failed: a: mse ratio" in model["warnings"][0]
    model = build_report(ev, policy={"max_aggregate_mse_ratio": 3.0})
    g, = model["gates"]
    assert g["status"] == "pass" and g["threshold_source"] == "policy.max_aggregate_mse_ratio"
    model = build_report(ev, policy={"max_aggregate_mse_ratio": 2.4})
    assert model["gates"][0]["status"] == "fail" and model["verdict"]["status"] == "fail"


def test_failing_stage_check_is_shown_and_warned_but_does_not_fail_the_verdict():
    ev = example_evidence()
    ev["evidence/prepare.json"]["checks"][1].update(value=0.02, passed=False)
    model = build_report(ev, policy=EXAMPLE_POLICY)
    assert model["verdict"]["status"] == "pass" and model["verdict"]["stage_checks_failed"] == 1
    assert any("prepare: adult: class balance kept" in w for w in model["warnings"])
    html = render_html(model)
    assert '<table id="stage-checks">' in html and 'status-fail">FAIL<' in html
    assert 'id="verdict">PASS<' in html


def test_ledger_totals_match_privacy_ledger_composition():
    ev = example_evidence()
    entries, warnings = collect_ledger(ev.values())
    assert warnings == []
    expected = PrivacyLedger.from_list([{k: v for k, v in e.items() if k != "stage"} for e in entries]).totals()
    model = build_report(ev, policy=EXAMPLE_POLICY)
    tot = {(t["dataset"], t["unit_of_privacy"], t["adjacency"]): t for t in model["ledger"]["totals"]}
    assert set(tot) == set(expected) == {("adult", "record", "add/remove"), ("adult", "label", "replace-one")}
    rec, lab = tot[("adult", "record", "add/remove")], tot[("adult", "label", "replace-one")]
    # 0.95+0.05 + 2.95+0.15 + 9.9+0.5 (synthesis, record level); the label-DP aggregate apart
    assert rec["epsilon"] == pytest.approx(14.5) and rec["releases"] == 6
    assert lab["epsilon"] == pytest.approx(1.0) and lab["releases"] == 1
    gates = {(g["unit_of_privacy"], g["adjacency"]): g for g in _gates(model, policy_key="max_total_epsilon_per_dataset")}
    assert gates[("record", "add/remove")]["value"] == pytest.approx(14.5)
    assert gates[("label", "replace-one")]["value"] == pytest.approx(1.0)
    assert all(g["status"] == "pass" for g in gates.values())
    assert len(_gates(model, policy_key="max_delta")) == 7
    assert all(e["sentence"].startswith(f"Release '{e['release']}'") for e in model["ledger"]["entries"])


def test_two_releases_adding_past_the_policy_fail_and_warn():
    model = build_report(example_evidence(), policy={**EXAMPLE_POLICY, "max_total_epsilon_per_dataset": 12.0})
    rec, lab = sorted(_gates(model, policy_key="max_total_epsilon_per_dataset"), key=lambda g: g["unit_of_privacy"] != "record")
    assert rec["status"] == "fail" and lab["status"] == "pass"  # 14.5 record-level vs 1.0 label-level
    assert len(model["warnings"]) == 1
    w = model["warnings"][0]
    assert "adult" in w and "14.5" in w and "each release alone is within it" in w
    assert "synth_eps_10/critic" in w
    html, md = render_html(model), render_markdown(model)
    assert "callout-warning" in html and "each release alone is within it" in html
    assert "**Warning:**" in md


def test_delta_gate_per_release():
    model = build_report(example_evidence(), policy={**EXAMPLE_POLICY, "max_delta": 1e-6})
    failing = [g for g in _gates(model, policy_key="max_delta") if g["status"] == "fail"]
    assert sorted(g["name"] for g in failing) == sorted(
        f"synth_eps_{e}/critic: delta" for e in (1, 3, 10))


def test_identical_ledger_entries_count_once_conflicting_ones_twice():
    ev = example_evidence()
    echo = copy.deepcopy(ev["evidence/synth_eps_1.json"])
    echo["stage"] = "echo"
    ev["evidence/echo.json"] = echo
    entries, warnings = collect_ledger(ev.values())
    assert len(entries) == 7 and warnings == []
    echo["ledger"][0]["epsilon"] = 5.0
    entries, warnings = collect_ledger(ev.values())
    assert len(entries) == 8 and "echo:synth_eps_1/critic" in {e["release"] for e in entries}
    assert len(warnings) == 1 and "both are counted" in warnings[0]


def test_no_ledger_entries_leaves_ledger_gates_not_evaluated():
    ev = {k: v for k, v in example_evidence().items() if "prepare" in k}
    out = evaluate_gates(ev.values(), {"max_total_epsilon_per_dataset": 1.0, "max_delta": 1e-5,
                                       "internal_non_dp": EXAMPLE_POLICY["internal_non_dp"]})
    assert {g["status"] for g in out["gates"] if g["gate"] == "policy"} == {"not evaluated"}
    assert out["verdict"]["status"] == "not evaluated"  # nothing was checked: no pass


@pytest.mark.parametrize("policy, words", [
    ({"max_delta": "small"}, "policy.max_delta"),
    ({"max_delta": True}, "policy.max_delta"),
    ({"delta_cap": 1.0}, "delta_cap"),
    ([1, 2], "mapping"),
])
def test_bad_policy_is_a_config_error(policy, words):
    with pytest.raises(ConfigError, match=words):
        validate_policy(policy)


def test_a_relative_check_is_regated_against_the_current_policy_and_its_sentence_names_the_reference():
    """Issue 23: 'NFR 0.045 = 0.66x naive 0.068, threshold 0.8x' in every rendering, re-gated at render time."""
    from trust.evidence import Check

    c = Check.relative("NFR of the update", 0.045, 0.068, reference="naive update", threshold=0.8, comparator="<=",
                       policy_key="max_nfr_ratio_to_naive")
    ev = {"evidence/update.json": make_evidence("update", "update_x", checks=[c.to_dict()])}
    for limit, status in ((0.8, "pass"), (0.6, "fail")):
        m = build_report(ev, policy={"max_nfr_ratio_to_naive": limit})
        g, = [g for g in m["gates"] if g["policy_key"] == "max_nfr_ratio_to_naive"]
        assert g["status"] == status and g["reference"] == "naive update" and g["reference_figure"] == 0.068
        assert g["sentence"] == f"NFR of the update: 0.045 = 0.662x naive update 0.068; threshold {limit:.3f}x (<=): {status}"
        assert g["sentence"] in render_markdown(m) and g["sentence"].replace("<", "&lt;") in render_html(m)


def test_every_gate_sentence_names_its_figure_and_its_threshold():
    m = build_report(example_evidence(), policy=EXAMPLE_POLICY)
    for g in m["gates"] + m["stage_checks"]:
        s = g["sentence"]
        assert s.startswith(g["name"]) and s.endswith(("pass", "fail", "not gated")), s
        if g["threshold"] is not None and g["comparator"]:
            assert f"threshold {g['threshold']:.3g}" in s, s
        if g["value"] is not None:
            assert f"{g['value']:.3g}" in s, s
