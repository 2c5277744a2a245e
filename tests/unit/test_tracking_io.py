import json
import os

import mlflow
import pandas as pd
import pytest

from trust.data import atomic_path, atomic_write_json, read_table, write_table
from trust.errors import DataError
from trust.tracking import default_tracking_uri, flatten, params_hash, stage_run


@pytest.fixture()
def store(tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    return uri


def test_flatten_and_params_hash():
    p = {"synth": {"epsilon": 1.0, "grid": [1, 2]}, "seed": 0}
    assert flatten(p) == {"synth.epsilon": 1.0, "synth.grid": "[1, 2]", "seed": 0}
    assert params_hash(p) == params_hash({"seed": 0, "synth": {"grid": [1, 2], "epsilon": 1.0}})
    assert params_hash(p) != params_hash({**p, "seed": 1})


def test_default_uri_respects_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert default_tracking_uri(tmp_path) == f"sqlite:///{tmp_path.resolve() / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///elsewhere.db")
    assert default_tracking_uri(tmp_path) == "sqlite:///elsewhere.db"


def test_one_run_per_stage_with_lineage_tags(store, tmp_path):
    fp = "hmac-sha256:" + "ab" * 32
    with stage_run("prepare", {"prepare": {"seed": 3}}, {"adult": fp}, root=tmp_path) as run:
        run.log_metrics({"a": {"rows": 10}, "flag": True, "text": "x"})
        plot = tmp_path / "plot.png"
        plot.write_bytes(b"\x89PNG fake")
        run.log_artifact(plot, "plots")
        table = tmp_path / "rows.csv"
        table.write_text("a,b\n1,2\n")
        with pytest.raises(ValueError, match="raw rows"):
            run.log_artifact(table)
        run_id = run.run_id
    got = mlflow.get_run(run_id)
    tags = got.data.tags
    for key in ("git_commit", "stage", "params_hash", "data_fingerprint", "dvc_lock_sha256"):
        assert key in tags
    assert tags["stage"] == "prepare" and tags["data_fingerprint"] == "adult=" + fp and "data_sha256" not in tags
    assert got.data.params == {"prepare.seed": "3"}
    assert got.data.metrics == {"a.rows": 10.0}  # booleans and text are not metrics
    assert got.info.status == "FINISHED"
    names = [a.path for a in mlflow.MlflowClient().list_artifacts(run_id, "plots")]
    assert names == ["plots/plot.png"]


def test_a_failing_stage_ends_its_run_failed(store, tmp_path):
    with pytest.raises(RuntimeError):
        with stage_run("boom", {}, "hmac-sha256:" + "0" * 64, root=tmp_path) as run:
            run_id = run.run_id
            raise RuntimeError("bug")
    assert mlflow.get_run(run_id).info.status == "FAILED"


def test_a_plain_hash_is_refused_as_a_data_fingerprint(store, tmp_path):
    with pytest.raises(ValueError, match="plain hash"):
        with stage_run("prepare", {}, {"adult/train": "ab" * 32}, root=tmp_path):
            pass


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out" / "x.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert not target.exists() and os.listdir(target.parent) == []
    atomic_write_json(target, {"b": 1, "a": [1, 2]})
    assert json.loads(target.read_text()) == {"a": [1, 2], "b": 1}
    assert os.listdir(target.parent) == ["x.json"]


def test_tables_round_trip_and_bad_files_are_named(tmp_path):
    df = pd.DataFrame({"a": [1, 2], "b": ["x", None]})
    for name in ("t.parquet", "t.csv"):
        write_table(df, tmp_path / name)
        back = read_table(tmp_path / name)
        assert back.shape == (2, 2) and back["b"].isna().sum() == 1
    with pytest.raises(DataError, match="'.*missing.csv' does not exist"):
        read_table(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty.csv"):
        read_table(tmp_path / "empty.csv")
    (tmp_path / "header.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="no rows"):
        read_table(tmp_path / "header.csv")
    with pytest.raises(DataError, match="directory"):
        read_table(tmp_path)


def test_git_commit_is_dirty_for_code_changes_but_not_for_dvc_lock(tmp_path):
    import subprocess

    from trust.tracking import git_commit

    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@t"}
    for name in ("dvc.lock", "code.py"):
        (tmp_path / name).write_text("v1\n")
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=tmp_path, env=env, check=True)
    clean = git_commit(tmp_path)
    assert len(clean) == 40 and not clean.endswith("-dirty")
    (tmp_path / "dvc.lock").write_text("v2\n")  # dvc repro rewrites it between stages
    assert git_commit(tmp_path) == clean
    (tmp_path / "code.py").write_text("v2\n")
    assert git_commit(tmp_path) == clean + "-dirty"
