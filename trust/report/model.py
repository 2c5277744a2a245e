"""The report model: evidence documents + policy + lineage in, one JSON-able dict out (no I/O).

:func:`build_report` validates every evidence document, gates every claim
(:mod:`trust.report.policy`), composes the privacy ledger, and asks each registered section
(:mod:`trust.report.sections`) to render its evidence kind into blocks. The result is the JSON
report (validated against :data:`REPORT_SCHEMA`) from which the HTML and Markdown are drawn.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any, Mapping

from trust.report import compliance
from trust.evidence import EVIDENCE_SCHEMA, schema_problem, validate_evidence
from trust.report.policy import FAIL, NOT_EVALUATED, PASS, STATUSES, evaluate_gates, ledger_of, validate_policy
from trust.report.sections import (
    SECTION_REGISTRY,
    ReportContext,
    bullet_list,
    discover_sections,
    callout,
    code,
    gates_table,
    generic_blocks,
    paragraph,
    table,
)

REPORT_SCHEMA_VERSION = 1

MLFLOW_HINT = ("make ui    # or: mlflow ui --backend-store-uri sqlite:///mlflow.db\n"
               "# then open http://127.0.0.1:5000 and search runs with: attributes.run_id = '<run id>'")

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


def _datasets(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for d in docs:
        for t in d.get("data", []):
            key = (t["name"], t["fingerprint"])
            if key not in seen:
                seen[key] = {"name": t["name"], "fingerprint": t["fingerprint"], "rows": t.get("rows"),
                             "role": t.get("role", ""), "source": t.get("source", ""),
                             "licence": t.get("licence", ""), "stages": []}
            for f in ("rows", "role", "source", "licence"):  # fill what another stage recorded
                if not seen[key][f] and t.get(f):
                    seen[key][f] = t[f]
            seen[key]["stages"].append(d["stage"])
    return list(seen.values())


ARTIFACT_KINDS = (
    "Two kinds of artifact. The RELEASE (a synthetic table, a model directory, their ledger entries) is what may "
    "leave the organisation: it carries no hash, exact count, timing or seed of the private data, and its only "
    "privacy claim is the ledger's guarantee. The AUDIT TRAIL (evidence/, metrics/, the MLflow store, dvc.lock, the "
    "DVC cache and this report) is confidential, for the data owner and the auditor: it holds exact counts and "
    "non-DP statistics of the private tables. Its data fingerprints are keyed (HMAC-SHA256 under the data owner's "
    "lineage key, kept outside the project), and every private output a stage writes is salted with a value derived "
    "from that key, so DVC's md5s in dvc.lock (tracked in git) cannot be recomputed from the rows: nobody without "
    "the key can test a candidate table against dvc.lock or this report, which shows no unkeyed hash of private "
    "data. The DVC cache holds the private files themselves: it never leaves the data owner.")


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
             warnings: list[str], cards: list[dict[str, Any]]) -> list[dict[str, Any]]:
    failed = [g for g in gates if g["status"] == FAIL]
    evaluated = [g for g in gates if g["status"] != NOT_EVALUATED]
    pending = [g for g in gates if g["status"] == NOT_EVALUATED]
    level = {PASS: "pass", FAIL: "fail", NOT_EVALUATED: "warning"}[verdict["status"]]
    text = verdict["line"] + (": " + "; ".join(g["name"] for g in failed[:5]) + ("; ..." if len(failed) > 5 else "")
                              if failed else ".")
    if verdict["status"] == NOT_EVALUATED:
        text += " " + verdict["strict_failure"] + "."
    blocks = [callout(text, level), {"type": "cards", "items": cards}, paragraph(
        "Each row of the gate table is one claim: the figure the evidence reports, the threshold it is held to, and "
        "where the threshold comes from. Policy thresholds are read from params.yaml 'policy:' when this report is "
        "rendered, so the verdict follows the current policy. `trust report --strict` exits 1 when any policy gate "
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


def _lineage(commit: str, docs: list[dict[str, Any]], lock_rows: list[dict[str, Any]],
             datasets: list[dict[str, Any]], lock_sha256: str | None = None) -> list[dict[str, Any]]:
    blocks = [paragraph(f"Rendered at git commit {commit}. Each stage's evidence records the commit it ran at."),
              callout(ARTIFACT_KINDS, "note")]
    blocks.append(table(["Stage", "Kind", "Git commit", "Evidence written", "MLflow run id"],
                        [[d["stage"], d["kind"], d["git_commit"], d["created_at"], d.get("mlflow_run_id") or "none"]
                         for d in docs], caption="Stages and their MLflow runs"))
    blocks.append(code(MLFLOW_HINT))
    if datasets:
        blocks.append(table(["Table", "Role", "Rows", "Keyed fingerprint (HMAC-SHA256)", "Source", "Licence", "Stages"],
                            [[t["name"], t["role"], t["rows"], t["fingerprint"], t["source"], t["licence"],
                              ", ".join(t["stages"])] for t in datasets],
                            caption="Datasets (keyed fingerprints: verifiable with the data owner's lineage key, "
                                    "untestable without it; exact row counts: audit trail only; no rows are shown)"))
    if lock_rows:
        blocks.append(table(["Stage", "Dep/out", "Path"], [[r["stage"], r["role"], r["path"]] for r in lock_rows],
                            caption="dvc.lock: every input and output of every stage (DVC's md5s stay in dvc.lock; "
                                    "private outputs are salted with a keyed value, so those md5s cannot be "
                                    "recomputed from the rows; the report copies none of them)"))
        if lock_sha256:
            blocks.append(paragraph(f"sha256 of dvc.lock (a public file in git): {lock_sha256}."))
    else:
        blocks.append(callout("No dvc.lock was found: run the pipeline with `dvc repro` to record the hashes of "
                              "every input and output.", "warning"))
    return blocks


def _eps_text(value: float | None) -> str:
    return "infinite" if value is None else f"{value:.4g}"


def _ledger_section(entries: list[dict[str, Any]], totals: list[dict[str, Any]], combined: dict[str, Any],
                    policy: dict[str, float], warnings: list[str], coverage: list[list[Any]]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if not entries:
        blocks.append(paragraph("No stage recorded a differentially private release."))
    else:
        blocks.append(paragraph(
            "Every differentially private release in the evidence, with its guarantee in one sentence. Totals are "
            "per (dataset, unit of privacy, adjacency): the epsilons and deltas of the releases with the same unit "
            "and adjacency add up (basic sequential composition); a record-level add/remove epsilon and a "
            "label-level replace-one epsilon bound different things and are never summed into one figure. A total "
            "is infinite when the dataset has a use without differential privacy that the policy does not declare "
            "audit-trail only."))
        blocks.append(bullet_list(e["sentence"] for e in entries))
        blocks.append(table(
            ["Stage", "Release", "Mechanism", "Unit", "Adjacency", "Epsilon", "Delta", "Accountant",
             "Noise multiplier", "Sampling rate", "Steps", "Clip bound", "Noise", "Dataset"],
            [[e["stage"], e["release"], e["mechanism"], e["unit_of_privacy"], e["adjacency"], e["epsilon"],
              e["delta"], e["accountant"], e["noise_multiplier"], e["sample_rate"], e["steps"], e["max_grad_norm"],
              e.get("noise_source", "os-entropy"), e.get("dataset", "")] for e in entries], caption="Releases"))
        max_eps = policy.get("max_total_epsilon_per_dataset")
        rows = []
        for t in totals:
            ok = t["epsilon"] is not None and (max_eps is None or t["epsilon"] <= max_eps + 1e-12)
            rows.append(["" if max_eps is None else ("PASS" if ok else "FAIL"), t["dataset"], t["unit_of_privacy"],
                         t["adjacency"], t["releases"], _eps_text(t["epsilon"]), t["delta"], max_eps])
        blocks.append(table(["Status", "Dataset", "Unit of privacy", "Adjacency", "Releases", "Total epsilon",
                             "Total delta", "Policy max epsilon"], rows,
                            caption="Totals per dataset, unit of privacy and adjacency", status_column=0))
        for ds, c in combined.items():
            blocks.append(callout(
                f"Combined statement for '{ds}': over all its releases, what can be learnt about one person's LABEL "
                f"under replace-one adjacency is bounded by epsilon = {_eps_text(c['epsilon'])}, delta = "
                f"{c['delta']:.3g}. Replace-one releases count their own epsilon; each add/remove release counts "
                "twice (a replacement is a removal and an addition: 2 epsilon, (1 + e^epsilon) delta). No combined "
                "record-level statement is made: label-level releases do not protect the features."))
    if coverage:
        blocks.append(table(["Status", "Artifact", "Dataset", "Stage", "Kind", "Covered by"], coverage,
                            caption="Which artifact is covered by which guarantee", status_column=0))
    blocks += [callout(w, "warning") for w in warnings]
    return blocks


def _totals(led: Any, non_dp: list[dict[str, Any]]) -> list[dict[str, Any]]:
    broken = {u["dataset"] for u in non_dp if u["declared"] is None}
    return [{"dataset": ds, "unit_of_privacy": unit, "adjacency": adj, "releases": t["releases"],
             "epsilon": None if ds in broken else t["epsilon"], "delta": t["delta"], "infinite": ds in broken}
            for (ds, unit, adj), t in led.totals().items()]


def _coverage(docs: list[dict[str, Any]], entries: list[dict[str, Any]], non_dp: list[dict[str, Any]],
              broken: set[str]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for d in docs:
        mine = [e for e in entries if e["stage"] == d["stage"]]
        if not mine:
            continue
        release = d.get("details", {}).get("release")
        what = ", ".join(release) if isinstance(release, list) else f"the release of stage '{d['stage']}'"
        keys = sorted({(e.get("dataset", ""), e["unit_of_privacy"], e["adjacency"]) for e in mine})
        for ds, unit, adj in keys:
            eps = sum(e["epsilon"] for e in mine if (e.get("dataset", ""), e["unit_of_privacy"], e["adjacency"])
                      == (ds, unit, adj))
            seeded = any(e.get("noise_source") == "seeded (not a valid guarantee)" for e in mine)
            status = "FAIL" if ds in broken or seeded else "PASS"
            cover = (f"differential privacy, epsilon {eps:.4g} for {ds}'s {unit}s under {adj}"
                     + ("; SEEDED noise: not a valid guarantee" if seeded else "")
                     + ("; void while the dataset has an undeclared non-DP use" if ds in broken else ""))
            rows.append([status, what, ds, d["stage"], "release", cover])
    for u in non_dp:
        decl = u["declared"]
        rows.append(["PASS" if decl else "FAIL", u["artifact"], u["dataset"], u["stage"],
                     "audit trail" if decl else "UNDECLARED non-DP use",
                     f"no DP guarantee ({u['what']}); declared audit-trail only: {decl['purpose']}" if decl else
                     f"no DP guarantee ({u['what']}); not declared in policy.internal_non_dp, so the dataset's "
                     "epsilon is infinite"])
    if rows:
        rows.append(["", "evidence/, metrics/, MLflow store, dvc.lock, DVC cache, reports/", "all", "all",
                     "audit trail", "confidential: keyed fingerprints; exact counts; DVC's md5 of the private files"])
    return rows


def build_report(
    evidence: Mapping[str, Mapping[str, Any]],
    *,
    policy: Mapping[str, Any] | None = None,
    title: str = "trust compliance report",
    git_commit: str = "unknown",
    dvc_lock: Mapping[str, Any] | None = None,
    dvc_lock_sha256: str | None = None,
    generated_at: str | None = None,
) -> dict[str, Any]:
    """Build the report model from evidence documents (keyed by their source, e.g. ``evidence/x.json``).

    Raises :class:`~trust.errors.DataError` on invalid evidence (naming the source and JSON path) and
    :class:`~trust.errors.ConfigError` on an invalid policy.
    """
    pol = validate_policy(policy)
    discover_sections()
    docs = []
    for src, doc in evidence.items():
        d = dict(validate_evidence(doc, source=src))
        d["_source"] = src
        docs.append(d)
    docs.sort(key=lambda d: (d["created_at"], d["stage"]))
    g = evaluate_gates(docs, policy)
    gates, warnings, entries = g["gates"], g["warnings"], g["ledger"]
    led = ledger_of(entries)
    totals = _totals(led, g["non_dp"])
    broken = {u["dataset"] for u in g["non_dp"] if u["declared"] is None}
    combined = {}
    for ds in led.datasets():
        c = led.combined_label_replace_one(ds)
        if c is not None:
            combined[ds] = {**c, "epsilon": None if ds in broken else c["epsilon"]}
    ledger_entries = [{**e, "sentence": le.sentence() + (f" Note: {le.notes}" if le.notes else "")}
                      for e, le in zip(entries, led.entries)]
    by_stage = {d["stage"]: d for d in docs}
    ctx = ReportContext(docs=by_stage, gates=gates, ledger=entries, policy=pol, stage_checks=g["stage_checks"],
                        non_dp=g["non_dp"])
    lock_rows = dvc_lock_rows(dvc_lock)
    datasets = _datasets(docs)

    sections: list[dict[str, Any]] = [
        {"id": "lineage", "title": "Data lineage", "order": 10, "kinds": [], "stages": [d["stage"] for d in docs],
         "blocks": _lineage(git_commit, docs, lock_rows, datasets, dvc_lock_sha256)},
        {"id": "privacy-ledger", "title": "Privacy ledger", "order": 20, "kinds": [],
         "stages": sorted({e["stage"] for e in entries}),
         "blocks": _ledger_section(ledger_entries, totals, combined, pol, g["ledger_warnings"],
                                   _coverage(docs, entries, g["non_dp"], broken))},
    ]
    card_text = {"privacy-ledger": _ledger_card(totals, g["non_dp"])}
    claims = ["lineage", "policy_gates"] + (["dp_ledger"] if entries else [])
    claim_sections: dict[str, list[str]] = {"lineage": ["lineage"], "policy_gates": ["summary"],
                                            "dp_ledger": ["privacy-ledger"]}
    limitations = list(compliance.BASE_LIMITATIONS)
    if entries:
        limitations += [compliance.TUNING_LIMITATION, compliance.SECRET_NOISE_LIMITATION]
    if any("sgd" in e["mechanism"].lower() for e in entries):
        limitations.append(compliance.DP_SGD_LIMITATION)
    if combined:
        limitations.append(compliance.MIXED_UNITS_LIMITATION)
    if g["non_dp"]:
        limitations.append(compliance.NON_DP_LIMITATION)

    specs: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
    generic: list[dict[str, Any]] = []
    for d in docs:
        spec = SECTION_REGISTRY.get(d["kind"])
        if spec is None:
            generic.append(d)
        else:
            specs.setdefault(spec.id, (spec, []))[1].append(d)
    for spec, sdocs in specs.values():
        out = spec.render(sdocs, ctx)
        out = {"blocks": out} if isinstance(out, list) else dict(out)
        sections.append({"id": spec.id, "title": spec.title, "order": spec.order,
                         "kinds": sorted({d["kind"] for d in sdocs}), "stages": [d["stage"] for d in sdocs],
                         "blocks": [b for b in out.get("blocks", []) if b is not None]})  # empty blocks dropped
        if out.get("card"):
            card_text[spec.id] = str(out["card"])
        for c in out.get("claims", []):
            if c not in claims:
                claims.append(c)
            claim_sections.setdefault(c, [])
            if spec.id not in claim_sections[c]:
                claim_sections[c].append(spec.id)
        limitations += [x for x in out.get("limitations", []) if x not in limitations]
    for d in generic:
        sid = "stage-" + "".join(ch if ch.isalnum() else "-" for ch in d["stage"].lower()).strip("-")
        sections.append({"id": sid, "title": d.get("title") or d["stage"], "order": 80, "kinds": [d["kind"]],
                         "stages": [d["stage"]], "blocks": generic_blocks(d, ctx)})

    mapping = [{"claim_type": c, **compliance.CLAIMS[c], "sections": claim_sections.get(c, [])}
               for c in claims if c in compliance.CLAIMS]
    sections.append({"id": "compliance-mapping", "title": "Regulatory mapping", "order": 90, "kinds": [],
                     "stages": [], "blocks": [
                         callout(compliance.DISCLAIMER),
                         table(["Claim", "Evidence in", "GDPR", "EU AI Act Annex IV", "NIST AI RMF"],
                               [[m["claim"], ", ".join(m["sections"]), m["gdpr"], m["ai_act"], m["nist"]]
                                for m in mapping], caption="Claims and the provisions they are relevant to")]})
    sections.append({"id": "limitations", "title": "Limitations", "order": 100, "kinds": [], "stages": [],
                     "blocks": [bullet_list(limitations)]})
    sections.sort(key=lambda s: s["order"])
    cards = _cards(sections, gates, card_text)
    sections.insert(0, {"id": "summary", "title": "Summary: capabilities and policy gates", "order": 0, "kinds": [],
                        "stages": [], "blocks": _summary(g["verdict"], gates, g["stage_checks"], warnings, cards)})

    model = {
        "schema_version": REPORT_SCHEMA_VERSION,
        "title": title,
        "generated_at": generated_at or _dt.datetime.now(_dt.timezone.utc).replace(microsecond=0).isoformat(),
        "git_commit": git_commit,
        "verdict": g["verdict"],
        "policy": pol,
        "policy_rules": g["rules"],
        "cards": cards,
        "non_dp": g["non_dp"],
        "gates": gates,
        "stage_checks": g["stage_checks"],
        "warnings": warnings,
        "stages": [{"stage": d["stage"], "kind": d["kind"], "title": d.get("title", d["stage"]),
                    "mlflow_run_id": d.get("mlflow_run_id"), "git_commit": d["git_commit"],
                    "created_at": d["created_at"], "evidence": d["_source"]} for d in docs],
        "lineage": {"git_commit": git_commit, "dvc_lock": lock_rows, "dvc_lock_sha256": dvc_lock_sha256,
                    "datasets": datasets,
                    "mlflow_runs": {d["stage"]: d.get("mlflow_run_id") for d in docs}, "mlflow_hint": MLFLOW_HINT},
        "ledger": {"entries": ledger_entries, "totals": totals, "combined_label_replace_one": combined},
        "sections": sections,
        "compliance_mapping": mapping,
        "limitations": limitations,
    }
    return validate_report(model)


def _ledger_card(totals: list[dict[str, Any]], non_dp: list[dict[str, Any]]) -> str:
    if not totals:
        return "no DP release"
    parts = [f"{t['dataset']}: epsilon {_eps_text(t['epsilon'])} ({t['unit_of_privacy']}, {t['adjacency']})"
             for t in totals]
    declared = sum(1 for u in non_dp if u["declared"])
    return "; ".join(parts) + (f"; {declared} non-DP use(s) declared audit-trail only" if declared else "")


def failed_gates(model: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The gates of a report model that fail (what ``--strict`` exits 1 on, with no gate evaluated at all)."""
    return [g for g in model["gates"] if g["status"] == FAIL]


def strict_failure(model: Mapping[str, Any]) -> str | None:
    """The one line ``trust report --strict`` exits 1 with, or None when it passes.

    It fails when a policy gate fails and when no policy gate was evaluated (e.g. no params.yaml policy).
    """
    return model["verdict"]["strict_failure"]


__all__ = ["REPORT_SCHEMA", "REPORT_SCHEMA_VERSION", "EVIDENCE_SCHEMA", "FIXED_SECTION_IDS", "MLFLOW_HINT",
           "ARTIFACT_KINDS", "build_report", "validate_report", "failed_gates", "strict_failure", "dvc_lock_rows"]
