"""The Calibration section: registered for evidence kind `calibrate`, gates on max_ece, embeds its diagrams."""

from __future__ import annotations

import re

import numpy as np

from trust.calibrate.plots import reliability_diagram
from trust.report import build_report
from trust.evidence import check, make_evidence
from trust.report.project import write_reports


def _doc(ece):
    return make_evidence("calibrate", "calibrate", title="Calibration correction",
                         checks=[check("toy: ECE of the deployed calibrator", ece, 0.05, "<=", policy_key="max_ece")],
                         metrics={"toy.in_distribution.ca.ece": ece},
                         plots=[{"title": "toy: reliability diagrams", "path": "outputs/calibrate/toy/reliability.png"}],
                         details={"datasets": {"toy": {"deployed": "ca", "ece_ci": [ece - 0.01, ece + 0.01],
                                                       "shift_average": {"ca": {"shifted": 0.1}}}}})


def test_the_html_report_embeds_the_reliability_diagram_in_the_calibration_section(tmp_path):
    rng = np.random.default_rng(0)
    png = tmp_path / "outputs" / "calibrate" / "toy" / "reliability.png"
    png.parent.mkdir(parents=True)
    reliability_diagram(rng.integers(0, 3, 200), rng.dirichlet(np.ones(3), 200)).savefig(png, format="png")
    model = build_report({"calibrate": _doc(0.03)}, policy={"max_ece": 0.05}, git_commit="0")
    write_reports(model, tmp_path / "reports", root=tmp_path)
    html = (tmp_path / "reports" / "compliance.html").read_text()
    sec = re.search(r'<section id="calibration"(.*?)</section>', html, re.S)
    assert sec is not None and "toy: reliability diagrams" in sec.group(1)
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{5000,}"', sec.group(1))


def test_the_policy_gate_max_ece_fails_a_calibrator_above_the_threshold():
    model = build_report({"calibrate": _doc(0.08)}, policy={"max_ece": 0.05}, git_commit="0")
    gate = next(g for g in model["gates"] if g.get("policy_key") == "max_ece")
    assert gate["status"] == "fail"


def test_the_section_maps_to_the_calibration_claim():
    model = build_report({"calibrate": _doc(0.03)}, policy={"max_ece": 0.05}, git_commit="0")
    claim, = [c for c in model["compliance_mapping"] if c["claim_type"] == "calibration"]
    assert "Art. 15" in claim["ai_act"]
