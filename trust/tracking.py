"""MLflow helpers: one run per stage execution, tagged for lineage.

The tracking store is ``$MLFLOW_TRACKING_URI`` when set, else ``sqlite:///<repo>/mlflow.db``
(open it with ``make ui``). Every run carries the tags ``git_commit``, ``stage``,
``params_hash``, ``data_fingerprint`` and ``dvc_lock_sha256``; params are logged flat
(``synth.epsilon``). Tables are never logged: :meth:`StageRun.log_artifact` refuses CSV and
Parquet files so that no raw row can reach the store by accident.

The store is part of the confidential audit trail. Data fingerprints in it are keyed
(``hmac-sha256:...``, :func:`trust.data.hashing.keyed_fingerprint`); :func:`stage_run` refuses a
plain 64-hex hash, the form a content hash of a private table would take.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Iterator, Mapping

EXPERIMENT = "trust-pipeline"
#: the experiment of command-line runs (``trust --mlflow ...`` or ``TRUST_MLFLOW=1``)
CLI_EXPERIMENT = "trust-cli"
#: MLflow 3's UI opens an experiment by its kind: GenAI experiments on a "Traces" overview, model-training
#: ones on their runs table. Ours are model training.
EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"
#: MLflow 3's UI picks GenAI or model-training pages from the ``workflowType`` URL parameter (else from the
#: browser's last choice, GenAI by default), so every URL we print carries it
UI_WORKFLOW = "workflowType=machine_learning"
#: the runs table's default columns: a view shared through an experiment tag (``mlflow.sharedViewState.<key>``,
#: opened by ``viewStateShareKey=<key>`` in the URL); keys absent from a run are left blank by the UI
VIEW_KEY = "trust"
VIEW_TAG = "mlflow.sharedViewState." + VIEW_KEY
DEFAULT_VIEW = {"selectedColumns": ["tags.`stage`", "tags.`git_commit`", "metrics.`report.gates_failed`",
                                    "metrics.`report.gates_passed`", "metrics.`test.accuracy`", "tags.`params_hash`",
                                    "tags.`data_fingerprint`"],
                "orderByKey": "attributes.start_time", "orderByAsc": False}
#: where ``make ui`` serves the UI for a local store (override with ``$TRUST_MLFLOW_UI``)
DEFAULT_UI = "http://127.0.0.1:5000"
TABULAR_SUFFIXES = {".csv", ".parquet", ".tsv", ".feather", ".gz", ".pkl", ".pickle"}


def repo_root(start: str | os.PathLike[str] | None = None) -> Path:
    """The git work tree containing ``start`` (default: the current directory), else ``start`` itself."""
    start = Path(start or os.getcwd()).resolve()
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start, capture_output=True,
                             text=True, check=True, timeout=10)
        return Path(out.stdout.strip())
    except (subprocess.SubprocessError, FileNotFoundError):
        return start


def git_commit(root: str | os.PathLike[str] | None = None) -> str:
    """HEAD's commit hash (with ``-dirty`` when tracked files other than ``dvc.lock`` have uncommitted changes),
    or ``unknown``."""
    root = Path(root or repo_root())
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True, timeout=10).stdout.strip()
        # dvc.lock is rewritten by `dvc repro` between stages: it does not make the code dirty
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!dvc.lock"],
                               cwd=root,
                               capture_output=True, text=True, timeout=10).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (subprocess.SubprocessError, FileNotFoundError):
        return "unknown"


def default_tracking_uri(root: str | os.PathLike[str] | None = None) -> str:
    """``$MLFLOW_TRACKING_URI`` if set, else the project's SQLite store."""
    env = os.environ.get("MLFLOW_TRACKING_URI")
    if env:
        return env
    return f"sqlite:///{Path(root or repo_root()).resolve() / 'mlflow.db'}"


def ui_base(tracking_uri: str | None = None) -> str:
    """The MLflow UI's address: a tracking server's own URL, else ``$TRUST_MLFLOW_UI`` or :data:`DEFAULT_UI`."""
    uri = tracking_uri or default_tracking_uri()
    if uri.startswith(("http://", "https://")):
        return uri.rstrip("/")
    return os.environ.get("TRUST_MLFLOW_UI", DEFAULT_UI).rstrip("/")


def run_url(experiment_id: str, run_id: str, *, tracking_uri: str | None = None) -> str:
    """The URL of one run in the MLflow UI.

    >>> run_url("1", "abc", tracking_uri="http://mlflow.internal:5000/")
    'http://mlflow.internal:5000/#/experiments/1/runs/abc?workflowType=machine_learning'
    """
    return f"{ui_base(tracking_uri)}/#/experiments/{experiment_id}/runs/{run_id}?{UI_WORKFLOW}"


def runs_url(experiment_id: str, *, tracking_uri: str | None = None) -> str:
    """The URL of an experiment's runs table in the MLflow UI, model-training pages, our default columns."""
    return f"{ui_base(tracking_uri)}/#/experiments/{experiment_id}/runs?{UI_WORKFLOW}&viewStateShareKey={VIEW_KEY}"


