"""The report's privacy claims: non-DP uses, secure noise, per-adjacency totals, --strict on nothing."""

from __future__ import annotations

import copy
import json

import pytest

from trust.cli import main
from trust.errors import ConfigError
from trust.report import build_report
from trust.evidence import check, make_evidence
from trust.report.examples import EXAMPLE_POLICY, example_evidence
from trust.report.render import render_html, render_markdown


def _eps_gates(model):
    return [g for g in model["gates"] if g["policy_key"] == "max_total_epsilon_per_dataset"]


def _undeclared(policy, drop_stage):
    pol = copy.deepcopy(policy)
    pol["internal_non_dp"] = [d for d in pol["internal_non_dp"] if d["stage"] != drop_stage]
    return pol


def test_an_undeclared_non_dp_use_makes_the_total_infinite_and_fails():
    model = build_report(example_evidence(), policy=_undeclared(EXAMPLE_POLICY, "synth_eps_none"))
    gates = _eps_gates(model)
    named, = [g for g in gates if "not declared audit-trail only" in g["name"]]
    assert named["status"] == "fail" and "synth_eps_none" in named["note"]
    assert all(g["status"] == "fail" and g["value"] is None for g in gates if "total epsilon" in g["name"])
    assert all(t["epsilon"] is None and t["infinite"] for t in model["ledger"]["totals"])
    assert model["verdict"]["status"] == "fail"
    assert "infinite" in render_markdown(model)


def test_a_declared_non_dp_use_is_listed_as_audit_trail_with_its_purpose():
    model = build_report(example_evidence(), policy=EXAMPLE_POLICY)
    assert all(g["status"] == "pass" for g in _eps_gates(model))
    sec, = [s for s in model["sections"] if s["id"] == "privacy-ledger"]
    cov, = [b for b in sec["blocks"] if b.get("caption") == "Which artifact is covered by which guarantee"]
    rows = {(r[3], r[4]): r for r in cov["rows"]}
    assert rows[("synth_eps_none", "audit trail")][5].endswith("non-private baseline, never released")
    assert "differential privacy, epsilon 3.1 for adult's records under add/remove" in \
        rows[("synth_eps_3", "release")][5]
    assert rows[("synth_eps_3", "release")][1] == "outputs/synth_eps_3/synthetic.parquet, " \
                                                      "outputs/synth_eps_3/model"


def test_a_declaration_may_name_the_artifact_by_glob():
    pol = _undeclared(EXAMPLE_POLICY, "synth_evaluate")
    pol["internal_non_dp"].append({"dataset": "adult", "artifact": "evidence/synth_eval*", "purpose": "audits"})
    assert all(g["status"] == "pass" for g in _eps_gates(build_report(example_evidence(), policy=pol)))
    pol["internal_non_dp"][-1]["dataset"] = "king"  # another dataset's declaration covers nothing here
    assert any(g["status"] == "fail" for g in _eps_gates(build_report(example_evidence(), policy=pol)))


@pytest.mark.parametrize("bad, words", [
    ([{"dataset": "adult", "purpose": "x"}], "needs 'stage' or 'artifact'"),
    ([{"dataset": "adult", "stage": "s"}], "needs 'purpose'"),
    ([{"dataset": "adult", "stage": "s", "purpose": "x", "why": 1}], "unknown key"),
    ("adult", "must be a list"),
])
def test_a_bad_declaration_is_a_one_line_config_error(bad, words):
    with pytest.raises(ConfigError, match=words):
        build_report(example_evidence(), policy={**EXAMPLE_POLICY, "internal_non_dp": bad})


def test_seeded_noise_fails_under_require_secure_noise():
    ev = example_evidence()
    ev["evidence/synth_eps_3.json"]["ledger"][0]["noise_source"] = "seeded (not a valid guarantee)"
    model = build_report(ev, policy=EXAMPLE_POLICY)
    g, = [g for g in model["gates"] if g["policy_key"] == "require_secure_noise"]
    assert g["status"] == "fail" and g["value"] == 1 and "synth_eps_3/critic" in g["note"]
    assert model["verdict"]["status"] == "fail"
    assert "SEEDED" in render_html(model)
    relaxed = build_report(ev, policy={**EXAMPLE_POLICY, "require_secure_noise": False})
    assert not [g for g in relaxed["gates"] if g["policy_key"] == "require_secure_noise"]
    assert relaxed["verdict"]["status"] == "pass"


