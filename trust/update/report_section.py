"""The report's "Model updates" section (evidence kind ``update``, from the ``update`` stage and ``trust update fit``).

Per evidence document (its ``details``: :data:`trust.update.schema.DETAILS_SCHEMA`): its checks (the gates
``max_nfr_ratio_to_naive`` and ``min_accuracy_ratio_to_naive`` judge the deployed update against the naive
update, the seed floor stated beside them), one table of every method beside the naive update, the second
naive update (another seed) and the seed floor (NFR, relative NFR, positive flips, accuracy overall and on old
and new classes), the curve over the margin bias ``b``, and the plots.
"""

from __future__ import annotations

from typing import Any

from trust.report.policy import register_policy_key
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

register_policy_key("max_nfr_ratio_to_naive", "negative flip rate of the deployed model update (share of old-class test "
                    "samples the old model got right and the updated model gets wrong) over the naive update's (the new "
                    "model retrained on everything, same old model and rows); the seed floor (two naive updates with "
                    "different seeds) is stated beside it", low=0.0, low_open=True, capability="update")
register_policy_key("min_accuracy_ratio_to_naive", "accuracy of the deployed model update over the naive update's (same "
                    "rows)", low=0.0, low_open=True, capability="update")

_NAMES = {"naive": "Naive update (independent retrain): the reference",
          "teacher": "Naive update, another seed (margin-preserving update's teacher)",
          "pct": "Focal distillation, PCT baseline of the MPT code (CE + focal KL, T 5)",
          "pct_lm": "Focal distillation, logit matching (MPT code's PCT_LM)",
          "pct_code": "Focal distillation, the PCT authors' code (0.1 CE + 0.9 KL, T 100)",
          "mpt": "Margin-preserving update (Ricci et al. 2026)"}
_COLS = ("nfr", "relative_nfr", "pfr", "accuracy", "old_class_accuracy", "new_class_accuracy")
_INTRO = ("A model trained on some classes is replaced by one trained on more. A negative flip is an old-class sample "
          "the old model got right and the updated model gets wrong; the negative flip rate (NFR) is their share of "
          "the old-class samples. Every update is judged against the naive update (the new model retrained on "
          "everything, same old model, rows and seed). The seed floor is the NFR between two naive updates that differ "
          "only in their seed: what retraining alone flips.")


def _card(det: dict[str, Any]) -> str | None:
    figs, dep = det.get("figures", {}), det.get("deployed")
    if dep not in figs or "naive" not in figs:
        return None
    d, n, floor = figs[dep], figs["naive"], det.get("seed_floor_nfr")
    return (f"NFR {cell(d.get('nfr'))} after the {dep} update (naive update {cell(n.get('nfr'))}, seed floor "
            f"{cell(floor)}); accuracy {cell(d.get('accuracy'))} (naive {cell(n.get('accuracy'))})")


def _blocks(d: dict[str, Any], ctx: ReportContext) -> list[Block | None]:
    det = d.get("details", {})
    figs = det.get("figures", {})
    blocks: list[Block | None] = [heading(d.get("title") or d["stage"]), paragraph(run_line(d)),
                                  checks_block(ctx.gates_of(d["stage"]))]
    dep = det.get("deployed")
    rows = [[_NAMES.get(m, m) + (", deployed" if m == dep else "")] + [cell(f.get(k)) for k in _COLS]
            for m, f in figs.items()]
    rows.append(["Seed floor (two naive updates, different seeds)", cell(det.get("seed_floor_nfr"))]
                + [None] * (len(_COLS) - 1))
    blocks.append(table(["Method", "NFR", "Relative NFR", "Positive flip rate", "Accuracy", "Old-class accuracy",
                         "New-class accuracy"], rows,
                        caption=f"Figures on the {det.get('evaluated_on', 'test rows')}; old classes "
                                f"{det.get('old_classes')}, new {det.get('new_classes')}"))
    curve = det.get("curve") or []
    if curve:
        blocks.append(table(["Method", "b", "Val NFR", "Val accuracy", "NFR", "Accuracy", "New-class accuracy"],
                            [[c["method"], c["b"], cell((c.get("val") or {}).get("nfr")),
                              cell((c.get("val") or {}).get("accuracy")), cell(c["test"]["nfr"]),
                              cell(c["test"]["accuracy"]), cell(c["test"]["new_class_accuracy"])] for c in curve],
                            caption=f"The margin bias b (chosen on validation: {det.get('b_chosen')})"))
    blocks.append(plots_block(d))
    return blocks


@section("update", id="model-updates", title="Model updates", order=65)
def _updates(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    blocks: list[Block | None] = [paragraph(_INTRO)]
    for d in docs:
        blocks += _blocks(d, ctx)
    cards = [c for c in (_card(d.get("details", {})) for d in docs) if c]
    limitations = ["Flip rates are measured on one seeded split and one old model per run; benchmarks/README.md "
                   "gives them over 5 seeds, where a second naive update's NFR is 0.82-1.22x the first's (MNIST-1D). They count "
                   "disagreements on the evaluation rows, not their cost: a flip on a high-stakes sample weighs as "
                   "much as any other."]
    return {"blocks": [b for b in blocks if b is not None], "limitations": limitations,
            "card": "; ".join(cards) or "no update measured"}
