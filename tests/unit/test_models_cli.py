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
    code, _, err = run_cli("models", "train", path, "--network", "cnn1d", "--epochs", "3", "--quiet",
                           "--out", tmp_path / "m")
    assert code == 0 and "test accuracy" in err
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


def test_predict_with_a_folder_that_is_not_a_model_exits_2(tmp_path, run_cli):
    code, _, err = run_cli("models", "predict", tmp_path, "digits", "--out", tmp_path / "p.csv")
    assert code == 2 and "not a saved NeuralClassifier" in err


def test_data_list_shows_the_array_datasets_with_their_licences(run_cli):
    code, out, _ = run_cli("data", "list")
    assert code == 0 and "digits" in out and "mnist1d" in out and "Apache" in out and "scikit-learn" in out
