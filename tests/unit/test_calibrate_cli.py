"""`trust calibrate fit|apply|evaluate`: a round trip, and bad input answered in one line, exit 2, nothing written."""

from __future__ import annotations

import json

import numpy as np
import pytest


def _npz(path, n=300, K=4, seed=0, views=True, **override):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, K, n)
    Z = rng.normal(size=(n, K)) * 3
    Z[np.arange(n), y] += 3
    arrays = {"logits": Z, "labels": y}
    if views:
        arrays["view_logits"] = np.stack([Z + rng.normal(size=Z.shape) for _ in range(3)])
    arrays.update(override)
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize("method", ["temperature", "isotonic", "ca"])
def test_fit_apply_and_evaluate_round_trip(method, tmp_path, run_cli):
    val, test = _npz(tmp_path / "val.npz"), _npz(tmp_path / "test.npz", seed=1)
    code, _, err = run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal", "--method", method)
    assert code == 0, err
    code, _, err = run_cli("calibrate", "apply", tmp_path / "cal", "--logits", test, "--out", tmp_path / "p.npz")
    assert code == 0, err
    with np.load(tmp_path / "p.npz") as z, np.load(test) as t:
        assert np.array_equal(z["label"], t["logits"].argmax(1)) or method == "isotonic"
        np.testing.assert_allclose(z["proba"].sum(1), 1.0)
    code, out, _ = run_cli("calibrate", "evaluate", tmp_path / "cal", "--logits", test)
    figures = json.loads(out)
    assert code == 0 and figures["calibrated"]["ece"] < figures["uncalibrated"]["ece"]


def test_a_saved_calibrator_gives_the_same_probabilities_after_loading(tmp_path):
    from trust.calibrate import Calibrator, CorrectnessAwareCalibrator

    with np.load(_npz(tmp_path / "v.npz")) as z:
        Z, y, V = z["logits"], z["labels"], z["view_logits"]
    ca = CorrectnessAwareCalibrator(epochs=20).fit(Z, y, V)
    ca.save(tmp_path / "c")
    np.testing.assert_allclose(Calibrator.load(tmp_path / "c").predict_proba(Z, V), ca.predict_proba(Z, V))


@pytest.mark.parametrize("override, method, match", [
    ({"labels": np.zeros(299, dtype=int)}, "temperature", "labels"),
    ({"labels": np.full(300, 9)}, "temperature", "label 9"),
    ({"logits": np.full((300, 4), np.nan)}, "temperature", "NaN"),
    ({"labels": np.zeros(300, dtype=int)}, "temperature", "single class"),
    ({"view_logits": np.zeros((3, 10, 4))}, "ca", "view_logits"),
])
def test_bad_input_is_one_line_exit_2_and_nothing_written(override, method, match, tmp_path, run_cli):
    bad = _npz(tmp_path / "bad.npz", **override)
    code, _, err = run_cli("calibrate", "fit", "--logits", bad, "--out", tmp_path / "cal", "--method", method)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "cal").exists()


def test_a_ca_fit_without_view_logits_is_refused(tmp_path, run_cli):
    code, _, err = run_cli("calibrate", "fit", "--logits", _npz(tmp_path / "v.npz", views=False), "--out",
                           tmp_path / "cal", "--method", "ca")
    assert code == 2 and "view_logits" in err and not (tmp_path / "cal").exists()


def test_apply_writes_a_csv_table_when_out_ends_in_csv(tmp_path, run_cli):
    import pandas as pd

    val, test = _npz(tmp_path / "val.npz"), _npz(tmp_path / "test.npz", seed=1)
    assert run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal", "--method", "temperature")[0] == 0
    code, _, err = run_cli("calibrate", "apply", tmp_path / "cal", "--logits", test, "--out", tmp_path / "p.csv")
    frame = pd.read_csv(tmp_path / "p.csv")
    assert code == 0 and list(frame.columns) == ["label", "proba_0", "proba_1", "proba_2", "proba_3"]
    np.testing.assert_allclose(frame.filter(like="proba_").sum(axis=1), 1.0, atol=1e-6)
    assert "mean confidence" in err and "uncalibrated" in err


@pytest.mark.parametrize("name", ["p.txt", "p.zip", "p"])
def test_apply_refuses_an_out_suffix_it_cannot_write(name, tmp_path, run_cli):
    val = _npz(tmp_path / "val.npz")
    run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal", "--method", "temperature")
    code, _, err = run_cli("calibrate", "apply", tmp_path / "cal", "--logits", val, "--out", tmp_path / name)
    assert code == 2 and ".npz, .csv" in err and not (tmp_path / name).exists()


