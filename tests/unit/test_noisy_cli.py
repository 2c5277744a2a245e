"""`trust noisy fit / audit`: an RCAL model folder and a review list; bad input exits 2 with one line, writes nothing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="module")
def signals(tmp_path_factory):
    rng = np.random.default_rng(0)
    y = np.arange(150) % 3
    X = rng.normal(0, 0.3, size=(150, 16)) + 2.0 * np.stack([np.sin(np.arange(16) * (c + 1) / 3) for c in y])
    y_noisy = y.copy()
    wrong = rng.choice(150, 15, replace=False)
    y_noisy[wrong] = (y[wrong] + 1) % 3
    path = tmp_path_factory.mktemp("d") / "signals.npz"
    np.savez(path, X=X, y=y_noisy)
    return path, X, y_noisy, wrong


def test_kind_constant_matches_the_library():
    from trust.cli.noisy import RCAL_KIND
    from trust.noisy.rcal import MODEL_KIND

    assert RCAL_KIND == MODEL_KIND


def test_fit_writes_a_model_that_loads_and_predicts(signals, tmp_path, run_cli):
    from trust.noisy import RCALClassifier

    path, X, _, _ = signals
    code, _, err = run_cli("noisy", "fit", "--data", path, "--contrastive-epochs", "2", "--epochs", "2", "--device",
                           "cpu", "--quiet", "--out", tmp_path / "m")
    assert code == 0 and "model saved" in err
    assert RCALClassifier.load(tmp_path / "m").predict_proba(X).shape == (150, 3)


def test_audit_lists_mostly_the_flipped_labels(signals, tmp_path, run_cli):
    path, _, y_noisy, wrong = signals
    code, _, err = run_cli("noisy", "audit", "--data", path, "--contrastive-epochs", "20", "--device", "cpu",
                           "--quiet", "--out", tmp_path / "a.csv")
    flagged = pd.read_csv(tmp_path / "a.csv")
    assert code == 0 and "look wrong" in err
    assert (flagged.given_label == y_noisy[flagged.row]).all()
    assert np.isin(flagged.row, wrong).mean() > 0.5 and np.isin(wrong, flagged.row).mean() > 0.5


@pytest.mark.parametrize("args, needle", [
    (["--network", "resnet"], "network='resnet' is unknown"),
    (["--device", "tpu"], "device='tpu' is unknown"),
    (["--lr", "0"], "--lr 0.0 must be a finite number > 0"),
])
def test_bad_settings_exit_2_with_one_line_and_no_model(signals, tmp_path, run_cli, args, needle):
    path, _, _, _ = signals
    code, _, err = run_cli("noisy", "fit", "--data", path, "--quiet", "--out", tmp_path / "m", *args)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("make, needle", [
    (lambda: (np.full((10, 4), np.nan), np.arange(10) % 2), "NaN"),
    (lambda: (np.zeros((10, 4)), np.arange(9) % 2), "9 labels but X has 10 rows"),
    (lambda: (np.zeros((10, 4)), np.arange(10) % 2 - 1), "negative label"),
])
def test_bad_arrays_exit_2_with_one_line_and_no_model(tmp_path, run_cli, make, needle):
    p = tmp_path / "bad.npz"
    X, y = make()
    np.savez(p, X=X, y=y)
    code, _, err = run_cli("noisy", "fit", "--data", p, "--quiet", "--out", tmp_path / "m")
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m").exists()


def test_audit_with_a_folder_that_is_not_an_rcal_model_exits_2(signals, tmp_path, run_cli):
    path, _, _, _ = signals
    code, _, err = run_cli("noisy", "audit", "--data", path, "--model", tmp_path, "--out", tmp_path / "a.csv")
    assert code == 2 and "not an RCAL model folder" in err and not (tmp_path / "a.csv").exists()


def test_audit_refuses_an_output_that_is_not_csv(signals, tmp_path, run_cli):
    path, _, _, _ = signals
    code, _, err = run_cli("noisy", "audit", "--data", path, "--out", tmp_path / "a.json")
    assert code == 2 and ".csv" in err


def test_fit_with_a_test_set_prints_rcal_beside_cross_entropy_and_writes_gated_evidence(signals, tmp_path, run_cli):
    import json

    from trust.evidence import validate_evidence

    path, X, _, _ = signals
    rng = np.random.default_rng(1)
    y = np.arange(90) % 3
    Xt = rng.normal(0, 0.3, size=(90, 16)) + 2.0 * np.stack([np.sin(np.arange(16) * (c + 1) / 3) for c in y])
    np.savez(tmp_path / "test.npz", X=Xt, y=y)
    code, _, err = run_cli("noisy", "fit", "--data", path, "--test", tmp_path / "test.npz", "--contrastive-epochs", "2",
                           "--epochs", "2", "--device", "cpu", "--quiet", "--out", tmp_path / "m",
                           "--evidence", tmp_path / "ev")
    line, = [ln for ln in err.splitlines() if ln.startswith("test accuracy: RCAL")]
    assert code == 0 and "vs cross-entropy" in line
    doc = validate_evidence(json.loads((tmp_path / "ev" / "noisy-fit-m.json").read_text()))
    assert doc["kind"] == "noisy" and {c["policy_key"] for c in doc["checks"]} >= {"min_noisy_accuracy_gain_over_ce"}
