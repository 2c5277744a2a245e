"""The report's "Calibration" section (evidence kind ``calibrate``, the ``calibrate`` stage).

Per dataset: the gate on the deployed calibrator's in-distribution ECE and the stage check under
shift, a table of every method in distribution (accuracy, ECE, adaptive ECE, NLL, Brier, AUROC) and
the mean ECE over the shifted sets, then the reliability diagrams and the ECE-vs-severity plot.
"""

from __future__ import annotations

from typing import Any

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



@section("calibrate", id="calibration", title="Calibration", order=40)
def _calibration(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Any] = [paragraph(
        "Post-hoc calibrators fitted on each base model's validation split and scored on its test split and on "
        "shifted copies of it. The deployed calibrator is gated on its in-distribution ECE; under shift the "
        "stage checks that it beats the uncalibrated model. ECE: top-label, 15 equal-width bins.")]
    card = None
    for d in docs:
        blocks += [paragraph(run_line(d)), checks_block(ctx.gates_of(d["stage"]))]
        m = d.get("metrics", {})
        for name, info in d.get("details", {}).get("datasets", {}).items():
            blocks.append(heading(f"{name} (deployed: {info.get('deployed')})"))
            methods = list(info.get("shift_average", {}))
            rows = [[meth] + [cell(m.get(f"{name}.in_distribution.{meth}.{k}")) for k in _IN]
                    + [cell(info["shift_average"][meth].get("shifted"))] for meth in methods]
            blocks.append(table(["Method", "Accuracy", "ECE", "Adaptive ECE", "NLL", "Brier", "Correct-vs-wrong AUROC",
                                 "Mean ECE under shift"], rows, caption=f"{name}: test split and shifted sets"))
            lo, hi = (info.get("ece_ci") or [None, None])[:2]
            dep = m.get(f"{name}.in_distribution.{info.get('deployed')}.ece")
            if dep is not None and lo is not None:
                blocks.append(paragraph(f"Deployed calibrator's test ECE {dep:.4f} (95% bootstrap interval "
                                        f"[{lo:.4f}, {hi:.4f}])."))
                card = card or f"{name}: ECE {dep:.3f} after calibration"
        blocks.append(plots_block(d))
    limitations = [
        "Calibration is measured on one seeded split per dataset; the 5-seed protocol is in benchmarks/README.md.",
        "Shifted sets are synthetic transforms (and, for Adult, an age subgroup); real drift may differ.",
        "ECE depends on the binning (15 equal-width bins here; the CA paper's public code uses 25).",
    ]
    out = {"blocks": [b for b in blocks if b is not None], "claims": ["calibration"], "limitations": limitations}
    if card:
        out["card"] = card
    return out
