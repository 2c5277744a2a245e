"""The report's "Unlearning" section: the unlearning certificates (evidence kind ``unlearning``).

Every unlearning stage (concept-based class unlearning, label-free unlearning, ...) writes evidence of
kind ``unlearning`` whose ``details.certificate`` is :data:`CERTIFICATE_SCHEMA` (built by
:func:`trust.unlearn.metrics.unlearning_certificate`): what was forgotten (a class or rows, how many,
their keyed fingerprint), the method and its params, each figure of the unlearned model beside the
model retrained from scratch without that data and beside the original model, and the seconds each
took. Its policy checks (``max_forget_accuracy``, ``max_mia_gap_to_retrain``, ``max_retain_gap_to_retrain``,
see :func:`trust.unlearn.metrics.certificate_checks`) are re-gated by the report.

Per evidence document: its checks, then one table (figure | unlearned | retrained | original |
gap to retrain | gate status), the forgotten data, the method, the timings; optional
``details.comparison`` (``{method: {figure: value}}``, other methods in the same harness) as a
second table; plots. The summary card names each forgotten class or row count, the method and the
verdict of its gates.
"""

from __future__ import annotations

from typing import Any, Mapping

from trust.evidence import schema_problem
from trust.report.sections import (
    Block,
    ReportContext,
    bullet_list,
    cell,
    checks_block,
    heading,
    paragraph,
    plots_block,
    run_line,
    section,
    table,
)

_num = {"type": ["number", "null"]}

#: JSON schema of an evidence's ``details.certificate``
CERTIFICATE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["forgotten", "method", "params", "metrics", "seconds"],
    "properties": {
        "forgotten": {
            "type": "object",
            "required": ["what", "class", "count", "fingerprint"],
            "properties": {
                "what": {"enum": ["class", "samples"]},
                "class": {"type": ["integer", "null"]},
                "count": {"type": "integer", "minimum": 0},
                "fingerprint": {"type": "string", "pattern": r"^hmac-sha256:"},
            },
            "additionalProperties": False,
        },
        "method": {"type": "string", "minLength": 1},
        "params": {"type": "object"},
        "metrics": {
            "type": "object",
            "additionalProperties": {
                "type": "object", "required": ["unlearned", "retrained", "original"],
                "properties": {"unlearned": _num, "retrained": _num, "original": _num},
                "additionalProperties": False,
            },
        },
        "seconds": {"type": "object", "required": ["unlearn", "retrain"],
                    "properties": {"unlearn": {"type": "number", "minimum": 0},
                                   "retrain": {"type": "number", "minimum": 0}}},
    },
}

#: figure -> (label in the table, the policy key whose gate it feeds)
_LABELS = {
    "forget_accuracy": ("Accuracy on the forget rows (train)", "max_forget_accuracy"),
    "retain_accuracy": ("Accuracy on the retained rows (train)", None),
    "test_retain_accuracy": ("Test accuracy, retained classes", "max_retain_gap_to_retrain"),
    "test_forget_accuracy": ("Test accuracy, forgotten class", "max_forget_accuracy"),
    "mia_loss": ("Loss-based MIA: forget rows called members", "max_mia_gap_to_retrain"),
    "mia_confidence": ("Confidence-based MIA: forget rows called members", "max_mia_gap_to_retrain"),
    "relearn_epochs": ("Relearn epochs to 50 % forget accuracy", None),
    "avg_gap": ("Average gap to retrain", None),
}


def validate_certificate(cert: Any, *, source: str = "certificate") -> dict[str, Any]:
    """Check ``cert`` against :data:`CERTIFICATE_SCHEMA`; DataError naming the path and problem."""
    from trust.errors import DataError

    problem = schema_problem(cert, CERTIFICATE_SCHEMA)
    if problem:
        raise DataError(f"{source}: invalid unlearning certificate at {problem}; re-run the stage")
    return cert



def _gap(m: Mapping[str, Any]) -> Any:
    u, r = m.get("unlearned"), m.get("retrained")
    return None if u is None or r is None else round(abs(u - r), 4)


def _status(name: str, m: Mapping[str, Any], key: str | None, policy: Mapping[str, float]) -> str:
    """This row's own verdict against its policy key (the gate itself takes the worst row): pass, fail or ''."""
    if key is None or key not in policy:
        return ""
    value = m.get("unlearned") if key == "max_forget_accuracy" else _gap(m)
    if value is None:
        return "fail"
    return "pass" if value <= policy[key] + 1e-12 else "fail"


