"""The report's "Synthetic data" section, and the schemas of the synthesis evidence's ``details``.

Moved here from ``trust/report/sections.py`` (issue 22): the capability owns its section and the
schemas its results write against (:data:`SYNTH_SCHEMA` for :class:`~trust.synth.protocol.SynthResult`,
:data:`SYNTH_EVALUATE_SCHEMA` for :class:`~trust.synth.protocol.SynthEvaluateResult`; defined in
:mod:`trust.synth.schemas`, which imports nothing from the report, so the synthesis stages do not depend on it). The section reads
each document's ``details`` (which the result wrote), its checks (re-gated by the report) and the ledger;
it builds no metric key. Evidence of kind ``synth_eval`` (written before this round) renders as an
evaluation too.
"""

from __future__ import annotations

from typing import Any

from trust.report.policy import register_policy_key
from trust.report.sections import (Block, ReportContext, callout, checks_block, details_block, heading, ledger_block,
                                   metrics_blocks, paragraph, plots_block, run_line, section, table)
from trust.synth.schemas import SYNTH_EVALUATE_SCHEMA, SYNTH_SCHEMA

_EVALUATION_KINDS = ("synth_evaluate", "synth_eval")

#: the synthesis policy keys, what each gates and its range (registered with the report's policy registry)
POLICY_KEYS: dict[str, tuple[str, dict[str, Any]]] = {
    "min_tstr_ratio_to_real": ("utility of each synthetic table relative to its reference: ROC AUC (R2 for regression) "
                               "of gradient boosting trained on the synthetic table over the same model trained on "
                               "the real training rows, both tested on the real test split", {"low": 0.0}),
    "max_dcr_share": ("share of synthetic rows whose closest real row is a training row rather than a holdout row "
                      "(DCR audit, equal-size subsamples; 0.5 = no preference)", {"low": 0.0, "high": 1.0}),
    "max_mia_auc": ("AUC of the distance-based membership-inference attack: training vs holdout rows scored by their "
                    "distance to the closest synthetic row (0.5 = chance)", {"low": 0.0, "high": 1.0}),
    "max_exact_copies": ("synthetic rows that are exact copies of a training row", {"low": 0.0}),
}


for _key, (_text, _bounds) in POLICY_KEYS.items():
    register_policy_key(_key, _text, capability="synth", **_bounds)


def _runs_table(synth: list[dict[str, Any]], ctx: ReportContext) -> tuple[Block, list[str]]:
    rows, limitations = [], []
    for d in synth:
        entries = ctx.ledger_of(d["stage"])
        target = (d.get("details") or {}).get("epsilon_target", (d.get("params") or {}).get("epsilon"))
        rows.append([d["stage"], (d.get("details") or {}).get("engine", "ctabgan"),
                     "none" if target is None else target, len(entries),
                     sum(e["epsilon"] for e in entries) if entries else None,
                     max((e["delta"] for e in entries), default=None),
                     "DP (see ledger)" if entries else "NO guarantee (non-private)", d.get("mlflow_run_id") or ""])
        if not entries:
            limitations.append(f"Stage '{d['stage']}' released synthetic data without differential privacy: "
                               "its empirical audits are its only privacy evidence.")
    return table(["Stage", "Engine", "Target epsilon", "DP releases", "Epsilon (sum)", "Max delta", "Guarantee", "MLflow run"],
                 rows, caption="Synthesis runs"), limitations


def _synth_blocks(synth: list[dict[str, Any]], ctx: ReportContext) -> tuple[list[Block | None], list[str], list[str]]:
    blocks: list[Block | None] = [paragraph(
        "Each synthesis stage trains a generator on a training split and releases a synthetic table. Its "
        "differential-privacy guarantee is the one in its ledger entries below; a stage with no ledger entry is a "
        "non-private baseline. CTAB-GAN+ (engine ctabgan): under DP only the critic and the auxiliary model are "
        "trained with DP-SGD; the generator never reads a real row, so it and every table sampled from it are "
        "post-processing. The marginal engine (mst, aim): noisy low-order marginals measured on one zCDP budget, a "
        "graphical model estimated from them and sampled (post-processing).")]
    runs, limitations = _runs_table(synth, ctx)
    blocks.append(runs)
    claims: list[str] = []
    for d in synth:
        blocks.append(ledger_block(ctx.ledger_of(d["stage"])))
        blocks += [callout(w, "warning") for w in (d.get("details") or {}).get("warnings", [])]
    if any("sgd" in e["mechanism"].lower() for d in synth for e in ctx.ledger_of(d["stage"])):
        claims.append("dp_sgd_training")
    claims.append("synthetic_release")
    return blocks, claims, limitations


