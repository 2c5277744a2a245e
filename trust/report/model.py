"""The report model: evidence documents + policy + lineage in, one JSON-able dict out (no I/O).

:func:`build_report` validates every evidence document, gates every claim
(:mod:`trust.report.policy`), composes the privacy ledger, and asks each registered section
(:mod:`trust.report.sections`) to render its evidence kind into blocks. The result is the JSON
report (validated against :data:`REPORT_SCHEMA`) from which the HTML and Markdown are drawn.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from trust.errors import DataError
from trust.evidence import EVIDENCE_SCHEMA, schema_problem, validate_evidence
from trust.report import compliance
from trust.report.fixed_sections import (
    MLFLOW_HINT, claims_blocks, coverage_rows, datasets_of, ledger_blocks, ledger_card, ledger_totals, lineage_blocks,
)
from trust.report.policy import (
    FAIL, NOT_EVALUATED, PASS, STATUSES, evaluate_gates, evidence_policy_keys, ledger_of, validate_policy,
)
from trust.report.sections import (
    GENERIC_ORDER, SECTION_REGISTRY, ReportContext, bullet_list, callout, discover_sections, gates_table, generic_blocks,
    paragraph,
)

REPORT_SCHEMA_VERSION = 1

_block_schema = {
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": ["paragraph", "callout", "heading", "table", "list", "plots", "code", "cards"]},
        "text": {"type": "string"},
        "level": {"enum": ["note", "warning", "fail", "pass"]},
        "caption": {"type": "string"},
        "id": {"type": ["string", "null"]},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "array",
                                            "items": {"type": ["string", "number", "boolean", "null"]}}},
        "status_column": {"type": ["integer", "null"]},
        "items": {"type": "array"},
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "table"}}}, "then": {"required": ["columns", "rows"]}},
        {"if": {"properties": {"type": {"enum": ["paragraph", "callout", "heading", "code"]}}},
         "then": {"required": ["text"]}},
        {"if": {"properties": {"type": {"enum": ["list", "plots", "cards"]}}}, "then": {"required": ["items"]}},
    ],
}

_gate_schema = {
    "type": "object",
    "required": ["name", "gate", "status", "value", "threshold", "comparator", "policy_key", "stage"],
    "properties": {
        "name": {"type": "string"},
        "gate": {"enum": ["policy", "ledger", "stage check"]},
        "status": {"enum": list(STATUSES)},
        "value": {"type": ["number", "null"]},
        "threshold": {"type": ["number", "null"]},
        "comparator": {"type": ["string", "null"]},
        "policy_key": {"type": ["string", "null"]},
        "stage": {"type": ["string", "null"]},
        "threshold_source": {"type": "string"},
        "note": {"type": "string"},
    },
}

REPORT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "trust compliance report",
    "type": "object",
    "required": ["schema_version", "title", "generated_at", "git_commit", "verdict", "policy", "gates",
                 "stage_checks", "warnings", "stages", "lineage", "ledger", "sections", "compliance_mapping", "limitations"],
    "properties": {
        "schema_version": {"const": REPORT_SCHEMA_VERSION},
        "title": {"type": "string"},
        "generated_at": {"type": "string"},
        "git_commit": {"type": "string"},
        "verdict": {"type": "object", "required": ["status", "passed", "failed", "not_evaluated", "evaluated", "gates",
                                                   "line", "strict_failure"],
                    "properties": {"status": {"enum": list(STATUSES)}, "line": {"type": "string"},
                                   "strict_failure": {"type": ["string", "null"]}}},
        "cards": {"type": "array", "items": {
            "type": "object", "required": ["title", "section", "status", "figure"],
            "properties": {"status": {"enum": list(STATUSES)}, "figure": {"type": "string"}}}},
        "non_dp": {"type": "array"},
        "policy": {"type": "object", "additionalProperties": {"type": "number"}},
        "gates": {"type": "array", "items": _gate_schema},
        "stage_checks": {"type": "array", "items": _gate_schema},
        "warnings": {"type": "array", "items": {"type": "string"}},
        "stages": {"type": "array", "items": {
            "type": "object", "required": ["stage", "kind", "mlflow_run_id", "evidence"],
            "properties": {"mlflow_run_id": {"type": ["string", "null"]}}}},
        "lineage": {"type": "object", "required": ["git_commit", "dvc_lock", "datasets", "mlflow_runs"],
                    "properties": {
                        "dvc_lock": {"type": "array", "items": {
                            "type": "object", "required": ["stage", "role", "path"],
                            "properties": {"role": {"enum": ["dep", "out"]}}}},
                        "datasets": {"type": "array"},
                        "mlflow_runs": {"type": "object", "additionalProperties": {"type": ["string", "null"]}}}},
        "ledger": {"type": "object", "required": ["entries", "totals"],
                   "properties": {"entries": {"type": "array", "items": {
                       "type": "object", "required": ["release", "epsilon", "delta", "stage", "sentence"]}},
                                  "totals": {"type": "array", "items": {
                                      "type": "object",
                                      "required": ["dataset", "unit_of_privacy", "adjacency", "epsilon", "delta"],
                                      "properties": {"epsilon": {"type": ["number", "null"]}}}}}},
        "sections": {"type": "array", "items": {
            "type": "object", "required": ["id", "title", "blocks"],
            "properties": {"id": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
                           "blocks": {"type": "array", "items": _block_schema}}}},
        "compliance_mapping": {"type": "array", "items": {
            "type": "object", "required": ["claim_type", "claim", "gdpr", "ai_act", "nist", "sections"]}},
        "limitations": {"type": "array", "items": {"type": "string"}},
        "evidence_schema": {"type": "object"},
    },
}

FIXED_SECTION_IDS = ("summary", "lineage", "privacy-ledger", "compliance-mapping", "limitations")


def validate_report(model: Any) -> dict[str, Any]:
    """Validate a report model against :data:`REPORT_SCHEMA` (ValueError naming the JSON path)."""
    problem = schema_problem(model, REPORT_SCHEMA)
    if problem:
        raise ValueError(f"report model invalid at {problem}")
    return model


def dvc_lock_rows(lock: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """One row per dependency and output of every stage in a parsed ``dvc.lock``: stage, role and path.

    DVC's md5s, sizes and file counts are left out on purpose: the report never copies a hash or a size of
    a private file (they stay in ``dvc.lock``, where every private output is salted with a keyed value; see
    :mod:`trust.data.lineage`).
    """
    rows: list[dict[str, Any]] = []
    if not isinstance(lock, Mapping):
        return rows
    for stage, spec in (lock.get("stages") or {}).items():
        if not isinstance(spec, Mapping):
            continue
        for role, key in (("dep", "deps"), ("out", "outs")):
            for item in spec.get(key) or []:
                if isinstance(item, Mapping) and "path" in item:
                    rows.append({"stage": str(stage), "role": role, "path": str(item["path"])})
    return rows


def _card_status(gates: list[dict[str, Any]]) -> str:
    st = {g["status"] for g in gates}
    return FAIL if FAIL in st else PASS if PASS in st else NOT_EVALUATED


def _cards(sections: list[dict[str, Any]], gates: list[dict[str, Any]], card_text: dict[str, str]
           ) -> list[dict[str, Any]]:
    """One card per capability (each evidence section, and the privacy ledger): guarantee or key figure, status."""
    cards = []
    for s in sections:
        if s["id"] in ("summary", "lineage", "compliance-mapping", "limitations"):
            continue
        if s["id"] == "privacy-ledger":
            mine = [g for g in gates if g["gate"] == "ledger"]
        else:
            mine = [g for g in gates if g.get("stage") in s["stages"] and g["gate"] != "ledger"]
        evaluated = [g for g in mine if g["status"] != NOT_EVALUATED]
        fails = sum(g["status"] == FAIL for g in evaluated)
        cards.append({"title": s["title"], "section": s["id"], "status": _card_status(mine),
                      "figure": card_text.get(s["id"]) or f"{len(s['stages'])} stage(s) recorded evidence",
                      "gates": (f"{len(evaluated) - fails} of {len(evaluated)} gates pass" if evaluated
                                else "no policy gate")})
    return cards


def _summary(verdict: dict[str, Any], gates: list[dict[str, Any]], stage_checks: list[dict[str, Any]],
             warnings: list[str], cards: list[dict[str, Any]], policy_source: str) -> list[dict[str, Any]]:
    policy_note = f"The policy: {policy_source}."
    failed = [g for g in gates if g["status"] == FAIL]
    evaluated = [g for g in gates if g["status"] != NOT_EVALUATED]
    pending = [g for g in gates if g["status"] == NOT_EVALUATED]
    level = {PASS: "pass", FAIL: "fail", NOT_EVALUATED: "warning"}[verdict["status"]]
    text = verdict["line"] + (": " + "; ".join(g["name"] for g in failed[:5]) + ("; ..." if len(failed) > 5 else "")
                              if failed else ".")
    if verdict["status"] == NOT_EVALUATED:
        text += " " + verdict["strict_failure"] + "."
    blocks = [callout(text, level), {"type": "cards", "items": cards}, paragraph(
        "Each row of the gate table is one claim, in one sentence: the figure the evidence reports, the reference it "
        "is judged against where there is one (a retrained model, the naive update, the uncalibrated model, "
        "train-on-real), the threshold it is held to, and where the threshold comes from. " + policy_note + " Policy "
        "thresholds are read when this report is rendered, so the verdict follows the current policy. `trust report --strict` exits 1 when any policy gate "
        "fails or when none was evaluated. Policy keys that no stage of this project records evidence for (a "
        "capability it does not run) are listed apart below the gates: they are neither passes nor failures. Checks "
        "a stage records against its own thresholds, with no policy key, are listed as stage checks: a failing one "
        "is a finding to read, not a policy failure.")]
    blocks += [callout(w, "warning") for w in warnings]
    blocks.append(gates_table(evaluated, id="gate-table", caption="Every evaluated policy gate"))
    if pending:
        blocks.append(gates_table(pending, id="not-evaluated",
                                  caption="Policy keys not evaluated (no evidence of this project speaks to them)"))
    if stage_checks:
        blocks.append(gates_table(stage_checks, id="stage-checks",
                                  caption="Stage checks (each stage's own thresholds; not policy gates)"))
    return blocks





def read_evidence_docs(evidence: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Validate every evidence document and refuse two documents of one stage (a copied file would count its gates
    twice); sorted by time, each with its ``_source``. Raises :class:`~trust.errors.DataError` naming the files."""
    docs: list[dict[str, Any]] = []
    seen: dict[str, str] = {}
    for src, doc in evidence.items():
        d = dict(validate_evidence(doc, source=src))
        if d["stage"] in seen:
            raise DataError(f"{seen[d['stage']]} and {src} both hold the evidence of stage '{d['stage']}' (a copy "
                            "would count its gates twice); remove the one that is not current")
        seen[d["stage"]] = src
        d["_source"] = src
        docs.append(d)
    docs.sort(key=lambda d: (d["created_at"], d["stage"]))
    return docs


