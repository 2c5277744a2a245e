"""Evidence validation before rendering: bad evidence is a DataError naming the file and JSON path."""

from __future__ import annotations

import json

import pytest

from trust.errors import DataError
from trust.report import build_report
from trust.report.examples import EXAMPLE_POLICY, example_evidence
from trust.report.project import read_evidence_dir


def test_bad_check_names_file_and_json_path():
    ev = example_evidence()
    ev["evidence/synth_evaluate.json"]["checks"][2]["comparator"] = "≈"
    with pytest.raises(DataError) as e:
        build_report(ev, policy=EXAMPLE_POLICY)
    msg = str(e.value)
    assert msg.startswith("evidence/synth_evaluate.json: invalid evidence at 'checks/2/comparator'")
    assert "\n" not in msg and "re-run the stage" in msg


def test_bad_ledger_entry_names_file_and_path():
    ev = example_evidence()
    ev["evidence/aggregate.json"]["ledger"][0]["unit_of_privacy"] = "bag"
    with pytest.raises(DataError, match=r"evidence/aggregate.json: invalid evidence at 'ledger/0/unit_of_privacy'"):
        build_report(ev, policy=EXAMPLE_POLICY)


def test_missing_required_field_and_wrong_version():
    ev = example_evidence()
    del ev["evidence/prepare.json"]["mlflow_run_id"]
    with pytest.raises(DataError, match=r"evidence/prepare.json: invalid evidence at '\(top level\)'.*mlflow_run_id"):
        build_report(ev)
    ev = example_evidence()
    ev["evidence/prepare.json"]["schema_version"] = 99
    with pytest.raises(DataError, match="schema_version"):
        build_report(ev)


def test_ledger_entry_the_ledger_refuses_is_a_data_error_naming_the_stage():
    ev = example_evidence()
    ev["evidence/aggregate.json"]["ledger"][0]["composition"] = "parallel"
    with pytest.raises(DataError, match=r"evidence/aggregate.json: bad ledger entry.*composition"):
        build_report(ev, policy=EXAMPLE_POLICY)


def test_evidence_dir_errors(tmp_path):
    with pytest.raises(DataError, match="no evidence found"):
        read_evidence_dir(tmp_path / "evidence", root=tmp_path)
    (tmp_path / "evidence").mkdir()
    with pytest.raises(DataError, match="no evidence found"):
        read_evidence_dir(tmp_path / "evidence", root=tmp_path)
    (tmp_path / "evidence" / "x.json").write_text("{not json")
    with pytest.raises(DataError, match=r"^evidence/x.json: not valid JSON"):
        read_evidence_dir(tmp_path / "evidence", root=tmp_path)
    (tmp_path / "evidence" / "x.json").write_text(json.dumps(example_evidence()["evidence/prepare.json"]))
    docs = read_evidence_dir(tmp_path / "evidence", root=tmp_path)
    assert list(docs) == ["evidence/x.json"] and docs["evidence/x.json"]["stage"] == "prepare"
