"""Smoke test of the whole DAG: `dvc repro` on tiny params in a temporary copy of the repository.

Checks what a fresh clone's `make repro` must give: every stage's metrics and schema-valid
evidence, the three report formats, one MLflow run per executed stage with the lineage tags, a
second `dvc repro` that changes nothing, and a `dvc exp run -S` sweep that runs.
"""

from __future__ import annotations

import json

import pytest
import yaml
from _project import run as _run
from _project import tiny_project

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    dst = tmp_path_factory.mktemp("repo")
    env = tiny_project(dst)
    first = _run(["dvc", "repro"], dst, env)
    return dst, env, first


def test_every_stage_writes_metrics_and_valid_evidence(repo):
    from trust.evidence import validate_evidence

    dst, _, _ = repo
    evidence = sorted((dst / "evidence").glob("*.json"))
    stages = yaml.safe_load((dst / "dvc.yaml").read_text())["stages"]
    assert len(evidence) >= len(stages) - 1  # every stage but the report writes evidence
    for path in evidence:
        doc = validate_evidence(json.loads(path.read_text()), source=str(path))
        assert (dst / "metrics" / path.name).exists() or doc["stage"] == "report"
        for plot in doc["plots"]:
            assert (dst / plot["path"]).exists(), plot
    prep = json.loads((dst / "evidence/prepare.json").read_text())
    assert {d["name"] for d in prep["data"]} >= {"adult/train", "king/holdout"}
    assert all(c["passed"] for c in prep["checks"])
    for name in ("adult", "king"):
        for part in ("train", "test", "holdout"):
            assert (dst / "outputs/prepare" / name / f"{part}.parquet").exists()


def test_report_formats_exist(repo):
    dst, _, _ = repo
    for ext in ("html", "json", "md"):
        path = dst / "reports" / f"compliance.{ext}"
        assert path.exists() and path.stat().st_size > 500, path
    json.loads((dst / "reports/compliance.json").read_text())


def test_one_mlflow_run_per_executed_stage_with_lineage_tags(repo):
    import mlflow

    dst, env, _ = repo
    client = mlflow.MlflowClient(tracking_uri=env["MLFLOW_TRACKING_URI"])
    exp = client.get_experiment_by_name("trust-pipeline")
    runs = client.search_runs([exp.experiment_id])
    evidence = {json.loads(p.read_text())["stage"] for p in (dst / "evidence").glob("*.json")}
    stages = [r.data.tags["stage"] for r in runs]
    assert sorted(stages) == sorted(set(stages)), "a stage ran twice"
    assert evidence <= set(stages)
    for r in runs:
        assert r.info.status == "FINISHED"
        for key in ("git_commit", "stage", "params_hash", "data_fingerprint"):
            assert r.data.tags.get(key), (r.data.tags["stage"], key)
        assert "hmac-sha256:" in r.data.tags["data_fingerprint"] and "data_sha256" not in r.data.tags
        for art in client.list_artifacts(r.info.run_id):
            assert not art.path.endswith((".csv", ".parquet")), art.path


def test_report_shows_guarantees_per_unit_and_adjacency_and_every_non_dp_use_declared(repo):
    dst, _, _ = repo
    js = json.loads((dst / "reports/compliance.json").read_text())
    keys = {(t["dataset"], t["unit_of_privacy"], t["adjacency"]) for t in js["ledger"]["totals"]}
    assert keys == {("adult", "record", "add/remove"), ("king", "label", "replace-one")}
    assert all(t["epsilon"] is not None for t in js["ledger"]["totals"])  # no undeclared non-DP use
    uses = js["non_dp"]
    assert {u["stage"] for u in uses} >= {"prepare", "synth_eps_none", "synth_evaluate", "aggregate"}
    assert all(u["declared"] for u in uses)
    secure, = [g for g in js["gates"] if g["policy_key"] == "require_secure_noise"]
    assert secure["status"] == "pass"  # the pipeline never seeds its DP noise
    assert (dst / ".trust/lineage.key").exists() and ".trust" not in _run(["git", "status", "--porcelain"],
                                                                           dst, repo[1]).stdout


def test_second_repro_changes_nothing_and_a_sweep_runs(repo):
    dst, env, _ = repo
    second = _run(["dvc", "repro"], dst, env)
    assert "didn't change" in second.stdout or "up to date" in second.stdout, second.stdout
    status = _run(["dvc", "status"], dst, env)
    assert "up to date" in status.stdout, status.stdout
    _run(["git", "add", "-A"], dst, env)
    _run(["git", "commit", "-qm", "lock"], dst, env)
    exp = _run(["dvc", "exp", "run", "-S", "prepare.seed=1"], dst, env)
    assert "Ran experiment" in exp.stdout or "Experiment" in exp.stdout, exp.stdout
