"""Evaluation of synthetic tables (trust.synth.evaluate) and `trust synth evaluate`."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from trust.cli import app
from trust.data import infer_schema
from trust.errors import DataError
from trust.synth.evaluate import evaluate_synthetic, fidelity, ml_utility, sdv_metadata, trtr_baseline


@pytest.fixture(scope="module")
def data(make_table):
    train, test, holdout, other = (make_table("utility", 800, s) for s in range(4))
    schema = infer_schema(train, target="y", categorical=["cat", "y"])
    return train, test, holdout, other, schema


def test_tstr_of_real_data_matches_trtr(data):
    train, test, _, other, schema = data
    same = ml_utility(train, test, train, schema, random_state=0)
    for m in ("hgb", "linear"):
        assert same[f"tstr.{m}.auc"] == pytest.approx(same[f"trtr.{m}.auc"], abs=1e-9)
    indep = ml_utility(train, test, other, schema, random_state=0)
    assert indep["trtr.linear.auc"] > 0.8  # the task is learnable
    for m in ("hgb", "linear"):
        assert abs(indep[f"gap.{m}.auc"]) < 0.04
        assert abs(indep[f"gap.{m}.f1_macro"]) < 0.06
    # reusing a precomputed TRTR baseline gives the same figures
    base = trtr_baseline(train, test, schema, random_state=0)
    assert ml_utility(train, test, other, schema, random_state=0, trtr=base) == indep


def test_tstr_falls_when_the_synthetic_labels_carry_no_signal(data):
    train, test, _, _, schema = data
    junk = train.copy()
    junk["y"] = np.random.default_rng(0).permutation(junk["y"].to_numpy())
    out = ml_utility(train, test, junk, schema, random_state=0)
    assert out["tstr.linear.auc"] < 0.62 and out["gap.linear.auc"] > 0.2
    one_class = ml_utility(train, test, train.assign(y="yes"), schema, random_state=0)
    assert one_class["tstr.hgb.auc"] == 0.5  # the constant model, so that a utility gate fails
    assert one_class["tstr.hgb.accuracy"] == pytest.approx((test["y"] == "yes").mean())


def test_regression_utility(make_table):
    train, test, other = (make_table("utility", 600, s, regression=True) for s in (10, 11, 12))
    schema = infer_schema(train, target="y", categorical=["cat"])
    out = ml_utility(train, test, other, schema, random_state=0)
    assert schema.problem_type == "regression"
    assert out["trtr.linear.r2"] > 0.8 and abs(out["gap.linear.r2"]) < 0.05
    assert {"tstr.hgb.r2", "tstr.hgb.mape", "tstr.linear.mape"} <= set(out)


def test_fidelity_separates_a_faithful_table_from_a_broken_one(data):
    train, _, _, other, schema = data
    good = fidelity(train, other, schema, random_state=0)
    broken = other.copy()
    broken["x1"] = broken["x1"] * 3 + 2
    broken["cat"] = "c"
    bad = fidelity(train, broken, schema, random_state=0)
    assert good["column_shapes"] > 0.9 and good["column_pair_trends"] > 0.75
    assert bad["column_shapes"] < good["column_shapes"] - 0.1
    assert bad["wasserstein_mean"] > good["wasserstein_mean"] and bad["jsd_mean"] > good["jsd_mean"]
    assert sdv_metadata(schema)["columns"]["cat"] == {"sdtype": "categorical"}


def test_evaluate_synthetic_returns_flat_aggregates(data):
    train, test, holdout, other, schema = data
    out = evaluate_synthetic(train, test, holdout, other, schema, random_state=0)
    assert all(isinstance(v, float) for v in out.values())
    for prefix in ("utility.", "fidelity.", "privacy."):
        assert any(k.startswith(prefix) for k in out), prefix
    assert 0.4 < out["privacy.dcr_share_train"] < 0.6 and 0.4 < out["privacy.mia_auc"] < 0.6
    assert out["rows.synthetic"] == len(other)
    copy = evaluate_synthetic(train, test, holdout, train, schema, random_state=0)
    assert copy["privacy.exact_copies"] == len(train) and copy["privacy.mia_auc"] > 0.95
    with pytest.raises(DataError, match="'y'.*synthetic"):
        evaluate_synthetic(train, test, holdout, other.drop(columns="y"), schema)


def test_cli_evaluate(tmp_path, data, capsys):
    train, test, holdout, other, _ = data
    paths = {}
    for name, df in (("train", train), ("test", test), ("holdout", holdout), ("syn", other)):
        paths[name] = tmp_path / f"{name}.csv"
        df.to_csv(paths[name], index=False)
    args = ["synth", "evaluate", "--real-train", str(paths["train"]), "--real-test", str(paths["test"]),
            "--real-holdout", str(paths["holdout"]), "--synthetic", str(paths["syn"]), "--target", "y"]
    runner = CliRunner()
    res = runner.invoke(app, args + ["--out", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    assert "mia_auc" in res.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["target"] == "y" and "utility.tstr.hgb.auc" in report["results"]
    # bad input: a one-line error, exit 2 (through the console entry point), no report written
    from trust.cli import main

    capsys.readouterr()
    for bad, needle in ((["--target", "nope"], "'nope'"), (["--synthetic", str(tmp_path / "missing.csv")], "missing.csv")):
        argv = args + bad + ["--out", str(tmp_path / "bad.json")]
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        assert not (tmp_path / "bad.json").exists()
        err = capsys.readouterr().err.strip()
        assert err.startswith("error:") and needle in err and "\n" not in err


def test_cli_errors_are_one_line(tmp_path, data, capsys):
    from trust.cli import main

    train = data[0]
    p = tmp_path / "t.csv"
    train.to_csv(p, index=False)
    with pytest.raises(SystemExit) as exc:
        main(["synth", "evaluate", "--real-train", str(p), "--real-test", str(p), "--real-holdout", str(p),
              "--synthetic", str(p), "--target", "income"])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "income" in err and "\n" not in err
