"""Issue 22: every capability's result, built on tiny data, gives evidence valid against its own schema, saves
itself, and its report section renders it in every format.

One parametrised test over :data:`CAPABILITIES` (evidence kind -> a builder of a small result). A capability
joins with one line here once its protocol returns a :class:`trust.evidence.Result`.
"""

from __future__ import annotations

from typing import Callable

import pytest

from trust.evidence import Result, schema_problem, validate_evidence
from trust.report import build_report, render_html, render_json, render_markdown
from trust.report.examples import EXAMPLE_POLICY
from trust.report.sections import SECTION_REGISTRY, discover_sections


def _data() -> Result:
    from trust.data.prepare import run_prepare

    return run_prepare(["king", "adult"], max_rows=300, random_state=0)


#: evidence kind -> a small result of that capability (seconds on 2 cores)
CAPABILITIES: dict[str, Callable[[], Result]] = {
    "data": _data,
}


@pytest.mark.parametrize("kind", sorted(CAPABILITIES))
def test_a_capability_result_gives_valid_evidence_saves_and_renders(kind, tmp_path):
    result = CAPABILITIES[kind]()
    assert isinstance(result, Result) and result.kind == kind
    ev = result.to_evidence(EXAMPLE_POLICY)
    assert ev.kind == kind and ev.details_schema is not None, "a capability validates its details against its schema"
    assert schema_problem(dict(ev.details), ev.details_schema) is None
    result.save(tmp_path / "out")
    assert any((tmp_path / "out").rglob("*")), "save wrote nothing"
    doc = validate_evidence(ev.document(f"{kind}_stage", plots=result.plots(tmp_path / "plots")))
    model = build_report({f"evidence/{kind}_stage.json": doc}, policy=EXAMPLE_POLICY)
    discover_sections()
    sid = SECTION_REGISTRY[kind].id
    section, = [s for s in model["sections"] if s["id"] == sid]
    assert section["blocks"] and section["stages"] == [f"{kind}_stage"]
    assert f'id="{sid}"' in render_html(model) and f"## {section['title']}" in render_markdown(model)
    render_json(model)