def test_apply_replaces_an_existing_out_only_with_overwrite(tmp_path, run_cli):
    val = _npz(tmp_path / "val.npz")
    run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal", "--method", "temperature")
    (tmp_path / "notes.csv").write_text("keep me\n")
    code, _, err = run_cli("calibrate", "apply", tmp_path / "cal", "--logits", val, "--out", tmp_path / "notes.csv")
    assert code == 2 and "--overwrite" in err and (tmp_path / "notes.csv").read_text() == "keep me\n"
    code, _, _ = run_cli("calibrate", "apply", tmp_path / "cal", "--logits", val, "--out", tmp_path / "notes.csv",
                         "--overwrite")
    assert code == 0 and (tmp_path / "notes.csv").read_text().startswith("label,")


def test_apply_never_overwrites_its_input_even_with_overwrite(tmp_path, run_cli):
    val = _npz(tmp_path / "val.npz")
    run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal", "--method", "temperature")
    before = (tmp_path / "val.npz").read_bytes()
    code, _, err = run_cli("calibrate", "apply", tmp_path / "cal", "--logits", val, "--out", val, "--overwrite")
    assert code == 2 and "input" in err and (tmp_path / "val.npz").read_bytes() == before


def test_fit_refuses_to_replace_a_calibrator_without_overwrite(tmp_path, run_cli):
    val = _npz(tmp_path / "val.npz")
    assert run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal", "--method", "temperature")[0] == 0
    code, _, err = run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal", "--method", "isotonic")
    assert code == 2 and "--overwrite" in err
    assert run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal", "--method", "isotonic",
                   "--overwrite")[0] == 0


def _calibrated_npz(path, n=600, seed=0):
    """Logits of a calibrated model (softmax = the true class probabilities) with noisy view logits."""
    from trust.calibrate import softmax

    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 4)) * 2.0
    y = np.array([rng.choice(4, p=p) for p in softmax(Z)])
    np.savez(path, logits=Z, labels=y, view_logits=np.stack([Z + rng.normal(0, 0.5, Z.shape) for _ in range(3)]))
    return path


def test_fit_prints_the_ece_beside_the_uncalibrated_model_and_warns_when_the_calibrator_raises_it(tmp_path, run_cli):
    val, test = _calibrated_npz(tmp_path / "val.npz"), _calibrated_npz(tmp_path / "test.npz", seed=1)
    code, _, err = run_cli("calibrate", "fit", "--logits", val, "--test", test, "--out", tmp_path / "cal",
                           "--method", "ca")
    line, = [ln for ln in err.splitlines() if ln.startswith("test rows: ECE")]
    assert code == 0 and "uncalibrated" in line
    warning, = [ln for ln in err.splitlines() if ln.startswith("warning:")]
    assert "raised the ECE" in warning and "--method ca_prior" in warning


def test_fit_with_auto_chooses_by_cross_validation_and_does_not_warn_on_a_good_choice(tmp_path, run_cli):
    val = _npz(tmp_path / "val.npz", views=False)
    code, _, err = run_cli("calibrate", "fit", "--logits", val, "--out", tmp_path / "cal")
    assert code == 0 and "--method auto chose temperature" in err and "warning" not in err
    assert "cross-validated" in err


def test_fit_writes_gated_evidence_of_kind_calibrate_with_test_rows(tmp_path, run_cli):
    from trust.evidence import validate_evidence

    val, test = _npz(tmp_path / "val.npz", views=False), _npz(tmp_path / "test.npz", seed=1, views=False)
    code, _, err = run_cli("calibrate", "fit", "--logits", val, "--test", test, "--out", tmp_path / "cal",
                           "--evidence", tmp_path / "ev")
    doc = validate_evidence(json.loads((tmp_path / "ev" / "calibrate-fit-cal.json").read_text()))
    assert code == 0 and doc["kind"] == "calibrate"
    assert {c["policy_key"] for c in doc["checks"]} >= {"max_ece", "max_ece_ratio_to_uncalibrated"}


def test_evidence_without_test_rows_is_refused_before_any_work(tmp_path, run_cli):
    code, _, err = run_cli("calibrate", "fit", "--logits", _npz(tmp_path / "v.npz"), "--out", tmp_path / "cal",
                           "--evidence", tmp_path / "ev")
    assert code == 2 and "--test" in err and not (tmp_path / "cal").exists()
