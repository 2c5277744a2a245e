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
    from trust.calibrate import CorrectnessAwareCalibrator
    from trust.calibrate.persist import load_calibrator, save_calibrator

    with np.load(_npz(tmp_path / "v.npz")) as z:
        Z, y, V = z["logits"], z["labels"], z["view_logits"]
    ca = CorrectnessAwareCalibrator(epochs=20).fit(Z, y, V)
    save_calibrator(ca, tmp_path / "c")
    np.testing.assert_allclose(load_calibrator(tmp_path / "c").predict_proba(Z, V), ca.predict_proba(Z, V))


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
