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



def test_no_file_under_the_project_holds_the_lineage_key(repo):
    """Issue 21 item 7: the key lives outside the project (here the tests' key file)."""
    from trust.data import lineage_key

    dst, env, _ = repo
    key = lineage_key(dst, create=False).hex()
    held = [str(f) for f in dst.rglob("*") if f.is_file() and not f.is_symlink()
            and key in f.read_bytes().decode("latin-1")]
    assert held == [] and not (dst / ".trust").exists()


def _lock_entries(dst):
    lock = yaml.safe_load((dst / "dvc.lock").read_text())
    for stage, spec in lock["stages"].items():
        for item in spec.get("deps", []) + spec.get("outs", []):
            yield stage, item["path"], item.get("md5")


def test_every_private_path_dvc_lock_hashes_depends_on_the_lineage_key(repo):
    """Issue 21 item 2, the scan of dvc.lock: each output or dependency under outputs/ and metrics/ is salted (a
    folder holds a salt file, an archive a salt array, metrics a salt string); evidence holds keyed fingerprints."""
    import numpy as np

    from trust.data.lineage import METRICS_SALT_KEY, NPZ_SALT_KEY, SALT_FILE

    dst, _, _ = repo
    unsalted = []
    for stage, path, _ in _lock_entries(dst):
        f = dst / path
        if not path.startswith(("outputs/", "metrics/", "evidence/")) or not f.exists():
            continue  # (the committed dvc.lock also lists matrix members the tiny params do not run)
        if f.is_dir():
            ok = any(p.name == SALT_FILE for p in f.rglob("*")) or path == "evidence" and all(
                "hmac-sha256:" in e.read_text() for e in f.glob("*.json"))
        elif f.suffix == ".npz":
            with np.load(f) as z:
                ok = NPZ_SALT_KEY in z.files
        elif path.startswith("metrics/"):
            ok = len(json.loads(f.read_text()).get(METRICS_SALT_KEY, "")) >= 64
        elif path.startswith("evidence/"):
            ok = "hmac-sha256:" in f.read_text()
        else:
            ok = False
        if not ok:
            unsalted.append(f"{stage}: {path}")
    assert unsalted == []


def test_without_the_key_the_splits_md5_in_dvc_lock_cannot_be_recomputed_from_the_rows(repo, tmp_path):
    """Rewrite the private splits with the project's writer from their rows (what an attacker who knew every row
    could do) and hash them as DVC does: no match without the key, a match with it."""
    import shutil

    from trust.data import lineage_key, read_table, write_table
    from trust.data.lineage import dvc_md5, salt_outputs

    dst, _, _ = repo
    recorded = {path: md5 for _, path, md5 in _lock_entries(dst) if path == "outputs/prepare/adult"}
    src = dst / "outputs" / "prepare" / "adult"
    for key, should_match in ((None, False), (b"\x07" * 32, False), (lineage_key(dst, create=False), True)):
        copy = tmp_path / str(should_match) / (key.hex()[:6] if key else "plain") / "adult"
        copy.mkdir(parents=True)
        for part in ("train", "test", "holdout"):
            write_table(read_table(src / f"{part}.parquet"), copy / f"{part}.parquet")
        shutil.copy(src / "schema.json", copy / "schema.json")
        if key is not None:
            salt_outputs(copy, key=key)
        assert (dvc_md5(copy) == recorded["outputs/prepare/adult"]) is should_match


def test_second_repro_changes_nothing_and_a_sweep_runs(repo):
    dst, env, _ = repo
    second = _run(["dvc", "repro"], dst, env)
    assert "didn't change" in second.stdout or "up to date" in second.stdout, second.stdout
    status = _run(["dvc", "status"], dst, env)
    assert "up to date" in status.stdout, status.stdout
    _run(["git", "add", "-A"], dst, env)
    _run(["git", "commit", "-qm", "lock"], dst, env)
    # an experiment on a leaf parameter (the report's title) re-runs the report alone; queued sweeps over a stage's
    # parameters run in tests/pipeline/test_sweeps_tracking.py (a prepare.seed sweep here re-ran the whole DAG: 4 min)
    exp = _run(["dvc", "exp", "run", "-S", "report.title=sweep"], dst, env)
    assert "Ran experiment" in exp.stdout or "Experiment" in exp.stdout, exp.stdout
