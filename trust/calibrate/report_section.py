"""The report's "Calibration" section (evidence kind ``calibrate``: the ``calibrate`` stage's members,
``trust calibrate fit --evidence``).

Per base model: its gates (the deployed calibrator's ECE, absolute and relative to the uncalibrated
model) and the stage check under shift, how the deployed calibrator was chosen, a table of every method
in distribution (accuracy, ECE, adaptive ECE, NLL, Brier, AUROC) and the mean ECE over the shifted sets,
then the reliability diagrams and the ECE-vs-severity plot. Everything is read from the evidence's
``details`` (:data:`~trust.calibrate.schema.CALIBRATE_SCHEMA`), never from metric keys.
"""

from __future__ import annotations

from typing import Any, Mapping

from trust.calibrate.schema import CALIBRATE_SCHEMA
from trust.report.policy import register_policy_key
from trust.report.sections import (
    ReportContext,
    cell,
    checks_block,
    heading,
    paragraph,
    plots_block,
    run_line,
    section,
    table,
)

_IN = ("accuracy", "ece", "adaptive_ece", "nll", "brier", "auroc")

register_policy_key("max_ece_ratio_to_uncalibrated", "the deployed calibrator's in-distribution test ECE over the "
                    "uncalibrated model's on the same rows (above 1: the calibrator made it worse)",
                    low=0.0, low_open=True, capability="calibrate")


def _selection_text(d: Mapping[str, Any]) -> str:
    sel = d["selection"]
    scores = ", ".join(f"{m} {v:.4f}" if isinstance(v, (int, float)) else f"{m} n/a" for m, v in sel["scores"].items())
    return (f"Deployed: {d['deployed_label']}, chosen on the validation split by the lowest {sel['n_folds']}-fold "
            f"cross-validated {sel['rule'].upper()} ({scores}); the test split was not used for the choice.")


def _ece_text(d: Mapping[str, Any]) -> str | None:
    e, u = d.get("ece"), d.get("uncalibrated_ece")
    if not e or e.get("value") is None:
        return None
    text = f"Deployed calibrator's test ECE {e['value']:.4f} (95% bootstrap interval [{e['low']:.4f}, {e['high']:.4f}])"
    if u and u.get("value") is not None:
        text += f" beside the uncalibrated model's {u['value']:.4f} ([{u['low']:.4f}, {u['high']:.4f}])"
    return text + "."


def dataset_blocks(doc: Mapping[str, Any], ctx: ReportContext) -> list[Any]:
    """The blocks of one ``calibrate`` evidence document (one base model)."""
    d = doc.get("details", {})
    blocks: list[Any] = [heading(f"{d.get('dataset', doc['stage'])} (deployed: {d.get('deployed_label', '?')})"),
                         paragraph(run_line(doc)), checks_block(ctx.gates_of(doc["stage"]))]
    if "selection" in d:
        blocks.append(paragraph(_selection_text(d)))
    methods = d.get("methods", {})
    order = [m for m in d.get("order", []) if m in methods] + sorted(set(methods) - set(d.get("order", [])))
    rows = [[methods[m]["label"]] + [cell(methods[m]["in_distribution"].get(k)) for k in _IN]
            + [cell(methods[m].get("shifted"))] for m in order]
    blocks.append(table(["Method", "Accuracy", "ECE", "Adaptive ECE", "NLL", "Brier", "Correct-vs-wrong AUROC",
                         "Mean ECE under shift"], rows, caption=f"{d.get('dataset', '')}: test split and shifted sets"))
    text = _ece_text(d)
    if text:
        blocks.append(paragraph(text))
    blocks.append(plots_block(doc))
    return blocks


@section("calibrate", id="calibration", title="Calibration", order=60)
def _calibration(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Any] = [paragraph(
        "Post-hoc calibrators fitted on each base model's validation split and scored on its test split and on "
        "shifted copies of it. The deployed calibrator is chosen on the validation split by a cross-validated rule "
        "and gated on its in-distribution ECE, absolutely and relative to the uncalibrated model; under shift the "
        "stage checks that it does not raise the mean ECE. ECE: top-label, 15 equal-width bins.")]
    card = None
    for doc in docs:
        blocks += dataset_blocks(doc, ctx)
        d, e = doc.get("details", {}), (doc.get("details", {}).get("ece") or {})
        if card is None and e.get("value") is not None:
            card = f"{d.get('dataset')}: ECE {e['value']:.3f} after calibration ({d.get('deployed_label')})"
    limitations = [
        "Calibration is measured on one seeded split per dataset; the 5-seed protocol is in benchmarks/README.md.",
        "Shifted sets are synthetic transforms (and, for Adult, an age subgroup); real drift may differ.",
        "ECE depends on the binning (15 equal-width bins here; the CA paper's public code uses 25).",
        "'CA, prior-corrected' is our variant of the correctness-aware calibrator, not the paper's method.",
    ]
    out = {"blocks": [b for b in blocks if b is not None], "claims": ["calibration"], "limitations": limitations}
    if card:
        out["card"] = card
    return out


__all__ = ["CALIBRATE_SCHEMA", "dataset_blocks"]
