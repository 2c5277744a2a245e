"""Issue 25: the MLflow UI (3.x) opens the pipeline's experiment on its runs table, not on an empty GenAI overview.

Headless Chromium loads the URL `make ui` prints (:func:`trust.tracking.runs_url`) and each stage's run link the
report carries (:func:`trust.tracking.run_url`) from a real `mlflow ui` on a store holding two stage runs; the
rendered DOM must show the runs table with both runs and our default columns, and not the GenAI pages; a
screenshot is kept for a person to look at. Skipped where Chromium is not installed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = next((p for p in (shutil.which("chromium"), "/usr/bin/chromium", shutil.which("chromium-browser"),
                             shutil.which("google-chrome")) if p and Path(p).exists()), None)
pytestmark = [pytest.mark.slow, pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui(tmp_path_factory):
    """A store with two stage runs, served by `mlflow ui` on a free port: ``(base URL, experiment id, run ids)``."""
    import mlflow

    from trust.tracking import stage_run

    d = tmp_path_factory.mktemp("mlflow_ui")
    uri = f"sqlite:///{d / 'mlflow.db'}"
    runs = {}
    saved_env = os.environ.get("MLFLOW_TRACKING_URI")  # MLflow's set_tracking_uri (in stage_run) also writes it
    try:
        for stage in ("prepare", "train_digits"):
            with stage_run(stage, {"seed": 0}, "hmac-sha256:" + "a" * 64, root=d, tracking_uri=uri) as run:
                run.log_metrics({"test.accuracy": 0.9})
                runs[stage] = run.run_id
        exp = mlflow.MlflowClient(uri).get_experiment_by_name("trust-pipeline").experiment_id
    finally:
        mlflow.set_tracking_uri(saved_env)
        if saved_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env
    port = _free_port()
    mlflow_bin = str(Path(sys.executable).parent / "mlflow")
    proc = subprocess.Popen([mlflow_bin, "ui", "--backend-store-uri", uri, "--port", str(port), "--workers", "1"],
                            cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(240):  # the server's first start migrates the store and loads the app: a minute or two
            try:
                if urllib.request.urlopen(base + "/health", timeout=2).status == 200:
                    break
            except OSError:
                time.sleep(1)
        else:
            pytest.fail("mlflow ui did not answer within 4 minutes")
        yield base, exp, runs, d
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _chromium(profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-dev-shm-usage",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           f"--user-data-dir={profile}", "--virtual-time-budget=30000", "--window-size=1400,900", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=180)


def test_the_runs_url_lands_on_the_runs_table_with_our_columns(ui, tmp_path):
    from trust.tracking import runs_url

    base, exp, runs, _ = ui
    url = runs_url(exp, tracking_uri=base)
    dom = _chromium(tmp_path / "p", "--dump-dom", url).stdout
    assert "prepare" in dom and "train_digits" in dom, dom[-2000:]  # both runs listed
    assert "matching runs" in dom and ">Runs<" in dom  # the runs table page (its count line and title)
    assert "git_commit" in dom and "test.accuracy" in dom  # the default columns of the shared view
    assert "No data available for the selected time range" not in dom  # not the GenAI overview


def test_a_report_link_opens_the_stage_run(ui, tmp_path):
    from trust.tracking import run_url

    base, exp, runs, _ = ui
    dom = _chromium(tmp_path / "p", "--dump-dom", run_url(exp, runs["prepare"], tracking_uri=base)).stdout
    assert "prepare" in dom and runs["prepare"] in dom and "test.accuracy" in dom, dom[-2000:]


def test_a_screenshot_of_the_runs_table_is_produced(ui, tmp_path):
    from trust.tracking import runs_url

    base, exp, _, d = ui
    shot = d / "mlflow_runs.png"  # kept beside the store for a person to look at
    r = _chromium(tmp_path / "p", f"--screenshot={shot}", runs_url(exp, tracking_uri=base))
    assert shot.exists() and shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", r.stderr[-2000:]
    assert shot.stat().st_size > 40_000  # a rendered table, not a blank page
