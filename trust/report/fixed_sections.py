"""The report's fixed sections: lineage, privacy ledger, regulatory mapping (pure: dicts in, blocks out).

:func:`trust.report.model.build_report` assembles them with the capabilities' sections. The regulatory
mapping prints a claim only where the gates of the sections supporting it pass (:func:`claims_blocks`).
"""

from __future__ import annotations

from typing import Any, Mapping

from trust.report import compliance
from trust.report.policy import FAIL, PASS
from trust.report.sections import bullet_list, callout, code, paragraph, table

MLFLOW_HINT = ("make ui    # prints the runs URL; or: mlflow ui --backend-store-uri sqlite:///mlflow.db\n"
               "# then open the runs URL it prints (or the link beside each stage below); search runs with:\n"
               "#   attributes.run_id = '<run id>'")


def datasets_of(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for d in docs:
        for t in d.get("data", []):
            key = (t["name"], t["fingerprint"])
            if key not in seen:
                seen[key] = {"name": t["name"], "fingerprint": t["fingerprint"], "rows": t.get("rows"),
                             "role": t.get("role", ""), "source": t.get("source", ""),
                             "licence": t.get("licence", ""), "stages": []}
            for f in ("rows", "role", "source", "licence"):  # fill what another stage recorded
                if not seen[key][f] and t.get(f):
                    seen[key][f] = t[f]
            seen[key]["stages"].append(d["stage"])
    return list(seen.values())


ARTIFACT_KINDS = (
    "Two kinds of artifact. The RELEASE (a synthetic table, a model directory, their ledger entries) is what may "
    "leave the organisation: it carries no hash, exact count, timing or seed of the private data, and its only "
    "privacy claim is the ledger's guarantee. The AUDIT TRAIL (evidence/, metrics/, the MLflow store, dvc.lock, the "
    "DVC cache and this report) is confidential, for the data owner and the auditor: it holds exact counts and "
    "non-DP statistics of the private tables. Its data fingerprints are keyed (HMAC-SHA256 under the data owner's "
    "lineage key, kept outside the project), and every private output a stage writes is salted with a value derived "
    "from that key, so DVC's md5s in dvc.lock (tracked in git) cannot be recomputed from the rows: nobody without "
    "the key can test a candidate table against dvc.lock or this report, which shows no unkeyed hash of private "
    "data. The DVC cache holds the private files themselves: it never leaves the data owner.")


def lineage_blocks(commit: str, docs: list[dict[str, Any]], lock_rows: list[dict[str, Any]],
                   datasets: list[dict[str, Any]], lock_sha256: str | None = None,
                   links: Mapping[str, str] | None = None) -> list[dict[str, Any]]:
    """The lineage section: commit, what is release and audit trail, stages and runs, disclosure, datasets, dvc.lock."""
    blocks = [paragraph(f"Rendered at git commit {commit}. Each stage's evidence records the commit it ran at."),
              callout(ARTIFACT_KINDS, "note")]
    links = links or {}
    blocks.append(table(["Stage", "Kind", "Git commit", "Evidence written", "MLflow run id", "MLflow run"],
                        [[d["stage"], d["kind"], d["git_commit"], d["created_at"], d.get("mlflow_run_id") or "none",
                          links.get(d.get("mlflow_run_id") or "", "")] for d in docs],
                        caption="Stages and their MLflow runs (the link opens the run in `make ui`)"))
    blocks.append(code(MLFLOW_HINT))
    blocks.append(table(["Artifact", "Who holds it", "What it reveals"], [list(r) for r in compliance.DISCLOSURE],
                        caption="What each artifact reveals, and to whom", id="disclosure"))
    if datasets:
        blocks.append(table(["Table", "Role", "Rows", "Keyed fingerprint (HMAC-SHA256)", "Source", "Licence", "Stages"],
                            [[t["name"], t["role"], t["rows"], t["fingerprint"], t["source"], t["licence"],
                              ", ".join(t["stages"])] for t in datasets],
                            caption="Datasets (keyed fingerprints: verifiable with the data owner's lineage key, "
                                    "untestable without it; exact row counts: audit trail only; no rows are shown)"))
    if lock_rows:
        blocks.append(table(["Stage", "Dep/out", "Path"], [[r["stage"], r["role"], r["path"]] for r in lock_rows],
                            caption="dvc.lock: every input and output of every stage (DVC's md5s stay in dvc.lock; "
                                    "private outputs are salted with a keyed value, so those md5s cannot be "
                                    "recomputed from the rows; the report copies none of them)"))
        if lock_sha256:
            blocks.append(paragraph(f"sha256 of dvc.lock (a public file in git): {lock_sha256}."))
    else:
        blocks.append(callout("No dvc.lock was found: run the pipeline with `dvc repro` to record the hashes of "
                              "every input and output.", "warning"))
    return blocks


def _eps_text(value: float | None) -> str:
    return "infinite" if value is None else f"{value:.4g}"


def ledger_blocks(entries: list[dict[str, Any]], totals: list[dict[str, Any]], combined: dict[str, Any],
                    policy: dict[str, float], warnings: list[str], coverage: list[list[Any]]) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if not entries:
        blocks.append(paragraph("No stage recorded a differentially private release."))
    else:
        blocks.append(paragraph(
            "Every differentially private release in the evidence, with its guarantee in one sentence. Totals are "
            "per (dataset, unit of privacy, adjacency): the epsilons and deltas of the releases with the same unit "
            "and adjacency add up (basic sequential composition); a record-level add/remove epsilon and a "
            "label-level replace-one epsilon bound different things and are never summed into one figure. A total "
            "is infinite when the dataset has a use without differential privacy that the policy does not declare "
            "audit-trail only."))
        blocks.append(bullet_list(e["sentence"] for e in entries))
        blocks.append(table(
            ["Stage", "Release", "Mechanism", "Unit", "Adjacency", "Epsilon", "Delta", "Accountant",
             "Noise multiplier", "Sampling rate", "Steps", "Clip bound", "Noise", "Dataset"],
            [[e["stage"], e["release"], e["mechanism"], e["unit_of_privacy"], e["adjacency"], e["epsilon"],
              e["delta"], e["accountant"], e["noise_multiplier"], e["sample_rate"], e["steps"], e["max_grad_norm"],
              e.get("noise_source", "os-entropy"), e.get("dataset", "")] for e in entries], caption="Releases"))
        max_eps = policy.get("max_total_epsilon_per_dataset")
        rows = []
        for t in totals:
            ok = t["epsilon"] is not None and (max_eps is None or t["epsilon"] <= max_eps + 1e-12)
            rows.append(["" if max_eps is None else ("PASS" if ok else "FAIL"), t["dataset"], t["unit_of_privacy"],
                         t["adjacency"], t["releases"], _eps_text(t["epsilon"]), t["delta"], max_eps])
        blocks.append(table(["Status", "Dataset", "Unit of privacy", "Adjacency", "Releases", "Total epsilon",
                             "Total delta", "Policy max epsilon"], rows,
                            caption="Totals per dataset, unit of privacy and adjacency", status_column=0))
        for ds, c in combined.items():
            blocks.append(callout(
                f"Combined statement for '{ds}': over all its releases, what can be learnt about one person's LABEL "
                f"under replace-one adjacency is bounded by epsilon = {_eps_text(c['epsilon'])}, delta = "
                f"{c['delta']:.3g}. Replace-one releases count their own epsilon; each add/remove release counts "
                "twice (a replacement is a removal and an addition: 2 epsilon, (1 + e^epsilon) delta). No combined "
                "record-level statement is made: label-level releases do not protect the features."))
    if coverage:
        blocks.append(table(["Status", "Artifact", "Dataset", "Stage", "Kind", "Covered by"], coverage,
                            caption="Which artifact is covered by which guarantee", status_column=0))
    blocks += [callout(w, "warning") for w in warnings]
    return blocks


def ledger_totals(led: Any, non_dp: list[dict[str, Any]]) -> list[dict[str, Any]]:
    broken = {u["dataset"] for u in non_dp if u["declared"] is None}
    return [{"dataset": ds, "unit_of_privacy": unit, "adjacency": adj, "releases": t["releases"],
             "epsilon": None if ds in broken else t["epsilon"], "delta": t["delta"], "infinite": ds in broken}
            for (ds, unit, adj), t in led.totals().items()]


def coverage_rows(docs: list[dict[str, Any]], entries: list[dict[str, Any]], non_dp: list[dict[str, Any]],
              broken: set[str]) -> list[list[Any]]:
    rows: list[list[Any]] = []
    for d in docs:
        mine = [e for e in entries if e["stage"] == d["stage"]]
        if not mine:
            continue
        release = d.get("details", {}).get("release")
        what = ", ".join(release) if isinstance(release, list) else f"the release of stage '{d['stage']}'"
        keys = sorted({(e.get("dataset", ""), e["unit_of_privacy"], e["adjacency"]) for e in mine})
        for ds, unit, adj in keys:
            eps = sum(e["epsilon"] for e in mine if (e.get("dataset", ""), e["unit_of_privacy"], e["adjacency"])
                      == (ds, unit, adj))
            seeded = any(e.get("noise_source") == "seeded (not a valid guarantee)" for e in mine)
            status = "FAIL" if ds in broken or seeded else "PASS"
            cover = (f"differential privacy, epsilon {eps:.4g} for {ds}'s {unit}s under {adj}"
                     + ("; SEEDED noise: not a valid guarantee" if seeded else "")
                     + ("; void while the dataset has an undeclared non-DP use" if ds in broken else ""))
            rows.append([status, what, ds, d["stage"], "release", cover])
    for u in non_dp:
        decl = u["declared"]
        rows.append(["PASS" if decl else "FAIL", u["artifact"], u["dataset"], u["stage"],
                     "audit trail" if decl else "UNDECLARED non-DP use",
                     f"no DP guarantee ({u['what']}); declared audit-trail only: {decl['purpose']}" if decl else
                     f"no DP guarantee ({u['what']}); not declared in policy.internal_non_dp, so the dataset's "
                     "epsilon is infinite"])
    if rows:
        rows.append(["", "evidence/, metrics/, MLflow store, dvc.lock, DVC cache, reports/", "all", "all",
                     "audit trail", "confidential: keyed fingerprints; exact counts; DVC's md5 of the private files"])
    return rows



def ledger_card(totals: list[dict[str, Any]], non_dp: list[dict[str, Any]]) -> str:
    if not totals:
        return "no DP release"
    parts = [f"{t['dataset']}: epsilon {_eps_text(t['epsilon'])} ({t['unit_of_privacy']}, {t['adjacency']})"
             for t in totals]
    declared = sum(1 for u in non_dp if u["declared"])
    return "; ".join(parts) + (f"; {declared} non-DP use(s) declared audit-trail only" if declared else "")




def claim_status(claim: str, sections: list[dict[str, Any]], gates: list[dict[str, Any]],
                 stage_checks: list[dict[str, Any]]) -> str | None:
    """Why ``claim`` is withheld (its sections' gates fail, or none passed), or None when it may be printed.

    ``sections`` are the report sections that support the claim; a section's gates are the policy gates and
    stage checks of its stages (the privacy ledger's: the ledger gates). Structural claims (lineage, policy
    gates) are always printed.
    """
    if claim in compliance.STRUCTURAL_CLAIMS:
        return None
    mine: list[dict[str, Any]] = []
    for s in sections:
        if s["id"] == "privacy-ledger":
            mine += [g for g in gates if g["gate"] == "ledger"]
        else:
            mine += [g for g in gates + stage_checks if g.get("stage") in s["stages"] and g["gate"] != "ledger"]
    failed = [g for g in mine if g["status"] == FAIL]
    passed = [g for g in mine if g["status"] == PASS]
    if failed:
        return (f"{len(failed)} of {len(failed) + len(passed)} evaluated gate(s) fail: "
                + "; ".join(g["name"] for g in failed[:3]) + ("; ..." if len(failed) > 3 else ""))
    if not passed:
        return "no gate of its sections was evaluated"
    return None


def claims_blocks(claims: list[str], claim_sections: Mapping[str, list[str]], sections: list[dict[str, Any]],
                  gates: list[dict[str, Any]], stage_checks: list[dict[str, Any]]
                  ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """``(blocks, mapping, withheld)``: the regulatory mapping of the claims whose gates pass, and the rest."""
    by_id = {s["id"]: s for s in sections}
    mapping, withheld = [], []
    for c in claims:
        if c not in compliance.CLAIMS:
            continue
        ids = list(claim_sections.get(c, []))
        why = claim_status(c, [by_id[i] for i in ids if i in by_id], gates, stage_checks)
        item = {"claim_type": c, **compliance.CLAIMS[c], "sections": ids}
        (withheld if why else mapping).append({**item, "why": why} if why else item)
    blocks = [callout(compliance.DISCLAIMER),
              table(["Claim", "Evidence in", "GDPR", "EU AI Act Annex IV", "NIST AI RMF"],
                    [[m["claim"], ", ".join(m["sections"]), m["gdpr"], m["ai_act"], m["nist"]] for m in mapping],
                    caption="Claims whose gates pass, and the provisions they are relevant to")]
    if withheld:
        blocks.append(table(["Claim not made", "Evidence in", "Why"],
                            [[m["claim"], ", ".join(m["sections"]), compliance.WITHHELD.format(why=m["why"])]
                             for m in withheld], caption="Claims withheld", id="withheld-claims"))
    return blocks, mapping, withheld


__all__ = ["MLFLOW_HINT", "ARTIFACT_KINDS", "datasets_of", "lineage_blocks", "ledger_blocks", "ledger_totals",
           "coverage_rows", "ledger_card", "claim_status", "claims_blocks"]
