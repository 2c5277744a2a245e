"""The report's file boundary: read a project's evidence, policy, dvc.lock and plots; write the reports.

Used by the ``report`` stage (``pipelines/report.py``) and by ``trust report``; the model and
the rendering stay pure (:mod:`trust.report.model`, :mod:`trust.report.render`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

import yaml

from trust.data.io import atomic_write_text, read_yaml_mapping
from trust.errors import ConfigError, DataError
from trust.report.model import build_report
from trust.report.render import render_html, render_json, render_markdown

REPORT_NAMES = ("compliance.html", "compliance.json", "compliance.md")


def read_evidence_dir(evidence_dir: str | os.PathLike[str], *, root: str | os.PathLike[str] | None = None
                      ) -> dict[str, dict[str, Any]]:
    """Every ``*.json`` under ``evidence_dir``, parsed (validation happens in :func:`build_report`).

    Keys are paths relative to ``root`` (e.g. ``evidence/prepare.json``). Raises DataError when
    the folder holds no evidence or a file is not JSON.
    """
    evidence_dir = Path(evidence_dir)
    files = sorted(evidence_dir.glob("*.json")) if evidence_dir.is_dir() else []
    if not files:
        raise DataError(f"no evidence found in '{evidence_dir}'; run the pipeline first (`dvc repro` or `make repro`)")
    out: dict[str, dict[str, Any]] = {}
    for f in files:
        name = str(f.relative_to(root)) if root and f.resolve().is_relative_to(Path(root).resolve()) else str(f)
        try:
            out[name] = json.loads(f.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as e:
            raise DataError(f"{name}: not valid JSON ({e}); re-run the stage that wrote it") from None
    return out


def read_params(root: Path) -> dict[str, Any]:
    path = root / "params.yaml"
    return read_yaml_mapping(path) if path.exists() else {}


DEFAULT_POLICY_FILE = Path(__file__).with_name("default_policy.yaml")


def project_policy(params: Mapping[str, Any]) -> tuple[Any, str]:
    """``(policy, where it came from)``: params.yaml's ``policy:``, else the documented default policy shipped
    with trust (:data:`DEFAULT_POLICY_FILE`), so that a project without one still has thresholds to gate."""
    if params.get("policy") is not None:
        return params["policy"], "params.yaml 'policy:'"
    return (read_yaml_mapping(DEFAULT_POLICY_FILE),
            "the default policy shipped with trust (trust/report/default_policy.yaml), because the project has no "
            "params.yaml 'policy:'; copy it there to make it yours")


def mlflow_links(docs: Iterable[Mapping[str, Any]], root: Path) -> dict[str, str]:
    """MLflow run id -> the URL of that run in the MLflow UI, for every evidence document whose run the project's
    tracking store holds (``make ui`` serves it at ``$TRUST_MLFLOW_UI``, default http://127.0.0.1:5000; a tracking
    server's own URL when ``MLFLOW_TRACKING_URI`` is one). Runs the store does not hold get no link."""
    from trust.tracking import default_tracking_uri, run_url

    ids = sorted({d["mlflow_run_id"] for d in docs if d.get("mlflow_run_id")})
    uri = default_tracking_uri(root)
    if not ids or (uri.startswith("sqlite:///") and not Path(uri[len("sqlite:///"):]).is_file()):
        return {}
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=uri)
    out = {}
    for run_id in ids:
        try:
            out[run_id] = run_url(client.get_run(run_id).info.experiment_id, run_id, tracking_uri=uri)
        except Exception:  # noqa: BLE001 (a run the store does not hold, a store that cannot be read: no link)
            continue
    return out


def read_dvc_lock(root: Path) -> dict[str, Any] | None:
    path = root / "dvc.lock"
    if not path.exists():
        return None
    try:
        lock = yaml.safe_load(path.read_text())
    except yaml.YAMLError:
        return None
    return lock if isinstance(lock, dict) else None


def _sha256(path: Path) -> str | None:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None


