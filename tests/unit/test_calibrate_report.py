"""The Calibration section: registered for evidence kind `calibrate`, gates on max_ece, embeds its diagrams."""

from __future__ import annotations

import re

import numpy as np

from trust.calibrate.plots import reliability_diagram
from trust.calibrate.protocol import CalibrateResult
from trust.calibrate.selection import Selection
from trust.report import build_report
from trust.report.project import write_reports

POLICY = {"max_ece": 0.05, "max_ece_ratio_to_uncalibrated": 1.0}


def _doc(ece, unc=0.06):
    """The evidence of a calibrate result with the given ECEs (no fitting: the figures are set by hand)."""
    keys = ("accuracy", "ece", "adaptive_ece", "classwise_ece", "mce", "brier", "nll", "auroc")
    rows = tuple({"set": "in_distribution", "family": "none", "severity": 0.0, "held_out": False, "method": m,
                  **{k: 0.5 for k in keys}, "ece": e} for m, e in (("uncalibrated", unc), ("temperature", ece)))
    r = CalibrateResult("toy", "temperature", Selection("temperature", {"temperature": 0.4}, "nll", 5), rows,
                        {"uncalibrated": None, "temperature": None}, {}, {}, {"in_distribution": {
                            "family": "none", "severity": 0.0, "held_out": False, "rows": 100}},
                        ece=(ece, ece - 0.01, ece + 0.01), uncalibrated_ece=(unc, unc - 0.01, unc + 0.01))
    plots = [{"title": "toy: reliability diagrams", "path": "outputs/calibrate/toy/reliability.png"}]
    doc = r.to_evidence(POLICY).document("calibrate_toy")
    doc["plots"] = plots
    return doc


def test_the_html_report_embeds_the_reliability_diagram_in_the_calibration_section(tmp_path):
    rng = np.random.default_rng(0)
    png = tmp_path / "outputs" / "calibrate" / "toy" / "reliability.png"
    png.parent.mkdir(parents=True)
    reliability_diagram(rng.integers(0, 3, 200), rng.dirichlet(np.ones(3), 200)).savefig(png, format="png")
    model = build_report({"calibrate_toy": _doc(0.03)}, policy=POLICY, git_commit="0")
    write_reports(model, tmp_path / "reports", root=tmp_path)
    html = (tmp_path / "reports" / "compliance.html").read_text()
    sec = re.search(r'<section id="calibration"(.*?)</section>', html, re.S)
    assert sec is not None and "toy: reliability diagrams" in sec.group(1)
    assert re.search(r'src="data:image/png;base64,[A-Za-z0-9+/=]{5000,}"', sec.group(1))


def test_the_policy_gate_max_ece_fails_a_calibrator_above_the_threshold():
    model = build_report({"calibrate_toy": _doc(0.08, unc=0.1)}, policy=POLICY, git_commit="0")
    gate = next(g for g in model["gates"] if g.get("policy_key") == "max_ece")
    assert gate["status"] == "fail"


def test_the_report_regates_the_relative_gate_against_the_current_policy():
    model = build_report({"calibrate_toy": _doc(0.04, unc=0.03)}, policy=POLICY, git_commit="0")
    gate = next(g for g in model["gates"] if g.get("policy_key") == "max_ece_ratio_to_uncalibrated")
    assert gate["status"] == "fail"
    model = build_report({"calibrate_toy": _doc(0.04, unc=0.03)}, policy={**POLICY, "max_ece_ratio_to_uncalibrated": 1.5},
                         git_commit="0")
    assert next(g for g in model["gates"] if g.get("policy_key") == "max_ece_ratio_to_uncalibrated")["status"] == "pass"


def test_the_section_maps_to_the_calibration_claim():
    model = build_report({"calibrate_toy": _doc(0.03)}, policy=POLICY, git_commit="0")
    claim, = [c for c in model["compliance_mapping"] if c["claim_type"] == "calibration"]
    assert "Art. 15" in claim["ai_act"]
