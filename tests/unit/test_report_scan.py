"""End to end on the bundled data: `prepare` then the `report` stage in a temp project, then a scan
of reports/, evidence/ and the MLflow store for raw training rows (none may appear)."""

from __future__ import annotations

import json
import re
import runpy
import sys
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

from trust.cli import main
from trust.report import REPORT_SCHEMA, check, make_evidence

REPO = Path(__file__).resolve().parents[2]


def _forms(v) -> list[str]:
    if isinstance(v, float) and v.is_integer():
        return [str(int(v)), str(v)]
    return [str(v)]


def row_probes(df: pd.DataFrame, n: int = 6, seed: int = 0) -> list[dict]:
    """For n rows: full serialisations, plus an anchor value unique to the row and its other values."""
    rows = df.sample(n=n, random_state=seed)
    probes = []
    for _, r in rows.iterrows():
        rec = {k: (None if pd.isna(v) else v) for k, v in r.items()}
        anchor_col = max((c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])
                          and rec[c] is not None and (df[c] == rec[c]).sum() == 1),
                         key=lambda c: len(_forms(rec[c])[0]))
        vals = [str(v) for v in rec.values() if v is not None]
        serial = [json.dumps(rec), r.to_json(), ",".join(vals), ", ".join(vals), " | ".join(vals), "\t".join(vals),
                  ",".join(_forms(v)[0] for v in rec.values() if v is not None)]
        others = [_forms(v) for c, v in rec.items() if c != anchor_col and v is not None and len(str(v)) >= 2]
        probes.append({"anchor": _forms(rec[anchor_col]), "others": others, "serial": serial})
    return probes


def _token(s: str) -> re.Pattern:
    return re.compile(r"(?<![0-9A-Za-z.])" + re.escape(s) + r"(?![0-9A-Za-z]|\.[0-9])")


def find_rows(text: str, probes: list[dict], window: int = 300) -> list[str]:
    """Hits: a full serialised row, or a row's anchor value with two more of its values close by."""
    hits = []
    for p in probes:
        hits += [s[:60] for s in p["serial"] if s in text]
        for a in p["anchor"]:
            for m in _token(a).finditer(text):
                near = text[max(0, m.start() - window): m.end() + window]
                found = [o[0] for o in p["others"] if any(_token(f).search(near) for f in o)]
                if len(found) >= 2:
                    hits.append(f"{a} near {found[:3]}")
    return hits


def scan(paths: list[Path], probes: list[dict]) -> dict[str, list[str]]:
    out = {}
    for root in paths:
        files = [root] if root.is_file() else [f for f in root.rglob("*") if f.is_file()]
        for f in files:
            hits = find_rows(f.read_bytes().decode("latin-1"), probes)
            if hits:
                out[str(f)] = hits
    return out


def run_stage(root: Path, script: str) -> None:
    """Run ``pipelines/<script>`` of the temp project in this process (as `python pipelines/x.py` would),
    so that the test pays for no second interpreter start; its `_stage` module is the project's copy."""
    import mlflow.tracking._tracking_service.utils as tracking_utils
    import mlflow.tracking.fluent as fluent

    saved_path, saved_stage = list(sys.path), sys.modules.pop("_stage", None)
    saved_uri, saved_exp = tracking_utils._tracking_uri, fluent._active_experiment_id
    sys.path.insert(0, str(root / "pipelines"))
    try:
        runpy.run_path(str(root / "pipelines" / script), run_name="__main__")
    finally:  # leave no trace in this process: import path, modules, MLflow's global store and experiment
        sys.path[:] = saved_path
        sys.modules.pop("_stage", None)
        if saved_stage is not None:
            sys.modules["_stage"] = saved_stage
        tracking_utils.set_tracking_uri(saved_uri)
        fluent._active_experiment_id = saved_exp


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    (root / "pipelines").mkdir()
    for f in ("_stage.py", "prepare.py", "report.py"):
        (root / "pipelines" / f).write_text((REPO / "pipelines" / f).read_text())
    (root / "trust").symlink_to(REPO / "trust")
    (root / "data").symlink_to(REPO / "data")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prepare"].update({"datasets": ["adult", "king"], "max_rows": 600, "seed": 0})
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.chdir(root)  # MLflow artifacts land in ./mlruns of the project
    try:
        run_stage(root, "prepare.py")
        run_stage(root, "report.py")
        yield root
    finally:
        mp.undo()


def test_report_stage_renders_all_formats_from_prepare_evidence(project):
    root = project
    js = json.loads((root / "reports" / "compliance.json").read_text())
    jsonschema.validate(js, REPORT_SCHEMA)
    assert js["verdict"]["status"] == "pass"
    assert [s["stage"] for s in js["stages"]] == ["prepare"]
    assert js["lineage"]["mlflow_runs"]["prepare"]
    assert {d["name"] for d in js["lineage"]["datasets"]} >= {"adult/train", "king/train"}
    html = (root / "reports" / "compliance.html").read_text()
    assert 'id="gate-table"' in html and "UCI Adult" in html
    # the report stage logged its own MLflow run with the three files
    arts = sorted(p.name for p in (root / "mlruns").rglob("compliance.*"))
    assert arts == ["compliance.html", "compliance.json", "compliance.md"]


def test_no_raw_training_row_in_reports_evidence_or_mlflow(project):
    root = project
    probes = []
    for ds in ("adult", "king"):
        probes += row_probes(pd.read_parquet(root / "outputs" / "prepare" / ds / "train.parquet"))
    # the scanner finds a row when one is there (positive controls)
    assert find_rows("x " + probes[0]["serial"][0] + " y", probes)
    leak = f"{probes[1]['anchor'][0]}, " + ", ".join(o[0] for o in probes[1]["others"][:3])
    assert find_rows(f"<td>{leak}</td>", probes)
    as_json = json.dumps({"a": probes[2]["anchor"][-1], "b": [o[-1] for o in probes[2]["others"][:2]]})
    assert find_rows(as_json, probes)  # floats written as 67.0 are found too
    assert not find_rows("<td>0.74</td>", probes)
    targets = [root / "reports", root / "evidence", root / "mlruns", root / "mlflow.db"]
    assert all(t.exists() for t in targets)
    assert scan(targets, probes) == {}


def test_stage_renders_fail_without_failing_and_strict_exits_1(project, capsys, monkeypatch):
    root = project
    doc = make_evidence("evaluate_fake", "synth_eval", checks=[check("mia", 0.7, 0.8, "<=", policy_key="max_mia_auc")])
    (root / "evidence" / "evaluate_fake.json").write_text(json.dumps(doc))
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["policy"]["max_mia_auc"] = 0.6
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    monkeypatch.chdir(root)
    try:
        capsys.readouterr()
        run_stage(root, "report.py")  # returns normally: a failing gate does not fail the stage
        out = capsys.readouterr().out
        assert out.startswith("report: FAIL (") and " 1 fail," in out
        assert '"status": "fail"' in (root / "reports" / "compliance.json").read_text()
        with pytest.raises(SystemExit) as e:
            main(["report", "--root", str(root), "--strict"])
        assert e.value.code == 1
    finally:
        (root / "evidence" / "evaluate_fake.json").unlink()
