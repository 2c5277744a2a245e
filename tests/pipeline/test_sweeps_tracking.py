"""Sweeps and team tracking, as README.md documents them: experiments queued with `dvc exp run --queue -S` run in
parallel (`dvc queue start -j 2`) and `dvc exp show` lists each with its params; a pipeline stage logs to a real
`mlflow server` (SQLite backend) through MLFLOW_TRACKING_URI, and its runs can be listed and compared through the
server's REST API, the calls the MLflow UI makes. Each in a temporary copy of the project on tiny params."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from _project import run, tiny_project

from trust.tracking import EXPERIMENT

pytestmark = pytest.mark.slow   # dvc's queue and an MLflow server start: minutes on a busy 2-core box

TINY = {"prepare": {"datasets": ["adult"], "max_rows": 300}}


def _init_store(uri: str, env: dict, cwd: Path) -> None:
    """Create the SQLite store once: two experiments creating a fresh store at the same moment race on its schema
    migration (measured: alembic's 'expected to match one row' CommandError), so a parallel sweep starts on an
    existing store (or a tracking server)."""
    run([sys.executable, "-c", f"import mlflow; mlflow.MlflowClient({uri!r}).search_experiments()"], cwd, env)


def _runs(uri: str) -> list:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([exp.experiment_id]) if exp else []


def test_two_queued_experiments_run_in_parallel_and_exp_show_lists_each_with_its_params(tmp_path):
    env = tiny_project(tmp_path, TINY)
    _init_store(env["MLFLOW_TRACKING_URI"], env, tmp_path)
    run(["dvc", "exp", "run", "--queue", "prepare", "-S", "prepare.seed=1,2"], tmp_path, env)
    started = run(["dvc", "queue", "start", "-j", "2"], tmp_path, env)
    assert "2" in started.stdout, started.stdout            # two workers
    deadline = time.monotonic() + 600
    while True:
        status = run(["dvc", "queue", "status"], tmp_path, env).stdout
        if not any(s in status for s in ("Queued", "Running")) or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert status.count("Success") == 2, status

    show = json.loads(run(["dvc", "exp", "show", "--json"], tmp_path, env).stdout)
    exps = [r for base in show for e in (base.get("experiments") or []) for r in e["revs"]]
    seeds = {r["data"]["params"]["params.yaml"]["data"]["prepare"]["seed"]: r for r in exps}
    assert sorted(seeds) == [1, 2]
    # different params, different results: the prepared splits differ (metrics/ is git-ignored on purpose: it
    # holds exact row counts; each experiment's metrics are in the MLflow store, below)
    hashes = {s: r["data"]["outs"]["outputs/prepare"]["hash"] for s, r in seeds.items()}
    assert hashes[1] != hashes[2]
    logged = {r.data.params["seed"]: r for r in _runs(env["MLFLOW_TRACKING_URI"]) if r.data.tags["stage"] == "prepare"}
    assert sorted(logged) == ["1", "2"]
    assert all(r.info.status == "FINISHED" and "adult.train_rows" in r.data.metrics for r in logged.values())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _api(base: str, path: str, body: dict | None = None) -> dict:
    req = urllib.request.Request(base + path, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="GET" if body is None else "POST")
    with urllib.request.urlopen(req, timeout=60) as r:
        return json.loads(r.read())


@pytest.fixture
def mlflow_server(tmp_path):
    """A real `mlflow server` on a free localhost port, SQLite backend and artifact store in tmp; always killed."""
    port, log = _free_port(), open(tmp_path / "server.log", "w")
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    proc = subprocess.Popen([str(mlflow_bin), "server", "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
                             "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1",
                             "--port", str(port), "--workers", "1"],
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()[-3000:]
            try:
                with urllib.request.urlopen(base + "/health", timeout=5):
                    break
            except OSError:
                assert time.monotonic() < deadline, "mlflow server did not start:\n" + (
                    tmp_path / "server.log").read_text()[-3000:]
                time.sleep(1)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)   # its own process group: the server and its worker
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_stage_runs_logged_to_a_tracking_server_can_be_listed_and_compared_through_its_rest_api(
        tmp_path, mlflow_server):
    proj = tmp_path / "proj"
    proj.mkdir()
    env = {**tiny_project(proj, TINY), "MLFLOW_TRACKING_URI": mlflow_server, "PYTHONPATH": str(proj),
           "OMP_NUM_THREADS": "1"}
    params = yaml.safe_load((proj / "params.yaml").read_text())
    for seed in (0, 1):   # two runs of the same stage with different params, as a sweep gives
        params["prepare"]["seed"] = seed
        (proj / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        run([sys.executable, "pipelines/prepare.py"], proj, env)

    exps = _api(mlflow_server, "/api/2.0/mlflow/experiments/search", {"max_results": 100})["experiments"]
    exp_id, = [e["experiment_id"] for e in exps if e["name"] == EXPERIMENT]
    runs = _api(mlflow_server, "/api/2.0/mlflow/runs/search",
                {"experiment_ids": [exp_id], "filter": "tags.stage = 'prepare'",
                 "order_by": ["attributes.start_time ASC"], "max_results": 100})["runs"]
    assert len(runs) == 2 and all(r["info"]["status"] == "FINISHED" for r in runs)
    # the UI's compare view: params, metrics and tags of the selected runs side by side
    table = [({p["key"]: p["value"] for p in r["data"]["params"]}, {m["key"]: m["value"] for m in r["data"]["metrics"]},
              {t["key"]: t["value"] for t in r["data"]["tags"]}) for r in runs]
    assert [p["seed"] for p, _, _ in table] == ["0", "1"]
    assert all(m["adult.train_rows"] > 0 for _, m, _ in table)
    assert table[0][2]["params_hash"] != table[1][2]["params_hash"]
    assert all("hmac-sha256:" in t["data_fingerprint"] and t["git_commit"]
               for _, _, t in table)
    hist = _api(mlflow_server, "/api/2.0/mlflow/metrics/get-history?run_id="
                f"{runs[0]['info']['run_id']}&metric_key=adult.train_rows")["metrics"]
    assert [h["value"] for h in hist] == [table[0][1]["adult.train_rows"]]
