"""The report's "Aggregate learning" section (evidence kind ``aggregate``), moved here from
``trust/report/sections.py``.

It reads the evidence's ``details`` (:data:`~trust.aggregate.schema.DETAILS_SCHEMA`, written by
:meth:`trust.aggregate.result.AggregateResult.to_evidence`), never parses metric names: per evidence document its
checks (the gate ``max_aggregate_mse_ratio`` re-gated by the report), the deployed release (DP or not, epsilon, bag
size, bags, rho, the held-out bag loss beside predicting the mean), the comparison on exact bag means (not DP),
the sweep's optimal bag sizes, the deployed model's test errors when they were computed (not DP), the plots and
the label-DP guarantee. Evidence whose details do not follow the schema (written before it existed, or by hand)
gets its figures as tables, as the generic section would show them.
"""

from __future__ import annotations

from typing import Any, Mapping

from trust.aggregate.schema import DETAILS_SCHEMA
from trust.evidence import schema_problem
from trust.report.sections import (Block, ReportContext, callout, cell, checks_block, heading, ledger_block,
                                   metrics_blocks, paragraph, plots_block, run_line, section, table)

INTRO = ("Models learnt from bag-level aggregate responses instead of per-person labels. Where the aggregate "
         "responses are released with label differential privacy, the guarantee below covers each person's label; "
         "the features and which bag a person is in are treated as public.")


def _deployed(d: Mapping[str, Any]) -> list[Block]:
    dep = d["deployed"]
    if dep is None:
        return []
    rows = [[", ".join(d["release"]), "label-DP" if dep["dp"] else "NO (exact bag means)", cell(dep["epsilon"]),
             dep["bag_size"], dep["bags"], cell(dep["rho"]), dep["model"], cell(dep.get("heldout_bag_loss")),
             cell(dep.get("heldout_bag_loss_of_mean"))]]
    blocks: list[Block] = [table(["Release folder", "DP", "Epsilon", "Bag size", "Bags", "rho", "Model",
                                  "Held-out bag loss", "Predicting the mean"], rows,
                                 caption="Deployed release (held-out bag losses read off the release: no private label)")]
    blocks.append(paragraph(f"Files in the release folder: {', '.join(dep['files'])} (and its manifest). "
                            f"Not protected: {d['not_protected']}."))
    return blocks


def _comparison(d: Mapping[str, Any]) -> list[Block]:
    rows = [[r["model"], r["k"], cell(r["bag"]), cell(r["instance"]), cell(r["auto"]), r["better"], cell(r["ratio"]),
             r["seeds"]] for r in d["comparison"]]
    if not rows:
        return []
    return [table(["Model", "k", "Bag-level", "Instance-level", "rho chosen on held-out bags", "Better reference",
                   "Ratio to it", "Seeds"], rows,
                  caption="Test MSE on exact bag means (not DP: audit trail), mean over seeds")]


def _sweep(d: Mapping[str, Any]) -> list[Block]:
    sw = d["dp_sweep"]
    if sw is None:
        return []
    eps = sorted({e for o in sw["k_star"].values() for e in o}, key=float)
    rows = [[est] + [f"{o[e]}{'' if sw['interior'][est][e] else ' (edge)'}" if e in o else "" for e in eps]
            for est, o in sw["k_star"].items()]
    return [table(["Estimator"] + [f"k* at epsilon {e}" for e in eps], rows,
                  caption=f"Label-DP sweep on {sw['train_rows']} rows ({sw['split']}): optimal bag size"),
            paragraph(f"{sw['simulated_releases']} simulated releases (summed epsilon "
                      f"{sw['simulated_total_epsilon']:.4g}); {sw['note']}.")]


def _test_errors(d: Mapping[str, Any]) -> list[Block]:
    t = d["test_errors"]
    if t is None:
        return []
    return [table(["Test rows", "Test MSE of the deployed model", "Predicting the released mean"],
                  [[t["test_rows"], cell(t["test_mse"]), cell(t["test_mse_of_constant"])]],
                  caption="Deployed model on the test rows (NOT DP: raw test labels; audit trail)")]


def _document(d: Mapping[str, Any], ctx: ReportContext) -> list[Block | None]:
    blocks: list[Block | None] = [heading(d.get("title") or d["stage"]), paragraph(run_line(d)),
                                  checks_block(ctx.gates_of(d["stage"]))]
    details = d.get("details", {})
    if schema_problem(details, DETAILS_SCHEMA) is None:
        blocks += [*_deployed(details), *_test_errors(details), *_comparison(details), *_sweep(details)]
    else:
        blocks.append(callout("These details do not follow the aggregate evidence schema (older or hand-written "
                              "evidence): its figures are shown as recorded."))
        blocks += metrics_blocks(d.get("metrics", {}))
    blocks.append(plots_block(d))
    entries = ctx.ledger_of(d["stage"])
    if entries:
        blocks += [heading("Label-DP guarantee"), ledger_block(entries)]
    return blocks


@section("aggregate", id="aggregate-learning", title="Aggregate learning", order=50)
def render(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    """The section (module docstring): blocks, claims, limitations and the summary card."""
    blocks: list[Block | None] = [paragraph(INTRO)]
    claims = ["aggregate_learning"]
    for d in docs:
        blocks += _document(d, ctx)
        if any(e["unit_of_privacy"] == "label" for e in ctx.ledger_of(d["stage"])):
            claims.append("label_dp")
    limitations = ["Label differential privacy protects each person's label only: it gives no protection to "
                   "the features, nor to whether a person is in a bag (bag membership)."]
    entries = [e for d in docs for e in ctx.ledger_of(d["stage"])]
    card = ("; ".join(f"{e['unit_of_privacy']}-DP release, epsilon {e['epsilon']:.3g} ({e['adjacency']})"
                      for e in entries) or "no DP release")
    return {"blocks": [b for b in blocks if b is not None], "claims": list(dict.fromkeys(claims)),
            "limitations": limitations, "card": card}


__all__ = ["render", "DETAILS_SCHEMA"]
