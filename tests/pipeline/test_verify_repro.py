"""`trust verify --strict` on a project after `dvc repro` (issue 24): the DP stages (prepare, a DP synthesis member,
the label-DP aggregate stage) and the report on the tiny params of the pipeline smoke test, in a temp copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import yaml
from _project import run as _run
from _project import tiny_project

pytestmark = pytest.mark.slow

#: stages (and renamed ones) that hold the DP releases, and the report; the others are left out to keep it short
KEEP = ("prepare", "synthesize", "synth", "aggregate", "report")


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    from trust.signing import load_signer, public_key_pem

    dst = tmp_path_factory.mktemp("verify_repo")
    env = tiny_project(dst, {"synthesize": {"epsilons": [3]}, "synth": {"epsilons": [3]}})
    dvc = yaml.safe_load((dst / "dvc.yaml").read_text())
    dvc["stages"] = {k: v for k, v in dvc["stages"].items() if k in KEEP}
    (dst / "dvc.yaml").write_text(yaml.safe_dump(dvc, sort_keys=False))
    _run(["git", "commit", "-qam", "the DP stages only"], dst, env)
    _run(["dvc", "repro"], dst, env)
    pub = tmp_path_factory.mktemp("auditor") / "trust-signing-key.pub"  # what the organisation hands the auditor
    pub.write_bytes(public_key_pem(load_signer().public_key))
    return dst, env, pub


def verify(repo, *args: str) -> subprocess.CompletedProcess:
    dst, env, pub = repo
    code = "import sys; from trust.cli import main; main(sys.argv[1:])"
    return subprocess.run([sys.executable, "-c", code, "verify", "--root", str(dst), "--public-key", str(pub), *args],
                          cwd=dst, env=env, capture_output=True, text=True, timeout=900)


def test_strict_verify_exits_0_with_every_claim_verified_and_the_independent_epsilons_beside_the_ledgers(repo):
    r = verify(repo, "--strict", "--json")
    doc = json.loads(r.stdout)
    not_verified = [c for c in doc["claims"] if c["status"] != "VERIFIED"]
    assert r.returncode == 0 and not not_verified, not_verified
    eps = [c for c in doc["claims"] if c["category"] == "epsilon"]
    assert {c["figures"]["family"] for c in eps} >= {"subsampled-gaussian", "laplace"}
    for c in eps:
        assert c["figures"]["independent_epsilon"] <= c["figures"]["ledger_epsilon"] * 1.01
    cats = {c["category"] for c in doc["claims"]}
    assert cats >= {"signature", "digest", "report", "epsilon", "total", "gate", "verdict", "lineage", "release"}
    assert any("dvc" in c["reason"] for c in doc["claims"] if c["category"] == "lineage")


def test_the_report_shows_the_verifiers_summary(repo):
    dst = repo[0]
    js = json.loads((dst / "reports/compliance.json").read_text())
    sec = next(s for s in js["sections"] if s["id"] == "verification")
    assert "0 MISMATCH" in json.dumps(sec)


def test_an_evidence_figure_edited_after_the_run_is_a_mismatch_and_exit_1(repo):
    dst = repo[0]
    f = dst / "evidence" / "prepare.json"
    saved = f.read_text()
    try:
        doc = json.loads(saved)
        doc["checks"][0]["value"] = (doc["checks"][0]["value"] or 0) + 1
        f.write_text(json.dumps(doc))
        r = verify(repo, "--no-dvc")
        assert r.returncode == 1
        assert any(ln.startswith("MISMATCH") and "evidence/prepare.json" in ln for ln in r.stdout.splitlines())
    finally:
        f.write_text(saved)
    assert os.environ.get("TRUST_SIGNING_KEY_FILE")  # the tests sign with a throw-away key (tests/conftest.py)
