"""End to end on the bundled data: `prepare`, a DP and a non-DP `synth` member, `synth_evaluate`,
`aggregate` and the `report` stage in a temp project (tiny settings), then scans of everything they
wrote: reports, evidence, metrics, outputs, the MLflow store. No raw training row may appear anywhere
but the prepared splits; no plain hash of a private table or split file anywhere; and the exact row
count of the DP fit's private table in no release file (synthetic table, model directory, ledger)."""

from __future__ import annotations

import json
import os
import re
import runpy
import sys
from pathlib import Path

import jsonschema
import mlflow
import pandas as pd
import pytest
import yaml

from trust.cli import main
from trust.report import REPORT_SCHEMA
from trust.evidence import check, make_evidence

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


def run_stage(root: Path, script: str, *args: str) -> None:
    """Run ``pipelines/<script> [args]`` of the temp project in this process (as `python pipelines/x.py` would),
    so that the test pays for no second interpreter start; its `_stage` module is the project's copy."""
    import mlflow.tracking._tracking_service.utils as tracking_utils
    import mlflow.tracking.fluent as fluent

    saved_path, saved_stage, saved_argv = list(sys.path), sys.modules.pop("_stage", None), list(sys.argv)
    sys.argv = [str(root / "pipelines" / script), *args]
    saved_uri, saved_exp = tracking_utils._tracking_uri, fluent._active_experiment_id
    saved_env = os.environ.get("MLFLOW_TRACKING_URI")  # MLflow's set_tracking_uri also writes this variable
    sys.path.insert(0, str(root / "pipelines"))
    try:
        runpy.run_path(str(root / "pipelines" / script), run_name="__main__")
    finally:  # leave no trace in this process: import path, modules, MLflow's global store and experiment
        sys.path[:] = saved_path
        sys.argv = saved_argv
        sys.modules.pop("_stage", None)
        if saved_stage is not None:
            sys.modules["_stage"] = saved_stage
        tracking_utils.set_tracking_uri(saved_uri)  # ... so put back the variable the fixture set, after it
        if saved_env is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = saved_env
        fluent._active_experiment_id = saved_exp


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("proj")
    (root / "pipelines").mkdir()
    for f in ("_stage.py", "prepare.py", "synth.py", "synth_evaluate.py", "aggregate.py", "report.py"):
        (root / "pipelines" / f).write_text((REPO / "pipelines" / f).read_text())
    (root / "trust").symlink_to(REPO / "trust")
    (root / "data").symlink_to(REPO / "data")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["prepare"].update({"datasets": ["adult", "king"], "max_rows": 600, "seed": 0})
    # the DP fit reads the WHOLE private train split: its exact size is what no release may show
    params["synth"].update({"epsilons": [3, "none"], "max_train_rows": None, "synthetic_rows": 250})
    params["synth"]["model"].update({"epochs": 1, "batch_size": 100, "aux_epochs": 1})
    params["synth_evaluate"].update({"max_train_rows": 200, "fidelity_rows": 100, "privacy_rows": 100})
    params["synth_marginal"]["engines"] = []   # the marginal engine's release is scanned in test_synth_marginal.py
    params["aggregate"].update({"bag_sizes": [4], "seeds": [0], "rho_grid": [0.0, 1.0], "n_folds": 1,
                                "mlp": {**params["aggregate"]["mlp"], "enabled": False},
                                "dp": {"epsilons": [1.0], "bag_sizes": [1, 4], "seeds": [0], "sweep_rows": 100,
                                       "release_epsilon": 1.0, "release_bag_size": 4},
                                "synthetic": {"n": 60, "d": 5, "bag_sizes": [1, 4], "rhos": [0.0, 1.0], "reps": 2}})
    # quality and empirical audits of a 1-epoch DP fit on 100 rows vary with the (secret) noise: not tested here
    params["policy"].update({"min_tstr_ratio_to_real": 0.0, "max_aggregate_mse_ratio": 100.0, "max_dcr_share": 1.0})
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    mp = pytest.MonkeyPatch()
    mp.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{root / 'mlflow.db'}")
    mp.delenv("TRUST_LINEAGE_KEY", raising=False)
    mp.setenv("TRUST_LINEAGE_KEY_FILE", str(tmp_path_factory.mktemp("key") / "lineage.key"))  # outside the project
    mp.chdir(root)  # MLflow artifacts land in ./mlruns of the project
    try:
        run_stage(root, "prepare.py")
        run_stage(root, "synth.py", "3")
        run_stage(root, "synth.py", "none")
        run_stage(root, "synth_evaluate.py")
        run_stage(root, "aggregate.py")
        run_stage(root, "report.py")
        yield root
    finally:
        mp.undo()


