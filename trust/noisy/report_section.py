"""The report's "Noisy labels" section: RCAL beside cross-entropy on noisy long-tailed data (evidence kind ``noisy``).

One table of every setting's figures (accuracy overall, on head / medium / tail classes, ECE, per
method), then per setting its checks and plots (per-class accuracy, recovered vs true class means).
"""

from __future__ import annotations

from typing import Any

from trust.report.sections import Block, ReportContext, checks_block, heading, paragraph, plots_block, run_line, section, table

_FIGS = ("accuracy", "head", "medium", "tail", "ece")


@section("noisy", id="noisy-labels", title="Noisy labels on long-tailed data", order=65)
def _noisy(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Block | None] = [paragraph(
        "Classifiers trained on long-tailed training sets whose labels were corrupted on purpose (public datasets), "
        "scored on balanced clean test sets. RCAL (representation calibration: contrastive representations, class "
        "distributions recovered from the noisy labels, sampled representations for rare classes) is compared with "
        "plain cross-entropy trained on the same rows.")]
    rows = []
    for d in docs:
        m = d.get("metrics", {})
        methods = sorted({k.split(".")[0] for k in m})
        for meth in methods:
            rows.append([d.get("details", {}).get("setting", {}).get("dataset", d["stage"]), d["stage"], meth]
                        + [round(m[f"{meth}.{k}"], 4) if isinstance(m.get(f"{meth}.{k}"), float) else m.get(f"{meth}.{k}")
                           for k in _FIGS])
    blocks.append(table(["Dataset", "Stage", "Method", "Accuracy", "Head", "Medium", "Tail", "ECE"], rows,
                        caption="Test figures (balanced clean test set)"))
    gains = []
    for d in docs:
        blocks += [heading(d.get("title") or d["stage"]), paragraph(run_line(d)), checks_block(ctx.gates_of(d["stage"])),
                   plots_block(d)]
        g = d.get("details", {}).get("gain_over_ce", {}).get("accuracy")
        if isinstance(g, (int, float)):
            gains.append(g)
    card = (f"RCAL vs cross-entropy: accuracy {'+' if min(gains) >= 0 else ''}{min(gains) * 100:.1f} to "
            f"{max(gains) * 100:+.1f} points over {len(gains)} setting(s)" if gains else "no setting evaluated")
    limitations = ["Noisy-label figures come from one seed per setting in the pipeline (the 3-seed protocol is in "
                   "benchmarks/README.md) on small public datasets with injected noise; real label noise is not "
                   "uniform or class-size-proportional, and RCAL's Gaussian assumption on representations is not checked.",
                   "RCAL here uses SimCLR and small networks for tens of epochs instead of the paper's MoCo, ResNet-32 "
                   "and hundreds of epochs."]
    return {"blocks": [b for b in blocks if b is not None], "limitations": limitations, "card": card}
