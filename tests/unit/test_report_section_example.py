"""The report-section example in trust/report/sections.py works as written, for a stage with no plots."""

from __future__ import annotations

import re

import pytest

import trust.report.sections as sections
from trust.report import build_report
from trust.evidence import check, make_evidence
from trust.report.examples import EXAMPLE_POLICY


@pytest.fixture
def documented_section():
    code = re.search(r"::\n\n((?:    .*\n|\n)+)", sections.__doc__).group(1)
    code = "\n".join(line[4:] for line in code.splitlines())
    sections.discover_sections()  # register the discovered sections before the snapshot
    before = dict(sections.SECTION_REGISTRY)
    exec(compile(code, "sections.__doc__", "exec"), {})
    yield
    sections.SECTION_REGISTRY.clear()
    sections.SECTION_REGISTRY.update(before)


def test_documented_section_renders_a_stage_without_plots(documented_section):
    doc = make_evidence("fairness", "fairness", metrics={"parity_gap": 0.03},
                        checks=[check("parity gap", 0.03, 0.05, "<=")])
    model = build_report({"evidence/fairness.json": doc}, policy=EXAMPLE_POLICY)
    sec, = [s for s in model["sections"] if s["id"] == "fairness"]
    assert sec["blocks"] and all(b is not None for b in sec["blocks"])


def test_model_evidence_gets_the_models_section():
    card = {"dataset": "digits", "architecture": {"network": "cnn", "parameters": 10}, "training": {"epochs": 1},
            "accuracy_per_class": {"test": [1.0, 0.5]}, "intended_use": "tests"}
    doc = make_evidence("train_digits", "model", metrics={"test.accuracy": 0.75}, details={"model_card": card})
    model = build_report({"evidence/train_digits.json": doc}, policy=EXAMPLE_POLICY)
    sec, = [s for s in model["sections"] if s["id"] == "models"]
    tables = [b for b in sec["blocks"] if b["type"] == "table"]
    assert tables[0]["rows"][0][:2] == ["digits", "cnn"] and tables[0]["rows"][0][7] == 0.75  # after the training-accuracy column
