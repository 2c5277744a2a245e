"""The typed evidence records below the report: checks (absolute and relative), gates from a policy, documents."""

from __future__ import annotations

import doctest
import json

import pytest

import trust.evidence as E
from trust.evidence import Check, Evidence, Plot, Result, gate, validate_evidence


def test_the_module_docstring_example_runs():
    assert doctest.testmod(E, raise_on_error=False).failed == 0


def test_a_relative_check_compares_the_ratio_of_figure_to_reference_with_the_threshold():
    c = Check.relative("NFR", 0.09, 0.06, reference="naive update", threshold=0.8, comparator="<=")
    assert c.value == pytest.approx(1.5) and c.passed is False
    assert c.to_dict()["figure"] == 0.09 and c.to_dict()["reference_figure"] == 0.06


def test_a_difference_check_subtracts_the_reference():
    c = Check.relative("gap", 0.093, 0.039, reference="retrained", relation="difference", threshold=0.05,
                       comparator="<=")
    assert c.value == pytest.approx(0.054) and c.passed is False
    assert "retrained 0.039" in c.sentence() and "fail" in c.sentence()


def test_a_ratio_over_a_zero_reference_is_undefined_and_not_a_pass():
    c = Check.relative("NFR", 0.01, 0.0, reference="naive update", threshold=0.8, comparator="<=")
    assert c.value is None and c.passed is None


def test_a_gate_reads_its_threshold_and_direction_from_the_policy():
    assert gate("ECE", 0.03, {"max_ece": 0.05}, "max_ece").passed is True
    assert gate("AUC", 0.6, {"min_auc": 0.7}, "min_auc").passed is False
    unset = gate("ECE", 0.03, {}, "max_ece")
    assert unset.threshold is None and unset.passed is None
    with pytest.raises(ValueError, match="max_"):
        gate("x", 1.0, {}, "ece")


def test_non_finite_figures_are_stored_as_missing():
    c = Check("x", float("nan"), 1.0, "<=")
    assert c.value is None and c.passed is None


def test_an_evidence_document_validates_and_carries_the_relative_fields():
    ev = Evidence("update", "Update", checks=(gate("NFR", 0.045, {"max_nfr_ratio": 0.8}, "max_nfr_ratio",
                                                  reference="naive update", reference_figure=0.068),),
                  metrics={"nfr": 0.045})
    doc = ev.document("update", plots=[Plot("p", "outputs/update/p.png")])
    validate_evidence(json.loads(json.dumps(doc)))
    assert doc["checks"][0]["reference"] == "naive update" and doc["checks"][0]["passed"] is True


def test_details_that_break_the_capability_schema_are_refused():
    schema = {"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}}
    with pytest.raises(ValueError, match="schema"):
        Evidence("x", details={"n": "three"}, details_schema=schema)


def test_metrics_must_be_numbers():
    with pytest.raises(ValueError, match="numbers"):
        Evidence("x", metrics={"a": "b"})


def test_a_result_must_say_how_it_saves_and_what_evidence_it_gives():
    class Incomplete(Result):
        kind = "x"

    with pytest.raises(TypeError):
        Incomplete()


def test_write_evidence_refuses_an_invalid_document_and_writes_nothing(tmp_path):
    with pytest.raises(Exception, match="invalid evidence"):
        E.write_evidence(tmp_path / "e.json", {"stage": "x"})
    assert not (tmp_path / "e.json").exists()