def use_experiment(name: str = EXPERIMENT, *, tracking_uri: str | None = None) -> str:
    """Make ``name`` the active experiment (created if needed), marked as a model-training experiment and given
    our default runs-table columns (:data:`DEFAULT_VIEW`), so that MLflow 3's UI, opened at :func:`runs_url`,
    shows its runs rather than an empty GenAI traces overview; returns its id."""
    import mlflow

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
    exp = mlflow.set_experiment(name)
    view = json.dumps(DEFAULT_VIEW, sort_keys=True)
    for tag, value in ((EXPERIMENT_KIND_TAG, EXPERIMENT_KIND), (VIEW_TAG, view)):
        if exp.tags.get(tag) != value:
            mlflow.MlflowClient().set_experiment_tag(exp.experiment_id, tag, value)
    return exp.experiment_id


def flatten(d: Mapping[str, Any], prefix: str = "", sep: str = ".") -> dict[str, Any]:
    """``{"synth": {"epsilon": 1}}`` -> ``{"synth.epsilon": 1}``; lists become their JSON text."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{sep}{k}" if prefix else str(k)
        if isinstance(v, Mapping):
            out.update(flatten(v, key, sep))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v)
        else:
            out[key] = v
    return out


def params_hash(params: Mapping[str, Any]) -> str:
    """sha256 of the params' canonical JSON: equal params, equal hash."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def _file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else "none"


_PLAIN_HASH = re.compile(r"(?<![0-9a-f:])[0-9a-f]{64}(?![0-9a-f])")


class StageRun:
    """The MLflow run of one stage execution (returned by :func:`stage_run`)."""

    def __init__(self, run: Any, client: Any) -> None:
        self._run = run
        self._client = client

    @property
    def run_id(self) -> str:
        return self._run.info.run_id

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log flat numeric metrics (non-numbers are skipped)."""
        import mlflow

        clean = {k: float(v) for k, v in flatten(metrics).items()
                 if isinstance(v, (int, float)) and not isinstance(v, bool)}
        if clean:
            mlflow.log_metrics(clean, step=step)

    def log_artifact(self, path: str | os.PathLike[str], artifact_path: str | None = None) -> None:
        """Log a plot, evidence file or model. Tables (CSV, Parquet, ...) are refused: no raw rows in MLflow."""
        import mlflow

        p = Path(path)
        if p.suffix.lower() in TABULAR_SUFFIXES:
            raise ValueError(f"refusing to log '{p.name}' to MLflow: tables may hold raw rows")
        mlflow.log_artifact(str(p), artifact_path=artifact_path)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        import mlflow

        mlflow.set_tags({k: str(v) for k, v in tags.items()})


@contextlib.contextmanager
def stage_run(
    stage: str,
    params: Mapping[str, Any],
    data_fingerprints: str | Mapping[str, str],
    *,
    root: str | os.PathLike[str] | None = None,
    experiment: str = EXPERIMENT,
    tracking_uri: str | None = None,
) -> Iterator[StageRun]:
    """Open one MLflow run for one stage execution, with the lineage tags, params logged flat.

    ``data_fingerprints`` is the keyed fingerprint of the stage's input data, or a mapping name ->
    fingerprint (logged as ``name=fingerprint`` pairs in the ``data_fingerprint`` tag). A plain sha256
    (64 hex digits) is refused with ValueError: it would let anyone test candidate tables. The run ends
    FAILED if the block raises.
    """
    import mlflow

    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    root = Path(root or repo_root())
    use_experiment(experiment, tracking_uri=tracking_uri or default_tracking_uri(root))
    items = data_fingerprints.items() if isinstance(data_fingerprints, Mapping) else [("", data_fingerprints)]
    for name, value in items:
        if _PLAIN_HASH.search(str(value)) and not str(value).startswith("hmac-sha256:"):
            raise ValueError(f"stage_run: data fingerprint {name or ''!r} is a plain hash; pass a keyed one "
                             "(trust.data.keyed_fingerprint)")
    if isinstance(data_fingerprints, Mapping):
        data_tag = ",".join(f"{k}={v}" for k, v in sorted(data_fingerprints.items()))
    else:
        data_tag = str(data_fingerprints)
    tags = {
        "git_commit": git_commit(root),
        "stage": stage,
        "params_hash": params_hash(params),
        "data_fingerprint": data_tag,
        "dvc_lock_sha256": _file_hash(root / "dvc.lock"),
    }
    with mlflow.start_run(run_name=stage, tags=tags) as run:
        flat = flatten(params)
        items = list(flat.items())
        for i in range(0, len(items), 100):  # MLflow's batch limit
            mlflow.log_params({k: str(v)[:6000] for k, v in items[i:i + 100]})
        yield StageRun(run, mlflow)


def main(argv: list[str] | None = None) -> None:
    """``python -m trust.tracking ui-url``: create the pipeline's experiment if needed (marked model training) and
    print its runs URL (what ``make ui`` prints before starting the UI)."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if args != ["ui-url"]:
        print("usage: python -m trust.tracking ui-url", file=sys.stderr)
        raise SystemExit(2)
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    uri = default_tracking_uri()
    exp = use_experiment(EXPERIMENT, tracking_uri=uri)
    print(f"MLflow UI: the pipeline's runs at {runs_url(exp, tracking_uri=uri)}")


__all__ = ["EXPERIMENT", "CLI_EXPERIMENT", "EXPERIMENT_KIND_TAG", "EXPERIMENT_KIND", "StageRun", "stage_run",
           "repo_root", "git_commit", "default_tracking_uri", "ui_base", "run_url", "runs_url", "use_experiment",
           "flatten", "params_hash"]


if __name__ == "__main__":
    main()