def test_secure_noise_everywhere_passes_the_gate():
    model = build_report(example_evidence(), policy=EXAMPLE_POLICY)
    g, = [g for g in model["gates"] if g["policy_key"] == "require_secure_noise"]
    assert g["status"] == "pass" and g["value"] == 0


def test_record_and_label_epsilons_are_never_summed_into_one_gate():
    model = build_report(example_evidence(), policy=EXAMPLE_POLICY)
    values = sorted(g["value"] for g in _eps_gates(model))
    assert values == pytest.approx([1.0, 14.5])  # not 15.5
    assert json.loads(json.dumps(model["ledger"]["combined_label_replace_one"]))["adult"]["epsilon"] == \
        pytest.approx(2 * 14.5 + 1.0)


def test_report_states_release_vs_audit_trail_and_the_tuning_limitation():
    model = build_report(example_evidence(), policy=EXAMPLE_POLICY)
    lineage = json.dumps([s for s in model["sections"] if s["id"] == "lineage"][0]["blocks"])
    assert "RELEASE" in lineage and "AUDIT TRAIL" in lineage and "salted with a value derived from that key" in lineage
    assert "The DVC cache holds the private files themselves" in lineage
    lim = " ".join(model["limitations"])
    assert "Papernot and Steinke 2022" in lim and "differ from run to run" in lim


def _bare_project(tmp_path, params=None):
    (tmp_path / "evidence").mkdir()
    doc = make_evidence("evaluate_x", "synth_eval", checks=[check("mia", 0.5, 0.6, "<=", policy_key="max_mia_auc")])
    (tmp_path / "evidence" / "evaluate_x.json").write_text(json.dumps(doc))
    if params is not None:
        import yaml

        (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    return tmp_path


def test_strict_fails_with_one_line_when_no_policy_gate_was_evaluated(tmp_path, capsys):
    root = _bare_project(tmp_path, {"policy": {"max_ece": 0.05}})  # a policy no evidence here speaks to
    with pytest.raises(SystemExit) as e:
        main(["report", "--root", str(root), "--strict"])
    out = capsys.readouterr()
    assert e.value.code == 1
    assert out.out.startswith("NOT EVALUATED: no policy gate was evaluated")
    line, = out.err.strip().splitlines()
    assert line.startswith("--strict: no policy gate was evaluated") and "params.yaml" in line


def test_without_strict_a_report_with_nothing_evaluated_still_renders(tmp_path, capsys):
    root = _bare_project(tmp_path, {"policy": {"max_ece": 0.05}})
    with pytest.raises(SystemExit) as e:
        main(["report", "--root", str(root)])
    assert e.value.code == 0 and (root / "reports" / "compliance.json").exists()
    js = json.loads((root / "reports" / "compliance.json").read_text())
    assert js["verdict"]["status"] == "not evaluated"


def test_without_params_the_default_policy_gates_the_evidence(tmp_path, capsys):
    root = _bare_project(tmp_path)  # no params.yaml at all: the documented default policy applies
    with pytest.raises(SystemExit) as e:
        main(["report", "--root", str(root), "--strict"])
    out = capsys.readouterr()
    assert e.value.code == 0 and out.out.startswith("PASS: all 1 evaluated policy gates pass")
    assert "default policy" in out.err


def test_strict_passes_once_a_gate_is_evaluated(tmp_path, capsys):
    root = _bare_project(tmp_path, {"policy": {"max_mia_auc": 0.6, "max_ece": 0.05}})
    with pytest.raises(SystemExit) as e:
        main(["report", "--root", str(root), "--strict"])
    out = capsys.readouterr().out
    assert e.value.code == 0
    # the not-evaluated key (max_ece: no calibration stage here) stays out of the verdict line
    assert out.startswith("PASS: all 1 evaluated policy gates pass ->")
