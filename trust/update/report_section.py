"""The report's "Model updates" section (evidence kind ``update``, from the ``margin_update`` stage).

Per stage: its checks (``max_nfr`` gates the deployed update's negative flip rate), one table of every
update method beside the naive retrain and the seed floor (NFR, relative NFR, positive flips, accuracy
overall and on old and new classes), the curve over the margin bias ``b``, and the plots.
"""

from __future__ import annotations

from typing import Any

from trust.report.sections import (
    Block,
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

_NAMES = {"naive": "Naive update (independent retrain)", "fd_kl": "Focal distillation, KL (Yan et al. 2021)",
          "fd_lm": "Focal distillation, logit matching (Yan et al. 2021)",
          "mpt": "Margin-preserving update (Ricci et al. 2026), deployed"}
_COLS = ("nfr", "relative_nfr", "pfr", "accuracy", "old_class_accuracy", "new_class_accuracy")



@section("update", id="model-updates", title="Model updates", order=65)
def _updates(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Block | None] = [paragraph(
        "A model trained on some classes is replaced by one trained on more. A negative flip is an old-class test "
        "sample the old model got right and the updated model gets wrong; the negative flip rate (NFR) is their "
        "share of the old-class test samples. The seed floor is the NFR between two trainings of the old recipe "
        "that differ only in their seed: flips that retraining alone causes.")]
    cards = []
    for d in docs:
        det = d.get("details", {})
        figs = det.get("figures", {})
        blocks += [heading(d.get("title") or d["stage"]), paragraph(run_line(d)), checks_block(ctx.gates_of(d["stage"]))]
        rows = [[_NAMES.get(m, m)] + [cell(f.get(k)) for k in _COLS] for m, f in figs.items()]
        rows.append(["Seed floor (old recipe, two seeds)", cell(det.get("seed_floor_nfr"))] + [None] * (len(_COLS) - 1))
        blocks.append(table(["Method", "NFR", "Relative NFR", "Positive flip rate", "Accuracy", "Old-class accuracy",
                             "New-class accuracy"], rows,
                            caption=f"Test figures; old classes {det.get('old_classes')}, new {det.get('new_classes')}"))
        curve = det.get("curve") or []
        if curve:
            blocks.append(table(["Method", "b", "Val NFR", "Val accuracy", "Test NFR", "Test accuracy",
                                 "Test new-class accuracy"],
                                [[c["method"], c["b"], cell(c["val"]["nfr"]), cell(c["val"]["accuracy"]),
                                  cell(c["test"]["nfr"]), cell(c["test"]["accuracy"]),
                                  cell(c["test"]["new_class_accuracy"])] for c in curve],
                                caption=f"The margin bias b (chosen on validation: {det.get('b_chosen')})"))
        blocks.append(plots_block(d))
        if "mpt" in figs and "naive" in figs:
            cards.append(f"NFR {figs['mpt']['nfr']:.1%} after the update (naive retrain {figs['naive']['nfr']:.1%}, "
                         f"seed floor {det.get('seed_floor_nfr', float('nan')):.1%})")
    limitations = ["Flip rates are measured on one seeded split and one old model per stage run; "
                   "benchmarks/README.md gives them over 5 seeds. They count disagreements on the test samples, "
                   "not their cost: a flip on a high-stakes sample weighs as much as any other."]
    return {"blocks": [b for b in blocks if b is not None], "limitations": limitations,
            "card": "; ".join(cards) or "no update measured"}