def test_report_stage_renders_all_formats_from_prepare_evidence(project):
    root = project
    js = json.loads((root / "reports" / "compliance.json").read_text())
    jsonschema.validate(js, REPORT_SCHEMA)
    assert js["verdict"]["status"] == "pass", [g["name"] for g in js["gates"] if g["status"] == "fail"]
    stages = [s["stage"] for s in js["stages"] if s["kind"] != "verify"]  # and the verifier's summary
    assert stages[0] == "prepare" and len(stages) == 5
    assert js["lineage"]["mlflow_runs"]["prepare"]
    assert {d["name"] for d in js["lineage"]["datasets"]} >= {"adult/train", "king/train"}
    html = (root / "reports" / "compliance.html").read_text()
    assert 'id="gate-table"' in html and "UCI Adult" in html
    # the report stage logged its own MLflow run with the three files (asked of the store, wherever it keeps them)
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], "tags.stage = 'report'")
    assert len(runs) == 1, [(r.info.experiment_id, r.data.tags.get("stage")) for r in client.search_runs(
        [e.experiment_id for e in client.search_experiments()])]
    arts = sorted(Path(a.path).name for a in client.list_artifacts(runs[0].info.run_id, "report"))
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
    doc = make_evidence("evaluate_fake", "synth_evaluate", checks=[check("mia", 0.7, 0.8, "<=", policy_key="max_mia_auc")])
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
        assert out.startswith("report: FAIL: 1 of ")
        assert '"status": "fail"' in (root / "reports" / "compliance.json").read_text()
        with pytest.raises(SystemExit) as e:
            main(["report", "--root", str(root), "--strict"])
        assert e.value.code == 1
    finally:
        (root / "evidence" / "evaluate_fake.json").unlink()


# --------------------------------------------------------------------------------------------- hashes and counts

def _private_hashes(root: Path) -> dict[str, str]:
    """Plain hashes an attacker could test candidates against: every private table and split file."""
    from trust.data import file_sha256, frame_sha256, load_dataset
    import hashlib

    out = {}
    for ds in ("adult", "king"):
        full, _ = load_dataset(ds)
        out[f"{ds} (full, bundled)"] = frame_sha256(full)
        out[f"{ds} (600-row sample)"] = frame_sha256(full.sample(n=600, random_state=0).reset_index(drop=True))
        out[f"{ds} file"] = file_sha256(REPO / "data" / f"{ds}.csv.gz")
        for part in ("train", "test", "holdout"):
            f = root / "outputs" / "prepare" / ds / f"{part}.parquet"
            out[f"{ds}/{part}"] = frame_sha256(pd.read_parquet(f))
            out[f"{ds}/{part} file"] = file_sha256(f)
            out[f"{ds}/{part} file md5"] = hashlib.md5(f.read_bytes()).hexdigest()  # what DVC would record
    return out


def _written_files(root: Path) -> list[Path]:
    skip = (root / "outputs" / "prepare", root / ".trust", root / "pipelines")
    return [f for f in root.rglob("*") if f.is_file() and not f.is_symlink()
            and not any(f.is_relative_to(s) for s in skip)
            and not any(p.is_symlink() for p in f.relative_to(root).parents if p != Path("."))]


def scan_hashes(files: list[Path], hashes: dict[str, str]) -> dict[str, list[str]]:
    found = {}
    for f in files:
        text = f.read_bytes().decode("latin-1").lower()
        hits = [name for name, h in hashes.items() if h in text]
        if hits:
            found[str(f)] = hits
    return found


def test_the_hash_scanner_finds_a_planted_hash(project, tmp_path):
    hashes = _private_hashes(project)
    planted = tmp_path / "x.json"
    planted.write_text(json.dumps({"data_sha256": hashes["adult/train"]}))
    assert scan_hashes([planted], hashes) == {str(planted): ["adult/train"]}


def test_no_plain_hash_of_a_private_table_anywhere_a_stage_writes(project):
    files = _written_files(project)
    assert any(f.name == "mlflow.db" for f in files) and any("synth" in str(f) for f in files)
    assert any(f.is_relative_to(project / "mlruns") for f in files)
    assert scan_hashes(files, _private_hashes(project)) == {}


