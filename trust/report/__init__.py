"""Evidence schema, policy gates and the compliance report (HTML, Markdown, JSON)."""

from trust.report.evidence import EVIDENCE_SCHEMA, check, make_evidence, validate_evidence

__all__ = ["EVIDENCE_SCHEMA", "check", "make_evidence", "validate_evidence"]
