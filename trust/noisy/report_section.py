"""The report's "Noisy labels" section: RCAL beside cross-entropy on noisy long-tailed data (evidence kind ``noisy``).

One table of every setting's figures (accuracy overall, on head / medium / tail classes, ECE, per
method), then per setting its gates (relative to cross-entropy on the same rows) and plots (per-class
accuracy, recovered vs true class means). Everything is read from the evidence's ``details``
(:data:`~trust.noisy.schema.NOISY_SCHEMA`), never from metric keys.
"""

from __future__ import annotations

from typing import Any

from trust.noisy.schema import NOISY_SCHEMA
from trust.report.policy import register_policy_key
from trust.report.sections import Block, ReportContext, cell, checks_block, heading, paragraph, plots_block, run_line, section, table

_FIGS = ("accuracy", "head", "medium", "tail", "ece")

register_policy_key("min_noisy_accuracy_gain_over_ce", "test accuracy of RCAL minus that of plain cross-entropy trained "
                    "on the same noisy long-tailed rows (balanced clean test set)", low=-1.0, high=1.0, capability="noisy")
register_policy_key("min_noisy_tail_gain_over_ce", "the same difference on the tail classes (the 30 % with the fewest "
                    "clean training rows)", low=-1.0, high=1.0, capability="noisy")


def _rows(docs: list[dict[str, Any]]) -> list[list[Any]]:
    rows = []
    for d in docs:
        det = d.get("details", {})
        for m in det.get("methods", {}).values():
            rows.append([det.get("dataset", d["stage"]), det.get("setting", d["stage"]), m.get("label")]
                        + [cell(m.get(k)) for k in _FIGS])
    return rows


@section("noisy", id="noisy-labels", title="Noisy labels on long-tailed data", order=75)
def _noisy(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Block | None] = [paragraph(
        "Classifiers trained on long-tailed training sets whose labels were corrupted on purpose (public datasets), "
        "scored on balanced clean test sets. RCAL (representation calibration: contrastive representations, class "
        "distributions recovered from the noisy labels, sampled representations for rare classes) is gated against "
        "plain cross-entropy trained on the same rows."),
        table(["Dataset", "Setting", "Method", "Accuracy", "Head", "Medium", "Tail", "ECE"], _rows(docs),
              caption="Test figures (balanced clean test set)")]
    gains = []
    for d in docs:
        blocks += [heading(d.get("title") or d["stage"]), paragraph(run_line(d)), checks_block(ctx.gates_of(d["stage"])),
                   plots_block(d)]
        g = d.get("details", {}).get("gain_over_baseline", {}).get("accuracy")
        if isinstance(g, (int, float)):
            gains.append(g)
    card = (f"RCAL vs cross-entropy: accuracy {'+' if min(gains) >= 0 else ''}{min(gains) * 100:.1f} to "
            f"{max(gains) * 100:+.1f} points over {len(gains)} setting(s)" if gains else "no setting evaluated")
    limitations = ["Noisy-label figures come from one seed per setting in the pipeline (the 5-seed protocol is in "
                   "benchmarks/README.md) on small public datasets with injected noise; real label noise is not "
                   "uniform or class-size-proportional, and RCAL's Gaussian assumption on representations is not checked.",
                   "RCAL here uses SimCLR and small networks for tens of epochs instead of the paper's MoCo, ResNet-32 "
                   "and hundreds of epochs.",
                   "RCAL with mixup (the paper's) is under-confident; mixup_alpha=0 is the calibrated variant."]
    return {"blocks": [b for b in blocks if b is not None], "limitations": limitations, "card": card}


__all__ = ["NOISY_SCHEMA"]
