"""The report's "Models" section: the base classifiers of the ``train`` stage (evidence kind ``model``).

One table of the raw models' figures (training accuracy; accuracy, NLL, ECE on validation and test), then per
model its card (:data:`trust.models.schema.DETAILS_SCHEMA`): architecture, training settings, test accuracy per
class, intended use, and its checks.
"""

from __future__ import annotations

from typing import Any

from trust.report.sections import (
    Block,
    ReportContext,
    bullet_list,
    cell,
    checks_block,
    heading,
    paragraph,
    run_line,
    section,
    table,
)


_FIGURES = ("val.accuracy", "val.nll", "val.ece", "test.accuracy", "test.nll", "test.ece")


@section("model", id="models", title="Models", order=35)
def _models(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Block | None] = [paragraph(
        "Base classifiers trained once by the train stage; later stages calibrate, unlearn or update them "
        "and compare against them. Figures are of the raw (uncalibrated) models.")]
    rows = []
    for d in docs:
        card = d.get("details", {}).get("model_card", {})
        m = d.get("metrics", {})
        rows.append([card.get("dataset", d["stage"]), card.get("architecture", {}).get("network"),
                     card.get("architecture", {}).get("parameters"), cell(m.get("train.accuracy"))]
                    + [cell(m.get(key)) for key in _FIGURES])
    blocks.append(table(["Dataset", "Network", "Parameters", "Training accuracy", "Val accuracy", "Val NLL", "Val ECE",
                         "Test accuracy", "Test NLL", "Test ECE"], rows, caption="Base models (raw)"))
    for d in docs:
        card = d.get("details", {}).get("model_card", {})
        arch, train = card.get("architecture", {}), card.get("training", {})
        blocks += [heading(d.get("title") or d["stage"]), paragraph(run_line(d)), checks_block(ctx.gates_of(d["stage"]))]
        if card.get("intended_use"):
            blocks.append(paragraph(f"Intended use: {card['intended_use']}"))
        blocks.append(bullet_list([
            f"Architecture: {arch.get('class')} ({arch.get('network')}), {arch.get('parameters')} parameters, "
            f"input {arch.get('input_shape')}, representation of {arch.get('embed_dim')} features, linear head.",
            "Training: " + ", ".join(f"{k} {v}" for k, v in sorted(train.items()) if v is not None) + ".",
            "Files in the stage's output folder: " + ", ".join(f"{k} {v}" for k, v in sorted(card.get("files", {}).items())),
        ]))
        per_class = card.get("accuracy_per_class", {}).get("test") or []
        if per_class:
            blocks.append(table(["Class", "Test accuracy"], [[c, cell(a)] for c, a in enumerate(per_class)],
                                caption="Test accuracy per class"))
    limitations = ["Model figures are measured on one seeded split per dataset; they carry sampling error "
                   "(no confidence intervals are given). ECE uses 15 equal-width confidence bins."]
    return {"blocks": [b for b in blocks if b is not None], "limitations": limitations}
