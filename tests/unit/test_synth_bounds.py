"""Public bounds with provenance: every declared bound has a source; params.yaml's synth.bounds overrides
reach the fit, recorded as the user's declaration; a bad override is a one-line error naming its key."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trust.data import dataset_schema, load_dataset, write_table
from trust.data.registry import DATASETS
from trust.errors import ConfigError
from trust.synth.protocol import declared_bounds

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", [n for n, info in DATASETS.items() if info.schema is not None])
def test_every_declared_bound_has_a_documented_source_or_says_it_is_the_projects(name):
    schema = dataset_schema(name)
    sources = schema.meta["sources"]
    bounded = [c for c, spec in schema.columns.items() if spec.bounds is not None]
    assert bounded
    for col in bounded:
        src = sources.get(col)
        assert src, f"{name}.{col} has bounds {schema[col].bounds} but no source"
        # a bound chosen by the project must say so; otherwise the source names documentation
        assert ("project" in src) or any(doc in src for doc in ("adult.names", "IPUMS", "data dictionary",
                                                                "data/README.md", "USPS")), (col, src)


def test_adults_bounds_follow_adult_names_extraction_conditions_and_the_cps_topcodes():
    schema = dataset_schema("adult")
    assert schema["age"].bounds == (17.0, 90.0)
    assert schema["hours-per-week"].bounds == (1.0, 99.0)
    assert schema["fnlwgt"].bounds[0] == 1.0
    assert schema["capital-gain"].bounds == (0.0, 99999.0)
    src = schema.meta["sources"]
    assert "AAGE>16" in src["age"] and "top coded at 90" in src["age"]
    assert "project's round domain bound" in src["fnlwgt"]   # the one bound no documentation found gives
    df, _ = load_dataset("adult")   # the bundled rows satisfy the documented bounds (validation would raise)
    assert len(df) == DATASETS["adult"].rows


@pytest.mark.parametrize("raw, fragment", [
    ({"agee": [0, 10]}, "synth.bounds.agee"),
    ({"age": [50, 20]}, "synth.bounds.age"),
    ({"age": [20, 20]}, "synth.bounds.age"),
    ({"age": ["a", 90]}, "synth.bounds.age"),
    ({"age": [17]}, "synth.bounds.age"),
    ({"age": [True, 90]}, "synth.bounds.age"),
    ({"sex": [0, 1]}, "synth.bounds.sex"),
])
def test_a_bad_bounds_override_is_a_one_line_config_error_naming_its_key(raw, fragment):
    with pytest.raises(ConfigError) as e:
        declared_bounds(dataset_schema("adult"), raw)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_a_bounds_override_replaces_the_registry_bound_and_its_source_says_it_is_declared():
    schema, over = declared_bounds(dataset_schema("adult"), {"age": [16, 95]})
    assert schema["age"].bounds == (16.0, 95.0) and over == {"age": [16.0, 95.0]}
    assert schema.meta["sources"]["age"].startswith("declared override in params.yaml synth.bounds")
    assert dataset_schema("adult")["age"].bounds == (17.0, 90.0)   # the registry is untouched


def test_the_synth_stage_fits_with_the_override_and_records_it_in_the_evidence(tmp_path):
    root = tmp_path
    (root / "pipelines").mkdir()
    for f in ("_stage.py", "synth.py"):
        (root / "pipelines" / f).write_text((REPO / "pipelines" / f).read_text())
    (root / "trust").symlink_to(REPO / "trust")
    (root / "data").symlink_to(REPO / "data")
    df, _ = load_dataset("adult")
    (root / "outputs" / "prepare" / "adult").mkdir(parents=True)
    write_table(df.sample(n=300, random_state=0).reset_index(drop=True),
                root / "outputs" / "prepare" / "adult" / "train.parquet")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["synth"].update({"epsilons": ["none"], "synthetic_rows": 50, "bounds": {"hours-per-week": [1, 168]}})
    params["synth"]["model"].update({"epochs": 1, "batch_size": 100})
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}", "OMP_NUM_THREADS": "1",
           "PYTHONPATH": str(root)}
    r = subprocess.run([sys.executable, "pipelines/synth.py", "none"], cwd=root, env=env, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    model = json.loads((root / "outputs/synth/eps_none/baseline/model/model.json").read_text())
    hours, = [c for c in model["schema"]["columns"] if c["name"] == "hours-per-week"]
    assert hours["bounds"] == [1.0, 168.0]
    ev = json.loads((root / "evidence/synth_eps_none.json").read_text())
    meta = ev["details"]["public_metadata"]
    assert meta["bounds_overridden"] == {"hours-per-week": [1.0, 168.0]}
    assert meta["bounds"]["hours-per-week"] == [1.0, 168.0]
    assert meta["sources"]["hours-per-week"].startswith("declared override")
