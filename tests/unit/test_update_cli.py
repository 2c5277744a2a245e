"""`trust update fit / flips`: an updated model and its flip figures; bad input exits 2 with one line, writes nothing."""

from __future__ import annotations

import json

import numpy as np
import pytest

from trust.models import NeuralClassifier
from trust.update import flip_summary


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("upd")
    rng = np.random.default_rng(0)
    y = np.arange(160) % 4
    X = (rng.normal(size=(160, 12)) + 1.5 * np.eye(4, 12)[y]).astype(np.float32)
    np.savez(d / "all.npz", X=X, y=y)
    np.savez(d / "three.npz", X=X[y < 3], y=y[y < 3])
    NeuralClassifier("mlp", epochs=3, hidden=(16,), random_state=0).fit(X[y < 2], y[y < 2]).save(d / "old")
    NeuralClassifier("mlp", epochs=3, hidden=(16,), random_state=0).fit(X[y != 1], y[y != 1]).save(d / "other")
    return d, X, y


def test_fit_writes_an_updated_model_whose_flips_match_the_library(files, tmp_path, run_cli):
    d, X, y = files
    code, _, err = run_cli("update", "fit", "--old", d / "old", "--data", d / "all.npz", "--epochs", "2", "--b", "4",
                           "--quiet", "--out", tmp_path / "new")
    assert code == 0 and "saved to" in err
    code, out, _ = run_cli("update", "flips", "--old", d / "old", "--new", tmp_path / "new", "--data", d / "all.npz")
    old, new = NeuralClassifier.load(d / "old"), NeuralClassifier.load(tmp_path / "new")
    expected = flip_summary(y, old.predict(X), new.predict(X), old_classes=[0, 1])
    got = json.loads(out)
    assert code == 0 and new.classes_.tolist() == [0, 1, 2, 3]
    assert all(np.isclose(got[k], v, equal_nan=True) for k, v in expected.items())


def test_a_grid_of_b_is_chosen_on_a_validation_part(files, tmp_path, run_cli):
    d, _, _ = files
    code, _, err = run_cli("update", "fit", "--old", d / "old", "--data", d / "all.npz", "--b", "0", "--b", "4",
                           "--epochs", "1", "--quiet", "--out", tmp_path / "new")
    assert code == 0 and "-> b=" in err


def test_fit_prints_the_updates_figures_beside_the_naive_updates_on_stdout(files, tmp_path, run_cli):
    d, _, _ = files
    code, out, _ = run_cli("update", "fit", "--old", d / "old", "--data", d / "all.npz", "--test", d / "all.npz",
                           "--epochs", "1", "--b", "4", "--quiet", "--out", tmp_path / "new")
    assert code == 0 and "naive" in out and "seed floor" in out and "--test rows" in out


@pytest.mark.parametrize("where", ["same", "inside"])
def test_an_out_folder_that_is_the_old_model_is_refused_even_with_overwrite(files, tmp_path, run_cli, where):
    d, _, _ = files
    before = {p.name: p.read_bytes() for p in (d / "old").iterdir()}
    out = d / "old" if where == "same" else d / "old" / "sub"
    code, _, err = run_cli("update", "fit", "--old", d / "old", "--data", d / "all.npz", "--quiet", "--overwrite",
                           "--out", out)
    assert _one_line(code, err, "--old model's folder") and not (d / "old" / "sub").exists()
    assert {p.name: p.read_bytes() for p in (d / "old").iterdir()} == before


def test_evidence_is_written_and_validates(files, tmp_path, run_cli):
    import json

    from trust.evidence import validate_evidence

    d, _, _ = files
    code, _, _ = run_cli("update", "fit", "--old", d / "old", "--data", d / "all.npz", "--epochs", "1", "--b", "4",
                         "--quiet", "--out", tmp_path / "new", "--evidence", tmp_path / "ev")
    doc = json.loads((tmp_path / "ev" / "update.json").read_text())
    assert code == 0 and validate_evidence(doc)["kind"] == "update"
    assert {c["policy_key"] for c in doc["checks"]} >= {"max_nfr_ratio_to_naive", "min_accuracy_ratio_to_naive"}


def test_a_test_file_of_another_dtype_is_refused(files, tmp_path, run_cli):
    d, X, y = files
    np.savez(tmp_path / "t.npz", X=X.astype(np.float64), y=y)
    code, _, err = run_cli("update", "fit", "--old", d / "old", "--data", d / "all.npz", "--test", tmp_path / "t.npz",
                           "--quiet", "--out", tmp_path / "new")
    assert _one_line(code, err, "same dtype") and not (tmp_path / "new").exists()


def _one_line(code, err, needle):
    return code == 2 and needle in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_data_missing_an_old_class_exits_2_and_writes_nothing(files, tmp_path, run_cli):
    d, _, _ = files
    # 'other' knows classes 0, 2, 3; the data hold 0, 1, 2: old class 3 is not among them
    code, _, err = run_cli("update", "fit", "--old", d / "other", "--data", d / "three.npz", "--quiet",
                           "--out", tmp_path / "new")
    assert _one_line(code, err, "old class 3 is missing") and not (tmp_path / "new").exists()


def test_flips_between_incompatible_class_sets_exit_2(files, run_cli):
    d, _, _ = files
    # 'other' knows classes 0, 2, 3: it lacks old class 1
    code, out, err = run_cli("update", "flips", "--old", d / "old", "--new", d / "other", "--data", d / "all.npz")
    assert _one_line(code, err, "old class 1 is missing") and out == ""


@pytest.mark.parametrize("args, needle", [
    (["--method", "elodi"], "--method 'elodi' is unknown"),
    (["--method", "naive", "--b", "0", "--b", "4"], "for --method mpt only"),
    (["--val-size", "1.5"], "--val-size 1.5 must be below 1"),
    (["--b", "nan"], "--b nan must be a finite number"),
])
def test_bad_options_exit_2_with_one_line_and_no_model(files, tmp_path, run_cli, args, needle):
    d, _, _ = files
    code, _, err = run_cli("update", "fit", "--old", d / "old", "--data", d / "all.npz", "--quiet",
                           "--out", tmp_path / "new", *args)
    assert _one_line(code, err, needle) and not (tmp_path / "new").exists()


def test_a_missing_old_model_exits_2(files, tmp_path, run_cli):
    d, _, _ = files
    code, _, err = run_cli("update", "fit", "--old", tmp_path / "nope", "--data", d / "all.npz",
                           "--out", tmp_path / "new")
    assert _one_line(code, err, "nope") and not (tmp_path / "new").exists()


def test_the_cli_model_kind_is_the_classifiers():
    from trust.cli.update import NEURAL_KIND
    from trust.models.classifier import MODEL_KIND

    assert NEURAL_KIND == MODEL_KIND


def test_another_method_needs_no_b_and_deploys_that_method(files, tmp_path, run_cli):
    d, _, _ = files
    code, out, _ = run_cli("update", "fit", "--old", d / "old", "--data", d / "all.npz", "--method", "pct", "--epochs",
                           "1", "--quiet", "--out", tmp_path / "new")
    assert code == 0 and out.startswith("focal distillation")
