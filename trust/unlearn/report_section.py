"""The report's "Unlearning" section: the unlearning certificates (evidence kind ``unlearn``).

Every unlearning stage (``unlearn_concept``, ``unlearn_laf``) and ``trust unlearn ... --evidence`` writes
evidence of kind ``unlearn`` (:class:`~trust.unlearn.UnlearnResult`) whose ``details.certificate`` follows
:data:`~trust.unlearn.schema.CERTIFICATE_SCHEMA`: what was forgotten, the method and its params, every
figure of the unlearned model, the retrained model (the reference), the original model and a second
retrained model, the gates of the model and of the two controls, and the seconds. The section reads those
details (it builds no metric key): per document the gates as the report re-gated them, one table of figures
(the four models side by side, and the other methods of the run), the controls' verdicts (the certificate's
power), the runtime and the plots.
"""

from __future__ import annotations

from typing import Any, Mapping

from trust.report.policy import register_policy_key
from trust.report.sections import (
    Block,
    ReportContext,
    bullet_list,
    callout,
    cell,
    checks_block,
    heading,
    paragraph,
    plots_block,
    run_line,
    section,
    table,
)
from trust.unlearn.certificate import POLICY_KEYS
from trust.unlearn.schema import CERTIFICATE_SCHEMA, MODELS, validate_certificate

#: figure -> label in the table, in report order
LABELS = {
    "forget_accuracy": "Accuracy on the forget rows (training rows)",
    "retain_accuracy": "Accuracy on the retained training rows",
    "test_retain_accuracy": "Held-out accuracy, retained classes",
    "test_forget_accuracy": "Held-out accuracy, forgotten class",
    "loss_attack_advantage": "Within-class loss attack advantage |acc - 0.5| (membership)",
    "ulira_auc": "Likelihood-ratio test vs shadow models: AUC (membership)",
    "ulira_tpr_at_1pct_fpr": "Likelihood-ratio test: TPR at 1 % FPR",
    "ulira_position": "Described: forget rows' scaled logit between retrained (0) and trained-with (1) shadows",
    "training_like_forget": "Described: forget rows 'confident like a training row'",
    "training_like_heldout": "Described, control: held-out rows of the same classes called so",
    "relearn_epochs": "Relearn epochs to 50 % forget accuracy",
}
_HEADS = {"unlearned": "Unlearned", "retrained": "Retrained (reference)", "original": "Original (control: must fail)",
          "retrained_other_seed": "Retrained, other seed (control: must pass)"}

_RANGES = {"max_forget_accuracy": {"low": 0.0, "high": 1.0}, "min_retain_accuracy_ratio_to_retrain": {"low": 0.0},
           "max_loss_attack_excess_over_retrain": {"low": -0.5, "high": 0.5},
           "max_ulira_auc_excess_over_retrain": {"low": -1.0, "high": 1.0},
           "max_ulira_reverse_auc_excess_over_retrain": {"low": -1.0, "high": 1.0}}
for _key, _text in POLICY_KEYS.items():
    register_policy_key(_key, _text, capability="unlearn", **_RANGES[_key])


def _what(cert: Mapping[str, Any]) -> str:
    f = cert["forgotten"]
    return f"class {f['class']}" if f["what"] == "class" else f"{f['count']} rows"


def _figures_table(cert: Mapping[str, Any], comparison: Mapping[str, Any]) -> Block:
    cols = list(MODELS) + [m for m in comparison]
    figs = {**cert["figures"], **comparison}
    rows = [[label, *(cell(figs[c].get(k)) for c in cols)] for k, label in LABELS.items()
            if any(figs[c].get(k) is not None for c in cols)]
    return table(["Figure", *(_HEADS.get(c, c) for c in cols)], rows,
                 caption=f"Certificate: {_what(cert)} forgotten by {cert['method']}")


def _controls(cert: Mapping[str, Any]) -> list[Block]:
    c = cert["controls"]
    orig, other = c["original"], c["retrained_other_seed"]
    text = (f"Controls: the original model offered as unlearned {'FAILS' if not orig['passed'] else 'PASSES'} "
            f"(it must fail); a second retrained model {'PASSES' if other['passed'] else 'FAILS'} (it must pass). "
            + ("The certificate has shown its power." if cert["power"] else
               "The certificate has NOT shown its power: read its verdict as inconclusive."))
    weak = [k for k, v in (cert.get("membership_power") or {}).items() if not v]
    if weak:
        text += (f" The original model passes {', '.join(weak)}: on these data that test cannot tell a model that "
                 "forgot from one that did not (no memorisation it can see), so its PASS carries no weight.")
    blocks: list[Block] = [callout(text, "pass" if cert["power"] and not weak else "warning")]
    items = [f"original: {ch['sentence']}" for ch in orig["checks"]]
    items += [f"retrained, other seed: {ch['sentence']}" for ch in other["checks"]]
    blocks.append(bullet_list(items))
    return blocks


def _runtime(cert: Mapping[str, Any]) -> Block:
    s = cert["seconds"]

    def fmt(k: str) -> str:
        v = s.get(k)
        return "n/a" if v is None else f"{v:.3g} s"

    items = [f"Retraining from scratch: {fmt('retrain')}",
             f"Unlearning, training steps only (fine-tuning / LAF Stage 2): {fmt('finetune')}"
             + (f" = {s['finetune_over_retrain']:.3g}x retraining" if s.get("finetune_over_retrain") is not None else ""),
             f"Unlearning, whole fit: {fmt('whole_fit')}"
             + (f" = {s['whole_fit_over_retrain']:.3g}x retraining" if s.get("whole_fit_over_retrain") is not None else ""),
             f"Of which cacheable per model (concept inference, LAF's VAEs): {fmt('cacheable')}",
             f"Shadow models of the membership test ({cert['membership']['n_shadows']}): {fmt('shadows')}"]
    return bullet_list(items)


