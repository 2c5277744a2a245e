"""Policy gates and the compliance report (HTML, Markdown, JSON).

* :mod:`trust.evidence` (below this package): the evidence contract every stage writes.
* :mod:`trust.report.policy`: gates (re-gating checks against ``policy:``, ledger composition).
* :mod:`trust.report.sections`: the section registry (``@section("kind", id=..., title=...)``).
* :mod:`trust.report.model`: :func:`build_report` (evidence dicts in, the JSON report model out; no I/O).
* :mod:`trust.report.render`: HTML / Markdown / JSON strings.
* :mod:`trust.report.project`: reading a project folder and writing ``reports/`` (used by the stage and CLI).

The exports load lazily: importing a submodule (or :mod:`trust.evidence`) does not load the renderer.
"""

from trust._lazy import lazy_exports

_EXPORTS = {
    "REPORT_SCHEMA": "trust.report.model", "build_report": "trust.report.model", "failed_gates": "trust.report.model",
    "strict_failure": "trust.report.model", "validate_report": "trust.report.model",
    "evaluate_gates": "trust.report.policy",
    "render_html": "trust.report.render", "render_json": "trust.report.render", "render_markdown": "trust.report.render",
    "SECTION_REGISTRY": "trust.report.sections", "section": "trust.report.sections",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
__all__ = list(_EXPORTS)