def _side_by_side(rows: list[dict[str, Any]]) -> Block | None:
    """The engines side by side: one row per engine and epsilon (the evaluation's ``details.side_by_side``)."""
    if not rows:
        return None
    return table(["Engine", "Epsilon", "TSTR", "TSTR / train-on-real", "DCR share", "MIA AUC", "Exact copies"],
                 [[r["engine"], r["epsilon"], r.get("tstr"), r.get("tstr_ratio"), r.get("dcr_share"),
                   r.get("mia_auc"), r.get("exact_copies")] for r in rows],
                 caption="Synthesis engines side by side (same splits, same audits)")


def _evaluation_blocks(evals: list[dict[str, Any]], ctx: ReportContext) -> list[Block | None]:
    blocks: list[Block | None] = []
    for d in evals:
        details = dict(d.get("details") or {})
        details.pop("engines", None)
        blocks += [heading(d.get("title") or d["stage"]), paragraph(run_line(d)),
                   _side_by_side(details.pop("side_by_side", [])),   # it names each member's engine too
                   checks_block(ctx.gates_of(d["stage"]), "Utility and privacy gates")]
        blocks += [callout(w, "warning") for w in details.pop("warnings", [])]
        blocks += metrics_blocks(d.get("metrics", {}), by_kind=True)
        blocks += [plots_block(d), details_block(details)]
    if evals:
        blocks.append(callout("Utility is gated relative to train-on-real (the same models trained on the real "
                              "training rows, tested on the same split). Distance to closest record (DCR), "
                              "nearest-neighbour distance ratio (NNDR), exact copies and membership-inference AUC are "
                              "empirical audits against particular attacks; a good figure is not a guarantee. The "
                              "guarantee is the ledger's epsilon and delta."))
    return blocks


@section("synth", *_EVALUATION_KINDS, id="synthetic-data", title="Synthetic data", order=40)
def synthetic_section(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    """Synthesis runs (guarantee, ledger, warnings, training curves) and their evaluations (gates, figures)."""
    synth = [d for d in docs if d["kind"] == "synth"]
    evals = [d for d in docs if d["kind"] in _EVALUATION_KINDS]
    blocks, claims, limitations = _synth_blocks(synth, ctx) if synth else ([], [], [])
    blocks += _evaluation_blocks(evals, ctx)
    if evals:
        claims += ["synthetic_utility", "synthetic_privacy_audit"]
    train_plots = plots_block(*synth)
    if train_plots:
        blocks += [heading("Training curves"), train_plots]
    limitations.append("DCR, NNDR, exact-copy counts and membership-inference AUC are empirical audits, not "
                       "guarantees: a stronger attack than the one run may do better.")
    dp_eps = sorted(sum(e["epsilon"] for e in ctx.ledger_of(d["stage"])) for d in synth if ctx.ledger_of(d["stage"]))
    card = (f"DP synthesis at epsilon {', '.join(f'{e:.3g}' for e in dp_eps)} (record level, add/remove)" if dp_eps
            else "no DP synthesis")
    for st in [d["stage"] for d in synth if not ctx.ledger_of(d["stage"])]:
        uses = [u for u in ctx.non_dp if u["stage"] == st]
        ok = uses and all(u["declared"] for u in uses)
        card += f"; without DP: {st} ({'declared audit-trail only' if ok else 'NOT declared: epsilon infinite'})"
    return {"blocks": [b for b in blocks if b is not None], "claims": claims, "limitations": limitations,
            "card": card}


__all__ = ["SYNTH_SCHEMA", "SYNTH_EVALUATE_SCHEMA", "POLICY_KEYS", "synthetic_section"]