def certificate_blocks(doc: Mapping[str, Any], ctx: ReportContext) -> list[Block]:
    """The blocks of one unlearn evidence document (gates, figures, controls, runtime, plots)."""
    blocks: list[Block | None] = [heading(doc.get("title") or doc["stage"]), paragraph(run_line(doc)),
                                  checks_block(ctx.gates_of(doc["stage"]), "Certificate gates and controls")]
    details = doc.get("details", {})
    cert = details.get("certificate")
    if not isinstance(cert, Mapping):
        blocks.append(paragraph("This stage recorded no unlearning certificate."))
        return [b for b in blocks if b is not None]
    validate_certificate(cert, source=f"evidence/{doc['stage']}.json details.certificate")
    blocks.append(_figures_table(cert, details.get("comparison") or {}))
    blocks += _controls(cert)
    f = cert["forgotten"]
    blocks.append(bullet_list([
        f"Forgotten: {_what(cert)} ({f['count']} training rows); keyed fingerprint {f['fingerprint'][:28]}...",
        f"Method: {cert['method']}; params: "
        + (", ".join(f"{k} {v}" for k, v in sorted(cert["params"].items())) or "none") + ".",
        f"Membership tests: {cert['membership']['n_forget']} forget rows against "
        f"{cert['membership']['n_heldout']} held-out rows of the same classes; "
        f"{cert['membership']['n_shadows']} shadow models (half trained with the forget rows)."]))
    blocks.append(_runtime(cert))
    if details.get("note"):
        blocks.append(paragraph(str(details["note"])))
    blocks.append(plots_block(doc))
    return [b for b in blocks if b is not None]


def _likelihood_ratio_findings(docs: list[dict[str, Any]], ctx: ReportContext) -> list[str]:
    """A limitation per stage whose likelihood-ratio gate failed, saying where the forget rows sit and why."""
    out = []
    for d in docs:
        cert = d.get("details", {}).get("certificate")
        if not isinstance(cert, Mapping):
            continue
        status = {g.get("policy_key"): g["status"] for g in ctx.gates_of(d["stage"]) if g.get("gate") == "policy"}
        pos = (cert["figures"].get("unlearned") or {}).get("ulira_position")
        where = ("" if pos is None else f" (their scaled logit lies at {pos:.2f} of the way from the retrained "
                 "shadow models, 0, to those trained with the rows, 1)")
        if status.get("max_ulira_auc_excess_over_retrain") == "fail":
            out.append(f"{d['stage']}: the likelihood-ratio test tells the unlearned model from a retrained one on the "
                       f"forget rows{where}, so its membership gate FAILS; the threshold was not loosened. For a "
                       "forgotten class the statistic includes the class's own logit, which a model that never saw the "
                       "class drives far down; on digits no configuration measured (the paper's, every layer "
                       "fine-tuned, 5x the epochs, LAF+R on every remaining label) got there at less than a retrain's "
                       "cost (benchmarks/README.md, 'Unlearning under the certificate').")
        if status.get("max_ulira_reverse_auc_excess_over_retrain") == "fail":
            out.append(f"{d['stage']}: the forget rows look less trained-on than in any retrained model{where}: the "
                       "method over-forgets (pushes the class below where retraining leaves it), which tells the "
                       "model from a retrained one as surely as remembering would.")
    return out


@section("unlearn", id="unlearning", title="Unlearning", order=70)
def _unlearning(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Block] = [paragraph(
        "Each unlearning stage removes a class's (or some rows') influence from a trained model without "
        "retraining it, and certifies the result against a model retrained from scratch without that data "
        "(same recipe, same seed). Membership is tested two ways, each beside the retrained model's value: the "
        "within-class loss attack (forget rows vs held-out rows of the same classes) and a per-example "
        "likelihood-ratio test against shadow models trained with and without the forget rows, gated both ways "
        "(the rows look more trained-on than in a retrained model: remembering; or less: over-forgetting). The "
        "same gates "
        "run on the original model (which must fail) and on a second retrained model (which must pass).")]
    card_parts = []
    for d in docs:
        blocks += certificate_blocks(d, ctx)
        cert = d.get("details", {}).get("certificate")
        if isinstance(cert, Mapping):
            st = [g["status"] for g in ctx.gates_of(d["stage"]) if g.get("gate") == "policy"]
            verdict = "FAIL" if "fail" in st else ("pass" if st and all(s == "pass" for s in st) else "not gated")
            card_parts.append(f"{_what(cert)} forgotten by {cert['method']} ({verdict}"
                              f"{'' if cert.get('power') else ', power not shown'})")
    limitations = [
        "Unlearning certificates are empirical: membership is tested by two attacks against one retrained model and "
        "a few shadow models, not proved absent. A stronger attack (more shadow models, U-LiRA's shadows unlearned "
        "by the same method) may tell the models apart where these do not.",
        "The within-class loss attack has power only where the original model memorised its training rows beyond "
        "what it generalises to unseen rows of their class; on easy data the original passes it too (its control "
        "shows this).",
        "A class or rows forgotten by fine-tuning are still in the original model and in any copy of it; the "
        "certificate covers the unlearned model only.",
        "The likelihood-ratio test reads the model's logits: a deployment that exposes only labels, or rounded "
        "probabilities, leaks less than the test measures.",
    ] + _likelihood_ratio_findings(docs, ctx)
    return {"blocks": blocks, "claims": ["unlearning"], "limitations": limitations,
            "card": "; ".join(card_parts) or "no unlearning certificate"}


__all__ = ["CERTIFICATE_SCHEMA", "validate_certificate", "certificate_blocks", "LABELS"]
