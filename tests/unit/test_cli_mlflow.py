"""Issue 25: the command line logs to MLflow when asked (`trust --mlflow ...` / TRUST_MLFLOW=1), and MLflow 3's UI
opens our experiments on their runs table (they are marked model training, not GenAI)."""

from __future__ import annotations

import json

import pytest

from trust.cli._common import MLFLOW_ENV, mlflow_requested, write_evidence
from trust.evidence import check, validate_evidence


@pytest.fixture
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    monkeypatch.chdir(tmp_path)
    yield uri
    import mlflow

    mlflow.set_tracking_uri(None)


def _write(tmp_path):
    write_evidence(tmp_path / "ev" / "synth-evaluate-x.json", stage="synth-evaluate-x", kind="synth_evaluate",
                   title="t", params={"target": "y"}, metrics={"tstr_auc": 0.8},
                   checks=[check("TSTR AUC", 0.8, policy_key="min_tstr_ratio_to_real")])


def test_without_the_flag_a_command_logs_nothing(tmp_path, store, monkeypatch):
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    _write(tmp_path)
    doc = json.loads((tmp_path / "ev" / "synth-evaluate-x.json").read_text())
    assert doc["mlflow_run_id"] is None and not (tmp_path / "mlflow.db").exists()


def test_with_the_flag_the_evidence_names_a_run_that_holds_its_metrics_and_evidence(tmp_path, store, monkeypatch):
    import mlflow

    from trust.tracking import CLI_EXPERIMENT, EXPERIMENT_KIND, EXPERIMENT_KIND_TAG

    monkeypatch.setenv(MLFLOW_ENV, "1")
    _write(tmp_path)
    doc = validate_evidence(json.loads((tmp_path / "ev" / "synth-evaluate-x.json").read_text()))
    client = mlflow.MlflowClient(tracking_uri=store)
    run = client.get_run(doc["mlflow_run_id"])
    assert run.data.metrics == {"tstr_auc": 0.8} and run.data.params == {"target": "y"}
    assert [a.path for a in client.list_artifacts(run.info.run_id, "evidence")] == ["evidence/synth-evaluate-x.json"]
    exp = client.get_experiment(run.info.experiment_id)
    assert exp.name == CLI_EXPERIMENT and exp.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND


def test_the_root_flag_turns_logging_on(monkeypatch, run_cli):
    monkeypatch.delenv(MLFLOW_ENV, raising=False)
    monkeypatch.setenv(MLFLOW_ENV, "")  # restored by monkeypatch after the command sets it
    code, _, _ = run_cli("--mlflow", "data", "list")
    assert code == 0 and mlflow_requested()


def test_stage_runs_mark_the_pipeline_experiment_as_model_training(tmp_path, store):
    import mlflow

    from trust.tracking import EXPERIMENT, EXPERIMENT_KIND, EXPERIMENT_KIND_TAG, runs_url, stage_run

    with stage_run("prepare", {"seed": 0}, "hmac-sha256:" + "a" * 64, root=tmp_path) as run:
        run_id = run.run_id
    exp = mlflow.MlflowClient(tracking_uri=store).get_experiment_by_name(EXPERIMENT)
    assert exp.tags[EXPERIMENT_KIND_TAG] == EXPERIMENT_KIND
    url = runs_url(exp.experiment_id, tracking_uri=store)
    assert f"/#/experiments/{exp.experiment_id}/runs?workflowType=machine_learning&viewStateShareKey=trust" in url
    view = json.loads(exp.tags["mlflow.sharedViewState.trust"])  # the runs table's default columns
    assert "tags.`stage`" in view["selectedColumns"]
    assert run_id


def test_make_ui_prints_the_runs_url(tmp_path, store, capsys):
    from trust.tracking import main

    main(["ui-url"])
    out = capsys.readouterr().out
    assert out.startswith("MLflow UI: the pipeline's runs at http://127.0.0.1:5000/#/experiments/")
    assert "/runs?workflowType=machine_learning" in out
