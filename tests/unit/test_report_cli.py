"""`trust report [--strict]`: files written, exit statuses 0 / 1 / 2, one-line errors, no partial output."""

from __future__ import annotations

import json

import yaml

from trust.report.examples import EXAMPLE_POLICY, example_evidence, example_png


def _project(tmp_path, policy=EXAMPLE_POLICY):
    (tmp_path / "evidence").mkdir()
    for name, doc in example_evidence().items():
        (tmp_path / name).write_text(json.dumps(doc))
        for p in doc["plots"]:
            (tmp_path / p["path"]).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / p["path"]).write_bytes(example_png())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump({"report": {"title": "CLI test"}, "policy": dict(policy)}))
    return tmp_path


def test_report_writes_three_formats_and_strict_passes(tmp_path, run_cli):
    root = _project(tmp_path)
    code, out, _ = run_cli("report", "--root", str(root), "--strict")
    assert code == 0 and out.startswith("PASS:")
    names = sorted(p.name for p in (root / "reports").iterdir())
    assert names == ["compliance.html", "compliance.intoto.jsonl", "compliance.json", "compliance.md",
                     "trust-signing-key.pub"]  # signed (trust.signing), the public key beside
    html = (root / "reports" / "compliance.html").read_text()
    assert "<title>CLI test</title>" in html and html.count("data:image/png;base64,") == 6
    md = (root / "reports" / "compliance.md").read_text()
    assert "](../outputs/aggregate/risk_vs_bag_size.png)" in md


def test_failing_gate_strict_exits_1_and_every_format_says_fail(tmp_path, run_cli):
    root = _project(tmp_path, {**EXAMPLE_POLICY, "min_tstr_ratio_to_real": 0.87})
    code, out, err = run_cli("report", "--root", str(root))
    assert code == 0 and out.startswith("FAIL:")  # rendering is not failing
    code, out, err = run_cli("report", "--root", str(root), "--strict")
    assert code == 1
    assert ("FAIL eps_1: TSTR ROC AUC: 0.74 = 0.822x train-on-real 0.9; threshold 0.870x (>=): fail "
            "(policy.min_tstr_ratio_to_real)") in err
    js = json.loads((root / "reports" / "compliance.json").read_text())
    failed = sorted(g["name"] for g in js["gates"] if g["status"] == "fail")
    assert failed == ["eps_1: TSTR ROC AUC", "eps_3: TSTR ROC AUC"]
    assert 'class="status status-fail">FAIL</td>' in (root / "reports" / "compliance.html").read_text()
    assert "| **FAIL** | eps_3: TSTR ROC AUC" in (root / "reports" / "compliance.md").read_text()


def test_no_evidence_exits_2_with_one_line(tmp_path, run_cli):
    code, out, err = run_cli("report", "--root", str(tmp_path))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: no evidence found") and "Traceback" not in err
    assert not (tmp_path / "reports").exists()


def test_bad_evidence_exits_2_naming_the_file_and_leaves_no_output(tmp_path, run_cli):
    root = _project(tmp_path)
    doc = json.loads((root / "evidence" / "aggregate.json").read_text())
    doc["ledger"][0]["epsilon"] = -1
    (root / "evidence" / "aggregate.json").write_text(json.dumps(doc))
    code, out, err = run_cli("report", "--root", str(root), "--strict")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: evidence/aggregate.json: invalid evidence at 'ledger/0/epsilon'")
    assert not (root / "reports").exists()


def test_bad_policy_exits_2(tmp_path, run_cli):
    root = _project(tmp_path, {"max_delta": "tiny"})
    code, out, err = run_cli("report", "--root", str(root))
    assert code == 2 and "policy.max_delta" in err and err.count("\n") == 1