def test_fingerprints_in_evidence_and_mlflow_are_keyed_and_verifiable_with_the_key(project):
    import mlflow

    from trust.data import keyed_fingerprint, lineage_key

    key = lineage_key(project, create=False)
    prep = json.loads((project / "evidence" / "prepare.json").read_text())
    train, = [d for d in prep["data"] if d["name"] == "adult/train"]
    assert train["fingerprint"] == keyed_fingerprint(pd.read_parquet(project / "outputs/prepare/adult/train.parquet"),
                                                     key)
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{project / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("trust-pipeline").experiment_id])
    tags = [r.data.tags for r in runs]
    assert all("data_sha256" not in t and t["data_fingerprint"].count("hmac-sha256:") >= 1 for t in tags)


def _dp_train_rows(root: Path) -> int:
    return len(pd.read_parquet(root / "outputs" / "prepare" / "adult" / "train.parquet"))


def test_the_dp_fit_read_the_whole_private_split(project):
    ev = json.loads((project / "evidence" / "synth_eps_3.json").read_text())
    assert ev["details"]["fit_rows"] == _dp_train_rows(project)  # the audit trail may keep the count
    assert ev["ledger"] and all(e["dataset"] == "adult" for e in ev["ledger"])


def test_no_stage_file_of_the_release_states_the_dp_fit_row_count(project):
    """What the stage writes: a declared number of synthetic rows, no `train_rows`, no count in the ledger text."""
    n = _dp_train_rows(project)
    token = _token(str(n))
    assert token.search(f"rows: {n},") and not token.search(f"{n}5") and not token.search(f"0.{n}")
    member = project / "outputs" / "synth" / "eps_3" / "release"
    assert len(pd.read_parquet(member / "synthetic.parquet")) == 250 != n  # a declared number of rows
    ev = json.loads((project / "evidence" / "synth_eps_3.json").read_text())
    assert not token.search(json.dumps(ev["ledger"])), "a ledger entry states the private row count"
    metrics = json.loads((project / "metrics" / "synth_eps_3.json").read_text())
    assert "train_rows" not in metrics and n not in metrics.values()


def test_no_release_figure_gives_back_the_dp_fit_row_count(project):
    n = _dp_train_rows(project)
    token = _token(str(n))
    member = project / "outputs" / "synth" / "eps_3" / "release"
    from trust.synth import CTABGANPlus

    n_dp = CTABGANPlus.load(member / "model").sample_rows_  # the DP row count the release may state
    if n_dp == n:  # the secret noise came out 0 this time: stating n_dp is no leak, and n cannot be told apart
        n_dp = None
    ev = json.loads((project / "evidence" / "synth_eps_3.json").read_text())
    for e in ev["ledger"]:  # n = batch / q
        if e["sample_rate"] and e["sample_rate"] < 1:
            assert n_dp is None or round(100 / e["sample_rate"]) != n, f"{e['release']}: batch / sample_rate = {n}"
    texts = {f: f.read_text() for f in (member / "model").rglob("*") if f.suffix in (".json", ".txt", ".yaml")}
    assert texts, "the model directory has a readable manifest"
    leaks = {str(f): [m.group(0) for m in token.finditer(t)][:3] for f, t in texts.items() if token.search(t)}
    assert n_dp is None or leaks == {}, f"the model directory states the private row count {n}"


def test_every_stage_output_folder_is_salted_under_the_lineage_key(project):
    """Issue 21 item 2: the md5s DVC records of these folders cannot be recomputed from the rows without the key."""
    from trust.data import lineage_key
    from trust.data.lineage import SALT_FILE, salts_valid

    key = lineage_key(project, create=False)
    outs = [project / "outputs" / s for s in ("prepare", "prepare/adult", "prepare/king", "synth_evaluate",
                                              "aggregate", "synth/eps_3", "synth/eps_none")]
    for d in outs:
        assert (d / SALT_FILE).is_file() and salts_valid(d, key=key), d
    assert not salts_valid(project / "outputs" / "prepare", key=b"x" * 32)
    for m in (project / "metrics").glob("*.json"):
        assert len(json.loads(m.read_text())["lineage_salt"]) >= 64, m


def test_no_file_under_the_project_holds_the_lineage_key(project):
    from trust.data import lineage_key

    key = lineage_key(project, create=False).hex()
    held = [str(f) for f in project.rglob("*") if f.is_file() and key in f.read_bytes().decode("latin-1")]
    assert held == [] and not (project / ".trust").exists()
