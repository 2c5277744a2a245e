"""Stage `report`: render reports/compliance.{html,json,md} from every evidence/*.json.

The report is the authority on pass/fail: it re-gates each evidence check against the current
``policy:`` of params.yaml and gates the privacy ledger itself. A failing gate is rendered as
FAIL but does not fail this stage (the pipeline keeps its outputs for the auditor);
``trust report --strict`` is the command that exits 1 on a failing gate (or when none was evaluated).
"""

from __future__ import annotations

import hashlib
import hmac

from _stage import ROOT, load_params, main

from trust.report.project import build_project_report, read_evidence_dir, write_reports
from trust.data.hashing import PREFIX, lineage_key
from trust.tracking import git_commit, stage_run


@main
def run() -> None:
    params = load_params()
    from trust.verify.report_section import pipeline_verification  # the verifier's summary: a report section

    model = build_project_report(ROOT, params=params, git_commit=git_commit(ROOT),
                                 extra_evidence=pipeline_verification(ROOT, params))
    evidence = read_evidence_dir(ROOT / "evidence", root=ROOT)
    digest = hmac.new(lineage_key(ROOT), digestmod=hashlib.sha256)  # keyed, like every fingerprint in MLflow
    for name in sorted(evidence):
        digest.update(name.encode() + b"\0" + (ROOT / name).read_bytes())
    stage_params = {"report": params.get("report") or {}, "policy": params.get("policy") or {}}
    with stage_run("report", stage_params, {"evidence": PREFIX + digest.hexdigest()}, root=ROOT) as run:
        paths = write_reports(model, ROOT / "reports", root=ROOT)
        v = model["verdict"]
        run.log_metrics({"report.gates_passed": v["passed"], "report.gates_failed": v["failed"],
                         "report.gates_not_evaluated": v["not_evaluated"]})
        run.set_tags({"report.verdict": v["status"]})
        for p in paths:
            run.log_artifact(p, "report")
    print(f"report: {v['line']} ({v['not_evaluated']} policy key(s) not evaluated, listed apart) "
          "-> reports/compliance.html, .json, .md")


if __name__ == "__main__":
    run()
