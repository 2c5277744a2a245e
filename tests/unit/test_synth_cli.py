"""`trust synth fit` / `trust synth sample` as a user runs them: exit codes, one-line errors, no partial files."""

import json

import numpy as np
import pandas as pd
import pytest

from trust.cli import main


@pytest.fixture(scope="module")
def table_csv(tmp_path_factory):
    rng = np.random.default_rng(0)
    n = 300
    y = rng.integers(0, 2, n)
    df = pd.DataFrame({"x": rng.normal(2.0 * y, 1.0), "c": np.where(y == 1, "a", "b"),
                       "y": np.where(y == 1, "yes", "no")})
    path = tmp_path_factory.mktemp("data") / "toy.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def schema_json(table_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("schema") / "schema.json"
    with pytest.raises(SystemExit) as e:
        main(["data", "schema", "draft", str(table_csv), "--target", "y", "--out", str(out)])
    assert e.value.code in (0, None)
    d = json.loads(out.read_text())  # the review step: a person checks the draft, then marks it reviewed
    d["review"]["status"] = "reviewed"
    out.write_text(json.dumps(d))
    return out


@pytest.fixture(scope="module")
def model_dir(table_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("models") / "toy-model"
    with pytest.raises(SystemExit) as e:
        main(["synth", "fit", str(table_csv), "--target", "y", "--no-dp", "--epochs", "1", "--batch-size", "100",
              "--quiet", "--out", str(out)])
    assert e.value.code in (0, None)
    return out


def test_fit_and_sample(model_dir, tmp_path, run_cli):
    assert (model_dir / "model.json").is_file() and (model_dir / "weights.pt").is_file()
    out = tmp_path / "syn.csv"
    code, _, err = run_cli("synth", "sample", str(model_dir), "-n", "40", "--out", str(out),
                        "--condition", "c=a")
    assert code in (0, None), err
    syn = pd.read_csv(out)
    assert len(syn) == 40 and list(syn.columns) == ["x", "c", "y"] and (syn["c"] == "a").all()


def test_dp_fit_writes_a_model_with_its_ledger(table_csv, schema_json, tmp_path, run_cli):
    out = tmp_path / "dp-model"
    code, _, err = run_cli("synth", "fit", str(table_csv), "--target", "y", "--epsilon", "5", "--delta", "1e-4",
                           "--epochs", "1", "--batch-size", "100", "--schema", str(schema_json), "--quiet",
                           "--out", str(out))
    assert code in (0, None), err
    assert "differentially private" in err
    from trust.synth.model import CTABGANPlus

    rep = CTABGANPlus.load(out).privacy_report()
    assert rep["dp"] and rep["epsilon"] <= 5.0 * 1.01


def test_fit_prints_the_batch_and_epochs_it_chose_and_why(table_csv, tmp_path, run_cli):
    code, _, err = run_cli("synth", "fit", str(table_csv), "--target", "y", "--no-dp", "--epochs", "1", "--quiet",
                           "--out", str(tmp_path / "m"))
    assert code in (0, None), err
    # 300 rows: batch auto is the smallest, 50 (6 steps an epoch); the epochs were set
    assert "trained with small table: batch 50, 1 epochs (set), 6 steps" in err.splitlines()


@pytest.mark.parametrize("args,needle", [
    (["--target", "y", "--no-dp", "--batch-size", "big"], "--batch-size big must be a positive integer or auto"),
    (["--target", "y", "--no-dp", "--epochs", "0"], "--epochs 0 must be a positive integer or auto"),
    (["--target", "nope", "--no-dp"], "target 'nope'"),
    (["--target", "y"], "choose --epsilon"),
    (["--target", "y", "--epsilon", "0", "--schema", "SCHEMA"], "--epsilon 0.0 must be"),
    (["--target", "y", "--epsilon", "1", "--delta", "0.5", "--schema", "SCHEMA"], "below 1/n"),
    (["--target", "y", "--epsilon", "10", "--epochs", "1"], "trust data schema draft"),
    # delta tiny: the delta check passes whatever (very noisy, secret) DP row count the histograms give
    (["--target", "y", "--epsilon", "1e-6", "--delta", "1e-12", "--epochs", "500", "--batch-size", "300",
      "--schema", "SCHEMA"], "cannot be met"),
])
def test_fit_bad_input_exits_2_with_one_line_and_no_output(table_csv, schema_json, tmp_path, run_cli, args, needle):
    out = tmp_path / "m"
    args = [str(schema_json) if a == "SCHEMA" else a for a in args]
    code, _, err = run_cli("synth", "fit", str(table_csv), "--quiet", "--out", str(out), *args)
    assert code == 2, err
    assert needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("args,needle", [
    (["--condition", "c=zzz"], "never had the category"),
    (["--condition", "nope=1"], "no such column"),
    (["--condition", "c"], "column=value"),
])
def test_sample_bad_input_exits_2_with_one_line_and_no_output(model_dir, tmp_path, run_cli, args, needle):
    out = tmp_path / "syn.csv"
    code, _, err = run_cli("synth", "sample", str(model_dir), "-n", "10", "--out", str(out), *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_sample_from_a_directory_that_is_not_a_model(tmp_path, run_cli):
    code, _, err = run_cli("synth", "sample", str(tmp_path), "-n", "10", "--out", str(tmp_path / "x.csv"))
    assert code == 2 and "not a saved CTAB-GAN+ model" in err and not (tmp_path / "x.csv").exists()


def test_a_fit_at_a_huge_epsilon_ends_in_a_model_or_one_line_never_a_traceback(table_csv, schema_json, tmp_path,
                                                                               run_cli):
    # issue 25: `--epsilon 1e9` ended in a ZeroDivisionError traceback in the histogram release's DP row count
    out = tmp_path / "m"
    code, _, err = run_cli("synth", "fit", str(table_csv), "--target", "y", "--epsilon", "1e9", "--delta", "1e-4",
                           "--epochs", "1", "--batch-size", "100", "--schema", str(schema_json), "--quiet",
                           "--out", str(out))
    assert "Traceback" not in err and "ZeroDivisionError" not in err
    assert code in (0, None), err
    assert (out / "model.json").is_file() and "vacuous" in err


def test_a_no_dp_fit_records_its_non_dp_use_in_the_evidence_it_writes(table_csv, tmp_path, run_cli):
    code, _, err = run_cli("synth", "fit", str(table_csv), "--target", "y", "--no-dp", "--epochs", "1", "--quiet",
                           "--out", str(tmp_path / "m"), "--evidence", str(tmp_path / "ev"))
    assert code in (0, None), err
    doc = json.loads((tmp_path / "ev" / "synth-fit-m.json").read_text())
    assert doc["kind"] == "synth" and doc["ledger"] == []
    assert len(doc["non_dp"]) == 1 and "WITHOUT differential privacy" in doc["non_dp"][0]["what"]
    assert not json.loads((tmp_path / "m" / "trust-model.json").read_text())["meta"]["release"]["releasable"]


def test_evaluate_with_evidence_writes_checks_gated_against_the_policy_file(table_csv, tmp_path, run_cli):
    policy = tmp_path / "policy.yaml"
    policy.write_text("policy:\n  min_tstr_ratio_to_real: 0.5\n  max_dcr_share: 0.6\n  max_mia_auc: 0.6\n"
                      "  max_exact_copies: 10\n")
    code, _, err = run_cli("synth", "evaluate", "--real-train", table_csv, "--real-test", table_csv,
                           "--real-holdout", table_csv, "--synthetic", table_csv, "--target", "y", "--quiet",
                           "--policy", policy, "--evidence", tmp_path / "ev")
    assert code in (0, None), err
    doc = json.loads((tmp_path / "ev" / "synth-evaluate-toy.json").read_text())
    gated = {c["policy_key"]: c for c in doc["checks"]}
    assert set(gated) == {"min_tstr_ratio_to_real", "max_dcr_share", "max_mia_auc", "max_exact_copies"}
    assert gated["min_tstr_ratio_to_real"]["threshold"] == 0.5 and gated["min_tstr_ratio_to_real"]["passed"]
    assert gated["max_exact_copies"]["passed"] is False   # the "synthetic" table is the training table itself
    assert doc["non_dp"] and "gating against the policy in" in err


def test_evaluate_without_a_policy_file_or_params_gates_against_the_synthesis_defaults(table_csv, tmp_path, run_cli,
                                                                                       monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("synth", "evaluate", "--real-train", table_csv, "--real-test", table_csv,
                           "--real-holdout", table_csv, "--synthetic", table_csv, "--target", "y", "--quiet",
                           "--evidence", tmp_path / "ev")
    assert code in (0, None), err
    doc = json.loads((tmp_path / "ev" / "synth-evaluate-toy.json").read_text())
    assert {c["threshold"] for c in doc["checks"] if c["policy_key"] == "max_dcr_share"} == {0.6}
    assert "synthesis defaults" in err


def test_evaluate_writes_an_undefined_figure_as_null_and_names_it(table_csv, tmp_path, run_cli, monkeypatch):
    # the README's own example hit this: sdmetrics' pair trends can be NaN on a small table; --out refused the file
    import trust.synth.evaluate as ev

    real = ev.evaluate_synthetic
    monkeypatch.setattr(ev, "evaluate_synthetic",
                        lambda *a, **k: {**real(*a, **k), "fidelity.column_pair_trends": float("nan")})
    out = tmp_path / "e.json"
    code, _, err = run_cli("synth", "evaluate", "--real-train", table_csv, "--real-test", table_csv,
                           "--real-holdout", table_csv, "--synthetic", table_csv, "--target", "y", "--quiet",
                           "--out", out)
    assert code in (0, None), err
    doc = json.loads(out.read_text())
    assert doc["results"]["fidelity.column_pair_trends"] is None
    assert doc["undefined"] == ["fidelity.column_pair_trends"]
