"""The verification section of the report, and the verifier's written summary.

* :func:`pipeline_verification`: what the ``report`` stage runs before rendering: every claim the verifier
  can check at that point (signatures, independent epsilons, gates re-evaluated, fingerprints with the
  data owner's key, MLflow runs, releases; not ``dvc status``, which cannot run inside ``dvc repro``, and
  not the report, which does not exist yet), as an evidence document of kind ``verify`` that the report
  renders in its "Verification" section. It is never written to ``evidence/``.
* :func:`write_verification`: ``trust verify --out DIR`` writes ``verification.json`` and
  ``verification.md`` (signed: ``verification.intoto.jsonl``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Mapping

from trust.report.sections import ReportContext, bullet_list, callout, paragraph, section, table

KIND = "verify"
STAGE = "verify"
DETAILS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["summary", "claims", "when"],
    "properties": {"summary": {"type": "object"}, "claims": {"type": "array"}, "when": {"type": "string"}},
}


def verification_evidence(v, *, when: str) -> dict[str, Any]:
    """The verifier's summary as an evidence document of kind ``verify`` (stage checks only, never gates)."""
    from trust.evidence import Check, Evidence
    from trust.verify.claims import MISMATCH, STATUSES, UNVERIFIABLE

    checks = [Check("verifier: claims that MISMATCH", float(v.count(MISMATCH)), 0.0, "==",
                    description="signatures, digests, epsilons, gates, lineage and releases re-derived by trust verify"),
              Check("verifier: claims it could not verify", float(v.count(UNVERIFIABLE)),
                    description="reported, not gated: see the reasons in the Verification section")]
    details = {"summary": {s: v.count(s) for s in STATUSES}, "when": when,
               "claims": [c.to_dict() for c in v.claims]}
    ev = Evidence(KIND, title="Verification (trust verify)", checks=tuple(checks), details=details,
                  metrics={f"verify.{s.lower()}": float(v.count(s)) for s in STATUSES}, details_schema=DETAILS_SCHEMA)
    return ev.document(STAGE, git_commit="n/a")


def pipeline_verification(root: str | os.PathLike[str], params: Mapping[str, Any] | None = None
                          ) -> dict[str, dict[str, Any]]:
    """``{"verify": evidence}``: the pre-render verification the report stage shows (see the module doc)."""
    from trust.verify.project import verify_project

    v = verify_project(root, params=params, dvc=False, report=False)
    return {STAGE: verification_evidence(v, when="before rendering, in the report stage (dvc status and the "
                                                 "report's own claims are checked by `trust verify` afterwards)")}


@section(KIND, id="verification", title="Verification", order=95)
def render(docs: list[dict[str, Any]], ctx: ReportContext) -> dict[str, Any]:
    d = docs[-1]["details"]
    s, claims = d["summary"], d["claims"]
    level = "fail" if s.get("MISMATCH") else ("pass" if not s.get("UNVERIFIABLE") else "note")
    blocks = [callout(f"The verifier re-derived {len(claims)} claims {d['when']}: {s.get('VERIFIED', 0)} VERIFIED, "
                      f"{s.get('MISMATCH', 0)} MISMATCH, {s.get('UNVERIFIABLE', 0)} UNVERIFIABLE.", level),
              paragraph("Anyone holding the evidence, this report and the organisation's public key can re-run it: "
                        "`trust verify --root DIR --public-key trust-signing-key.pub [--lineage-key FILE] --strict`. "
                        "It checks the signatures and digests, recomputes every ledger epsilon with Google's "
                        "dp-accounting (code independent of the accountant that wrote the ledger), re-evaluates every "
                        "gate against params.yaml's policy with its own comparisons, and checks lineage and releases.")]
    eps = [c for c in claims if c["category"] == "epsilon"]
    if eps:
        blocks.append(table(["Status", "Release", "Ledger epsilon", "Independent epsilon", "How"],
                            [[c["status"], c["figures"].get("release"), c["figures"].get("ledger_epsilon"),
                              c["figures"].get("independent_epsilon"), c["reason"]] for c in eps],
                            caption="Every ledger epsilon beside its independent recomputation", status_column=0))
    cats = sorted({c["category"] for c in claims})
    blocks.append(table(["Category", "VERIFIED", "MISMATCH", "UNVERIFIABLE"],
                        [[cat] + [sum(1 for c in claims if c["category"] == cat and c["status"] == st)
                                  for st in ("VERIFIED", "MISMATCH", "UNVERIFIABLE")] for cat in cats],
                        caption="Claims by category"))
    other = [c for c in claims if c["status"] != "VERIFIED"]
    if other:
        blocks.append(bullet_list(f"{c['status']} {c['category']} {c['file']}: {c['claim']} ({c['reason']})"
                                  for c in other[:50]))
    return {"blocks": blocks, "card": f"{s.get('VERIFIED', 0)} of {len(claims)} claims verified"}


def verification_markdown(v, *, strict: bool = False) -> str:
    lines = ["# Verification (trust verify)", "", f"Project: `{v.root}`; public key: {v.key}", "", "```"]
    return "\n".join(lines + v.lines(strict=strict) + ["```", ""])


def write_verification(v, out_dir: str | os.PathLike[str], *, root: str | os.PathLike[str],
                       strict: bool = False) -> list[Path]:
    """Write ``verification.json`` and ``verification.md`` under ``out_dir`` and sign them with the evidence."""
    import json

    from trust.data.io import atomic_write_text
    from trust import signing

    out_dir, root = Path(out_dir), Path(root)
    paths = [atomic_write_text(out_dir / "verification.json", json.dumps(v.to_dict(strict=strict), indent=2)),
             atomic_write_text(out_dir / "verification.md", verification_markdown(v, strict=strict))]
    signer = signing.load_signer(project=signing.project_root(root))
    subjects = [signing.file_subject(p, root) for p in paths]
    env = signing.sign_statement(signing.statement(subjects, signing.VERIFICATION_PREDICATE,
                                                   {"summary": v.to_dict(strict=strict)["summary"]}), signer)
    for p in [*paths, signing.write_attestation(paths[0], env)]:
        p.chmod(0o644)
    return paths


__all__ = ["KIND", "verification_evidence", "pipeline_verification", "render", "verification_markdown",
           "write_verification"]
