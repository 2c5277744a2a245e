"""Evidence schema, policy gates and the compliance report (HTML, Markdown, JSON).

* :mod:`trust.report.evidence`: the evidence contract every stage writes (``make_evidence``, ``check``).
* :mod:`trust.report.policy`: gates (re-gating checks against ``policy:``, ledger composition).
* :mod:`trust.report.sections`: the section registry (``@section("kind", id=..., title=...)``).
* :mod:`trust.report.model`: :func:`build_report` (evidence dicts in, the JSON report model out; no I/O).
* :mod:`trust.report.render`: HTML / Markdown / JSON strings.
* :mod:`trust.report.project`: reading a project folder and writing ``reports/`` (used by the stage and CLI).
"""

from trust.report.evidence import EVIDENCE_SCHEMA, check, make_evidence, validate_evidence
from trust.report.model import REPORT_SCHEMA, build_report, failed_gates, strict_failure, validate_report
from trust.report.policy import evaluate_gates
from trust.report.render import render_html, render_json, render_markdown
from trust.report.sections import SECTION_REGISTRY, section

__all__ = ["EVIDENCE_SCHEMA", "check", "make_evidence", "validate_evidence", "REPORT_SCHEMA", "build_report",
           "failed_gates", "strict_failure", "validate_report", "evaluate_gates", "render_html", "render_json", "render_markdown",
           "SECTION_REGISTRY", "section"]