def _what(cert: Mapping[str, Any]) -> str:
    f = cert["forgotten"]
    return f"class {f['class']}" if f["what"] == "class" else f"{f['count']} rows"


def certificate_blocks(doc: Mapping[str, Any], ctx: ReportContext) -> list[Block]:
    """The blocks of one unlearning evidence document (checks, certificate table, forgotten data, method, timings)."""
    gates = ctx.gates_of(doc["stage"])
    blocks: list[Block | None] = [heading(doc.get("title") or doc["stage"]), paragraph(run_line(doc)),
                                  checks_block(gates, "Certificate gates")]
    cert = doc.get("details", {}).get("certificate")
    if not isinstance(cert, Mapping):
        blocks.append(paragraph("This stage recorded no unlearning certificate."))
        return [b for b in blocks if b is not None]
    validate_certificate(cert, source=f"evidence/{doc['stage']}.json details.certificate")
    rows = []
    order = {name: i for i, name in enumerate(_LABELS)}
    for name, m in sorted(cert["metrics"].items(), key=lambda kv: order.get(kv[0], len(order))):
        label, key = _LABELS.get(name, (name, None))
        rows.append([label, cell(m.get("unlearned")), cell(m.get("retrained")), cell(m.get("original")),
                     _gap(m), _status(name, m, key, ctx.policy)])
    blocks.append(table(["Figure", "Unlearned", "Retrained (gold standard)", "Original", "|Unlearned - retrained|",
                         "Gate"], rows, caption=f"Certificate: {_what(cert)} forgotten by {cert['method']}",
                        status_column=5))
    f, sec = cert["forgotten"], cert["seconds"]
    ratio = sec["unlearn"] / sec["retrain"] if sec["retrain"] else None
    blocks.append(bullet_list([
        f"Forgotten: {_what(cert)}" + (f" ({f['count']} training rows)" if f["what"] == "class" else "")
        + f"; keyed fingerprint of the forgotten rows {f['fingerprint'][:28]}...",
        f"Method: {cert['method']}; params: " + (", ".join(f"{k} {v}" for k, v in sorted(cert["params"].items()))
                                                  or "none") + ".",
        f"Time: unlearning {sec['unlearn']:.3g} s, retraining from scratch {sec['retrain']:.3g} s"
        + (f" (ratio {ratio:.3g})." if ratio is not None else "."),
    ]))
    comparison = doc.get("details", {}).get("comparison")
    if isinstance(comparison, Mapping) and comparison:
        figures = sorted(dict.fromkeys(k for v in comparison.values() if isinstance(v, Mapping) for k in v),
                         key=lambda k: list(_LABELS).index(k) if k in _LABELS else len(_LABELS))
        blocks.append(table(["Method", *figures], [[m, *(cell(v.get(k)) for k in figures)]
                                                   for m, v in comparison.items() if isinstance(v, Mapping)],
                            caption="Methods in the same harness (the retrained model is the gold standard)"))
    blocks.append(plots_block(doc))
    return [b for b in blocks if b is not None]


@section("unlearning", id="unlearning", title="Unlearning", order=70)
def _unlearning(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Block] = [paragraph(
        "Each unlearning stage removes a class's (or some rows') influence from a trained model without "
        "retraining it, and certifies the result against a model retrained from scratch without that data "
        "(same recipe, same seed): the unlearned model should be as close to it as possible, not merely bad "
        "on the forgotten data.")]
    card_parts = []
    for d in docs:
        blocks += certificate_blocks(d, ctx)
        cert = d.get("details", {}).get("certificate")
        if isinstance(cert, Mapping):
            st = [g["status"] for g in ctx.gates_of(d["stage"]) if g.get("gate") == "policy"]
            verdict = "FAIL" if "fail" in st else ("pass" if st and all(s == "pass" for s in st) else "not gated")
            card_parts.append(f"{_what(cert)} forgotten by {cert['method']} ({verdict})")
    limitations = [
        "Unlearning certificates are empirical: the forgotten data's influence is measured by accuracy, two "
        "membership-inference attacks and relearn time against one retrained model, not proved absent. A "
        "stronger attack, another seed or another retrained model may tell them apart.",
        "A class or rows forgotten by fine-tuning are still in the original model and in any copy of it; the "
        "certificate covers the unlearned model only.",
    ]
    return {"blocks": blocks, "claims": ["unlearning"], "limitations": limitations,
            "card": "; ".join(card_parts) or "no unlearning certificate"}


__all__ = ["CERTIFICATE_SCHEMA", "validate_certificate", "certificate_blocks"]