# ------------------------------------------------------------------ issue 25: what a new user ran into
def _snapshot(root):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_out_in_the_evidence_folder_is_refused_and_nothing_is_written(tmp_path, run_cli):
    root = _project(tmp_path)
    before = _snapshot(root)
    for out in ("evidence", "evidence/reports"):
        code, _, err = run_cli("report", "--root", str(root), "--out", str(root / out))
        assert code == 2 and err.count("\n") == 1 and "is the evidence folder" in err
        assert _snapshot(root) == before
    assert run_cli("report", "--root", str(root))[0] == 0
    assert run_cli("report", "--root", str(root))[0] == 0  # the next report still reads the evidence folder


def test_a_project_without_params_gets_the_documented_default_policy_and_the_report_says_so(tmp_path, run_cli):
    root = _project(tmp_path)
    (root / "params.yaml").unlink()
    code, out, err = run_cli("report", "--root", str(root), "--strict")
    js = json.loads((root / "reports" / "compliance.json").read_text())
    assert "default policy shipped with trust" in js["policy_source"] and "default policy" in err
    assert js["policy"]["max_total_epsilon_per_dataset"] == 10.0
    assert js["verdict"]["evaluated"] > 0  # gates were evaluated: there is a policy to gate against
    # the example's non-DP uses are not declared in the default policy: epsilon infinite, so --strict fails
    assert code == 1 and "non-DP use(s) not declared" in err
    assert "default policy shipped with trust" in (root / "reports" / "compliance.md").read_text()


def test_a_typo_in_a_policy_key_is_refused_naming_the_known_keys(tmp_path, run_cli):
    root = _project(tmp_path, {**EXAMPLE_POLICY, "max_ecee": 0.05})
    code, _, err = run_cli("report", "--root", str(root))
    assert code == 2 and err.count("\n") == 1
    assert "policy key 'max_ecee' is unknown (did you mean 'max_ece'?)" in err and "max_total_epsilon_per_dataset" in err
    assert not (root / "reports").exists()


def test_a_threshold_out_of_range_is_refused(tmp_path, run_cli):
    for key, bad in (("max_ece", -1), ("max_delta", 1.0), ("max_total_epsilon_per_dataset", 0)):
        (tmp_path / key).mkdir()
        root = _project(tmp_path / key, {**EXAMPLE_POLICY, key: bad})
        code, _, err = run_cli("report", "--root", str(root))
        assert code == 2 and err.count("\n") == 1 and f"'policy.{key}' = {bad} is out of range" in err, err


def test_a_duplicated_evidence_file_is_refused_rather_than_counted_twice(tmp_path, run_cli):
    root = _project(tmp_path)
    (root / "evidence" / "aggregate (copy).json").write_bytes((root / "evidence" / "aggregate.json").read_bytes())
    code, _, err = run_cli("report", "--root", str(root))
    assert code == 2 and err.count("\n") == 1
    assert "evidence/aggregate (copy).json and evidence/aggregate.json both hold the evidence of stage 'aggregate'" in err


def test_in_a_pipeline_project_the_report_stages_output_is_gated_not_overwritten(tmp_path, run_cli):
    """`make repro` then `trust report --strict`: rewriting reports/ would make dvc status and trust verify call the
    report stage's outputs changed."""
    root = _project(tmp_path)
    (root / "dvc.yaml").write_text(yaml.safe_dump({"stages": {"report": {
        "cmd": "python pipelines/report.py", "outs": [{"reports/compliance.json": {"cache": False}}]}}}))
    (root / "reports").mkdir()
    (root / "reports" / "compliance.json").write_text("{}")
    code, out, err = run_cli("report", "--root", str(root), "--strict")
    assert code == 0 and out.startswith("PASS:") and "'report' stage" in err
    assert (root / "reports" / "compliance.json").read_text() == "{}"
    assert sorted(p.name for p in (root / "reports").iterdir()) == ["compliance.json"]
    code, _, _ = run_cli("report", "--root", str(root), "--out", str(root / "copy"))
    assert code == 0 and (root / "copy" / "compliance.html").exists()
