"""Report sections: each built-in section, the registry, the generic fallback, the three formats."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from trust.report import build_report, render_html, render_json, render_markdown
from trust.evidence import check, make_evidence
from trust.report.examples import EXAMPLE_POLICY, example_evidence, example_png
from trust.report.model import REPORT_SCHEMA, dvc_lock_rows
from trust.report.sections import SECTION_REGISTRY, checks_block, classify_metric, pivot_metrics, section

LOCK = {"schema": "2.0", "stages": {"prepare": {
    "cmd": "python pipelines/prepare.py",
    "deps": [{"path": "data", "hash": "md5", "md5": "2e14e6b1ebc64e94cf1f14c2a1cc069e.dir", "size": 1427906,
              "nfiles": 3}],
    "params": {"params.yaml": {"prepare": {"seed": 0}}},
    "outs": [{"path": "evidence/prepare.json", "hash": "md5", "md5": "91a41cc0c945518c3a7551f1799d143c",
              "size": 6040}]}}}


@pytest.fixture(scope="module")
def model():
    return build_report(example_evidence(), policy=EXAMPLE_POLICY, git_commit="0123abc", dvc_lock=LOCK,
                        title="Acme report")


def _section(model, sid):
    s, = [s for s in model["sections"] if s["id"] == sid]
    return s


def _text(sec):
    return json.dumps(sec["blocks"])


def test_section_order_and_ids(model):
    ids = [s["id"] for s in model["sections"]]
    assert ids == ["summary", "lineage", "privacy-ledger", "data", "synthetic-data", "aggregate-learning",
                   "compliance-mapping", "limitations"]


def test_summary_holds_the_gate_table_of_every_gate(model):
    gates, pending, checks = [b for b in _section(model, "summary")["blocks"] if b["type"] == "table"]
    assert gates["id"] == "gate-table" and pending["id"] == "not-evaluated"
    assert len(gates["rows"]) + len(pending["rows"]) == len(model["gates"]) == 30
    # the gates of capabilities this project does not run are listed apart, not in the verdict's table
    assert {r[0] for r in gates["rows"]} == {"PASS"} and {r[0] for r in pending["rows"]} == {"NOT EVALUATED"}
    assert any(r[6] and "on the forgotten class" in r[1] for r in pending["rows"])  # described, not bare keys
    assert model["verdict"]["line"] == f"PASS: all {len(gates['rows'])} evaluated policy gates pass"
    assert checks["id"] == "stage-checks" and len(checks["rows"]) == len(model["stage_checks"]) == 2


def test_summary_opens_with_one_card_per_capability(model):
    blocks = _section(model, "summary")["blocks"]
    cards = next(b for b in blocks if b["type"] == "cards")
    assert blocks.index(cards) < next(i for i, b in enumerate(blocks) if b["type"] == "table")
    by = {c["section"]: c for c in cards["items"]}
    assert set(by) == {"privacy-ledger", "data", "synthetic-data", "aggregate-learning"}
    assert {k: c["status"] for k, c in by.items()} == {"privacy-ledger": "pass", "synthetic-data": "pass",
                                                        "aggregate-learning": "pass", "data": "not evaluated"}
    assert "epsilon 14.5 (record, add/remove)" in by["privacy-ledger"]["figure"]
    assert "epsilon 1 (replace-one)" in by["aggregate-learning"]["figure"]
    assert "without DP: synth_eps_none (declared audit-trail only)" in by["synthetic-data"]["figure"]
    html = render_html(model)
    assert html.index('id="capability-cards"') < html.index('id="gate-table"')
    assert 'href="#synthetic-data"' in html


def test_a_card_fails_with_its_capability():
    ev = example_evidence()
    ev["evidence/synth_evaluate.json"]["checks"][0]["value"] = 0.1  # eps_1 TSTR AUC below the policy
    m = build_report(ev, policy=EXAMPLE_POLICY)
    cards = {c["section"]: c for b in m["sections"][0]["blocks"] if b["type"] == "cards" for c in b["items"]}
    assert cards["synthetic-data"]["status"] == "fail" and cards["aggregate-learning"]["status"] == "pass"


def test_lineage_has_commit_lock_paths_sources_and_run_ids_but_no_dvc_md5(model):
    text = _text(_section(model, "lineage"))
    assert "0123abc" in text
    # dvc.lock's md5s of private outputs are never copied into the report (issue 21 item 2)
    assert "2e14e6b1ebc64e94cf1f14c2a1cc069e" not in json.dumps(model) and "91a41cc0c945518c3a7551f1799d143c" not in text
    assert "CC BY 4.0" in text and "doi:10.24432/C5XW20" in text
    assert "5c1d0e2f3a4b5c6d7e8f9a0b1c2d3e4f" in text and "mlflow ui" in text
    assert model["lineage"]["mlflow_runs"]["aggregate"] == "aa11bb22cc33dd44ee55ff6677889900"
    assert dvc_lock_rows(LOCK) == model["lineage"]["dvc_lock"]
    assert [(r["stage"], r["role"], r["path"]) for r in model["lineage"]["dvc_lock"]] == [
        ("prepare", "dep", "data"), ("prepare", "out", "evidence/prepare.json")]
    # a dataset row recorded without source by one stage gets it from another
    train, = [d for d in model["lineage"]["datasets"] if d["name"] == "adult/train"]
    assert train["licence"] == "CC BY 4.0" and "prepare" in train["stages"]


def test_missing_dvc_lock_is_said_plainly():
    m = build_report(example_evidence(), policy=EXAMPLE_POLICY)
    assert "No dvc.lock was found" in _text(_section(m, "lineage"))


def test_privacy_ledger_sentences_and_totals(model):
    sec = _section(model, "privacy-ledger")
    sentences, = [b for b in sec["blocks"] if b["type"] == "list"]
    assert len(sentences["items"]) == 7
    assert any("one person's label (features are not protected)" in s and "replace-one" in s
               for s in sentences["items"])
    assert any("(9.9, 1e-05)-differentially private for one person's row" in s for s in sentences["items"])
    totals, = [b for b in sec["blocks"] if b["type"] == "table" and b["caption"].startswith("Totals per dataset")]
    assert totals["rows"] == [pytest.approx(["PASS", "adult", "label", "replace-one", 1, "1", 0.0, 30.0]),
                              pytest.approx(["PASS", "adult", "record", "add/remove", 6, "14.5", 3e-5, 30.0])]
    combined = [b["text"] for b in sec["blocks"] if b["type"] == "callout" and "Combined statement" in b["text"]]
    assert len(combined) == 1 and "epsilon = 30" in combined[0]  # 2 x 14.5 + 1


def test_synthetic_section(model):
    sec = _section(model, "synthetic-data")
    assert sec["kinds"] == ["synth", "synth_evaluate"]
    text = _text(sec)
    assert "NO guarantee (non-private)" in text  # synth_eps_none
    captions = {b.get("caption") for b in sec["blocks"] if b["type"] == "table"}
    assert {"Synthesis runs", "Utility", "Fidelity", "Privacy risk (empirical audits)"} <= captions
    plots = [p["path"] for b in sec["blocks"] if b["type"] == "plots" for p in b["items"]]
    assert "outputs/synth_evaluate/utility_vs_epsilon.png" in plots and "outputs/synth_eps_3/loss.png" in plots
    priv, = [b for b in sec["blocks"] if b.get("caption") == "Privacy risk (empirical audits)"]
    assert priv["columns"] == ["", "dcr_share", "nndr_p5", "exact_copies", "mia_auc"]
    assert priv["rows"][0] == ["eps_1", 0.51, 0.93, 0, 0.52]
    assert "empirical audits" in text and "not a guarantee" in text


def test_aggregate_section(model):
    sec = _section(model, "aggregate-learning")
    text = _text(sec)
    assert "Label-DP guarantee" in text and "aggregate/bag_responses" in text
    figs, = [b for b in sec["blocks"] if b.get("caption") == "Figures"]
    assert [r[0] for r in figs["rows"]] == ["bag_1", "bag_8", "bag_32", "bag_128"]


def test_mapping_and_limitations(model):
    claims = {m["claim_type"]: m for m in model["compliance_mapping"]}
    assert {"lineage", "policy_gates", "dp_ledger", "dp_sgd_training", "synthetic_utility",
            "synthetic_privacy_audit", "aggregate_learning", "label_dp", "data_preparation"} <= set(claims)
    assert "unlearning" not in claims  # no evidence of it
    assert "Art. 17" in claims["lineage"]["gdpr"] and "Art. 32" in claims["synthetic_privacy_audit"]["gdpr"]
    assert "Art. 25" in claims["dp_sgd_training"]["gdpr"] and "Annex IV" in claims["lineage"]["ai_act"]
    assert "MEASURE 2.10" in claims["dp_ledger"]["nist"]
    assert claims["label_dp"]["sections"] == ["aggregate-learning"]
    lim = " ".join(model["limitations"])
    assert "no protection to the features, nor to whether a person is in a bag" in lim
    assert "record level under add/remove adjacency" in lim
    assert "empirical audits, not guarantees" in lim
    assert "released synthetic data without differential privacy" in lim
    assert "not legal advice" in _text(_section(model, "compliance-mapping"))


def test_unknown_kind_gets_the_generic_section():
    # "calibration_draft": a kind no capability registers (calibration itself now has its own section)
    ev = {"evidence/calib.json": make_evidence(
        "calibrate", "calibration_draft", title="Calibration", checks=[check("ECE", 0.031, policy_key="max_ece")],
        metrics={"ece": 0.031, "brier": 0.12}, plots=[{"title": "Reliability", "path": "outputs/c/rel.png"}],
        details={"bins": 15, "nested": {"method": "temperature"}, "rows": list(range(100))},
        ledger=[{"release": "calib/t", "mechanism": "Gaussian", "epsilon": 0.5, "delta": 1e-6, "accountant": "rdp",
                 "noise_multiplier": 2.0, "sample_rate": 1.0, "steps": 1, "max_grad_norm": None,
                 "unit_of_privacy": "record", "adjacency": "add/remove", "dataset": "d",
                 "noise_source": "os-entropy"}],
        mlflow_run_id="r1")}
    m = build_report(ev, policy={"max_ece": 0.05})
    sec = _section(m, "stage-calibrate")
    assert sec["title"] == "Calibration" and sec["kinds"] == ["calibration_draft"]
    types = [b["type"] for b in sec["blocks"]]
    assert types.count("table") >= 3 and "plots" in types and "list" in types
    ece, = [g for g in m["gates"] if g["policy_key"] == "max_ece"]
    assert ece["status"] == "pass" and ece["gate"] == "policy"
    details, = [b for b in sec["blocks"] if b.get("caption", "").startswith("Details")]
    assert ["nested.method", "temperature"] in details["rows"] and not any(r[0] == "rows" for r in details["rows"])


def test_registering_a_section_for_a_new_kind():
    @section("example_new_kind", id="example-new-kind", title="Noisy labels", order=62)
    def _noisy(docs, ctx):
        return {"blocks": [{"type": "paragraph", "text": f"{len(docs)} noisy-label stage(s)"}],
                "claims": ["unlearning"], "limitations": ["Noise rates are estimates."]}

    try:
        with pytest.raises(ValueError, match="already has section"):
            section("example_new_kind", id="other", title="Other")(lambda docs, ctx: [])
        ev = {**example_evidence(), "evidence/example.json": make_evidence("example", "example_new_kind")}
        m = build_report(ev, policy=EXAMPLE_POLICY)
        ids = [s["id"] for s in m["sections"]]
        assert ids.index("aggregate-learning") < ids.index("example-new-kind") < ids.index("compliance-mapping")
        assert "1 noisy-label stage(s)" in render_html(m)
        assert "Noise rates are estimates." in m["limitations"]
        # a capability claim is printed only where its gates pass: this section has none, so it is withheld
        assert "unlearning" not in {c["claim_type"] for c in m["compliance_mapping"]}
        withheld, = [c for c in m["withheld_claims"] if c["claim_type"] == "unlearning"]
        assert withheld["why"] == "no gate of its sections was evaluated"
    finally:
        del SECTION_REGISTRY["example_new_kind"]


def test_html_is_self_contained_and_embeds_plots(model):
    png = example_png()
    html = render_html(model, {"outputs/synth_evaluate/utility_vs_epsilon.png": png})
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert html.count('src="data:image/png;base64,') == 1
    assert "plot file missing: outputs/aggregate/risk_vs_bag_size.png" in html
    assert "@media print" in html
    for s in model["sections"]:
        assert f'<section id="{s["id"]}"' in html


def test_markdown_links_plots_relatively_and_escapes_pipes():
    ev = example_evidence()
    ev["evidence/prepare.json"]["checks"][0]["name"] = "a | b"
    m = build_report(ev, policy=EXAMPLE_POLICY)
    md = render_markdown(m, plot_prefix="../")
    assert "![Utility vs epsilon](../outputs/synth_evaluate/utility_vs_epsilon.png)" in md
    assert "a \\| b" in md
    assert "## Privacy ledger" in md and "## Limitations" in md
    assert "5c1d0e2f3a4b5c6d7e8f9a0b1c2d3e4f" in md


def test_json_validates_against_schema_and_round_trips(model):
    js = json.loads(render_json(model))
    jsonschema.validate(js, REPORT_SCHEMA)
    assert sum(t["releases"] for t in js["ledger"]["totals"]) == 7
    assert js["policy"]["max_ece"] == 0.05
    broken = json.loads(render_json(model))
    broken["sections"][0]["blocks"][0]["type"] = "video"
    with pytest.raises(ValueError, match="sections/0/blocks/0"):
        render_json(broken)


def test_metric_helpers():
    assert classify_metric("eps_1.mia_auc") == "privacy"
    assert classify_metric("eps_1.tstr_auc") == "utility"
    assert classify_metric("eps_1.fidelity_column_shapes") == "fidelity"
    assert classify_metric("runtime_s") == "other"
    assert pivot_metrics({"a": 1}) is None
    cols, rows = pivot_metrics({"x.m": 1, "y.m": 2, "y.n": 3})
    assert cols == ["", "m", "n"] and rows == [["x", 1, None], ["y", 2, 3]]


def test_capability_report_section_modules_are_discovered(tmp_path, monkeypatch):
    import sys

    import trust
    from trust.report.sections import discover_sections

    pkg = tmp_path / "fakecap"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "report_section.py").write_text(
        "from trust.report.sections import section, paragraph\n"
        "@section('fake_kind', id='fake-cap', title='Fake capability', order=72)\n"
        "def _s(docs, ctx):\n    return [paragraph('fake section rendered')]\n")
    monkeypatch.setattr(trust, "__file__", str(tmp_path / "__init__.py"))
    monkeypatch.setattr(trust, "__path__", [*trust.__path__, str(tmp_path)])
    try:
        m = build_report({"evidence/f.json": make_evidence("f", "fake_kind")})
        assert "trust.fakecap.report_section" in discover_sections()
        sec, = [s for s in m["sections"] if s["id"] == "fake-cap"]
        assert sec["blocks"][0]["text"] == "fake section rendered"
    finally:
        SECTION_REGISTRY.pop("fake_kind", None)
        for mod in ("trust.fakecap.report_section", "trust.fakecap"):
            sys.modules.pop(mod, None)


def test_every_section_has_an_order_of_its_own():
    """Issue 22: sections collided on their order numbers (calibration and synthetic data at 40, noisy labels and
    model updates at 65), so their place depended on import order."""
    from trust.report.sections import FIXED_ORDERS, GENERIC_ORDER, discover_sections

    discover_sections()
    specs = {s.id: s.order for s in SECTION_REGISTRY.values()}
    assert len(set(specs.values())) == len(specs), specs
    assert not set(specs.values()) & (set(FIXED_ORDERS) | {GENERIC_ORDER})


def test_registering_a_section_on_a_taken_order_is_refused():
    from trust.report.sections import discover_sections

    discover_sections()
    with pytest.raises(ValueError, match="order 40 is taken by section 'synthetic-data'"):
        section("example_clash", id="clash", title="Clash", order=40)(lambda docs, ctx: [])
    with pytest.raises(ValueError, match="fixed section 'compliance-mapping'"):
        section("example_clash", id="clash", title="Clash", order=90)(lambda docs, ctx: [])
    assert "example_clash" not in SECTION_REGISTRY


def _unlearning_evidence(forget_accuracy: float) -> dict:
    return make_evidence("unlearn_x", "unlearning_claim_test", checks=[
        check("forgotten-class accuracy", forget_accuracy, policy_key="max_forget_accuracy")])


@pytest.mark.parametrize("forget_accuracy, claimed", [(0.01, True), (0.40, False)])
def test_the_unlearning_claim_is_printed_only_where_its_gates_pass(forget_accuracy, claimed):
    """Issue 21 item 9: the regulatory mapping no longer claims 'a model forgets on request' beside a failing gate."""
    @section("unlearning_claim_test", id="unlearning-claim-test", title="Unlearning (test)", order=71)
    def _u(docs, ctx):
        return {"blocks": [checks_block(ctx.gates_of("unlearn_x"))], "claims": ["unlearning"]}

    try:
        m = build_report({**example_evidence(), "evidence/u.json": _unlearning_evidence(forget_accuracy)},
                         policy=EXAMPLE_POLICY)
        assert ("unlearning" in {c["claim_type"] for c in m["compliance_mapping"]}) is claimed
        md = render_markdown(m)
        assert ("Claims withheld" in md) is not claimed
        if not claimed:
            assert "1 of 1 evaluated gate(s) fail: forgotten-class accuracy" in md
    finally:
        SECTION_REGISTRY.pop("unlearning_claim_test", None)
