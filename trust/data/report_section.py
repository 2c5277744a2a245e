"""The report's "Data preparation" section (evidence kind ``data``, the ``prepare`` stage) and its details schema.

The section reads the evidence's ``data`` entries (keyed fingerprints, no rows), the stage's checks and
its ``details`` (one object per dataset, valid against :data:`~trust.data.prepare.DATA_DETAILS_SCHEMA`, which the
writer, :meth:`trust.data.prepare.PrepareResult.to_evidence`, keeps beside the code that fills it); it builds no
metric key.
"""

from __future__ import annotations

from typing import Any, Mapping

from trust.data.prepare import DATA_DETAILS_SCHEMA
from trust.report.sections import Block, ReportContext, checks_block, paragraph, plots_block, run_line, section, table

@section("data", id="data", title="Data preparation", order=30)
def _data(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Block | None] = []
    for doc in docs:
        blocks.append(paragraph(run_line(doc)))
        rows = [[d["name"], d.get("role", ""), d.get("rows"), d["fingerprint"][:28], d.get("source", ""),
                 d.get("licence", "")] for d in doc.get("data", [])]
        blocks.append(table(["Table", "Role", "Rows", "Keyed fingerprint (start)", "Source", "Licence"], rows,
                            caption="Tables read and written (keyed fingerprints, no rows)"))
        blocks.append(checks_block(ctx.gates_of(doc["stage"])))
        per = [[name, d.get("target"), d.get("problem_type"), d.get("columns"),
                ", ".join(f"{k} ({v})" for k, v in (d.get("missing_by_column") or {}).items()) or "none"]
               for name, d in doc.get("details", {}).items() if isinstance(d, Mapping)]
        if per:
            blocks.append(table(["Dataset", "Target", "Task", "Columns", "Missing cells by column"], per,
                                caption="Datasets"))
        blocks.append(plots_block(doc))
    details = [d for doc in docs for d in doc.get("details", {}).values() if isinstance(d, Mapping)]
    declared = sum(1 for d in details if str(d.get("schema", "")).startswith("declared"))
    card = f"{len(details)} dataset(s) split and validated" + (f"; {declared} with a declared schema" if details else "")
    return {"blocks": [b for b in blocks if b is not None], "claims": ["data_preparation"], "card": card}


__all__ = ["DATA_DETAILS_SCHEMA"]