def read_plots(model: Mapping[str, Any], root: Path) -> dict[str, bytes]:
    """The bytes of every plot the report shows (missing files are left out; the HTML says so)."""
    out: dict[str, bytes] = {}
    for s in model["sections"]:
        for b in s["blocks"]:
            if b["type"] != "plots":
                continue
            for p in b["items"]:
                f = (root / p["path"]).resolve()
                if f.is_file() and f.is_relative_to(root.resolve()):
                    out[p["path"]] = f.read_bytes()
    return out


def build_project_report(root: str | os.PathLike[str], *, evidence_dir: str | os.PathLike[str] | None = None,
                         params: Mapping[str, Any] | None = None, git_commit: str | None = None,
                         extra_evidence: Mapping[str, Mapping[str, Any]] | None = None,
                         links: bool = True) -> dict[str, Any]:
    """The report model of a project folder: its ``evidence/``, its policy (``params.yaml``, else the default
    policy, :func:`project_policy`), ``dvc.lock`` and, with ``links``, links to each stage's MLflow run.

    ``extra_evidence``: documents that are not files (the verifier's own summary, kind ``verify``)."""
    from trust.tracking import git_commit as _git_commit

    root = Path(root)
    params = dict(params) if params is not None else read_params(root)
    evidence = {**read_evidence_dir(evidence_dir or root / "evidence", root=root), **(extra_evidence or {})}
    report_params = params.get("report") or {}
    if not isinstance(report_params, Mapping):
        raise ConfigError("params.yaml: 'report' must be a mapping (e.g. 'title: ...')")
    policy, source = project_policy(params)
    return build_report(evidence, policy=policy, policy_source=source,
                        title=str(report_params.get("title") or "trust compliance report"),
                        git_commit=git_commit or _git_commit(root), dvc_lock=read_dvc_lock(root),
                        dvc_lock_sha256=_sha256(root / "dvc.lock"),
                        mlflow_links=mlflow_links(evidence.values(), root) if links else None)


def check_report_dir(out_dir: str | os.PathLike[str], evidence_dir: str | os.PathLike[str]) -> Path:
    """Refuse an output folder that is the evidence folder or inside it (the next ``trust report`` would read
    the reports as evidence and refuse the folder), or a file; returns the folder."""
    out, ev = Path(out_dir), Path(evidence_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"--out '{out}' is a file; give a folder for the reports (default: reports/)")
    o, e = out.resolve(), ev.resolve()
    if o == e or e in o.parents:
        raise DataError(f"--out '{out}' is the evidence folder '{ev}' or inside it: the reports would be read as "
                        "evidence next time; write them elsewhere (default: reports/)")
    return out


def write_reports(model: Mapping[str, Any], out_dir: str | os.PathLike[str], *, root: str | os.PathLike[str]
                  ) -> list[Path]:
    """Render all three formats, write them atomically under ``out_dir`` and sign them; returns the paths."""
    root, out_dir = Path(root), Path(out_dir)
    prefix = os.path.relpath(root, out_dir).replace(os.sep, "/") + "/"
    texts = {
        "compliance.html": render_html(model, read_plots(model, root)),
        "compliance.json": render_json(model),
        "compliance.md": render_markdown(model, plot_prefix=prefix),
    }
    paths = [atomic_write_text(out_dir / name, text) for name, text in texts.items()]
    for p in paths:  # temp files are created 0600; reports are meant to be shared
        p.chmod(0o644)
    from trust.signing import sign_report

    sign_report(paths, root=root, evidence=[s["evidence"] for s in model["stages"]],
                verdict=model["verdict"]["status"])  # compliance.intoto.jsonl and the public key beside them
    return paths


__all__ = ["REPORT_NAMES", "DEFAULT_POLICY_FILE", "project_policy", "mlflow_links", "check_report_dir",
           "read_evidence_dir", "read_params", "read_dvc_lock", "read_plots",
           "build_project_report", "write_reports"]
