"""`trust models train / predict`: a model folder and predictions; bad input exits 2 with one line, writes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trust.models import NeuralClassifier


@pytest.fixture(scope="module")
def signals(tmp_path_factory):
    rng = np.random.default_rng(0)
    y = np.arange(120) % 3
    X = rng.normal(size=(120, 16)) + 2.0 * y[:, None] * np.sin(np.arange(16))[None]
    path = tmp_path_factory.mktemp("d") / "signals.npz"
    np.savez(path, X=X, y=y)
    return path, X, y


def test_train_writes_a_model_that_predict_reads(signals, tmp_path, run_cli):
    path, X, _ = signals
    code, out, _ = run_cli("models", "train", path, "--network", "cnn1d", "--epochs", "3", "--quiet",
                           "--out", tmp_path / "m")
    assert code == 0 and "test accuracy" in out
    code, _, _ = run_cli("models", "predict", tmp_path / "m", path, "--out", tmp_path / "p.csv")
    pred = pd.read_csv(tmp_path / "p.csv")
    expected = NeuralClassifier.load(tmp_path / "m").predict_proba(X)
    assert code == 0 and np.allclose(pred[["proba_0", "proba_1", "proba_2"]].to_numpy(), expected)


def test_default_network_follows_the_kind_of_data(signals, tmp_path, run_cli):
    path, _, _ = signals
    run_cli("models", "train", path, "--epochs", "1", "--quiet", "--out", tmp_path / "m")
    assert NeuralClassifier.load(tmp_path / "m").network_name_ == "cnn1d"


def test_predict_writes_npz_with_logits(signals, tmp_path, run_cli):
    path, X, _ = signals
    run_cli("models", "train", path, "--network", "mlp", "--epochs", "1", "--quiet", "--out", tmp_path / "m")
    code, _, _ = run_cli("models", "predict", tmp_path / "m", path, "--out", tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as z:
        assert code == 0 and z["logits"].shape == (120, 3) and z["label"].shape == (120,)


@pytest.mark.parametrize("args, needle", [
    (["--network", "resnet"], "network='resnet' is unknown"),
    (["--device", "tpu"], "device='tpu' is unknown"),
    (["--epochs", "0"], "epochs=0"),
])
def test_bad_settings_exit_2_with_one_line_and_no_model(signals, tmp_path, run_cli, args, needle):
    path, _, _ = signals
    code, _, err = run_cli("models", "train", path, "--quiet", "--out", tmp_path / "m", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def _npz(tmp_path, X, y):
    p = tmp_path / "bad.npz"
    np.savez(p, X=X, y=y)
    return p


@pytest.mark.parametrize("make, needle", [
    (lambda: (np.full((10, 4), np.nan), np.arange(10) % 2), "NaN"),
    (lambda: (np.zeros(10), np.arange(10) % 2), "must be a 2-d or 3-d or 4-d array"),
    (lambda: (np.zeros((10, 4)), np.arange(10) % 2 + 1), "class 0 has no samples"),
    (lambda: (np.zeros((10, 4)), np.r_[np.zeros(9), 1]), "class 1 has 1 sample"),
])
def test_bad_arrays_exit_2_with_one_line_and_no_model(tmp_path, run_cli, make, needle):
    p = _npz(tmp_path, *make())
    code, _, err = run_cli("models", "train", p, "--network", "mlp", "--quiet", "--out", tmp_path / "m")
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_predict_on_wrongly_shaped_data_exits_2_and_writes_nothing(signals, tmp_path, run_cli):
    path, _, _ = signals
    run_cli("models", "train", path, "--network", "mlp", "--epochs", "1", "--quiet", "--out", tmp_path / "m")
    bad = tmp_path / "x.npz"
    np.savez(bad, X=np.zeros((5, 7)))
    code, _, err = run_cli("models", "predict", tmp_path / "m", bad, "--out", tmp_path / "p.csv")
    assert code == 2 and "fitted on" in err and not (tmp_path / "p.csv").exists()


def test_train_prints_its_result_on_stdout_and_no_progress_bar_when_stderr_is_not_a_terminal(signals, tmp_path,
                                                                                               run_cli):
    path, _, _ = signals
    code, out, err = run_cli("models", "train", path, "--network", "mlp", "--epochs", "2", "--out", tmp_path / "m")
    assert code == 0 and "training accuracy" in out and "saved to" in out
    assert "it/s" not in err and "epoch" not in err and "\r" not in err


def test_train_saves_the_rows_it_trained_on_and_held_out_with_their_row_numbers(signals, tmp_path, run_cli):
    path, X, y = signals
    code, _, _ = run_cli("models", "train", path, "--network", "mlp", "--epochs", "1", "--quiet", "--out", tmp_path / "m",
                         "--train-out", tmp_path / "train.npz", "--test-out", tmp_path / "test.npz")
    with np.load(tmp_path / "train.npz") as a, np.load(tmp_path / "test.npz") as b:
        assert code == 0 and sorted(np.r_[a["index"], b["index"]].tolist()) == list(range(len(y)))
        assert np.array_equal(a["X"], X[a["index"]]) and np.array_equal(b["y"], y[b["index"]])
        assert len(b["y"]) == round(0.2 * len(y))


def test_test_size_0_trains_on_every_row(signals, tmp_path, run_cli):
    path, _, y = signals
    code, out, _ = run_cli("models", "train", path, "--network", "mlp", "--epochs", "1", "--quiet", "--test-size", "0",
                           "--out", tmp_path / "m", "--train-out", tmp_path / "train.npz")
    with np.load(tmp_path / "train.npz") as a:
        assert code == 0 and a["index"].tolist() == list(range(len(y))) and "no rows held out" in out


@pytest.mark.parametrize("value", ["1.5", "-0.1", "1"])
def test_a_test_size_outside_0_1_names_test_size(signals, tmp_path, run_cli, value):
    path, _, _ = signals
    code, _, err = run_cli("models", "train", path, "--quiet", "--test-size", value, "--out", tmp_path / "m")
    assert code == 2 and "--test-size" in err and "val_size" not in err and not (tmp_path / "m").exists()


@pytest.fixture()
def trained(signals, tmp_path, run_cli):
    path, _, _ = signals
    run_cli("models", "train", path, "--network", "mlp", "--epochs", "1", "--quiet", "--out", tmp_path / "m")
    return tmp_path / "m"


def test_predict_refuses_to_write_over_its_own_input_even_with_overwrite(signals, trained, tmp_path, run_cli):
    path, X, y = signals
    data = tmp_path / "data.npz"
    np.savez(data, X=X, y=y)
    before = data.read_bytes()
    for extra in ((), ("--overwrite",)):
        code, _, err = run_cli("models", "predict", trained, data, "--out", data, *extra)
        assert code == 2 and "is the input" in err and data.read_bytes() == before


def test_predict_refuses_an_existing_file_without_overwrite_and_replaces_it_with(signals, trained, tmp_path, run_cli):
    path, _, _ = signals
    notes = tmp_path / "notes.csv"
    notes.write_text("my notes\n")
    code, _, err = run_cli("models", "predict", trained, path, "--out", notes)
    assert code == 2 and "already exists" in err and notes.read_text() == "my notes\n"
    code, _, _ = run_cli("models", "predict", trained, path, "--out", notes, "--overwrite")
    assert code == 0 and "proba_0" in notes.read_text()


def test_predict_output_carries_the_labels_of_the_input_and_feeds_calibrate_fit(signals, trained, tmp_path, run_cli):
    path, _, y = signals
    code, _, _ = run_cli("models", "predict", trained, path, "--out", tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as z:
        assert code == 0 and np.array_equal(z["labels"], y)
    code, _, _ = run_cli("calibrate", "fit", "--logits", tmp_path / "p.npz", "--out", tmp_path / "cal")
    assert code == 0


def test_predict_without_labels_in_the_input_writes_none(signals, trained, tmp_path, run_cli):
    _, X, _ = signals
    np.savez(tmp_path / "x.npz", X=X)
    code, _, _ = run_cli("models", "predict", trained, tmp_path / "x.npz", "--out", tmp_path / "p.npz")
    with np.load(tmp_path / "p.npz") as z:
        assert code == 0 and "labels" not in z.files


def test_predict_view_logits_are_the_models_logits_on_its_default_views(signals, trained, tmp_path, run_cli):
    path, X, _ = signals
    code, _, _ = run_cli("models", "predict", trained, path, "--view-logits", "--out", tmp_path / "p.npz")
    from trust.calibrate import view_logits

    with np.load(tmp_path / "p.npz") as z:
        assert code == 0 and z["view_logits"].shape == (3, len(X), 3)
        np.testing.assert_allclose(z["view_logits"], view_logits(NeuralClassifier.load(trained), X, random_state=0))


def test_view_logits_to_a_csv_are_refused(signals, trained, tmp_path, run_cli):
    path, _, _ = signals
    code, _, err = run_cli("models", "predict", trained, path, "--view-logits", "--out", tmp_path / "p.csv")
    assert code == 2 and "needs an .npz" in err and not (tmp_path / "p.csv").exists()


def test_every_predictor_kind_names_a_loadable_classifier_of_that_kind():
    import importlib

    from trust.cli.models import PREDICTORS

    for kind, target in PREDICTORS.items():
        module, name = target.split(":")
        cls = getattr(importlib.import_module(module), name)
        assert all(callable(getattr(cls, m, None)) for m in ("load", "decision_function", "predict_proba"))
        assert importlib.import_module(cls.__module__).MODEL_KIND == kind


def test_predict_with_a_folder_that_is_not_a_model_exits_2(tmp_path, run_cli):
    code, _, err = run_cli("models", "predict", tmp_path, "digits", "--out", tmp_path / "p.csv")
    assert code == 2 and "not a saved NeuralClassifier" in err


def test_data_list_shows_the_array_datasets_with_their_licences(run_cli):
    code, out, _ = run_cli("data", "list")
    assert code == 0 and "digits" in out and "mnist1d" in out and "Apache" in out and "scikit-learn" in out