def _capability_sections(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    """Each registered section renders its kinds; kinds nobody registered get the generic section."""
    out: dict[str, Any] = {"sections": [], "card_text": {}, "claims": [], "claim_sections": {}, "limitations": []}
    specs: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    generic: list[dict[str, Any]] = []
    for d in docs:
        spec = SECTION_REGISTRY.get(d["kind"])
        if spec is None:
            generic.append(d)
        else:
            specs.setdefault(spec.id, (spec, []))[1].append(d)
    for spec, sdocs in specs.values():
        res = spec.render(sdocs, ctx)
        res = {"blocks": res} if isinstance(res, list) else dict(res)
        out["sections"].append({"id": spec.id, "title": spec.title, "order": spec.order,
                                "kinds": sorted({d["kind"] for d in sdocs}), "stages": [d["stage"] for d in sdocs],
                                "blocks": [b for b in res.get("blocks", []) if b is not None]})
        if res.get("card"):
            out["card_text"][spec.id] = str(res["card"])
        for c in res.get("claims", []):
            if c not in out["claims"]:
                out["claims"].append(c)
            if spec.id not in out["claim_sections"].setdefault(c, []):
                out["claim_sections"][c].append(spec.id)
        out["limitations"] += [x for x in res.get("limitations", []) if x not in out["limitations"]]
    for d in generic:
        sid = "stage-" + "".join(ch if ch.isalnum() else "-" for ch in d["stage"].lower()).strip("-")
        out["sections"].append({"id": sid, "title": d.get("title") or d["stage"], "order": GENERIC_ORDER,
                                "kinds": [d["kind"]], "stages": [d["stage"]], "blocks": generic_blocks(d, ctx)})
    return out


def _ledger_parts(g: Mapping[str, Any], docs: list[dict[str, Any]], pol: Mapping[str, float]) -> dict[str, Any]:
    """Totals, the combined label statement, the entries with their sentences, and the ledger section's blocks."""
    entries = g["ledger"]
    led = ledger_of(entries)
    totals = ledger_totals(led, g["non_dp"])
    broken = {u["dataset"] for u in g["non_dp"] if u["declared"] is None}
    combined = {}
    for ds in led.datasets():
        c = led.combined_label_replace_one(ds)
        if c is not None:
            combined[ds] = {**c, "epsilon": None if ds in broken else c["epsilon"]}
    sentences = [{**e, "sentence": le.sentence() + (f" Note: {le.notes}" if le.notes else "")}
                 for e, le in zip(entries, led.entries)]
    blocks = ledger_blocks(sentences, totals, combined, dict(pol), g["ledger_warnings"],
                           coverage_rows(docs, entries, g["non_dp"], broken))
    return {"totals": totals, "combined": combined, "entries": sentences, "blocks": blocks}


def _limitations(entries: list[dict[str, Any]], combined: Mapping[str, Any], non_dp: list[Any],
                 extra: list[str]) -> list[str]:
    out = list(compliance.BASE_LIMITATIONS)
    if entries:
        out += [compliance.TUNING_LIMITATION, compliance.SECRET_NOISE_LIMITATION]
    if any("sgd" in e["mechanism"].lower() for e in entries):
        out.append(compliance.DP_SGD_LIMITATION)
    if combined:
        out.append(compliance.MIXED_UNITS_LIMITATION)
    if non_dp:
        out.append(compliance.NON_DP_LIMITATION)
    return out + [x for x in extra if x not in out]


def build_report(
    evidence: Mapping[str, Mapping[str, Any]],
    *,
    policy: Mapping[str, Any] | None = None,
    title: str = "trust compliance report",
    git_commit: str = "unknown",
    dvc_lock: Mapping[str, Any] | None = None,
    dvc_lock_sha256: str | None = None,
    generated_at: str | None = None,
    policy_source: str = "params.yaml 'policy:'",
    mlflow_links: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Build the report model from evidence documents (keyed by their source, e.g. ``evidence/x.json``).

    ``policy_source`` says where the policy came from (shown in the summary); ``mlflow_links`` maps an MLflow
    run id to the URL of that run in the MLflow UI (the lineage section links each stage's run).
    Raises :class:`~trust.errors.DataError` on invalid evidence (naming the source and JSON path) or two
    documents of one stage, and :class:`~trust.errors.ConfigError` on an invalid policy (an unknown key, a
    threshold out of range).
    """
    discover_sections()
    docs = read_evidence_docs(evidence)
    pol = validate_policy(policy, known=evidence_policy_keys(docs))
    g = evaluate_gates(docs, policy)
    gates = g["gates"]
    ledger = _ledger_parts(g, docs, pol)
    ctx = ReportContext(docs={d["stage"]: d for d in docs}, gates=gates, ledger=g["ledger"], policy=pol,
                        stage_checks=g["stage_checks"], non_dp=g["non_dp"])
    lock_rows, datasets = dvc_lock_rows(dvc_lock), datasets_of(docs)
    caps = _capability_sections(docs, ctx)
    sections: list[dict[str, Any]] = [
        {"id": "lineage", "title": "Data lineage", "order": 10, "kinds": [], "stages": [d["stage"] for d in docs],
         "blocks": lineage_blocks(git_commit, docs, lock_rows, datasets, dvc_lock_sha256, mlflow_links)},
        {"id": "privacy-ledger", "title": "Privacy ledger", "order": 20, "kinds": [],
         "stages": sorted({e["stage"] for e in g["ledger"]}), "blocks": ledger["blocks"]},
        *caps["sections"]]
    claims = ["lineage", "policy_gates"] + (["dp_ledger"] if g["ledger"] else []) + caps["claims"]
    claim_sections = {"lineage": ["lineage"], "policy_gates": ["summary"], "dp_ledger": ["privacy-ledger"],
                      **caps["claim_sections"]}
    mapping_blocks, mapping, withheld = claims_blocks(claims, claim_sections, sections, gates, g["stage_checks"])
    limitations = _limitations(g["ledger"], ledger["combined"], g["non_dp"], caps["limitations"])
    sections += [{"id": "compliance-mapping", "title": "Regulatory mapping", "order": 90, "kinds": [], "stages": [],
                  "blocks": mapping_blocks},
                 {"id": "limitations", "title": "Limitations", "order": 100, "kinds": [], "stages": [],
                  "blocks": [bullet_list(limitations)]}]
    sections.sort(key=lambda s: s["order"])
    cards = _cards(sections, gates, {"privacy-ledger": ledger_card(ledger["totals"], g["non_dp"]),
                                     **caps["card_text"]})
    sections.insert(0, {"id": "summary", "title": "Summary: capabilities and policy gates", "order": 0, "kinds": [],
                        "stages": [], "blocks": _summary(g["verdict"], gates, g["stage_checks"], g["warnings"], cards,
                                                         policy_source)})
    model = {
        "schema_version": REPORT_SCHEMA_VERSION, "title": title, "git_commit": git_commit,
        "generated_at": generated_at or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "verdict": g["verdict"], "policy": pol, "policy_source": policy_source, "policy_rules": g["rules"],
        "cards": cards, "non_dp": g["non_dp"], "gates": gates, "stage_checks": g["stage_checks"],
        "warnings": g["warnings"],
        "stages": [{"stage": d["stage"], "kind": d["kind"], "title": d.get("title", d["stage"]),
                    "mlflow_run_id": d.get("mlflow_run_id"),
                    "mlflow_url": (mlflow_links or {}).get(d.get("mlflow_run_id") or ""),
                    "git_commit": d["git_commit"], "created_at": d["created_at"], "evidence": d["_source"]}
                   for d in docs],
        "lineage": {"git_commit": git_commit, "dvc_lock": lock_rows, "dvc_lock_sha256": dvc_lock_sha256,
                    "datasets": datasets, "mlflow_runs": {d["stage"]: d.get("mlflow_run_id") for d in docs},
                    "mlflow_hint": MLFLOW_HINT},
        "ledger": {"entries": ledger["entries"], "totals": ledger["totals"],
                   "combined_label_replace_one": ledger["combined"]},
        "sections": sections, "compliance_mapping": mapping, "withheld_claims": withheld, "limitations": limitations,
    }
    return validate_report(model)


def failed_gates(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The gates of a report model that fail (what ``--strict`` exits 1 on, with no gate evaluated at all)."""
    return [g for g in model["gates"] if g["status"] == FAIL]


def strict_failure(model: Mapping[str, Any]) -> str | None:
    """The one line ``trust report --strict`` exits 1 with, or None when it passes.

    It fails when a policy gate fails and when no policy gate was evaluated (e.g. no params.yaml policy).
    """
    return model["verdict"]["strict_failure"]


__all__ = ["REPORT_SCHEMA", "REPORT_SCHEMA_VERSION", "EVIDENCE_SCHEMA", "FIXED_SECTION_IDS", "MLFLOW_HINT",
           "build_report", "read_evidence_docs", "validate_report", "failed_gates", "strict_failure", "dvc_lock_rows"]
